"""The differentiable log-likelihood: parameterisation, values, exact derivatives."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradmix as gm
from gradmix.datasets import load_old_faithful
from gradmix.mixture.likelihood import Parameterisation

TYPES = ["full", "tied", "diag", "spherical"]


def fitted(covariance_type, K=3):
    X = load_old_faithful()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = gm.GaussianMixture(K, covariance_type=covariance_type, random_state=0).fit(X)
    return X, m


@pytest.mark.parametrize("covariance_type", TYPES)
def test_pack_unpack_round_trip_and_value(covariance_type):
    X, m = fitted(covariance_type)
    par = Parameterisation(covariance_type, 3, 2)
    theta = par.pack(m.weights_, m.means_, m.precisions_cholesky_)
    assert theta.shape == (par.size,)
    log_w, means, U, _, _ = par.unpack(theta)
    np.testing.assert_allclose(np.exp(log_w), m.weights_, rtol=1e-13)
    np.testing.assert_allclose(means, m.means_, rtol=1e-13)
    np.testing.assert_allclose(U, m.precisions_cholesky_, rtol=1e-12)
    # the same likelihood as the estimator's (scikit-learn's formulas)
    assert par.log_likelihood(theta, X) / len(X) == pytest.approx(m.score(X), rel=1e-12)
    flat = par.natural(theta)
    split = par.split(flat)
    np.testing.assert_allclose(split["covariances"], m.covariances_, rtol=1e-10)
    assert par.size == len(split["weights"]) - 1 + m.means_.size + {
        "full": 9, "tied": 3, "diag": 6, "spherical": 3}[covariance_type]  # fmt: skip


@pytest.mark.parametrize("covariance_type", TYPES)
def test_gradient_and_hessian_match_central_differences(covariance_type):
    X, m = fitted(covariance_type)
    par = Parameterisation(covariance_type, 3, 2)
    theta = par.pack(m.weights_, m.means_, m.precisions_cholesky_)

    def f(t):
        return par.log_likelihood(t, X)

    g = gm.grad(f)(theta)
    h = 1e-5
    eye = np.eye(par.size)
    fd = np.array([(f(theta + h * e) - f(theta - h * e)) / (2 * h) for e in eye])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-6 * np.max(np.abs(fd)))
    H = par.hessian(theta, X)
    fdH = np.array([(gm.grad(f)(theta + h * e) - gm.grad(f)(theta - h * e)) / (2 * h) for e in eye])
    np.testing.assert_allclose(H, fdH, rtol=1e-5, atol=1e-5 * np.max(np.abs(fdH)))
    # the batched sweeps give the one-sweep Hessian
    np.testing.assert_allclose(H, gm.hessian(f)(theta), rtol=1e-12, atol=1e-9)


@settings(max_examples=15, deadline=None)
@given(
    covariance_type=st.sampled_from(TYPES),
    K=st.integers(1, 3),
    seed=st.integers(0, 10_000),
)
def test_random_parameters_gradients_agree_with_differences(covariance_type, K, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 2))
    par = Parameterisation(covariance_type, K, 2)
    theta = 0.5 * rng.normal(size=par.size)

    def f(t):
        return par.log_likelihood(t, X)

    g = gm.grad(f)(theta)
    h = 1e-6
    fd = np.array([(f(theta + h * e) - f(theta - h * e)) / (2 * h) for e in np.eye(par.size)])
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-5 * (1 + np.max(np.abs(fd))))


def test_zero_weight_cannot_be_packed():
    par = Parameterisation("diag", 2, 1)
    with pytest.raises(ValueError, match="zero weight"):
        par.pack(np.array([1.0, 0.0]), np.zeros((2, 1)), np.ones((2, 1)))
