"""Uses of the differentiated likelihood: standard errors, Newton refinement, gradient fits.

Functions of a fitted (or fitting) mixture and its data, all on
:class:`~gradmix.mixture.likelihood.Parameterisation`'s free parameters θ
with exact AD derivatives:

- the observed information ``I = -∇² log L(θ̂)``, inverted and mapped to the
  natural parameters (weights, means, covariances) by the delta method with
  the AD Jacobian ``J`` of θ ↦ natural: ``Cov = J I⁻¹ Jᵀ``;
- Newton's method with a trust region (scipy's ``trust-exact``) on the exact
  Hessian, which converges quadratically where EM crawls;
- L-BFGS on exact gradients: the lecture's "gradient ascent" on the marginal
  likelihood.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from numbers import Real
from typing import Any, Protocol

import numpy as np
import scipy.linalg as sla
from scipy.optimize import minimize
from scipy.stats import norm
from sklearn.utils.validation import check_is_fitted

from gradmix.ad import jacfwd, value_and_grad
from gradmix.mixture.arrays import to_host
from gradmix.mixture.components import ComponentFamily
from gradmix.mixture.em import EMSettings, EStep
from gradmix.mixture.executors import Executor, executor_for
from gradmix.mixture.likelihood import Parameterisation
from gradmix.mixture.maximisation import check_variances
from gradmix.mixture.params import Params

__all__ = [
    "MAX_HESSIAN_SIZE",
    "SingularInformationError",
    "FittedMixture",
    "confidence_intervals",
    "inverse_information",
    "newton_maximise",
    "newton_refine",
    "numpy_rows",
    "parameter_covariance",
    "parameterisation",
    "run_gradient",
    "standard_errors",
]

# the exact Hessian is size x size and costs size gradient evaluations
MAX_HESSIAN_SIZE = 5000


class FittedMixture(Protocol):
    """What standard errors read of a fitted GaussianMixture or StudentTMixture."""

    covariance_type: str
    n_components: int
    n_features_in_: int
    weights_: Any
    means_: Any
    precisions_cholesky_: Any


class SingularInformationError(ValueError):
    """The observed information matrix is singular: some parameter is not identified."""


def numpy_rows(ex: Executor) -> tuple[np.ndarray, np.ndarray | None]:
    """The executor's centred rows and weights as float64 numpy arrays (what AD reads).

    Raises
    ------
    ValueError
        For data that are not a numpy array in this process.
    """
    if not ex.in_memory_numpy:
        raise ValueError(
            "solver='gradient', refine='newton' and standard errors differentiate the "
            "likelihood with gradmix's numpy AD: pass numpy data (e.g. X.cpu().numpy())"
        )
    idx = np.arange(ex.n)
    X = ex.take(idx).astype(np.float64)
    w = None if ex.unit_weights else ex.weights_at(idx).astype(np.float64)
    return X, w


def parameterisation(family: ComponentFamily, params: Params,
                     hold: np.ndarray | None = None) -> Parameterisation:  # fmt: skip
    """The free parameterisation of a mixture of ``family`` at ``params``.

    ``hold`` (bool, (K,)) marks shape parameters held at their values (degrees
    of freedom at a bound): a free group that touches one is not free.
    """
    K, d = params.means.shape
    groups = family.free_shape_groups(K)
    if hold is not None:
        groups = tuple(g for g in groups if not np.any(hold[list(g)]))
    dof = None if params.dof is None else np.asarray(params.dof, np.float64)
    noise = None if params.noise_weight is None else params.noise_log_density
    return Parameterisation(family.unit.name, K, d, family, dof, groups, noise)


def pack(par: Parameterisation, params: Params) -> np.ndarray:
    """θ of ``params``."""
    return par.pack(params.weights, params.means, params.precisions_cholesky, params.dof,
                    params.noise_weight)  # fmt: skip


def params_from_theta(par: Parameterisation, theta: np.ndarray, dtype: Any,
                      like: Params) -> Params:  # fmt: skip
    """The parameters θ stands for (``like`` gives what θ does not hold)."""
    p = par.unpack(theta)
    cov = par.model.covariances_from_cholesky(p.precisions_cholesky)
    noise = None if p.log_noise_weight is None else float(np.exp(p.log_noise_weight))
    return Params(np.exp(p.log_weights).astype(dtype), p.means.astype(dtype), cov.astype(dtype),
                  p.precisions_cholesky.astype(dtype),
                  dof=None if p.dof is None else np.asarray(p.dof, dtype=np.float64),
                  noise_weight=noise, noise_log_density=like.noise_log_density)  # fmt: skip


def _check_size(par: Parameterisation, what: str) -> None:
    if par.size > MAX_HESSIAN_SIZE:
        raise ValueError(
            f"{what} needs the exact Hessian of {par.size} free parameters "
            f"(more than {MAX_HESSIAN_SIZE}); use fewer components or a simpler covariance type"
        )


def inverse_information(info: np.ndarray) -> np.ndarray:
    """The inverse of an observed information matrix, through its correlation form.

    Raises
    ------
    SingularInformationError
        If it is not positive definite (scale-free test: the correlation form's
        smallest eigenvalue at most 1e-10), e.g. for a component on a single point.
    """
    scale = np.sqrt(np.abs(np.diag(info)))
    if np.any(~np.isfinite(info)) or np.any(np.diag(info) <= 0):
        raise SingularInformationError(
            "The observed information matrix is singular: some parameters are not "
            "identified by the data (a component on a single point, or an empty one)."
        )
    corr = info / np.outer(scale, scale)
    smallest = float(np.linalg.eigvalsh(corr)[0])
    if smallest <= 1e-10:
        raise SingularInformationError(
            "The observed information matrix is singular or not positive definite "
            f"(smallest eigenvalue of its correlation form {smallest:.1e}): the fit is not "
            "a strict local maximum, or some parameters are not identified by the data "
            "(e.g. a component on a single point)."
        )
    eye = np.eye(len(info))
    return sla.cho_solve(sla.cho_factor(corr), eye) / np.outer(scale, scale)


def parameter_covariance(
    par: Parameterisation, theta: np.ndarray, X: np.ndarray, w: np.ndarray | None
) -> np.ndarray:
    """Covariance of the natural parameters (flattened) by the delta method.

    Raises
    ------
    SingularInformationError
        If the observed information is not positive definite (scale-free test:
        its correlation form's smallest eigenvalue below 1e-10), e.g. for a
        component that sits on a single point.
    """
    _check_size(par, "standard_errors")
    cov_theta = inverse_information(-par.hessian(theta, X, w))
    J = jacfwd(par.natural)(theta)
    return J @ cov_theta @ J.T


def _fitted(
    model: Any, family: ComponentFamily, X: Any, sample_weight: Any
) -> tuple[Parameterisation, np.ndarray, np.ndarray, Any]:
    """The free parameters of a fitted estimator (its public attributes), and its data,
    both centred; degrees of freedom at a bound of ``dof_bounds`` are held fixed."""
    check_is_fitted(model)
    means = to_host(model.means_)
    shift = means.mean(axis=0)  # centred: the same Hessian, fewer rounding errors
    ex = executor_for(X, sample_weight, estimator=model, reset=False,
                      bytes_per_row=lambda d, itemsize: d * itemsize, shift=shift)  # fmt: skip
    rows, w = numpy_rows(ex)
    unit = family.unit
    params = Params(to_host(model.weights_), means - shift, None,
                    unit.from_public(to_host(model.precisions_cholesky_)))  # fmt: skip
    hold = None
    dof = getattr(model, "degrees_of_freedom_", None)
    if dof is not None:
        params.dof = np.asarray(dof, dtype=np.float64)
        lo, hi = getattr(model, "dof_bounds", (0.0, np.inf))
        hold = (params.dof <= lo * (1 + 1e-9)) | (params.dof >= hi * (1 - 1e-9))
    if getattr(model, "noise_weight_", None) is not None:
        params.noise_weight = float(model.noise_weight_)
        params.noise_log_density = -float(np.log(model.hypervolume_))
    par = parameterisation(family, params, hold)
    return par, pack(par, params), rows, w


def standard_errors(model: FittedMixture, family: ComponentFamily, X: Any,
                    sample_weight: Any = None) -> dict[str, np.ndarray]:  # fmt: skip
    """Standard errors of a fitted mixture's parameters from the observed information.

    See :meth:`GaussianMixture.standard_errors`.
    """
    par, theta, rows, w = _fitted(model, family, X, sample_weight)
    cov = parameter_covariance(par, theta, rows, w)
    return par.split(np.sqrt(np.maximum(np.diag(cov), 0.0)))


def confidence_intervals(
    model: FittedMixture,
    family: ComponentFamily,
    X: Any,
    level: float = 0.95,
    sample_weight: Any = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Wald intervals ``estimate ± z·se``; see :meth:`GaussianMixture.confidence_intervals`."""
    if isinstance(level, bool) or not isinstance(level, Real):
        raise TypeError(f"level must be a float in (0, 1), got {level!r} "
                        f"of type {type(level).__name__}")  # fmt: skip
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    se = standard_errors(model, family, X, sample_weight)
    z = float(norm.ppf(0.5 + level / 2))
    attributes = {"weights": "weights_", "means": "means_", "covariances": "covariances_",
                  "degrees_of_freedom": "degrees_of_freedom_",
                  "noise_weight": "noise_weight_"}  # fmt: skip
    out = {}
    for name, errors in se.items():
        est = np.asarray(to_host(getattr(model, attributes[name])))
        out[name] = (est - z * errors, est + z * errors)
    return out


def _objective(log_likelihood: Callable[[Any], Any],
               total: float) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:  # fmt: skip
    """θ ↦ (−log_likelihood(θ) / total, its gradient), +inf where it is not finite."""
    vg = value_and_grad(lambda t: -log_likelihood(t) / total)

    def f(theta: np.ndarray) -> tuple[float, np.ndarray]:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            v, g = vg(theta)
        if not np.isfinite(v) or not np.all(np.isfinite(g)):
            return np.inf, np.zeros_like(theta)
        return float(v), np.asarray(g)

    return f


def _at_rounding_level(res: Any) -> bool:
    """The Newton decrement gᵀH⁻¹g (what one more step could gain) is at the rounding
    level of the objective: a maximum to machine precision, whatever the gradient's scale."""
    hess = getattr(res, "hess", None)
    if hess is None or not np.all(np.isfinite(hess)):
        return False
    try:
        decrement = float(res.jac @ np.linalg.solve(hess, res.jac))
    except np.linalg.LinAlgError:
        return False
    return bool(0.0 <= decrement <= 8 * np.finfo(float).eps * (1.0 + abs(float(res.fun))))


def newton_maximise(log_likelihood: Callable[[Any], Any], hessian: Callable[[np.ndarray], Any],
                    theta0: np.ndarray, total: float, max_iter: int = 100,
                    gtol: float = 1e-10) -> tuple[np.ndarray, int, bool]:  # fmt: skip
    """Trust-region Newton steps (scipy's ``trust-exact``) on a log-likelihood of free
    parameters, from ``theta0``, with its exact gradient (AD) and ``hessian``.

    Parameters
    ----------
    log_likelihood : callable
        θ ↦ the total log-likelihood, numpy code gradmix.ad differentiates.
    hessian : callable
        θ ↦ its Hessian, shape (P, P).
    theta0 : ndarray of shape (P,)
    total : float
        The data's total weight: the objective is the mean log-likelihood.
    max_iter : int
    gtol : float
        The gradient of the mean log-likelihood at which it stops.

    Returns
    -------
    theta : ndarray of shape (P,)
        The maximiser found (``theta0`` if no step improved on it).
    n_iter : int
    converged : bool
        The gradient fell below ``gtol``, or the Newton decrement below its
        rounding level.
    """
    f = _objective(log_likelihood, total)
    start = f(theta0)[0]
    best = _Best(start, theta0)  # (what a stop at a Hessian that is not finite returns)

    def tracked(theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = f(theta)
        if value < best.value:
            best.value, best.theta = value, np.array(theta)
        return value, grad

    def hess(theta: np.ndarray) -> np.ndarray:
        best.hessians += 1
        H = -np.asarray(hessian(theta), dtype=np.float64) / total
        if not np.all(np.isfinite(H)):
            # the maximum lies on the domain's edge (a probability going to 0 or 1, its
            # logit to infinity): no stationary point to go to
            raise _NoFiniteHessian
        return H

    try:
        res = minimize(tracked, theta0, jac=True, hess=hess, method="trust-exact",
                       options={"gtol": gtol, "maxiter": max_iter})  # fmt: skip
    except _NoFiniteHessian:
        return best.theta, best.hessians, False
    theta = np.asarray(res.x)
    converged = bool(np.max(np.abs(res.jac)) <= gtol) or _at_rounding_level(res)
    if not np.isfinite(res.fun) or res.fun > start:
        theta, converged = theta0, False
    return theta, int(res.nit), converged


@dataclass
class _Best:
    """The best point Newton's method has evaluated, and its Hessians so far."""

    value: float
    theta: np.ndarray
    hessians: int = 0


class _NoFiniteHessian(ArithmeticError):
    """Newton's method met a point whose Hessian is not finite."""


def newton_refine(family: ComponentFamily, params: Params, X: np.ndarray, w: np.ndarray | None,
                  dtype: Any, max_iter: int = 100,
                  gtol: float = 1e-10) -> tuple[Params, float, int, bool]:  # fmt: skip
    """Trust-region Newton steps on the exact Hessian from ``params``
    (:func:`newton_maximise` on the model's free parameters).

    Returns
    -------
    params : Params
        The refined parameters (``params`` itself if no step improved them).
    lower_bound : float
        Their mean log-likelihood.
    n_iter : int
    converged : bool
        The gradient of the mean log-likelihood fell below ``gtol``, or the
        Newton decrement below its rounding level.
    """
    par = parameterisation(family, params)
    _check_size(par, "refine='newton'")
    total = float(X.shape[0] if w is None else np.sum(w))
    theta, n_iter, converged = newton_maximise(
        lambda t: par.log_likelihood(t, X, w), lambda t: par.hessian(t, X, w),
        pack(par, params), total, max_iter, gtol)  # fmt: skip
    lower_bound = float(par.log_likelihood(theta, X, w)) / total
    return params_from_theta(par, theta, dtype, params), lower_bound, n_iter, converged


def run_gradient(ex: Executor, family: ComponentFamily, params: Params, settings: EMSettings,
                 lower_bound: float = -np.inf, estep: EStep | None = None,
                 ) -> tuple[Params, list[float], bool]:  # fmt: skip
    """:func:`~gradmix.mixture.em.run_em`'s counterpart: maximise the mean log-likelihood
    by L-BFGS on exact gradients from ``params``.

    Stops, like EM, when an iteration changes the mean log-likelihood by less
    than ``settings.tol`` (or when L-BFGS itself converges), after at most
    ``settings.max_iter`` iterations; ``settings.on_iteration`` is called
    after each.  ``estep`` is not used (the signature is EM's).

    Returns
    -------
    params : Params
    trajectory : list of float
        Mean log-likelihood after each iteration.
    converged : bool

    Raises
    ------
    ValueError
        For data that are not numpy arrays, and scikit-learn's ill-defined
        covariance error when a component collapses (the likelihood is
        unbounded there).
    """
    X, w = numpy_rows(ex)
    par = parameterisation(family, params)
    theta = pack(par, params)
    total = float(X.shape[0] if w is None else np.sum(w))
    f = _objective(lambda t: par.log_likelihood(t, X, w), total)
    trajectory: list[float] = []
    state: dict[str, Any] = {"prev": -f(theta)[0], "converged": False}

    def step(intermediate_result: Any) -> None:
        lb = -float(intermediate_result.fun)
        trajectory.append(lb)
        if settings.on_iteration is not None:
            settings.on_iteration(len(trajectory), lb, lb - state["prev"])
        if abs(lb - state["prev"]) < settings.tol:
            state["converged"] = True
            raise StopIteration
        state["prev"] = lb

    res = minimize(f, theta, jac=True, method="L-BFGS-B", callback=step,
                   options={"maxiter": settings.max_iter, "ftol": 0.0, "gtol": 1e-12,
                            "maxcor": 20})  # fmt: skip
    converged = state["converged"] or (bool(res.success) and len(trajectory) < settings.max_iter)
    if not trajectory:
        trajectory.append(-float(res.fun))
    result = params_from_theta(par, np.asarray(res.x), ex.dtype, params)
    assert result.covariances is not None
    check_variances(family.unit, result.covariances, ex.var_floor)
    return result, trajectory, converged
