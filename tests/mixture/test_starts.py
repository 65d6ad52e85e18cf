"""Several starts: a start that collapses is dropped with a warning, not the whole fit."""

import warnings

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture as SkGaussianMixture

import gradmix as gm
from gradmix.mixture.covariance import CollapsedComponentError


def blobs_and_a_repeated_point():
    # three blobs and four copies of one point: a start whose k-means gives the copies a
    # component of their own collapses it (zero variance, reg_covar=0); other starts
    # absorb them into a blob
    rng = np.random.default_rng(1)
    rng.normal(size=(306, 2))  # the draws used for other distances in the exploration
    X = np.vstack([rng.normal(0, 1, (100, 2)), rng.normal(10, 1, (100, 2)),
                   rng.normal(20, 1, (100, 2)), np.tile([[6.0, 0.0]], (4, 1))])  # fmt: skip
    return X


def test_collapsed_starts_are_dropped_and_the_best_survivor_is_kept():
    X = blobs_and_a_repeated_point()
    finals: dict[int, float] = {}
    model = gm.GaussianMixture(4, n_init=20, random_state=0, reg_covar=0.0,
                               callback=lambda init, it, lb: finals.__setitem__(init, lb))  # fmt: skip
    with pytest.warns(UserWarning, match=r"(\d+) of 20 starts collapsed") as record:
        model.fit(X)
    dropped = int(str(record[0].message).split(" of ")[0])
    assert 0 < dropped < 20
    # the fit is one of the starts that ran (a collapsed start reports its iterations up
    # to the collapse, so the largest report need not be a survivor's)
    assert any(abs(model.lower_bound_ - b) < 1e-12 for b in finals.values())
    assert len(finals) >= 20 - dropped
    assert np.all(np.linalg.eigvalsh(model.covariances_) > 0)
    # scikit-learn gives up on the same data with its first collapsed start
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        SkGaussianMixture(4, n_init=20, random_state=0, reg_covar=0.0).fit(X)


def test_every_start_collapsing_is_an_error_that_says_so():
    X = blobs_and_a_repeated_point()
    # single-point starts with no regularisation: every covariance is zero at once
    with pytest.raises(CollapsedComponentError, match="every one of the 5 starts collapsed"):
        gm.GaussianMixture(3, n_init=5, init_params="random_from_data", reg_covar=0.0,
                           random_state=0).fit(X)  # fmt: skip


def test_one_start_keeps_scikit_learns_error():
    X = blobs_and_a_repeated_point()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="ill-defined empirical covariance") as info:
            gm.GaussianMixture(3, init_params="random_from_data", reg_covar=0.0,
                               random_state=0).fit(X)  # fmt: skip
    assert isinstance(info.value, CollapsedComponentError)
