"""partial_fit: stepwise EM over mini-batches."""

import numpy as np
import pytest

import gradmix as gm
from gradmix.mixture.streaming import step_size

TYPES = ["full", "tied", "diag", "spherical"]


def mixture(n=40_000, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3, size=(4, 3))
    return centres[rng.integers(0, 4, n)] + rng.normal(size=(n, 3)) * [0.6, 1.0, 1.4]


@pytest.mark.parametrize("covariance_type", TYPES)
def test_eighty_shuffled_batches_reach_the_batch_fit(covariance_type):
    X = mixture()
    batch = gm.GaussianMixture(4, covariance_type=covariance_type, random_state=0).fit(X)
    online = gm.GaussianMixture(4, covariance_type=covariance_type, random_state=0)
    order = np.random.default_rng(1).permutation(len(X))
    for rows in np.array_split(order, 80):
        online.partial_fit(X[rows])
    assert online.n_iter_ == 80 and len(online.lower_bounds_) == 80
    target = batch.score(X)
    assert abs(online.score(X) - target) <= 0.01 * abs(target)
    np.testing.assert_allclose(online.weights_.sum(), 1.0, rtol=1e-12)


def test_step_sizes_and_restart():
    assert step_size(1) == 1.0
    assert step_size(2) == pytest.approx(3**-0.6)
    assert all(step_size(t) > step_size(t + 1) for t in range(1, 50))
    X = mixture(2000)
    m = gm.GaussianMixture(2, random_state=0)
    m.partial_fit(X[:1000]).partial_fit(X[1000:])
    assert m.n_iter_ == 2
    m.fit(X)  # fit starts afresh and ends the stream
    m.partial_fit(X[:500])
    assert m.n_iter_ == 1


def test_stream_from_given_parameters_and_bad_batches():
    X = mixture(4000)
    start = gm.GaussianMixture(4, random_state=0).fit(X)
    m = gm.GaussianMixture(4, weights_init=start.weights_, means_init=start.means_,
                           precisions_init=start.precisions_)  # fmt: skip
    m.partial_fit(X[:200])
    assert m.score(X) == pytest.approx(start.score(X), rel=0.02)
    with pytest.raises(ValueError, match="at least n_components"):
        gm.GaussianMixture(5).partial_fit(X[:3])
    with pytest.raises(ValueError, match="features"):
        m.partial_fit(X[:10, :2])
