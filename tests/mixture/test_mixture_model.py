"""Mixtures of any family: domains, the Newton M-step against closed forms, built-in families
against R's flexmix and mixtools and scipy, a user's family, the ascent, bad input.

R references (R 4.2, Debian's r-cran-flexmix 2.3-18 and r-cran-mixtools 2.0.0), on data
written by numpy with the seeds below:

    fit <- flexmix(X ~ 1, model = FLXMCmvpois(), cluster = labels,
                   control = list(tolerance = 1e-13, iter.max = 10000, minprior = 0))
    g <- gammamixEM(x, lambda = c(.5, .5), alpha = c(1.5, 8), beta = c(2, 1.5),
                    epsilon = 1e-12, maxit = 100000, mom.start = FALSE)
"""

import warnings

import dask.array as da
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

import gradmix as gm
import gradmix.scipy.special as sc
from gradmix.mixture.families import Domain, Poisson
from gradmix.mixture.families.newton import Layout, maximise
from gradmix.mixture.family_em import FamilyCoordinates, FamilyParams
from gradmix.mixture.mixture_model import tied_components
from scipy import stats

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# ------------------------------------------------------------------ domains
@pytest.mark.parametrize("domain, value", [
    (Domain("real"), np.array([[-1.5, 2.0]])),
    (Domain("positive"), np.array([0.3, 7.0])),
    (Domain("interval", -2.0, 5.0), np.array([-1.9, 0.0, 4.99])),
    (Domain("simplex"), np.array([[0.2, 0.5, 0.3], [0.9, 0.05, 0.05]])),
    (Domain("cholesky"), np.array([[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 0.5]])),
])  # fmt: skip
def test_domains_map_free_vectors_onto_their_values_and_back(domain, value):
    u = domain.to_free(value)
    assert u.shape == (domain.free_size(value.shape),)
    np.testing.assert_allclose(domain.to_value(u, value.shape), value, rtol=1e-12, atol=1e-14)
    any_u = np.random.default_rng(0).normal(size=u.shape) * 3
    assert domain.contains(domain.to_value(any_u, value.shape))


def test_bad_parameter_specs_are_refused():
    logpdf = lambda x, a: np.zeros(len(x))  # noqa: E731
    with pytest.raises(ValueError, match="unknown domain 'negative'"):
        gm.Family(logpdf, {"a": "negative"})
    with pytest.raises(ValueError, match="finite ends low < high"):
        gm.Family(logpdf, {"a": ("interval", 3.0, 1.0)})
    with pytest.raises(ValueError, match="shape must be a tuple"):
        gm.Family(logpdf, {"a": ((0,), "real")})
    with pytest.raises(ValueError, match="non-empty dict"):
        gm.Family(logpdf, {})
    with pytest.raises(ValueError, match="constraints name 'b'"):
        gm.Family(logpdf, {"a": "real"}, constraints={"b": "shared"})
    with pytest.raises(ValueError, match="needs a shape \\(..., p, p\\)"):
        Layout(gm.Family(logpdf, {"a": (("d",), "cholesky")}), 2, 3)


# ------------------------------------------------------------------ Newton against closed forms
def gaussian_family():
    def logpdf(x, mean, cov):
        L = np.linalg.cholesky(cov)
        z = np.linalg.solve(L, (x - mean).T)
        return (-0.5 * np.sum(z * z, axis=0) - np.sum(np.log(np.diagonal(L)))
                - 0.5 * x.shape[1] * np.log(2 * np.pi))  # fmt: skip

    return gm.Family(logpdf, {"mean": (("d",), "real"), "cov": (("d", "d"), "cholesky")},
                     init=lambda x, w: {"mean": np.average(x, axis=0, weights=w),
                                        "cov": np.cov(x.T, aweights=w, bias=True)})  # fmt: skip


@pytest.mark.parametrize("family, data", [
    (gm.families.Poisson(), lambda r: r.poisson([2.0, 7.0, 0.5], size=(400, 3))),
    (gm.families.Exponential(), lambda r: r.exponential([1.0, 4.0], size=(400, 2))),
    (gm.families.Bernoulli(), lambda r: (r.random((400, 3)) < [0.2, 0.5, 0.9]).astype(float)),
    (gm.families.LogNormal(), lambda r: np.exp(r.normal([0.0, 2.0], [0.5, 1.0], (400, 2)))),
    (gm.families.Gamma(), lambda r: r.gamma([2.0, 0.7], [1.0, 3.0], size=(400, 2))),
    (gm.families.VonMises(), lambda r: r.vonmises([0.5, -2.0], [4.0, 1.0], size=(400, 2))),
    (gaussian_family(), lambda r: r.multivariate_normal([1, 2], [[2, 0.6], [0.6, 1]], 400)),
])  # fmt: skip
def test_the_newton_m_step_is_the_closed_form(family, data):
    rng = np.random.default_rng(0)
    X = np.asarray(data(rng), dtype=float)
    W = rng.dirichlet([1.0, 1.0], size=len(X))  # soft responsibilities of two components
    layout = Layout(family, 2, X.shape[1])
    z = maximise(layout, np.zeros(layout.size), X, W, max_iter=200, tol=0.0)
    newton = layout.natural(z)
    if family.closed_form:
        closed = family.m_step(family.statistics(X, W), None)
    else:  # the Gaussian's: weighted means and covariances
        closed = {
            "mean": (W.T @ X) / W.sum(axis=0)[:, None],
            "cov": np.stack([np.cov(X.T, aweights=W[:, k], bias=True) for k in range(2)]),
        }
    for name in closed:
        if name == "mu":  # an angle: the same direction
            np.testing.assert_allclose(np.cos(newton[name] - closed[name]), 1.0, atol=1e-12)
        else:
            np.testing.assert_allclose(newton[name], closed[name], rtol=1e-8, atol=1e-10)


# ------------------------------------------------------------------ outside references
def _flexmix_poisson():
    """flexmix's Poisson data and start: rows from three classes, and the start's
    parameters and weights from random labels (flexmix's cluster = labels + 1)."""
    rng = np.random.default_rng(23)
    lam = np.array([[1.0, 6.0, 2.0, 9.0], [7.0, 1.5, 5.0, 2.0], [3.0, 3.0, 12.0, 0.5]])
    X = rng.poisson(lam[rng.choice(3, 600, p=[0.5, 0.3, 0.2])]).astype(float)
    labels = rng.integers(0, 3, 600)
    start = {"lam": np.array([X[labels == k].mean(axis=0) for k in range(3)])}
    return X, start, np.bincount(labels) / len(labels)


