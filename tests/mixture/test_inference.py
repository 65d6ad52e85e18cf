"""Standard errors, Newton refinement and gradient fitting on the AD likelihood."""

import warnings

import array_api_strict
import numpy as np
import pytest

import gradmix as gm
from gradmix.datasets import load_old_faithful
from gradmix.mixture.components import Gaussian
from gradmix.mixture.covariance import get_model
from gradmix.mixture.em import e_step
from gradmix.mixture.executors.host import HostExecutor
from gradmix.mixture.maximisation import m_step
from gradmix.mixture.params import Params

TYPES = ["full", "tied", "diag", "spherical"]


@pytest.mark.parametrize("covariance_type", TYPES)
def test_one_component_mean_error_is_sigma_over_root_n(covariance_type):
    rng = np.random.default_rng(0)
    n = 400
    X = rng.normal(size=(n, 3)) * [1.0, 3.0, 0.5] + [2.0, -1.0, 0.0]
    m = gm.GaussianMixture(1, covariance_type=covariance_type, reg_covar=0).fit(X)
    se = m.standard_errors(X)
    var = np.broadcast_to(get_model(covariance_type).variances(m.covariances_), (1, 3))
    np.testing.assert_allclose(se["means"], np.sqrt(var / n), rtol=1e-9)
    assert se["weights"] == pytest.approx([0.0], abs=1e-12)  # one weight: fixed at 1
    assert se["covariances"].shape == m.covariances_.shape
    if covariance_type == "spherical":
        # the MLE of one variance from n·d squares: se = σ² √(2 / (n d))
        assert se["covariances"][0] == pytest.approx(m.covariances_[0] * np.sqrt(2 / (n * 3)),
                                                     rel=1e-9)  # fmt: skip


def test_two_components_agree_with_a_parametric_bootstrap():
    rng = np.random.default_rng(1)
    n = 400
    z = rng.random(n) < 0.4
    X = np.where(z[:, None], rng.normal(0.0, 1.0, (n, 1)), rng.normal(4.0, 0.7, (n, 1)))
    kw = dict(n_components=2, covariance_type="diag", reg_covar=0, tol=1e-10)
    m = gm.GaussianMixture(**kw, random_state=0).fit(X)
    se = m.standard_errors(X)
    start = dict(weights_init=m.weights_, means_init=m.means_, precisions_init=m.precisions_)
    boot = {"weights": [], "means": [], "covariances": []}
    for _ in range(200):
        comp = rng.random(n) < m.weights_[0]
        sd = np.sqrt(m.covariances_[:, 0])
        Xb = np.where(comp[:, None], rng.normal(m.means_[0, 0], sd[0], (n, 1)),
                      rng.normal(m.means_[1, 0], sd[1], (n, 1)))  # fmt: skip
        fb = gm.GaussianMixture(**kw, **start).fit(Xb)
        for name in boot:
            boot[name].append(getattr(fb, name + "_"))
    for name in boot:
        sd_boot = np.std(np.array(boot[name]), axis=0, ddof=1)
        # 200 replicates: the bootstrap's own relative noise is ~1/sqrt(400) = 5 %
        np.testing.assert_allclose(se[name], sd_boot, rtol=0.2, err_msg=name)


def test_confidence_intervals_are_centred_on_the_estimates():
    X = load_old_faithful()
    m = gm.GaussianMixture(2, reg_covar=0, random_state=0).fit(X)
    se = m.standard_errors(X)
    ci = m.confidence_intervals(X, level=0.95)
    lo, hi = ci["means"]
    np.testing.assert_allclose((lo + hi) / 2, m.means_, rtol=1e-12)
    np.testing.assert_allclose((hi - lo) / 2, 1.959963984540054 * se["means"], rtol=1e-9)
    narrow = m.confidence_intervals(X, level=0.5)["means"]
    assert np.all(narrow[1] - narrow[0] < hi - lo)
    with pytest.raises(ValueError, match="level"):
        m.confidence_intervals(X, level=1.5)


