"""Uses of the differentiated likelihood: standard errors, Newton refinement, gradient fits.

All three work on :class:`~gradmix.mixture.likelihood.Parameterisation`'s free
parameters θ with exact AD derivatives:

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
from typing import Any

import numpy as np
import scipy.linalg as sla
from scipy.optimize import minimize

from gradmix.ad import jacfwd, value_and_grad
from gradmix.mixture.covariance import CovarianceModel
from gradmix.mixture.em import Params
from gradmix.mixture.likelihood import Parameterisation

__all__ = [
    "MAX_HESSIAN_SIZE",
    "SingularInformationError",
    "gradient_fit",
    "newton_refine",
    "parameter_covariance",
    "params_from_theta",
]

# the exact Hessian is size x size and costs size gradient evaluations
MAX_HESSIAN_SIZE = 5000


class SingularInformationError(ValueError):
    """The observed information matrix is singular: some parameter is not identified."""


def params_from_theta(
    par: Parameterisation, theta: np.ndarray, model: CovarianceModel, dtype: Any
) -> Params:
    """EM's :class:`Params` (in ``dtype``) from free parameters."""
    log_w, means, U = par.unpack(theta)
    cov = model.covariances_from_cholesky(U)
    return Params(
        np.exp(log_w).astype(dtype), means.astype(dtype), cov.astype(dtype), U.astype(dtype)
    )


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


def newton_refine(
    par: Parameterisation,
    theta: np.ndarray,
    X: np.ndarray,
    w: np.ndarray | None,
    max_iter: int = 100,
    gtol: float = 1e-10,
) -> tuple[np.ndarray, int, bool]:
    """Trust-region Newton steps on the exact Hessian from ``theta``.

    Returns
    -------
    theta : ndarray
        The refined parameters (``theta`` itself if no step improved it).
    n_iter : int
    converged : bool
        The gradient of the mean log-likelihood fell below ``gtol``.
    """
    _check_size(par, "refine='newton'")
    total = float(X.shape[0] if w is None else np.sum(w))
    f = _objective(par, X, w, total)
    res = minimize(
        f,
        theta,
        jac=True,
        hess=lambda t: -par.hessian(t, X, w) / total,
        method="trust-exact",
        options={"gtol": gtol, "maxiter": max_iter},
    )
    if not np.isfinite(res.fun) or res.fun > f(theta)[0]:
        return theta, int(res.nit), False
    return np.asarray(res.x), int(res.nit), bool(np.max(np.abs(res.jac)) <= gtol)


def gradient_fit(
    par: Parameterisation,
    theta: np.ndarray,
    X: np.ndarray,
    w: np.ndarray | None,
    tol: float,
    max_iter: int,
    callback: Callable[[int, float], None] | None = None,
) -> tuple[np.ndarray, list[float], bool]:
    """Maximise the mean log-likelihood by L-BFGS on exact gradients.

    Stops, like EM, when an iteration changes the mean log-likelihood by less
    than ``tol`` (or when L-BFGS itself converges), after at most
    ``max_iter`` iterations.

    Returns
    -------
    theta : ndarray
    trajectory : list of float
        Mean log-likelihood after each iteration.
    converged : bool
    """
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

    res = minimize(
        f,
        theta,
        jac=True,
        method="L-BFGS-B",
        callback=step,
        options={"maxiter": max_iter, "ftol": 0.0, "gtol": 1e-12, "maxcor": 20},
    )
    converged = state["converged"] or (bool(res.success) and len(trajectory) < max_iter)
    if not trajectory:
        trajectory.append(-float(res.fun))
    return np.asarray(res.x), trajectory, converged
