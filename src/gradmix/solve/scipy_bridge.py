"""scipy's solvers, fed exact derivatives by gradmix instead of finite differences."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.integrate
import scipy.optimize

from gradmix.ad.transforms import hessian, hvp, jacfwd, jacrev, value_and_grad

__all__ = ["minimize", "least_squares", "solve_ivp"]

_HESS = {"newton-cg", "dogleg", "trust-ncg", "trust-krylov", "trust-exact", "trust-constr"}
_HESSP_ONLY = {"newton-cg", "trust-ncg", "trust-krylov"}
_NO_DERIVATIVES = {"nelder-mead", "powell", "cobyla", "cobyqa"}


def _as_vector(x0: Any) -> np.ndarray:
    x = np.asarray(x0, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"x0 must be a 1-D array, got shape {x.shape}")
    return x


def minimize(
    fun: Callable[..., Any],
    x0: Any,
    *,
    method: str = "trust-exact",
    args: tuple[Any, ...] = (),
    **kwargs: Any,
) -> scipy.optimize.OptimizeResult:
    """``scipy.optimize.minimize`` with the gradient and Hessian from gradmix.

    Parameters
    ----------
    fun : callable
        Scalar objective ``fun(x, *args)`` in plain numpy.
    x0 : array of shape (n,)
    method : str
        Any of scipy's methods; gradient-based ones get ``jac`` (the value and
        gradient in one reverse sweep), Hessian-based ones ``hess`` (dense,
        forward over reverse) or ``hessp`` (Hessian-vector products, for
        Newton-CG, trust-ncg and trust-krylov).
    args : tuple
        Extra arguments for ``fun``.
    **kwargs
        Passed to :func:`scipy.optimize.minimize` (``tol``, ``options``,
        ``bounds``, ...).

    Returns
    -------
    scipy.optimize.OptimizeResult
    """
    x0 = _as_vector(x0)
    m = method.lower()
    if m in _NO_DERIVATIVES:
        return scipy.optimize.minimize(fun, x0, args=args, method=method, **kwargs)
    vg = value_and_grad(lambda x: fun(x, *args))

    def fun_and_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
        v, g = vg(x)
        return float(v), np.asarray(g, dtype=float)

    extra: dict[str, Any] = {}
    if m in _HESSP_ONLY:
        extra["hessp"] = lambda x, p: np.asarray(hvp(lambda y: fun(y, *args), x, p), dtype=float)
    elif m in _HESS:
        extra["hess"] = lambda x: np.asarray(hessian(lambda y: fun(y, *args))(x), dtype=float)
    return scipy.optimize.minimize(fun_and_grad, x0, method=method, jac=True, **extra, **kwargs)


def least_squares(
    residual: Callable[..., Any], x0: Any, *, args: tuple[Any, ...] = (), **kwargs: Any
) -> scipy.optimize.OptimizeResult:
    """``scipy.optimize.least_squares`` with the exact Jacobian of the residuals.

    The Jacobian comes from forward mode when there are no more parameters
    than residuals (one batched sweep), otherwise from reverse mode.

    Parameters
    ----------
    residual : callable
        ``residual(x, *args)`` returning an array of shape (m,).
    x0 : array of shape (n,)
    args : tuple
    **kwargs
        Passed to :func:`scipy.optimize.least_squares` (``bounds``, ``method``,
        ``loss``, ...).
    """
    x0 = _as_vector(x0)
    r0 = np.asarray(residual(x0, *args))
    if r0.ndim != 1:
        raise ValueError(f"the residual must be a 1-D array, got shape {r0.shape}")
    jac_t = jacfwd if x0.size <= r0.size else jacrev
    jac = jac_t(lambda x: residual(x, *args))
    return scipy.optimize.least_squares(
        lambda x: np.asarray(residual(x, *args), dtype=float),
        x0,
        jac=lambda x: np.asarray(jac(x), dtype=float),
        **kwargs,
    )


def solve_ivp(
    fun: Callable[..., Any],
    t_span: Any,
    y0: Any,
    *,
    method: str = "Radau",
    args: tuple[Any, ...] = (),
    **kwargs: Any,
) -> Any:
    """``scipy.integrate.solve_ivp`` with the exact Jacobian ∂f/∂y for implicit methods.

    Parameters
    ----------
    fun : callable
        Right-hand side ``fun(t, y, *args)`` in plain numpy, returning shape (n,).
    t_span, y0 :
        As in scipy.
    method : str
        "Radau" (default), "BDF" and "LSODA" get ``jac`` from
        :func:`gradmix.jacfwd`; explicit methods need none.
    args : tuple
    **kwargs
        Passed to :func:`scipy.integrate.solve_ivp`.

    Returns
    -------
    scipy's OdeResult (``njev`` counts Jacobian evaluations).
    """
    y0 = np.asarray(y0, dtype=float)
    f0 = np.asarray(fun(t_span[0], y0, *args))
    if f0.shape != y0.shape:
        raise ValueError(f"fun must return the shape of y: y0 {y0.shape}, fun(t0, y0) {f0.shape}")
    extra: dict[str, Any] = {}
    if method in ("Radau", "BDF", "LSODA") and "jac" not in kwargs:
        extra["jac"] = lambda t, y: np.asarray(jacfwd(lambda v: fun(t, v, *args))(y), dtype=float)
    return scipy.integrate.solve_ivp(
        lambda t, y: fun(t, y, *args), t_span, y0, method=method, **extra, **kwargs
    )
