"""Densities (mclust's densityMclust use): cdf, quantile and HDR levels by numeric integration."""

import numpy as np
import pytest

import gradmix as gm
from gradmix.datasets import load_old_faithful
from scipy import integrate


@pytest.fixture(scope="module")
def waiting():
    X = load_old_faithful()[:, 1:]
    return gm.GaussianMixture(2, covariance_type="V", random_state=0).fit(X)


def density(model, x):
    return float(np.exp(model.score_samples(np.array([[x]])))[0])


def test_cdf_is_the_integral_of_the_density(waiting):
    for x in (45.0, 60.0, 71.5, 90.0):
        expected, _ = integrate.quad(lambda t: density(waiting, t), -np.inf, x, limit=200)
        assert waiting.cdf(x) == pytest.approx(expected, abs=1e-8)
    xs = np.linspace(30, 110, 50)
    assert np.all(np.diff(waiting.cdf(xs)) > 0)
    assert waiting.cdf(np.array([[60.0, 70.0]])).shape == (1, 2)


def test_quantile_inverts_the_cdf(waiting):
    p = np.array([0.01, 0.25, 0.5, 0.9, 0.999])
    q = waiting.quantile(p)
    np.testing.assert_allclose(waiting.cdf(q), p, atol=1e-10)
    assert waiting.quantile(0.0) == -np.inf and waiting.quantile(1.0) == np.inf
    for tied in ("spherical", "tied", "diag", "E"):
        m = gm.GaussianMixture(2, covariance_type=tied, random_state=0).fit(
            load_old_faithful()[:, :1]
        )
        np.testing.assert_allclose(m.cdf(m.quantile(p)), p, atol=1e-10)


def test_hdr_levels_enclose_their_probabilities():
    X = load_old_faithful()
    model = gm.GaussianMixture(3, covariance_type="EEE", random_state=0).fit(X)
    probs = np.array([0.25, 0.5, 0.95])
    levels = model.hdr_levels(probs, n_samples=200_000, random_state=0)
    assert np.all(np.diff(levels) < 0)  # larger regions, lower levels
    # the probability of {f >= level}, by integrating the density on a fine grid
    x = np.linspace(0.5, 6.5, 400)
    y = np.linspace(30, 110, 400)
    gx, gy = np.meshgrid(x, y)
    f = np.exp(model.score_samples(np.c_[gx.ravel(), gy.ravel()])).reshape(gx.shape)
    cell = (x[1] - x[0]) * (y[1] - y[0])
    assert np.sum(f) * cell == pytest.approx(1.0, abs=2e-3)
    enclosed = np.array([np.sum(f[f >= level]) * cell for level in levels])
    np.testing.assert_allclose(enclosed, probs, atol=5e-3)


def test_density_errors(waiting):
    two_d = gm.GaussianMixture(2, random_state=0).fit(load_old_faithful())
    with pytest.raises(ValueError, match="one-dimensional"):
        two_d.cdf([1.0])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        waiting.quantile([1.5])
    with pytest.raises(ValueError, match="strictly between"):
        waiting.hdr_levels([0.0])
    with pytest.raises(ValueError, match="NaN"):
        waiting.cdf([np.nan])
