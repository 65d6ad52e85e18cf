"""Newton's method with exact derivatives: the lecture's motivating example."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from gradmix.ad.transforms import jvp
from gradmix.solve.jacobians import StateJacobian

__all__ = ["NewtonResult", "newton"]


@dataclass
class NewtonResult:
    """Outcome of :func:`newton`.

    Attributes
    ----------
    x : float or ndarray
        The last iterate (the root when ``converged``).
    converged : bool
    iterations : int
        Newton steps taken.
    residuals : list of float
        ``max|f(x)|`` at the start and after every step: quadratic convergence
        shows as the exponent doubling.
    message : str
        Why the iteration stopped.
    fun : float or ndarray
        ``f(x)`` at the last iterate.
    iterates : list
        ``x`` at the start and after every step.
    """

    x: Any
    converged: bool
    iterations: int
    residuals: list[float] = field(default_factory=list)
    message: str = ""
    fun: Any = None
    iterates: list[Any] = field(default_factory=list)


def _norm(v: Any) -> float:
    return float(np.max(np.abs(v))) if np.size(v) else 0.0


def newton(
    f: Callable[..., Any],
    x0: Any,
    *,
    tol: float = 1e-12,
    maxiter: int = 50,
    line_search: bool = True,
    args: tuple[Any, ...] = (),
    sparse: bool | None = None,
    sparsity: Any = None,
) -> NewtonResult:
    """Solve ``f(x) = 0`` by Newton's method with exact derivatives.

    For ``f: R -> R`` the derivative comes from forward mode; for
    ``F: Rⁿ -> Rⁿ`` the Jacobian from :func:`gradmix.jacfwd` (one batched
    sweep) and the step from an LU solve; for large systems the Jacobian is
    sparse (:func:`gradmix.sparse_jacobian`) and the step from a sparse LU
    (``scipy.sparse.linalg.splu``).

    Parameters
    ----------
    f : callable
        ``f(x, *args)``, plain numpy code; returns the same shape as ``x``.
    x0 : float or array of shape (n,)
        Starting point.
    tol : float
        Converged when the step is below ``tol·(1 + |x|)`` (max norm), or the
        residual is exactly zero.
    maxiter : int
        Most Newton steps.
    line_search : bool
        Halve the step until ``max|f|`` decreases (backtracking), which
        rescues starts far from a root.
    args : tuple
        Extra arguments for ``f``.
    sparse : bool, optional
        Sparse Jacobians and a sparse LU; default: from
        ``gradmix.solve.SPARSE_FROM`` (200) unknowns, or when ``sparsity`` is given.
    sparsity : array of bool, shape (n, n), optional
        A known Jacobian pattern, instead of detecting it.

    Returns
    -------
    NewtonResult
        With ``converged=False`` and a message (never an exception) for a
        singular Jacobian, non-finite values, or no convergence in ``maxiter``.

    Raises
    ------
    ValueError
        If ``f(x)`` does not have the shape of ``x`` (a system must be square).

    Examples
    --------
    >>> from gradmix.solve import newton
    >>> r = newton(lambda x: x**3 - 2*x - 5, 2.0)
    >>> r.converged, round(float(r.x), 12), r.iterations
    (True, 2.094551481542, 5)
    """
    scalar = np.ndim(x0) == 0
    x = np.array(x0, dtype=np.result_type(x0, 1.0))
    if x.ndim > 1:
        raise ValueError(f"x0 must be a scalar or a 1-D array, got shape {x.shape}")

    def fun(v: Any) -> Any:
        return f(v[()] if scalar else v, *args)

    # non-finite values are reported in the result, so numpy need not warn about them
    with np.errstate(all="ignore"):
        fx = np.asarray(fun(x), dtype=float)
    if fx.shape != x.shape:
        raise ValueError(
            f"f must return the shape of x: x has shape {x.shape}, f(x) has shape {fx.shape}"
        )
    residuals = [_norm(fx)]
    iterates = [x[()] if scalar else x.copy()]

    jacobian = None if scalar else StateJacobian(
        lambda v: f(v, *args), x.size, sparse=sparse, sparsity=sparsity
    )  # fmt: skip

    def result(ok: bool, it: int, msg: str) -> NewtonResult:
        out_x = x[()] if scalar else x
        return NewtonResult(out_x, ok, it, residuals, msg, fx[()] if scalar else fx, iterates)

    if not np.all(np.isfinite(fx)):
        return result(False, 0, "f is not finite at the starting point")
    for it in range(1, maxiter + 1):
        if residuals[-1] == 0.0:
            return result(True, it - 1, "f(x) is exactly zero")
        with np.errstate(all="ignore"):
            if scalar:
                _, d = jvp(lambda v: f(v, *args), (x[()],), (1.0,))
                J: Any = np.array([[float(d)]])
            else:
                assert jacobian is not None
                J = jacobian(x)
        values = J.data if sp.issparse(J) else J
        if not np.all(np.isfinite(values)):
            return result(False, it - 1, f"the Jacobian is not finite at iteration {it}")
        try:
            with np.errstate(all="ignore"):
                if sp.issparse(J):
                    step = spla.splu(sp.csc_array(J)).solve(-fx.reshape(-1))
                else:
                    step = sla.solve(J, -fx.reshape(-1), check_finite=False)
            if not np.all(np.isfinite(step)):
                raise np.linalg.LinAlgError
        except (np.linalg.LinAlgError, sla.LinAlgWarning, RuntimeError):
            # splu raises RuntimeError("Factor is exactly singular")
            return result(False, it - 1, f"singular Jacobian at iteration {it}")
        step = step.reshape(x.shape)
        t = 1.0
        while True:
            x_new = x + t * step
            with np.errstate(all="ignore"):
                f_new = np.asarray(fun(x_new), dtype=float)
            ok = np.all(np.isfinite(f_new))
            if not line_search or (ok and _norm(f_new) < residuals[-1]) or t < 1e-10:
                break
            t *= 0.5
        if not np.all(np.isfinite(f_new)):
            return result(False, it - 1, f"f is not finite after step {it}")
        x, fx = x_new, f_new
        residuals.append(_norm(fx))
        iterates.append(x[()] if scalar else x.copy())
        if _norm(t * step) <= tol * (1.0 + _norm(x)):
            return result(True, it, "step below tolerance")
    return result(False, maxiter, f"no convergence in {maxiter} iterations")
