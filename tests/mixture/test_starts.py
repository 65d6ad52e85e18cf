"""The starts of a fit: mclust's path by default for its models, collapsed starts dropped."""

import csv
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.mixture import GaussianMixture as SkGaussianMixture

import gradmix as gm
from gradmix.datasets import load_old_faithful
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

    def record_bound(init, n_iter, lower_bound):
        finals[init] = lower_bound

    model = gm.GaussianMixture(4, n_init=20, random_state=0, reg_covar=0.0, callback=record_bound)
    with pytest.warns(UserWarning, match=r"(\d+) of 20 starts collapsed") as record:
        model.fit(X)
    dropped = int(str(record[0].message).split(" of ")[0])
    assert 0 < dropped < 20
    # the fit is one of the starts that ran (a collapsed start reports its iterations up
    # to the collapse, so the largest report need not be a survivor's)
    assert any(abs(model.lower_bound_ - b) < 1e-12 for b in finals.values())
    # every start ran or collapsed, but those repeating an earlier one (under other labels)
    assert dropped <= len(finals) <= 20
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


DATA = Path(__file__).with_name("data") / "mclust_loglik.csv"


def mclust_fits():
    with open(DATA) as fh:
        rows = [line for line in fh if not line.startswith("#")]
    return list(csv.DictReader(rows))


@pytest.mark.slow
def test_mclust_models_reach_mclusts_optimum_with_the_defaults():
    # R mclust 6.0.0's log-likelihoods (provenance in the file): the default start and
    # tolerance for mclust's names must reach them or do better, fit by fit
    data = {"faithful": load_old_faithful(), "iris": load_iris().data}
    short = []
    for row in mclust_fits():
        X = data[row["data"]]
        fit = gm.GaussianMixture(int(row["G"]), covariance_type=row["model"],
                                 random_state=0).fit(X)  # fmt: skip
        ours, theirs = fit.score(X) * len(X), float(row["loglik"])
        if ours < theirs - 1e-6 * abs(theirs):
            short.append((row["data"], row["model"], row["G"], round(theirs - ours, 4)))
    assert not short, f"below mclust's log-likelihood: {short}"


def test_auto_is_the_best_of_the_hierarchical_and_the_kmeans_starts():
    X = load_old_faithful()
    kw = dict(covariance_type="VVV", random_state=0, tol=1e-5)
    auto = gm.GaussianMixture(4, **kw).fit(X)
    hc = gm.GaussianMixture(4, init_params="hc", **kw).fit(X)
    km = gm.GaussianMixture(4, init_params="kmeans", **kw).fit(X)
    assert auto.lower_bound_ >= max(hc.lower_bound_, km.lower_bound_) - 1e-12
    # scikit-learn's names keep scikit-learn's start and tolerance: its numbers
    ours = gm.GaussianMixture(3, covariance_type="full", random_state=0).fit(X)
    theirs = SkGaussianMixture(3, covariance_type="full", random_state=0).fit(X)
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-10)
    assert ours.n_iter_ == theirs.n_iter_


def test_hc_use_decides_the_rows_the_tree_sees():
    rng = np.random.default_rng(0)
    # two groups separated along a feature of small scale; the large-scale feature is noise
    X = np.c_[rng.normal(0, 100, 200), np.r_[rng.normal(0, 0.1, 100), rng.normal(1, 0.1, 100)]]
    truth = np.r_[np.zeros(100), np.ones(100)]
    agree = {}
    for use in ("SVD", "VARS", "STD"):
        labels = gm.GaussianMixture(2, covariance_type="VVI", init_params="hc", hc_use=use,
                                    max_iter=0).fit(X).predict(X)  # fmt: skip
        agree[use] = max(np.mean(labels == truth), np.mean(labels != truth))
    # on the raw variables the tree follows the noisy large-scale feature
    assert agree["STD"] > 0.95 and agree["SVD"] > 0.95 and agree["VARS"] < 0.8
    with pytest.raises(ValueError, match="hc_use"):
        gm.GaussianMixture(2, hc_use="PCA").fit(X)


def test_starts_that_repeat_an_earlier_one_are_not_run_again():
    # well-separated blobs: the four k-means starts find the tree's partition under
    # other labels, so EM runs from the hierarchical start alone
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(c, 0.5, (100, 2)) for c in ((0, 0), (8, 0), (0, 8))])
    runs: set[int] = set()
    fit = gm.GaussianMixture(3, covariance_type="VVV", random_state=0,
                             callback=lambda init, _, __: runs.add(init)).fit(X)  # fmt: skip
    assert runs == {0} and len(fit._start_methods()) == 5
    # the starts skipped were the same parameters: a k-means start alone gives the same fit
    km = gm.GaussianMixture(3, covariance_type="VVV", random_state=0, init_params="kmeans",
                            n_init=1).fit(X)  # fmt: skip
    assert fit.lower_bound_ >= km.lower_bound_ - 1e-12


def test_a_model_search_computes_each_kmeans_start_once_and_fits_as_alone(monkeypatch):
    from gradmix.mixture import initialisation

    calls: list[int] = []
    real = initialisation.kmeans

    def counting(ex, K, **kw):
        calls.append(K)
        return real(ex, K, **kw)

    monkeypatch.setattr(initialisation, "kmeans", counting)
    X = load_iris().data
    models = ("VVV", "EEE", "VEV")
    search = gm.select_model(X, (2, 3), models, random_state=0)
    # 4 k-means starts per K, shared by the three models (not 3 × 4)
    assert sorted(calls) == [2] * 4 + [3] * 4
    calls.clear()
    for k in (2, 3):
        for ct in models:
            alone = gm.GaussianMixture(
                k, covariance_type=ct, random_state=0, tol=1e-5, acceleration="squarem"
            ).fit(X)  # select_model's default
            shared = search.models_[(k, ct)]
            np.testing.assert_array_equal(shared.means_, alone.means_)
            np.testing.assert_array_equal(shared.covariances_, alone.covariances_)
    assert len(calls) == 2 * 3 * 4  # outside the search nothing is shared
