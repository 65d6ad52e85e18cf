"""Invariants of EM, property-based: monotone likelihood, normalised responsibilities."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradmix as gm

TYPES = ["full", "tied", "diag", "spherical"]
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@st.composite
def mixture_data(draw):
    seed = draw(st.integers(0, 2**31 - 1))
    K = draw(st.integers(1, 4))
    d = draw(st.integers(1, 4))
    n = draw(st.integers(max(K * 8, 12), 120))
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=draw(st.floats(0.5, 8.0)), size=(K, d))
    X = centres[rng.integers(0, K, n)] + rng.normal(size=(n, d)) * rng.uniform(0.3, 2.0, d)
    return X, K, seed


@given(mixture_data(), st.sampled_from(TYPES + ["VEV", "EVE", "VEI", "EEV"]),
       st.sampled_from(["kmeans", "random"]), st.sampled_from([None, "squarem"]))  # fmt: skip
def test_em_never_decreases_the_likelihood(data, covariance_type, init_params, acceleration):
    """EM's ascent property, which holds without a ridge: with ``reg_covar > 0`` the
    M-step maximises the expected log-likelihood less a penalty that moves with the
    responsibilities, and hypothesis found plain EM's log-likelihood falling by 1.1e-5
    (K = 4, full, a component shrunk to the ridge).  SQUAREM's jumps with a ridge are
    tested in test_acceleration.py."""
    X, K, seed = data
    reg_covar = 0.0
    model = gm.GaussianMixture(
        K, covariance_type=covariance_type, init_params=init_params, reg_covar=reg_covar,
        random_state=seed, tol=0, max_iter=25, acceleration=acceleration,
    )  # fmt: skip
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X)
    except ValueError as exc:  # a component collapsed with reg_covar=0: scikit-learn's error
        assert reg_covar == 0 and "ill-defined empirical covariance" in str(exc)
        return
    lb = np.asarray(model.lower_bounds_)
    # EM's ascent property, up to rounding in the summed log-likelihood
    assert np.all(np.diff(lb) >= -1e-9 * np.maximum(1.0, np.abs(lb[1:])))


@given(mixture_data(), st.sampled_from(TYPES))
def test_responsibilities_sum_to_one(data, covariance_type):
    X, K, seed = data
    model = gm.GaussianMixture(K, covariance_type=covariance_type, random_state=seed).fit(X)
    resp = model.predict_proba(X)
    assert resp.shape == (len(X), K)
    assert np.all(resp >= 0)
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=1e-12)
    # the log-likelihood of the data is the mean of score_samples
    assert model.score(X) == pytest.approx(np.mean(model.score_samples(X)))


@pytest.mark.parametrize("covariance_type", TYPES)
def test_results_do_not_depend_on_where_the_data_sit(covariance_type):
    rng = np.random.default_rng(4)
    X = np.concatenate([rng.normal(size=(150, 3)), rng.normal(size=(150, 3)) * 0.5 + 3])
    start = gm.GaussianMixture(2, covariance_type=covariance_type, max_iter=2,
                               random_state=0).fit(X)  # fmt: skip
    kw = dict(n_components=2, covariance_type=covariance_type, weights_init=start.weights_,
              precisions_init=start.precisions_, tol=1e-10, max_iter=200)  # fmt: skip
    a = gm.GaussianMixture(means_init=start.means_, **kw).fit(X)
    b = gm.GaussianMixture(means_init=start.means_ + 1e6, **kw).fit(X + 1e6)
    np.testing.assert_allclose(a.lower_bounds_, b.lower_bounds_, rtol=1e-8)
    np.testing.assert_allclose(b.means_ - 1e6, a.means_, atol=1e-6)
    np.testing.assert_allclose(a.covariances_, b.covariances_, rtol=1e-6)


def test_chunked_e_step_equals_one_chunk():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 4))
    for ct in TYPES:
        small = gm.GaussianMixture(3, covariance_type=ct, random_state=0, max_memory=4096).fit(X)
        big = gm.GaussianMixture(3, covariance_type=ct, random_state=0).fit(X)
        np.testing.assert_allclose(small.lower_bounds_, big.lower_bounds_, rtol=1e-12)
        np.testing.assert_allclose(small.means_, big.means_, rtol=1e-10, atol=1e-12)
