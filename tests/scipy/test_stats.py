"""gradmix.scipy.stats: scipy's values, central-difference derivatives in every argument."""

import numpy as np
import pytest
import scipy.special as sc
import scipy.stats as st

import gradmix as gm
from gradmix.scipy.stats import beta, chi2, dirichlet, gamma, multivariate_normal, norm, poisson, t
from tests.ad.helpers import assert_derivatives

rng = np.random.default_rng(0)
X = rng.normal(size=5)
POSX = np.abs(X) + 0.1
UNITX = sc.expit(X)
S = np.array([[2.0, 0.3], [0.3, 1.0]])
PTS = rng.normal(size=(4, 2))
SIMPLEX = rng.dirichlet([1.0, 2.0, 3.0], size=4).T

CASES = {
    "norm.logpdf": (norm.logpdf, st.norm.logpdf, (X, 0.3, 1.7)),
    "norm.pdf": (norm.pdf, st.norm.pdf, (X, 0.3, 1.7)),
    "norm.cdf": (norm.cdf, st.norm.cdf, (X, 0.3, 1.7)),
    "norm.logcdf": (norm.logcdf, st.norm.logcdf, (X - 3, 0.3, 1.7)),
    "norm.sf": (norm.sf, st.norm.sf, (X, 0.3, 1.7)),
    "norm.logsf": (norm.logsf, st.norm.logsf, (X + 3, 0.3, 1.7)),
    "norm.ppf": (norm.ppf, st.norm.ppf, (UNITX, 1.0, 2.0)),
    "t.logpdf": (t.logpdf, st.t.logpdf, (X, 3.5, 0.2, 1.3)),
    "t.pdf": (t.pdf, st.t.pdf, (X, 3.5, 0.2, 1.3)),
    "gamma.logpdf": (gamma.logpdf, st.gamma.logpdf, (POSX, 2.5, 0.0, 1.5)),
    "chi2.logpdf": (chi2.logpdf, st.chi2.logpdf, (POSX, 3.0)),
    "beta.logpdf": (beta.logpdf, st.beta.logpdf, (UNITX, 2.0, 3.5)),
    "dirichlet.logpdf": (
        dirichlet.logpdf,
        st.dirichlet.logpdf,
        (SIMPLEX, np.array([1.5, 2.0, 3.0])),
    ),
    "multivariate_normal.logpdf": (
        multivariate_normal.logpdf,
        st.multivariate_normal.logpdf,
        (PTS, np.array([0.1, -0.2]), S),
    ),  # fmt: skip
}
# derivatives only in the arguments scipy's cdf has no closed-form derivative for
CDF_CASES = {
    "t.cdf": (lambda x, loc, s: t.cdf(x, 3.5, loc, s), lambda x, loc, s: st.t.cdf(x, 3.5, loc, s)),
    "gamma.cdf": (
        lambda x, s: gamma.cdf(x, 2.5, 0.0, s),
        lambda x, s: st.gamma.cdf(x, 2.5, 0.0, s),
    ),
    "chi2.cdf": (lambda x: chi2.cdf(x, 3.0), lambda x: st.chi2.cdf(x, 3.0)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_derivatives(name):
    ours, scipys, args = CASES[name]
    np.testing.assert_allclose(ours(*args), scipys(*args), rtol=1e-10)
    if name.startswith("dirichlet"):
        # the simplex constraint: differentiate in alpha only
        assert_derivatives(lambda a: ours(args[0], a), args[1])
    elif name.startswith("multivariate"):
        assert_derivatives(lambda x, m: ours(x, m, S), PTS, args[1])
        chol = np.linalg.cholesky(S)
        assert_derivatives(lambda c: ours(PTS, args[1], c @ c.T), chol)
    else:
        assert_derivatives(ours, *(np.asarray(a, dtype=float) for a in args))


@pytest.mark.parametrize("name", sorted(CDF_CASES))
def test_distribution_functions(name):
    ours, scipys = CDF_CASES[name]
    args = (POSX, 0.2, 1.3)[: ours.__code__.co_argcount]
    args = tuple(np.asarray(a, dtype=float) for a in args)
    np.testing.assert_allclose(ours(*args), scipys(*args), rtol=1e-10)
    assert_derivatives(ours, *args)


def test_poisson_in_the_rate():
    k = np.array([0, 1, 3, 7, 2.5, -1])
    np.testing.assert_allclose(poisson.logpmf(k, 2.5), st.poisson.logpmf(k, 2.5))
    assert_derivatives(lambda m: poisson.logpmf(k[:4], m), np.array(2.5))


def test_log_density_outside_the_support_is_minus_infinity():
    np.testing.assert_array_equal(gamma.logpdf(np.array([-1.0, 0.0]), 2.0), [-np.inf, -np.inf])
    np.testing.assert_array_equal(beta.logpdf(np.array([-0.5, 1.5]), 2.0, 2.0), [-np.inf] * 2)


def test_singular_covariance_is_refused_by_name():
    with pytest.raises(gm.NoDerivativeRuleError, match="allow_singular"):
        multivariate_normal.logpdf(PTS, np.zeros(2), S, allow_singular=True)


# the edge cases found by probing (issue 27), each against scipy or a closed form
@pytest.mark.parametrize(
    "ours, args, expected",
    [
        (gamma.logpdf, (0.0, 1.0), 0.0),
        (chi2.logpdf, (0.0, 2.0), np.log(0.5)),
        (gamma.logpdf, (0.0, 0.5), np.inf),
        (gamma.logpdf, (5.0, 1.0, 5.0), 0.0),
        (beta.logpdf, (0.0, 1.0, 3.0), np.log(3.0)),
        (t.logpdf, (0.7, 1e20), st.norm.logpdf(0.7)),
        (t.logpdf, (0.7, np.inf), st.norm.logpdf(0.7)),
        (norm.logpdf, (1.0, 0.0, 0.0), np.nan),
        (gamma.logpdf, (1.0, -2.0), np.nan),
        (poisson.logpmf, (3, -1.0), np.nan),
    ],
)
def test_values_at_the_edges(ours, args, expected):
    np.testing.assert_allclose(ours(*args), expected, rtol=1e-13)


def test_t_approaches_the_normal_smoothly_in_df():
    # log density at 0.7, computed with mpmath at 40 digits (scipy's own is off by
    # 3.8e-13 at df = 1000, where its two gammaln values cancel)
    exact = {49.0: -1.1727984913661617, 50.0: -1.1726216318194415, 1e3: -1.1643734677585706,
             1e8: -1.1639385375544227, 1e20: -1.1639385332046727}  # fmt: skip
    for df, value in exact.items():
        np.testing.assert_allclose(t.logpdf(0.7, df), value, rtol=1e-14)
    # the derivative in df, by mpmath's numerical differentiation at 40 digits
    slope = {60.0: 0.00012044536775296743, 1e4: 4.3496691575538078e-9, 1e12: 4.349749999999123e-25}
    for df, value in slope.items():
        np.testing.assert_allclose(gm.grad(lambda d: t.logpdf(0.7, d))(df), value, rtol=1e-12)


def test_derivatives_at_the_edges():
    # below the support the distribution function is constant
    assert gm.grad(lambda x: gamma.cdf(x, 2.0))(-1.0) == 0.0
    # poisson at mu = 0: logpmf(0) = -mu, pmf(1) = mu e^-mu
    assert gm.grad(lambda m: poisson.logpmf(0, m))(0.0) == -1.0
    assert gm.grad(lambda m: poisson.pmf(1, m))(0.0) == 1.0
    # gamma(1) at its end: logpdf = -x, so the slope from inside is -1
    assert gm.grad(lambda x: gamma.logpdf(x, 1.0))(0.0) == -1.0
    # gamma(2): pdf = x e^-x, slope 1 at 0
    np.testing.assert_allclose(gm.grad(lambda x: gamma.pdf(x, 2.0))(0.0), 1.0)


def test_dirichlet_checks_as_scipy():
    alpha = np.array([1.0, 2.0, 3.0])
    x = np.array([0.2, 0.3, 0.5])
    # the K-1 coordinate form
    np.testing.assert_allclose(dirichlet.logpdf(x[:2], alpha), st.dirichlet.logpdf(x[:2], alpha))
    assert_derivatives(lambda y: dirichlet.logpdf(y, alpha), x[:2])
    for bad_x, bad_alpha in [(np.array([0.2, 0.3, 0.6]), alpha), (x, -alpha),
                             (np.array([0.0, 0.5, 0.5]), np.array([0.5, 1.0, 1.0])),
                             (np.array([-0.1, 0.6, 0.5]), alpha), (x[:1], alpha)]:  # fmt: skip
        with pytest.raises(ValueError):
            st.dirichlet.logpdf(bad_x, bad_alpha)
        with pytest.raises(ValueError, match="dirichlet"):
            dirichlet.logpdf(bad_x, bad_alpha)


@pytest.mark.parametrize(
    "x, kwargs",
    [
        (np.array([0.5, 1.0, 2.0]), {"mean": 0.0, "cov": 2.0}),  # n one-dimensional points
        (np.array([0.5, 1.0, 2.0]), {}),
        (np.array([0.5, 1.0]), {"mean": [0.0, 1.0], "cov": [1.0, 2.0]}),  # one point
        (np.array([[0.5, 1.0]]), {"mean": [0.0, 1.0], "cov": S}),
        (0.3, {"mean": 1.0, "cov": 2.0}),
        (np.ones((2, 3, 2)), {"mean": [0.0, 1.0], "cov": S}),
    ],
)
def test_multivariate_normal_reads_x_as_scipy(x, kwargs):
    ours = multivariate_normal.logpdf(x, **kwargs)
    ref = st.multivariate_normal.logpdf(x, **kwargs)
    assert np.shape(ours) == np.shape(ref)
    np.testing.assert_allclose(ours, ref, rtol=1e-12)