def test_poisson_mixture_is_flexmixs_from_the_same_start():
    X, start, weights = _flexmix_poisson()
    # flexmix: logLik -5494.2290535732 (after its iteration 331, tolerance 1e-13)
    prior = [0.0941530007, 0.3873462388, 0.5185007606]
    lam_ref = np.array([[1.786133452553, 5.732657791826, 0.982259992932, 10.77114778191],
                        [0.913171832557, 6.061130892545, 2.338510777878, 8.528526806307],
                        [5.36762246097, 2.11024482128, 7.55390249456, 1.40283476191]])  # fmt: skip
    for route in ("auto", "newton"):
        n_iter = {}
        for acceleration in (None, "squarem"):
            m = gm.MixtureModel("poisson", 3, params_init=start, weights_init=weights,
                                tol=1e-13, max_iter=20_000, m_step=route,
                                acceleration=acceleration).fit(X)  # fmt: skip
            assert m.converged_
            assert m.score(X) * len(X) >= -5494.2290535732 - 1e-8
            assert m.score(X) * len(X) == pytest.approx(-5494.2290535732, abs=1e-6)
            np.testing.assert_allclose(m.weights_, prior, atol=1e-5)
            np.testing.assert_allclose(m.params_["lam"], lam_ref, rtol=1e-4)
            assert np.all(np.diff(m.lower_bounds_) >= 0)
            n_iter[acceleration] = m.n_iter_
        # SQUAREM's passes, counted as plain EM's: a fraction of them to the same optimum
        assert n_iter["squarem"] < n_iter[None] / 2


def test_newton_refinement_reaches_flexmixs_optimum_from_a_loose_em():
    """EM stopped at tol=1e-4, then Newton on the exact Hessian: flexmix's optimum (EM to
    1e-13 in 331 iterations) to its digits, from the data and start of the test above."""
    X, start, weights = _flexmix_poisson()
    lam_ref = np.array([[1.786133452553, 5.732657791826, 0.982259992932, 10.77114778191],
                        [0.913171832557, 6.061130892545, 2.338510777878, 8.528526806307],
                        [5.36762246097, 2.11024482128, 7.55390249456, 1.40283476191]])  # fmt: skip
    m = gm.MixtureModel("poisson", 3, params_init=start, weights_init=weights, tol=1e-4,
                        max_iter=1000, refine="newton").fit(X)  # fmt: skip
    assert m.refine_converged_ and 0 < m.n_refine_iter_ < 50
    assert m.n_iter_ < 100  # EM's part: far from flexmix's 331 iterations
    assert m.score(X) * len(X) == pytest.approx(-5494.2290535732, abs=1e-8)
    assert m.lower_bounds_[-1] == m.lower_bound_ == pytest.approx(m.score(X), rel=1e-12)
    assert m.lower_bounds_[-1] > m.lower_bounds_[-2]
    # (flexmix's parameters are EM's to its tolerance: the test above's closeness)
    np.testing.assert_allclose(m.weights_, [0.0941530007, 0.3873462388, 0.5185007606],
                               atol=1e-5)  # fmt: skip
    np.testing.assert_allclose(m.params_["lam"], lam_ref, rtol=1e-4)


def test_newton_refinement_where_the_maximum_is_on_a_domains_edge():
    """A class whose first feature is almost always 1: the likelihood grows as its
    probability goes to 1 and its logit to infinity, where the Hessian stops being
    finite. Newton stops there, says so, and keeps its best point."""
    rng = np.random.default_rng(2)
    theta = np.array([[0.999, 0.8, 0.7, 0.2], [0.001, 0.3, 0.2, 0.9], [0.5, 0.5, 0.9, 0.1]])
    X = (rng.random((600, 4)) < theta[rng.integers(0, 3, 600)]).astype(float)
    em = gm.MixtureModel("bernoulli", 3, random_state=0, tol=1e-4).fit(X)
    with pytest.warns(ConvergenceWarning, match="did not reach a stationary point"):
        m = gm.MixtureModel("bernoulli", 3, random_state=0, tol=1e-4, refine="newton").fit(X)
    assert not m.refine_converged_
    assert m.score(X) >= em.score(X)
    assert np.all((m.params_["p"] >= 0) & (m.params_["p"] <= 1))
    assert np.max(m.params_["p"]) > 1 - 1e-6


def test_refine_needs_numpy_rows_and_reaches_the_gaussian_estimator():
    rng = np.random.default_rng(5)
    counts = rng.poisson([[3.0, 8.0]], size=(300, 2)).astype(float)
    # integer weights are repeated rows, for Newton's likelihood as for EM's
    w = rng.integers(1, 4, len(counts))
    kw = dict(n_components=2, params_init={"lam": [[2.0, 6.0], [4.0, 9.0]]}, tol=1e-3,
              refine="newton")  # fmt: skip
    a = gm.MixtureModel("poisson", **kw).fit(counts, sample_weight=w)
    b = gm.MixtureModel("poisson", **kw).fit(np.repeat(counts, w, axis=0))
    assert a.refine_converged_ and b.refine_converged_
    np.testing.assert_allclose(a.params_["lam"], b.params_["lam"], rtol=1e-7)
    with pytest.raises(ValueError, match="pass numpy data"):
        gm.MixtureModel("poisson", 2, refine="newton").fit(da.from_array(counts, chunks=100))
    X = np.r_[rng.normal(size=(150, 2)), rng.normal(size=(150, 2)) + 4]
    g = gm.MixtureModel("gaussian", 2, random_state=0, refine="newton").fit(X)
    assert g.estimator_.refine == "newton" and g.estimator_.refine_converged_
    # (the model reports Newton's run as a family's fit does, not only its estimator)
    assert g.refine_converged_ and g.n_refine_iter_ == g.estimator_.n_refine_iter_ > 0


