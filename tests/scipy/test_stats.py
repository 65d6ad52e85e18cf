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
