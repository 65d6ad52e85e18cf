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
from numbers import Real
from typing import Any

import numpy as np
import scipy.linalg as sla
from scipy.optimize import minimize
from scipy.stats import norm
from sklearn.utils.validation import check_is_fitted

from gradmix.ad import jacfwd, value_and_grad
from gradmix.mixture.arrays import to_host
from gradmix.mixture.em import Params
from gradmix.mixture.executors import Executor, executor_for
from gradmix.mixture.likelihood import Parameterisation

__all__ = [
    "MAX_HESSIAN_SIZE",
    "SingularInformationError",
    "confidence_intervals",
    "gradient_fit",
    "newton_refine",
    "numpy_rows",
    "parameter_covariance",
    "standard_errors",
]

# the exact Hessian is size x size and costs size gradient evaluations
MAX_HESSIAN_SIZE = 5000


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


def _params_from_theta(par: Parameterisation, theta: np.ndarray, dtype: Any) -> Params:
    log_w, means, U = par.unpack(theta)
    cov = par.model.covariances_from_cholesky(U)
    return Params(np.exp(log_w).astype(dtype), means.astype(dtype), cov.astype(dtype),
                  U.astype(dtype))  # fmt: skip


def _check_size(par: Parameterisation, what: str) -> None:
    if par.size > MAX_HESSIAN_SIZE:
        raise ValueError(
            f"{what} needs the exact Hessian of {par.size} free parameters "
            f"(more than {MAX_HESSIAN_SIZE}); use fewer components or a simpler covariance type"
        )


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
    info = -par.hessian(theta, X, w)
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
    cov_theta = sla.cho_solve(sla.cho_factor(corr), np.eye(len(theta))) / np.outer(scale, scale)
    J = jacfwd(par.natural)(theta)
    return J @ cov_theta @ J.T


def _fitted_theta(model: Any, X: Any, sample_weight: Any) -> tuple[Parameterisation, np.ndarray,
                                                                    np.ndarray, Any]:  # fmt: skip
    """The free parameters of a fitted estimator, and its data, both centred."""
    check_is_fitted(model)
    par = Parameterisation(model.covariance_type, model.n_components, model.n_features_in_)
    means = to_host(model.means_)
    shift = means.mean(axis=0)  # centred: the same Hessian, fewer rounding errors
    ex = executor_for(X, sample_weight, estimator=model, reset=False,
                      bytes_per_row=lambda d, itemsize: d * itemsize, shift=shift)  # fmt: skip
    rows, w = numpy_rows(ex)
    U = par.model.from_public(to_host(model.precisions_cholesky_))
    theta = par.pack(to_host(model.weights_), means - shift, U)
    return par, theta, rows, w


def standard_errors(model: Any, X: Any, sample_weight: Any = None) -> dict[str, np.ndarray]:
    """Standard errors of a fitted mixture's parameters from the observed information.

    See :meth:`GaussianMixture.standard_errors`.
    """
    par, theta, rows, w = _fitted_theta(model, X, sample_weight)
    cov = parameter_covariance(par, theta, rows, w)
    return par.split(np.sqrt(np.maximum(np.diag(cov), 0.0)))


def confidence_intervals(
    model: Any, X: Any, level: float = 0.95, sample_weight: Any = None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Wald intervals ``estimate ± z·se``; see :meth:`GaussianMixture.confidence_intervals`."""
    if isinstance(level, bool) or not isinstance(level, Real):
        raise TypeError(f"level must be a float in (0, 1), got {level!r} "
                        f"of type {type(level).__name__}")  # fmt: skip
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    se = standard_errors(model, X, sample_weight)
    z = float(norm.ppf(0.5 + level / 2))
    out = {}
    for name in ("weights", "means", "covariances"):
        est = to_host(getattr(model, name + "_"))
        out[name] = (est - z * se[name], est + z * se[name])
    return out


def _objective(
    par: Parameterisation, X: np.ndarray, w: np.ndarray | None, total: float
) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """θ ↦ (−mean log-likelihood, its gradient), +inf where it is not finite."""
    vg = value_and_grad(lambda t: -par.log_likelihood(t, X, w) / total)

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


def newton_refine(covariance_type: str, params: Params, X: np.ndarray, w: np.ndarray | None,
                  dtype: Any, max_iter: int = 100,
                  gtol: float = 1e-10) -> tuple[Params, float, int, bool]:  # fmt: skip
    """Trust-region Newton steps on the exact Hessian from ``params``.

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
    K, d = params.means.shape
    par = Parameterisation(covariance_type, K, d)
    _check_size(par, "refine='newton'")
    theta0 = par.pack(params.weights, params.means, params.precisions_cholesky)
    total = float(X.shape[0] if w is None else np.sum(w))
    f = _objective(par, X, w, total)
    res = minimize(f, theta0, jac=True, hess=lambda t: -par.hessian(t, X, w) / total,
                   method="trust-exact", options={"gtol": gtol, "maxiter": max_iter})  # fmt: skip
    theta = np.asarray(res.x)
    converged = bool(np.max(np.abs(res.jac)) <= gtol) or _at_rounding_level(res)
    if not np.isfinite(res.fun) or res.fun > f(theta0)[0]:
        theta, converged = theta0, False
    lower_bound = float(par.log_likelihood(theta, X, w)) / total
    return _params_from_theta(par, theta, dtype), lower_bound, int(res.nit), converged


def gradient_fit(covariance_type: str, params: Params, X: np.ndarray, w: np.ndarray | None,
                 dtype: Any, tol: float, max_iter: int,
                 callback: Callable[[int, float], None] | None = None,
                 ) -> tuple[Params, list[float], bool]:  # fmt: skip
    """Maximise the mean log-likelihood by L-BFGS on exact gradients.

    Stops, like EM, when an iteration changes the mean log-likelihood by less
    than ``tol`` (or when L-BFGS itself converges), after at most
    ``max_iter`` iterations.

    Returns
    -------
    params : Params
    trajectory : list of float
        Mean log-likelihood after each iteration.
    converged : bool
    """
    K, d = params.means.shape
    par = Parameterisation(covariance_type, K, d)
    theta = par.pack(params.weights, params.means, params.precisions_cholesky)
    total = float(X.shape[0] if w is None else np.sum(w))
    f = _objective(par, X, w, total)
    trajectory: list[float] = []
    state: dict[str, Any] = {"prev": -f(theta)[0], "converged": False}

    def step(intermediate_result: Any) -> None:
        lb = -float(intermediate_result.fun)
        trajectory.append(lb)
        if callback is not None:
            callback(len(trajectory), lb)
        if abs(lb - state["prev"]) < tol:
            state["converged"] = True
            raise StopIteration
        state["prev"] = lb

    res = minimize(f, theta, jac=True, method="L-BFGS-B", callback=step,
                   options={"maxiter": max_iter, "ftol": 0.0, "gtol": 1e-12,
                            "maxcor": 20})  # fmt: skip
    converged = state["converged"] or (bool(res.success) and len(trajectory) < max_iter)
    if not trajectory:
        trajectory.append(-float(res.fun))
    return _params_from_theta(par, np.asarray(res.x), dtype), trajectory, converged