def test_refine_with_max_iter_zero_runs_newton_from_the_start():
    """max_iter=0 runs no EM step; refine='newton' is then Newton from the start itself,
    not an option silently dropped. From the random-label start of the tests above,
    where EM climbs to flexmix's local optimum (-5494.23), Newton's steps reach the
    maximum that EM from a k-means start reaches (-5267.03, the simulated classes)."""
    X, start, weights = _flexmix_poisson()
    m = gm.MixtureModel("poisson", 3, params_init=start, weights_init=weights, max_iter=0,
                        refine="newton").fit(X)  # fmt: skip
    em = gm.MixtureModel("poisson", 3, random_state=0, tol=1e-12, max_iter=10_000).fit(X)
    assert m.n_iter_ == 0 and m.refine_converged_ and em.converged_
    assert m.lower_bounds_ == [m.lower_bound_]
    assert m.score(X) * len(X) == pytest.approx(em.score(X) * len(X), abs=1e-8)
    assert m.score(X) >= em.score(X) - 1e-13
    order = np.argsort(m.params_["lam"][:, 0])
    np.testing.assert_allclose(m.params_["lam"][order],
                               em.params_["lam"][np.argsort(em.params_["lam"][:, 0])],
                               rtol=1e-6)  # fmt: skip
    rng = np.random.default_rng(24)
    Y = np.r_[rng.normal(size=(200, 2)), rng.normal(size=(150, 2)) * 0.7 + 2.5]
    kw = dict(n_components=2, random_state=0, reg_covar=0.0, refine="newton")
    from_em = gm.GaussianMixture(**kw, tol=1e-4).fit(Y)
    from_start = gm.GaussianMixture(**kw, max_iter=0).fit(Y)
    assert from_start.n_iter_ == 0 and from_start.refine_converged_
    assert from_start.lower_bound_ == pytest.approx(from_em.lower_bound_, abs=1e-10)
    assert from_start.score(Y) == pytest.approx(from_em.score(Y), abs=1e-10)


def _laplace_mixture_em(x, weights, loc, scale, iterations=200):
    """EM with the Laplace mixture's exact M-step (a weighted median, the weighted mean
    absolute deviation from it): the outside reference for the Newton route below."""
    for _ in range(iterations):
        lp = np.log(weights) + stats.laplace.logpdf(x[:, None], loc, scale)
        ll = np.logaddexp.reduce(lp, axis=1)
        r = np.exp(lp - ll[:, None])
        weights = r.mean(axis=0)
        order = np.argsort(x)
        cum = np.cumsum(r[order], axis=0)
        loc = np.array([x[order][np.searchsorted(cum[:, k], cum[-1, k] / 2)]
                        for k in range(r.shape[1])])  # fmt: skip
        scale = (r * np.abs(x[:, None] - loc)).sum(axis=0) / r.sum(axis=0)
    lp = np.log(weights) + stats.laplace.logpdf(x[:, None], loc, scale)
    return np.logaddexp.reduce(lp, axis=1).mean(), weights, loc, scale


def test_a_density_with_a_kink_reaches_its_maximum_by_damped_newton_steps():
    """The Laplace family of ``gm.Family``'s docstring: its location enters through abs, so
    Q's second derivative along it is 0 and Newton's step there is long. Halving the
    whole step stalled the scales with it: EM stopped 0.048 (mean log-likelihood) short,
    scale 0.27 for 0.44, and said it had converged. Damped steps (Levenberg–Marquardt)
    reach the maximum of EM with the exact M-step."""
    rng = np.random.default_rng(0)
    X = np.r_[rng.laplace(0, 1, (300, 1)), rng.laplace(5, 0.5, (200, 1))]
    laplace = gm.Family(
        lambda x, loc, scale: np.sum(-np.abs(x - loc) / scale - np.log(2 * scale), axis=1),
        {"loc": (("d",), "real"), "scale": (("d",), "positive")})  # fmt: skip
    m = gm.MixtureModel(laplace, 2, random_state=0, tol=1e-8, max_iter=2000).fit(X)
    order = np.argsort(m.params_["loc"][:, 0])
    best, weights, loc, scale = _laplace_mixture_em(
        X[:, 0], m.weights_[order], m.params_["loc"][order, 0], m.params_["scale"][order, 0]
    )
    assert m.converged_
    assert best == pytest.approx(-2.0298134474551, abs=1e-12)  # (the reference's own check)
    # a kink's maximum is approached by steps that straddle it: to 2e-5, not to tol
    assert best - 2e-5 < m.score(X) <= best + 1e-12
    np.testing.assert_allclose(m.weights_[order], weights, atol=2e-3)
    np.testing.assert_allclose(m.params_["loc"][order, 0], loc, atol=2e-3)
    np.testing.assert_allclose(m.params_["scale"][order, 0], scale, rtol=2e-2)


TIED_CASES = {
    # a continuous family with a component on one repeated value: the density there grows
    # without bound as the spread shrinks (rows that are zero, for the exponential)
    "lognormal": lambda rng: np.exp(np.r_[rng.normal(0, 1, (300, 1)), np.full((50, 1), 3.0)]),
    "gamma": lambda rng: np.exp(np.r_[rng.normal(0, 1, (300, 1)), np.full((50, 1), 3.0)]),
    "exponential": lambda rng: np.r_[rng.exponential(1.0, (300, 1)), np.zeros((50, 1))],
    "vonmises": lambda rng: np.r_[rng.vonmises(0.0, 2.0, (300, 1)), np.full((50, 1), 1.0)],
}


@pytest.mark.parametrize("family", sorted(TIED_CASES))
def test_a_component_on_tied_values_is_named_and_its_parameters_stay_finite(family):
    """A log-normal component on 50 copies of e³ reported sigma 1e-150 and a mean
    log-likelihood of +47 as converged; a gamma's shape and rate became inf (its weight 0)
    with hundreds of numpy warnings; an exponential on zeros, rate 1e300 and +97; a von
    Mises on one angle, κ at its cap: all silently. The fit now says which component sits
    on tied values (as a Gaussian's at reg_covar alone) and keeps finite parameters."""
    X = TIED_CASES[family](np.random.default_rng(0))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.warns(gm.TiedValuesWarning, match="component [01] of the .* sits on tied"):
            m = gm.MixtureModel(family, 2, random_state=0, tol=1e-8, max_iter=500).fit(X)
    order = np.argsort(m.weights_)[::-1]  # (the tied component holds 50 of the 350 rows)
    assert m.family_.concentrated(m.params_)[order].tolist() == [False, True]
    assert m.weights_[order][1] == pytest.approx(50 / 350, abs=1e-3)
    assert all(np.all(np.isfinite(v)) for v in m.params_.values())
    # the other component is the one fit to the 300 rows alone
    alone = gm.MixtureModel(family, 1, tol=1e-10).fit(X[:300])
    for name, value in alone.params_.items():
        np.testing.assert_allclose(m.params_[name][order][0], value[0], rtol=2e-3, atol=1e-3)


def _normal_family(continuous):
    return gm.Family(
        lambda x, mu, sigma: np.sum(-0.5 * ((x - mu) / sigma) ** 2 - np.log(sigma), axis=1),
        {"mu": (("d",), "real"), "sigma": (("d",), "positive")}, continuous=continuous)  # fmt: skip