def test_component_on_a_single_point_is_a_clear_error():
    rng = np.random.default_rng(2)
    X = np.concatenate([rng.normal(size=(60, 2)), [[40.0, 40.0]]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = gm.GaussianMixture(2, random_state=0).fit(X)
    assert np.min(m.weights_) * len(X) == pytest.approx(1.0, rel=1e-6)
    with pytest.raises(ValueError, match="singular"):
        m.standard_errors(X)


def em_step(model_type, X, weights, means, prec_chol):
    """One EM step (reg_covar = 0) from given parameters, in gradmix's own E/M-step."""
    model = get_model(model_type)
    p = Params(weights, means, model.covariances_from_cholesky(prec_chol), prec_chol)
    stats = e_step(HostExecutor(X, None, len(X), shift=np.zeros(X.shape[1])), Gaussian(model), p)
    return m_step(model, stats, 0.0, X.dtype)


def test_newton_refinement_reaches_the_em_fixed_point_in_few_iterations():
    X = load_old_faithful()
    kw = dict(n_components=3, reg_covar=0, random_state=0)
    slow = gm.GaussianMixture(**kw, tol=1e-13, max_iter=100_000).fit(X)
    fast = gm.GaussianMixture(**kw, refine="newton").fit(X)
    assert fast.refine_converged_
    assert fast.lower_bound_ == pytest.approx(slow.lower_bound_, abs=1e-9)
    assert fast.lower_bound_ >= slow.lower_bound_ - 1e-13  # never below EM's
    assert fast.n_iter_ + fast.n_refine_iter_ < slow.n_iter_ / 5
    assert fast.lower_bounds_[-1] == fast.lower_bound_
    # the refined point is EM's fixed point: one more EM step does not move it
    shift = X.mean(axis=0)
    step = em_step("full", X - shift, fast.weights_, fast.means_ - shift,
                   fast.precisions_cholesky_)  # fmt: skip
    np.testing.assert_allclose(step.means + shift, fast.means_, rtol=0, atol=1e-9)
    np.testing.assert_allclose(step.covariances, fast.covariances_, rtol=0, atol=1e-9)
    np.testing.assert_allclose(step.weights, fast.weights_, rtol=0, atol=1e-10)
    # and scikit-learn-style attributes stay consistent
    np.testing.assert_allclose(fast.precisions_, np.linalg.inv(fast.covariances_), rtol=1e-9)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_gradient_solver_reaches_ems_optimum(covariance_type):
    X = load_old_faithful()
    kw = dict(n_components=2, covariance_type=covariance_type, reg_covar=0, random_state=0)
    em = gm.GaussianMixture(**kw, tol=1e-12, max_iter=20_000).fit(X)
    gd = gm.GaussianMixture(**kw, solver="gradient", tol=1e-12, max_iter=5_000).fit(X)
    assert gd.converged_
    assert gd.lower_bound_ == pytest.approx(em.lower_bound_, abs=1e-6)
    assert gd.lower_bounds_[-1] == gd.lower_bound_
    assert gd.score(X) == pytest.approx(gd.lower_bound_, abs=1e-12)
    np.testing.assert_allclose(gd.weights_.sum(), 1.0, rtol=1e-14)


def test_gradient_and_refine_options_are_checked():
    X = load_old_faithful()
    with pytest.raises(ValueError, match="freeze"):
        gm.GaussianMixture(2, solver="gradient", freeze=("weights",)).fit(X)
    with pytest.raises(ValueError, match="numpy data"):
        gm.GaussianMixture(2, refine="newton").fit(array_api_strict.asarray(X))
    with pytest.raises(ValueError, match="solver"):
        gm.GaussianMixture(2, solver="adam").fit(X)
    calls = []
    gm.GaussianMixture(2, solver="gradient", random_state=0,
                       callback=lambda *a: calls.append(a)).fit(X)  # fmt: skip
    assert calls and calls[0][:2] == (0, 1)


SUPPORTED = ["EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVV", "VVV"]


@pytest.mark.parametrize("covariance_type", SUPPORTED)
def test_mclust_models_free_parameters_are_their_counts(covariance_type):
    from gradmix.mixture.covariance import free_parameters
    from gradmix.mixture.likelihood import Parameterisation

    X = load_old_faithful()
    m = gm.GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    par = Parameterisation(covariance_type, 3, 2)
    assert par.size == free_parameters(covariance_type, 3, 2) == m._n_parameters()
    model = get_model(covariance_type)
    U = model.from_public(m.precisions_cholesky_)
    theta = par.pack(m.weights_, m.means_, U)
    U2 = par.unpack(theta).precisions_cholesky
    np.testing.assert_allclose(U2, U, rtol=1e-10, atol=1e-12)
    assert par.log_likelihood(theta, X) / len(X) == pytest.approx(m.score(X), rel=1e-12)

    def f(t):
        return par.log_likelihood(t, X)

    g = gm.grad(f)(theta)
    h = 1e-6
    fd = np.array([(f(theta + h * e) - f(theta - h * e)) / (2 * h) for e in np.eye(par.size)])
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-5 * np.max(np.abs(fd)))


@pytest.mark.parametrize("covariance_type", SUPPORTED)
def test_one_component_mean_errors_for_every_supported_model(covariance_type):
    rng = np.random.default_rng(3)
    n = 300
    X = rng.normal(size=(n, 2)) * [1.0, 2.0] + [1.0, -1.0]
    m = gm.GaussianMixture(1, covariance_type=covariance_type, reg_covar=0).fit(X)
    se = m.standard_errors(X)
    var = np.diagonal(m.covariances_, axis1=-2, axis2=-1) if m.covariances_.ndim == 3 else \
        np.broadcast_to(get_model(covariance_type).variances(m.covariances_), (1, 2))  # fmt: skip
    np.testing.assert_allclose(se["means"], np.sqrt(var / n), rtol=1e-8)
    assert se["covariances"].shape == m.covariances_.shape


def test_newton_and_gradient_on_constrained_models():
    X = load_old_faithful()
    for ct in ("VEE", "EVI"):
        kw = dict(n_components=2, covariance_type=ct, reg_covar=0, random_state=0)
        em = gm.GaussianMixture(**kw, tol=1e-12, max_iter=20_000).fit(X)
        nt = gm.GaussianMixture(**kw, refine="newton").fit(X)
        gd = gm.GaussianMixture(**kw, solver="gradient", tol=1e-12, max_iter=5_000).fit(X)
        assert nt.lower_bound_ == pytest.approx(em.lower_bound_, abs=1e-9)
        assert gd.lower_bound_ == pytest.approx(em.lower_bound_, abs=1e-6)
        assert nt.covariances_.shape == (2, 2, 2)


@pytest.mark.parametrize("covariance_type", ["EVE", "VVE", "EEV", "VEV"])
def test_models_without_a_free_parameterisation_say_which_have_one(covariance_type):
    X = load_old_faithful()
    m = gm.GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X)
    with pytest.raises(ValueError, match="support EII, VII, EEI, VEI, EVI, VVI, EEE, VEE"):
        m.standard_errors(X)
    with pytest.raises(ValueError, match="free parameterisation"):
        gm.GaussianMixture(2, covariance_type=covariance_type, refine="newton").fit(X)
