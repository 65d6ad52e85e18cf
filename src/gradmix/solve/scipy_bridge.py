"""scipy's solvers, fed exact derivatives by gradmix instead of finite differences."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.integrate
import scipy.optimize

from gradmix.ad.sparse import sparse_hessian
from gradmix.ad.transforms import hessian, hvp, jacrev, value_and_grad
from gradmix.solve.bounded import BoundedRhs
from gradmix.solve.jacobians import SPARSE_FROM, StateJacobian, ode_jacobian

__all__ = ["minimize", "least_squares", "solve_ivp"]

sparse_hessian_of = sparse_hessian  # minimize's argument of that name shadows it

_HESS = {"newton-cg", "dogleg", "trust-ncg", "trust-krylov", "trust-exact", "trust-constr"}
_HESSP_ONLY = {"newton-cg", "trust-ncg", "trust-krylov"}
_SPARSE_HESS = {"trust-constr", "newton-cg"}
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
    sparse_hessian: bool = False,
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
        Extra arguments for ``fun``; anything else is one extra argument, as in
        scipy (``args=k`` is ``args=(k,)``).
    sparse_hessian : bool
        Give the Hessian as a ``scipy.sparse.csr_array`` from
        :func:`gradmix.sparse_hessian` (pattern and star colouring found once,
        then one batched sweep per Hessian): for large problems whose Hessian
        is sparse, with ``method="trust-constr"`` or ``"newton-cg"``, the
        methods of scipy that take a sparse Hessian.
    **kwargs
        Passed to :func:`scipy.optimize.minimize` (``tol``, ``options``,
        ``bounds``, ...).

    Returns
    -------
    scipy.optimize.OptimizeResult
    """
    x0 = _as_vector(x0)
    if not isinstance(args, tuple):  # (scipy's reading: an array is one argument)
        args = (args,)
    m = method.lower()
    if m in _NO_DERIVATIVES:
        return scipy.optimize.minimize(fun, x0, args=args, method=method, **kwargs)
    vg = value_and_grad(lambda x: fun(x, *args))

    def fun_and_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
        v, g = vg(x)
        return float(v), np.asarray(g, dtype=float)

    extra: dict[str, Any] = {}
    if sparse_hessian:
        if m not in _SPARSE_HESS:
            raise ValueError(
                f"sparse_hessian=True needs a method that takes a sparse Hessian "
                f"({', '.join(sorted(_SPARSE_HESS))}), not {method!r}"
            )
        extra["hess"] = sparse_hessian_of(lambda y: fun(y, *args))
    elif m in _HESSP_ONLY:
        extra["hessp"] = lambda x, p: np.asarray(hvp(lambda y: fun(y, *args), x, p), dtype=float)
    elif m in _HESS:
        extra["hess"] = lambda x: np.asarray(hessian(lambda y: fun(y, *args))(x), dtype=float)
    return scipy.optimize.minimize(fun_and_grad, x0, method=method, jac=True, **extra, **kwargs)


def least_squares(
    residual: Callable[..., Any], x0: Any, *, args: tuple[Any, ...] = (),
    jac_sparsity: Any = None, sparse: bool | None = None, **kwargs: Any,
) -> scipy.optimize.OptimizeResult:  # fmt: skip
    """``scipy.optimize.least_squares`` with the exact Jacobian of the residuals.

    The dense Jacobian comes from forward mode when there are no more
    parameters than residuals (one batched sweep), otherwise from reverse
    mode.  Large problems get a sparse Jacobian (:func:`gradmix.sparse_jacobian`),
    which scipy's "trf" and "dogbox" methods solve with LSMR.

    Parameters
    ----------
    residual : callable
        ``residual(x, *args)`` returning an array of shape (m,).
    x0 : array of shape (n,)
    args : tuple
    jac_sparsity : array of bool, shape (m, n), optional
        A known Jacobian pattern (scipy's name), used instead of detection.
    sparse : bool, optional
        Sparse Jacobians; default: from ``gradmix.solve.SPARSE_FROM`` (200)
        parameters, or when ``jac_sparsity`` is given.
    **kwargs
        Passed to :func:`scipy.optimize.least_squares` (``bounds``, ``method``,
        ``loss``, ...).
    """
    x0 = _as_vector(x0)
    r0 = np.asarray(residual(x0, *args))
    if r0.ndim != 1:
        raise ValueError(f"the residual must be a 1-D array, got shape {r0.shape}")
    wants_sparse = (x0.size >= SPARSE_FROM or jac_sparsity is not None) if sparse is None \
        else sparse  # fmt: skip
    res = lambda x: residual(x, *args)  # noqa: E731
    jac: Callable[[np.ndarray], Any]
    if wants_sparse or x0.size <= r0.size:
        jac = StateJacobian(res, x0.size, sparse=wants_sparse, sparsity=jac_sparsity)
    else:
        rev = jacrev(res)
        jac = lambda x: np.asarray(rev(x), dtype=float)  # noqa: E731
    return scipy.optimize.least_squares(
        lambda x: np.asarray(residual(x, *args), dtype=float), x0, jac=jac, **kwargs
    )


def solve_ivp(
    fun: Callable[..., Any],
    t_span: Any,
    y0: Any,
    *,
    method: str = "Radau",
    args: tuple[Any, ...] = (),
    max_evaluations: int = 1_000_000,
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
        "Radau" (default) and "BDF" get the exact ``jac``: dense from
        :func:`gradmix.jacfwd` for small systems, a ``scipy.sparse.csr_array``
        from :func:`gradmix.sparse_jacobian` from ``gradmix.solve.SPARSE_FROM``
        (200) unknowns (see :func:`gradmix.solve.ode_jacobian`, which hands the
        same Jacobian to scipy's own ``solve_ivp``).  "LSODA" takes dense
        Jacobians only.  Explicit methods need none.
    args : tuple
    max_evaluations : int
        Most evaluations of ``fun``: with the check that the state stays finite,
        every solve ends (scipy's LSODA alone never returns from a blow-up); a
        RuntimeError names the time reached.
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
        extra["jac"] = ode_jacobian(
            fun, y0.size, args=args, sparse=False if method == "LSODA" else None
        )
    bounded = BoundedRhs(lambda t, y: fun(t, y, *args), float(t_span[-1]), max_evaluations,
                         "solve_ivp")  # fmt: skip
    return scipy.integrate.solve_ivp(bounded, t_span, y0, method=method, **extra, **kwargs)