def test_a_component_fit_by_newton_steps_on_tied_values_is_named():
    """A Weibull component on 50 copies of 7.0 beside 300 spread rows: EM's Newton
    M-steps narrow it pass after pass (shape 381 where tol=1e-3 stopped it, 3 163 after
    5 000 passes at 1e-12), and the fit said it had converged, silently but for an
    overflow warning from a trial step.  Now the component is named (its rows are one
    value), the other is the fit to the 300 rows alone, and select_model leaves such
    fits out; so for a user's family that says it is continuous."""
    rng = np.random.default_rng(0)
    X = np.r_[rng.weibull(1.5, (300, 1)) * 2.0, np.full((50, 1), 7.0)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.warns(gm.TiedValuesWarning, match="component 1 of the weibull fit sits"):
            m = gm.MixtureModel("weibull", 2, random_state=0).fit(X)
    assert tied_components(m).tolist() == [1]
    assert m.params_["scale"][1, 0] == pytest.approx(7.0, rel=1e-8)
    alone = gm.MixtureModel("weibull", 1, tol=1e-10).fit(X[:300])
    for name, value in alone.params_.items():
        np.testing.assert_allclose(m.params_[name][0], value[0], rtol=2e-3)
    result = gm.select_model(X, range(1, 4), families=("weibull",), random_state=0)
    assert all(tied_components(model).size == 0 for model in result.models_.values())
    assert result.best_params_ == {"n_components": 1, "family": "weibull"}
    # a closed-form family fit by Newton M-steps has no floor either
    with pytest.warns(gm.TiedValuesWarning, match="component 1 of the lognormal fit sits"):
        gm.MixtureModel("lognormal", 2, random_state=0, m_step="newton").fit(
            TIED_CASES["lognormal"](np.random.default_rng(0))
        )
    # a user's density: named where it says it is continuous (not by default: a mass
    # function's component on one value is an honest fit)
    Y = np.r_[rng.normal(0.0, 1.0, (300, 1)), np.full((50, 1), 4.0)]
    with pytest.warns(gm.TiedValuesWarning, match="component [01] of the Family"):
        gm.MixtureModel(_normal_family(True), 2, random_state=0).fit(Y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", gm.TiedValuesWarning)
        gm.MixtureModel(_normal_family(False), 2, random_state=0).fit(Y)


def test_discrete_and_spread_components_are_not_on_tied_values():
    """A Poisson component on zeros has probability 1 there, a bounded likelihood: no
    warning; nor for continuous families whose components have a spread."""
    rng = np.random.default_rng(1)
    counts = np.r_[rng.poisson(3.0, (300, 1)), np.zeros((50, 1))]
    with warnings.catch_warnings():
        warnings.simplefilter("error", gm.TiedValuesWarning)
        p = gm.MixtureModel("poisson", 2, random_state=0).fit(counts)
        for family, make in TIED_CASES.items():
            m = gm.MixtureModel(family, 2, random_state=0).fit(make(rng)[:300])
            assert not np.any(m.family_.concentrated(m.params_))
        # (fits by Newton M-steps: their rows tell)
        spread = np.r_[rng.weibull(1.5, (300, 1)) * 2.0, rng.weibull(8.0, (50, 1)) * 7.0]
        w = gm.MixtureModel("weibull", 2, random_state=0).fit(spread)
        n = gm.MixtureModel(_normal_family(True), 2, random_state=0).fit(np.log(spread))
    assert not np.any(p.family_.concentrated(p.params_))
    assert tied_components(w).size == tied_components(n).size == tied_components(p).size == 0


def test_the_gamma_shape_equation_is_solved_for_tiny_and_ordinary_gaps():
    """log a − ψ(a) = s: against scipy's root finder where s is ordinary, and the
    asymptotic expansion a = 1/(2s) + 1/6 + O(s) where it is tiny, with no numpy warning
    (Newton's steps there divided rounding noise by ψ'(a) − 1/a: inf and nan)."""
    from gradmix.mixture.families.positive import gamma_shape
    from scipy import optimize, special

    ordinary = np.array([5.0, 1.0, 0.1, 1e-3, 2e-6])
    expected = [optimize.brentq(lambda a, s=s: np.log(a) - special.digamma(a) - s,
                                1e-12, 1e12, xtol=1e-14, rtol=1e-15) for s in ordinary]  # fmt: skip
    np.testing.assert_allclose(gamma_shape(ordinary), expected, rtol=1e-10)
    tiny = np.array([5e-7, 1e-9, 1e-12, 1e-14, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = gamma_shape(tiny)
    gap = np.maximum(tiny, 1e-300)
    np.testing.assert_allclose(a, 1 / (2 * gap) + 1 / 6, rtol=1e-11)


def test_rows_outside_the_support_have_probability_zero_and_no_component():
    """Fit refuses 1.5 counts; scoring gave them a value of Poisson's pmf extended through
    gammaln (-1.75), a Bernoulli 0.5 or 2 a probability, and a categorical code 7 of 4
    (or 0.5) probability 1. Their probability is 0: score_samples gives -inf, and no
    component can be named for them (as for rows beyond float64's range of a Gaussian)."""
    rng = np.random.default_rng(0)
    counts = np.r_[rng.poisson(2.0, (150, 1)), rng.poisson(7.0, (150, 1))].astype(float)
    cases = {"poisson": (counts, [[-1.0], [1.5]], [[0.0], [4.0]]),
             "bernoulli": ((counts > 3).astype(float), [[0.5], [2.0]], [[0.0], [1.0]]),
             "categorical": (np.minimum(counts, 3.0), [[0.5], [7.0]], [[0.0], [3.0]])}  # fmt: skip
    for family, (X, outside, inside) in cases.items():
        m = gm.MixtureModel(family, 2, random_state=0).fit(X)
        rows = np.array(outside + inside)
        scores = m.score_samples(rows)
        np.testing.assert_array_equal(scores[:2], [-np.inf, -np.inf])
        # the rows inside: the mixture's log-probability, by scipy's distributions
        weights, theta = m.weights_, m.params_
        if family == "poisson":
            per = stats.poisson.logpmf(rows[2:, 0, None], theta["lam"][:, 0])
        elif family == "bernoulli":
            per = stats.bernoulli.logpmf(rows[2:, 0, None], theta["p"][:, 0])
        else:
            codes = rows[2:, 0].astype(int)
            per = np.log(theta["probs"][:, 0, :][:, codes].T)
        expected = np.logaddexp.reduce(np.log(weights) + per, axis=1)
        np.testing.assert_allclose(scores[2:], expected, rtol=1e-12)
        for predict in (m.predict, m.predict_proba):
            with pytest.raises(ValueError, match="probability 0 under every component"):
                predict(rows)
        assert m.predict_proba(rows[2:]).sum(axis=1) == pytest.approx([1.0, 1.0])


def test_gamma_mixture_reaches_mixtools_optimum():
    rng = np.random.default_rng(29)
    x = np.r_[rng.gamma(2.0, 1.5, 350), rng.gamma(9.0, 1.2, 250)][:, None]
    # mixtools gammamixEM: loglik -1641.8104557331, lambda (0.573869400719, 0.426130599281),
    # alpha (2.02161067436, 8.85514457763), beta (scale) (1.40860171948, 1.20391980752)
    start = {"shape": [[1.5], [8.0]], "rate": [[0.5], [1 / 1.5]]}
    n_iter = {}
    for acceleration in (None, "squarem"):
        m = gm.MixtureModel("gamma", 2, params_init=start, tol=1e-13, max_iter=20_000,
                            acceleration=acceleration).fit(x)  # fmt: skip
        n_iter[acceleration] = m.n_iter_
        assert m.score(x) * len(x) >= -1641.8104557331 - 1e-8
        np.testing.assert_allclose(m.weights_, [0.573869400719, 0.426130599281], atol=1e-4)
        np.testing.assert_allclose(m.params_["shape"].ravel(), [2.02161067436, 8.85514457763],
                                   rtol=1e-4)  # fmt: skip
        np.testing.assert_allclose(1 / m.params_["rate"].ravel(),
                                   [1.40860171948, 1.20391980752], rtol=1e-4)  # fmt: skip
    assert n_iter["squarem"] < n_iter[None] / 2
    refined = gm.MixtureModel("gamma", 2, params_init=start, tol=1e-3, refine="newton").fit(x)
    assert refined.refine_converged_
    assert refined.score(x) * len(x) == pytest.approx(-1641.8104557331, abs=1e-8)


def test_bernoulli_latent_classes_equal_a_closed_form_em():
    rng = np.random.default_rng(5)
    p = np.array([[0.9, 0.8, 0.1, 0.2, 0.7], [0.2, 0.1, 0.8, 0.9, 0.3]])
    X = (rng.random((800, 5)) < p[rng.choice(2, 800, p=[0.6, 0.4])]).astype(float)
    w, q = np.array([0.5, 0.5]), np.array([[0.6, 0.6, 0.4, 0.4, 0.5], [0.4, 0.4, 0.6, 0.6, 0.5]])
    m = gm.MixtureModel("bernoulli", 2, params_init={"p": q}, weights_init=w, tol=0,
                        max_iter=50).fit(X)  # fmt: skip
    for _ in range(50):  # the textbook EM of latent class analysis
        logp = X @ np.log(q).T + (1 - X) @ np.log(1 - q).T + np.log(w)
        r = np.exp(logp - logp.max(axis=1, keepdims=True))
        r /= r.sum(axis=1, keepdims=True)
        w, q = r.mean(axis=0), (r.T @ X) / r.sum(axis=0)[:, None]
    np.testing.assert_allclose(m.weights_, w, rtol=1e-10)
    np.testing.assert_allclose(m.params_["p"], q, rtol=1e-10)


def test_von_mises_against_scipy_and_in_simulation():
    rng = np.random.default_rng(3)
    one = stats.vonmises.rvs(2.5, loc=1.0, size=500, random_state=rng)[:, None]
    m = gm.MixtureModel("vonmises", 1, tol=1e-12).fit(one)
    kappa, loc, _ = stats.vonmises.fit(one[:, 0], fscale=1)
    assert m.params_["kappa"][0, 0] == pytest.approx(kappa, rel=1e-5)
    assert np.cos(m.params_["mu"][0, 0] - loc) == pytest.approx(1.0, abs=1e-10)
    two = np.r_[stats.vonmises.rvs(8.0, loc=-2.0, size=2000, random_state=rng),
                stats.vonmises.rvs(3.0, loc=1.0, size=3000, random_state=rng)]  # fmt: skip
    two = (np.mod(two + np.pi, 2 * np.pi) - np.pi)[:, None]
    m = gm.MixtureModel("vonmises", 2, random_state=0, tol=1e-10).fit(two)
    order = np.argsort(m.params_["mu"][:, 0])
    np.testing.assert_allclose(m.params_["mu"][order, 0], [-2.0, 1.0], atol=0.05)
    np.testing.assert_allclose(m.params_["kappa"][order, 0], [8.0, 3.0], rtol=0.1)
    np.testing.assert_allclose(m.weights_[order], [0.4, 0.6], atol=0.02)


def test_weibull_and_lognormal_recover_simulated_mixtures():
    rng = np.random.default_rng(8)
    x = np.r_[4.0 * rng.weibull(1.5, 3000), 20.0 * rng.weibull(5.0, 2000)][:, None]
    m = gm.MixtureModel("weibull", 2, random_state=0, tol=1e-9).fit(x)
    order = np.argsort(m.params_["scale"][:, 0])
    np.testing.assert_allclose(m.params_["shape"][order, 0], [1.5, 5.0], rtol=0.1)
    np.testing.assert_allclose(m.params_["scale"][order, 0], [4.0, 20.0], rtol=0.05)
    y = np.exp(np.r_[rng.normal(0.0, 0.4, 3000), rng.normal(2.0, 0.3, 2000)])[:, None]
    m = gm.MixtureModel("lognormal", 2, random_state=0, tol=1e-9).fit(y)
    order = np.argsort(m.params_["mu"][:, 0])
    np.testing.assert_allclose(m.params_["mu"][order, 0], [0.0, 2.0], atol=0.05)
    np.testing.assert_allclose(m.params_["sigma"][order, 0], [0.4, 0.3], rtol=0.08)


def test_categorical_latent_classes_recover_their_probabilities():
    rng = np.random.default_rng(4)
    probs = np.array([[[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.5, 0.4, 0.1]],
                      [[0.1, 0.2, 0.7], [0.8, 0.1, 0.1], [0.1, 0.1, 0.8]]])  # fmt: skip
    z = rng.choice(2, 4000, p=[0.55, 0.45])
    u = rng.random((4000, 3, 1))
    X = np.sum(u > np.cumsum(probs[z], axis=-1), axis=-1).astype(float)
    m = gm.MixtureModel("categorical", 2, random_state=0, n_init=3, tol=1e-9).fit(X)
    assert m.family_.n_categories == 3
    order = np.argsort(m.params_["probs"][:, 0, 0])[::-1]
    np.testing.assert_allclose(m.params_["probs"][order], probs, atol=0.04)
    np.testing.assert_allclose(m.weights_[order], [0.55, 0.45], atol=0.02)


# ------------------------------------------------------------------ a user's family
def skew_normal():
    def logpdf(x, loc, scale, alpha):
        z = (x[:, 0] - loc) / scale
        return (np.log(2.0) - np.log(scale) - 0.5 * np.log(2 * np.pi) - 0.5 * z * z
                + sc.log_ndtr(alpha * z))  # fmt: skip

    def sample(rng, n, loc, scale, alpha):
        return stats.skewnorm.rvs(alpha, loc, scale, size=(n, 1), random_state=rng)

    return gm.Family(logpdf, {"loc": "real", "scale": "positive", "alpha": "real"},
                     sample=sample, name="skew-normal")  # fmt: skip


def test_a_users_skew_normal_mixture_recovers_its_parameters():
    rng = np.random.default_rng(1)
    X = np.r_[stats.skewnorm.rvs(4, 0, 1, size=3000, random_state=rng),
              stats.skewnorm.rvs(-3, 6, 1.5, size=2000, random_state=rng)][:, None]  # fmt: skip
    m = gm.MixtureModel(skew_normal(), 2, random_state=0, tol=1e-9, max_iter=2000).fit(X)
    order = np.argsort(m.params_["loc"])
    np.testing.assert_allclose(m.params_["loc"][order], [0.0, 6.0], atol=0.1)
    np.testing.assert_allclose(m.params_["scale"][order], [1.0, 1.5], rtol=0.1)
    np.testing.assert_allclose(m.params_["alpha"][order], [4.0, -3.0], rtol=0.3)
    np.testing.assert_allclose(m.weights_[order], [0.6, 0.4], atol=0.02)
    Y, y = m.sample(100)
    assert Y.shape == (100, 1) and set(np.unique(y)) <= {0, 1}


def test_standard_errors_agree_with_a_parametric_bootstrap():
    family = skew_normal()
    rng = np.random.default_rng(2)
    X = stats.skewnorm.rvs(3, 1, 2, size=400, random_state=rng)[:, None]
    fit = gm.MixtureModel(family, 1, tol=1e-10, max_iter=500).fit(X)
    se = fit.standard_errors(X)
    truth = {n: v[0] for n, v in fit.params_.items()}
    refits = []
    for b in range(200):
        Xb = stats.skewnorm.rvs(truth["alpha"], truth["loc"], truth["scale"], size=400,
                                random_state=np.random.default_rng(1000 + b))[:, None]  # fmt: skip
        start = {n: v[None] for n, v in truth.items()}
        mb = gm.MixtureModel(family, 1, tol=1e-9, max_iter=500, params_init=start).fit(Xb)
        refits.append([mb.params_[n][0] for n in ("loc", "scale", "alpha")])
    spread = np.std(refits, axis=0, ddof=1)
    np.testing.assert_allclose([se[n][0] for n in ("loc", "scale", "alpha")], spread, rtol=0.15)


# ------------------------------------------------------------------ the ascent
def hard_family():
    """A density whose Hessian is not negative definite away from the optimum (Cauchy)."""
    return gm.Family(lambda x, loc, scale: np.sum(-np.log(np.pi * scale) - np.log1p(
        ((x - loc) / scale) ** 2), axis=1), {"loc": (("d",), "real"),
                                             "scale": (("d",), "positive")})  # fmt: skip


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from(["poisson", "gamma", "vonmises", "user",
                                                    "cauchy"]), st.integers(1, 3),
       st.sampled_from([None, "squarem"]))  # fmt: skip
def test_em_never_decreases_the_likelihood(seed, kind, K, acceleration):
    rng = np.random.default_rng(seed)
    n = 150
    if kind == "poisson":
        X, family = rng.poisson(rng.uniform(0.5, 10, (K, 2))[rng.integers(0, K, n)]), "poisson"
    elif kind == "gamma":
        X, family = rng.gamma(rng.uniform(0.5, 5, (n, 1)), 1.0), "gamma"
    elif kind == "vonmises":
        X, family = rng.vonmises(rng.uniform(-3, 3, K)[rng.integers(0, K, n)], 3.0)[:, None], \
            "vonmises"  # fmt: skip
    elif kind == "user":
        X, family = rng.standard_t(3, size=(n, 1)) * 2 + rng.integers(0, K, n)[:, None] * 5, \
            skew_normal()  # fmt: skip
    else:
        X, family = rng.standard_cauchy((n, 1)), hard_family()
    m = gm.MixtureModel(family, K, random_state=seed, tol=0, max_iter=15,
                        acceleration=acceleration).fit(X)  # fmt: skip
    lb = np.asarray(m.lower_bounds_)
    assert np.all(np.diff(lb) >= -1e-10 * np.maximum(1.0, np.abs(lb[1:])))
    np.testing.assert_allclose(m.predict_proba(X).sum(axis=1), 1.0, rtol=1e-12)


# ------------------------------------------------------------------ the estimator surface
def test_dask_sample_weight_and_predictions():
    rng = np.random.default_rng(6)
    X = rng.poisson(np.array([[2.0, 8.0], [9.0, 1.0]])[rng.integers(0, 2, 900)]).astype(float)
    kw = dict(n_components=2, params_init={"lam": [[1.0, 5.0], [5.0, 1.0]]}, tol=1e-10)
    a = gm.MixtureModel("poisson", **kw).fit(X)
    b = gm.MixtureModel("poisson", **kw).fit(da.from_array(X, chunks=250))
    np.testing.assert_allclose(b.lower_bounds_, a.lower_bounds_, rtol=1e-12)
    # SQUAREM on Dask: each EM map one pass over the blocks, the same path as in memory
    fast = [gm.MixtureModel("poisson", acceleration="squarem", **kw).fit(data)
            for data in (X, da.from_array(X, chunks=250))]  # fmt: skip
    np.testing.assert_allclose(fast[1].lower_bounds_, fast[0].lower_bounds_, rtol=1e-12)
    assert fast[0].score(X) >= a.score(X) - 1e-10
    np.testing.assert_array_equal(np.asarray(b.predict(da.from_array(X, chunks=250))),
                                  a.predict(X))  # fmt: skip
    w = rng.integers(0, 3, len(X))
    c = gm.MixtureModel("poisson", **kw).fit(X, sample_weight=w)
    d = gm.MixtureModel("poisson", **kw).fit(np.repeat(X, w, axis=0))
    np.testing.assert_allclose(c.params_["lam"], d.params_["lam"], rtol=1e-9)
    assert a.score(X) == pytest.approx(np.mean(a.score_samples(X)))
    assert a.bic(X) == pytest.approx(-2 * a.score(X) * len(X) + 5 * np.log(len(X)))
    assert a.n_parameters_ == 5 and a.icl(X) >= a.bic(X)


def test_gaussian_and_t_families_span_one_api():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) + 6]
    g = gm.MixtureModel(gm.families.Gaussian("VVV"), 2, random_state=0).fit(X)
    # MixtureModel's defaults: one k-means start, scikit-learn's tolerance
    ref = gm.GaussianMixture(
        2, covariance_type="VVV", init_params="kmeans", tol=1e-3, random_state=0
    ).fit(X)
    np.testing.assert_allclose(g.params_["mean"], ref.means_)
    np.testing.assert_allclose(g.score_samples(X), ref.score_samples(X))
    t = gm.MixtureModel("t", 2, random_state=0).fit(X)
    assert t.params_["dof"].shape == (2,) and t.n_parameters_ == ref.n_parameters_ + 2


def test_acceleration_reaches_the_gaussian_and_t_estimators_and_bad_values_are_refused():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) * 1.5 + 3]
    t = gm.MixtureModel("t", 2, random_state=0, acceleration="squarem", tol=1e-8).fit(X)
    ref = gm.StudentTMixture(2, init_params="kmeans", random_state=0, tol=1e-8,
                             acceleration="squarem").fit(X)  # fmt: skip
    assert t.estimator_.acceleration == "squarem"
    np.testing.assert_allclose(t.score_samples(X), ref.score_samples(X))
    with pytest.raises(ValueError, match="disagree"):
        gm.MixtureModel(gm.families.Gaussian(acceleration=None), 2,
                        acceleration="squarem").fit(X)  # fmt: skip
    with pytest.raises(ValueError, match="The 'acceleration' parameter of MixtureModel must be"):
        gm.MixtureModel("poisson", 2, acceleration="anderson").fit(X.round() ** 2)


@pytest.mark.parametrize("family, d", [
    (gm.families.Poisson(), 2),  # positive
    (gm.families.Bernoulli(), 3),  # interval
    (gm.families.Categorical(4), 2),  # simplex
    (gm.families.VonMises(), 1),  # real and positive
    (gaussian_family(), 2),  # real and cholesky
])  # fmt: skip
def test_squarem_coordinates_are_every_mixture_of_the_family(family, d):
    """The coordinates SQUAREM's jumps move in give back the mixture they were taken
    from, any point of them is a mixture (weights on the simplex, parameters in their
    domains), and a point that is none is refused."""
    rng = np.random.default_rng(3)
    layout = Layout(family, 3, d)
    coordinates = FamilyCoordinates(layout)
    p = FamilyParams(np.array([0.2, 0.5, 0.3]), layout.natural(rng.normal(size=layout.size)))
    back = coordinates.params(coordinates.vector(p), p)
    np.testing.assert_allclose(back.weights, p.weights, rtol=1e-14)
    for name in p.theta:
        np.testing.assert_allclose(back.theta[name], p.theta[name], rtol=1e-12, atol=1e-14)
    z = rng.normal(scale=3.0, size=3 + layout.size)
    q = coordinates.params(z, p)
    assert np.all(q.weights > 0) and np.sum(q.weights) == pytest.approx(1.0, abs=1e-15)
    for name, values in q.theta.items():
        assert all(layout.domains[name].contains(v) for v in values)
    assert coordinates.params(np.r_[z[:-1], np.nan], p) is None
    assert coordinates.params(np.r_[0.0, 0.0, -800.0, z[3:]], p) is None  # a weight of 0


def test_select_model_compares_families_by_bic():
    rng = np.random.default_rng(0)
    counts = rng.poisson(np.array([[2.0, 9.0], [10.0, 1.0]])[rng.integers(0, 2, 600)])
    sel = gm.select_model(counts.astype(float), range(1, 4), ("VVV",), random_state=0,
                          families=("gaussian", "poisson"))  # fmt: skip
    assert sel.best_params_ == {"n_components": 2, "family": "poisson"}
    assert sel.covariance_types == ["VVV", "poisson"]
    assert isinstance(sel.best_, gm.MixtureModel)
    assert sel.best_.acceleration == "squarem"  # "auto" reaches every family's fits
    plain = gm.select_model(counts.astype(float), [2], ("VVV",), random_state=0,
                            families=("poisson",), acceleration=None)  # fmt: skip
    assert plain.best_.acceleration is None
    # the same optimum by either route (a tolerance's worth apart)
    assert sel.best_.score(counts) == pytest.approx(plain.best_.score(counts), abs=1e-5)
    normal = np.r_[rng.normal(size=(300, 2)), rng.normal(size=(300, 2)) * 2 + 7]
    sel = gm.select_model(normal, range(1, 4), ("VVV",), random_state=0,
                          families=("gaussian", "exponential"))  # fmt: skip
    assert sel.best_params_["family"] == "gaussian"


# ------------------------------------------------------------------ bad input
def test_data_outside_a_support_name_the_rows():
    with pytest.raises(
        ValueError,
        match="2 rows are outside the support of the poisson family "
        "\\(non-negative integers\\); the first is row 1",
    ):
        gm.MixtureModel("poisson", 1).fit(np.array([[1.0], [-2.0], [0.5], [3.0]]))
    with pytest.raises(ValueError, match="angles in radians"):
        gm.MixtureModel("vonmises", 1).fit(np.array([[0.1], [4.0], [1.0]]))
    with pytest.raises(ValueError, match="positive numbers"):
        gm.MixtureModel("gamma", 1).fit(np.array([[0.1], [0.0], [1.0]]))


def test_bad_logpdfs_get_clear_errors_at_the_start():
    X = np.random.default_rng(0).normal(size=(50, 2))
    spec = {"m": (("d",), "real")}
    with pytest.raises(ValueError, match="shape \\(50,\\); it returned shape \\(50, 2\\)"):
        gm.MixtureModel(gm.Family(lambda x, m: -((x - m) ** 2), spec), 1).fit(X)
    with pytest.raises(ValueError, match="logpdf returned nan at row 0"):
        gm.MixtureModel(gm.Family(lambda x, m: np.sum(np.log(x - m - 100), axis=1), spec),
                        1).fit(X)  # fmt: skip

    def converting(x, m):
        shift = np.asarray(m, dtype=float)  # drops the derivative: refused under AD
        return -np.sum((x - shift) ** 2, axis=1)

    with pytest.raises(ValueError, match="parameter 'm' in a way gradmix cannot"):
        gm.MixtureModel(gm.Family(converting, spec), 1).fit(X)
    with pytest.raises(ValueError, match="params_init\\['m'\\] should have the shape"):
        gm.MixtureModel(gm.Family(lambda x, m: -np.sum((x - m) ** 2, axis=1), spec), 2,
                        params_init={"m": np.zeros((2, 3))}).fit(X)  # fmt: skip
    with pytest.raises(ValueError, match="family must be a gm.Family"):
        gm.MixtureModel("zipf", 2).fit(X)
    with pytest.raises(ValueError, match="MixtureModel runs the family's numpy logpdf"):
        import array_api_strict

        gm.MixtureModel("exponential", 1).fit(array_api_strict.asarray(np.abs(X)))


def test_sampling_a_family_without_a_sampler_says_so():
    X = np.random.default_rng(0).normal(size=(60, 1))
    m = gm.MixtureModel(gm.Family(lambda x, m: -np.sum((x - m) ** 2, axis=1),
                                  {"m": (("d",), "real")}), 1).fit(X)  # fmt: skip
    with pytest.raises(ValueError, match="has no sample="):
        m.sample(3)
    assert isinstance(Poisson().describe(), str)


def test_save_and_load_built_in_and_user_families(tmp_path):
    rng = np.random.default_rng(0)
    Y = rng.integers(0, 3, size=(300, 2)).astype(float)
    m = gm.MixtureModel("categorical", 2, random_state=0).fit(Y)
    back = gm.load(m.save(tmp_path / "c"))
    assert back.family_.n_categories == 3
    np.testing.assert_allclose(back.predict_proba(Y), m.predict_proba(Y), rtol=1e-14)
    Z = stats.skewnorm.rvs(3, size=(300, 1), random_state=rng)
    u = gm.MixtureModel(skew_normal(), 1, random_state=0).fit(Z)
    path = u.save(tmp_path / "u")
    with pytest.raises(ValueError, match="user family 'skew-normal', whose code is not saved"):
        gm.load(path)
    other = gm.Family(lambda x, loc: -np.sum((x - loc) ** 2, axis=1), {"loc": "real"})
    with pytest.raises(ValueError, match="other parameters than the file's"):
        gm.load(path, family=other)
    back = gm.load(path, family=skew_normal())
    np.testing.assert_allclose(back.score_samples(Z), u.score_samples(Z), rtol=1e-14)
    g = gm.MixtureModel("gaussian", 1).fit(Z)
    with pytest.raises(TypeError, match="model.estimator_.save"):
        g.save(tmp_path / "g")


@pytest.mark.parametrize("acceleration", [None, "squarem"])
def test_a_component_no_row_reaches_keeps_its_parameters(tmp_path, acceleration):
    """A start whose second component explains no row: its weight goes to 0, and its
    closed-form M-step would be 0/0. It keeps its start (before: NaN parameters, a
    model that could not be loaded back, and 'invalid value' warnings from EM)."""
    rng = np.random.default_rng(5)
    counts = rng.poisson([[3.0, 8.0]], size=(300, 2)).astype(float)
    X = rng.gamma(2.0, 1.0, (300, 1))
    for family, data, start in (
        ("poisson", counts, {"lam": [[3.0, 8.0], [1e6, 1e6]]}),
        ("gamma", X, {"shape": [[2.0], [1e4]], "rate": [[1.0], [1e-5]]}),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            m = gm.MixtureModel(family, 2, params_init=start, max_iter=20,
                                acceleration=acceleration).fit(data)  # fmt: skip
        assert m.weights_[1] == 0.0
        for name, values in start.items():
            np.testing.assert_array_equal(m.params_[name][1], values[1])
        one = gm.MixtureModel(family, 1, params_init={n: [v[0]] for n, v in start.items()},
                              max_iter=20).fit(data)  # fmt: skip
        assert m.score(data) == pytest.approx(one.score(data), rel=1e-12)
        back = gm.load(m.save(tmp_path / f"{family}-{acceleration}"))
        np.testing.assert_allclose(back.score_samples(data), m.score_samples(data), rtol=1e-14)


def test_warm_start_continues_from_the_fit():
    rng = np.random.default_rng(1)
    X = rng.gamma([2.0, 6.0], 1.0, size=(500, 2))
    m = gm.MixtureModel("weibull", 2, random_state=0, max_iter=3).fit(X)
    first = m.lower_bound_
    m.set_params(warm_start=True, max_iter=20).fit(X)
    assert m.lower_bounds_[0] >= first - 1e-12


def test_the_gaussian_and_t_families_log_densities_are_scipys():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 3))
    mean, cov = np.array([0.5, -1.0, 2.0]), np.array([[2.0, 0.3, 0.1], [0.3, 1.0, -0.2],
                                                      [0.1, -0.2, 0.5]])  # fmt: skip
    ours = gm.families.Gaussian().logpdf(X, mean=mean, covariance=cov)
    np.testing.assert_allclose(ours, stats.multivariate_normal(mean, cov).logpdf(X), rtol=1e-12)
    ours = gm.families.StudentT().logpdf(X, mean=mean, covariance=cov, dof=3.5)
    np.testing.assert_allclose(ours, stats.multivariate_t(mean, cov, df=3.5).logpdf(X), rtol=1e-12)
    # and the Newton M-step reads them: the Gaussian's equals the weighted moments
    W = rng.dirichlet([1.0, 1.0], size=len(X))
    layout = Layout(gm.families.Gaussian(), 2, 3)
    theta = layout.natural(maximise(layout, np.zeros(layout.size), X, W, tol=0.0))
    np.testing.assert_allclose(theta["mean"], (W.T @ X) / W.sum(axis=0)[:, None], rtol=1e-8)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++"])
def test_a_fit_on_a_data_frame_does_not_warn_about_its_own_sample(init_params):
    # the k-means start ran on a sample of the rows, validated again as a plain array:
    # scikit-learn's "X does not have valid feature names, but MixtureModel was fitted
    # with feature names" on every fit of a DataFrame
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.gamma(2.0, size=(200, 2)), columns=["a", "b"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = gm.MixtureModel("gamma", 2, init_params=init_params, random_state=0).fit(frame)
        model.predict(frame)
    assert list(model.feature_names_in_) == ["a", "b"]
    plain = gm.MixtureModel("gamma", 2, init_params=init_params, random_state=0).fit(frame.values)
    np.testing.assert_array_equal(model.params_["shape"], plain.params_["shape"])
