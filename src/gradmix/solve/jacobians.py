"""The Jacobian a solver needs, dense for small systems and sparse for large ones.

One place decides for every solver in :mod:`gradmix.solve` (Newton, least
squares, the stiff ODE methods): below :data:`SPARSE_FROM` unknowns the dense
Jacobian from one batched forward sweep; from there on a
``scipy.sparse.csr_array`` from :func:`gradmix.sparse_jacobian`, whose pattern
and colouring are found once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from gradmix.ad.sparse import sparse_jacobian
from gradmix.ad.sparsity import PatternNotGlobalError
from gradmix.ad.transforms import jacfwd

__all__ = ["SPARSE_FROM", "StateJacobian", "ode_jacobian"]

#: systems with at least this many unknowns get sparse Jacobians by default
SPARSE_FROM = 200


class StateJacobian:
    """``y -> ∂f/∂y`` for ``f: Rⁿ -> Rᵐ`` (1-D arrays), dense or sparse.

    Parameters
    ----------
    f : callable
        ``f(y)`` of a 1-D array, returning a 1-D array.
    n : int
        Number of unknowns.
    sparse : bool, optional
        Sparse (``csr_array``) or dense (ndarray) results; default: sparse from
        :data:`SPARSE_FROM` unknowns, or when ``sparsity`` is given.
    sparsity : array of bool, shape (m, n), optional
        A known Jacobian pattern, instead of detection.
    kind : {"global", "local"}
        Pattern detection.  A global pattern is found once; a function that
        branches on the values of ``y`` then gets local patterns, found again
        at every call (each exact at its point).
    """

    def __init__(self, f: Callable[[Any], Any], n: int, *, sparse: bool | None = None,
                 sparsity: Any = None, kind: str = "global") -> None:  # fmt: skip
        self.f = f
        self.sparse = (n >= SPARSE_FROM or sparsity is not None) if sparse is None else sparse
        self._sparse = sparse_jacobian(f, sparsity=sparsity, kind=kind) if self.sparse else None
        self._dense = jacfwd(f)

    def __call__(self, y: np.ndarray) -> np.ndarray | sp.csr_array:
        if self._sparse is None:
            jac = np.asarray(self._dense(y), dtype=float)
            return jac.reshape(-1, np.size(y))
        try:
            return self._sparse(y)
        except PatternNotGlobalError:
            self._sparse = sparse_jacobian(self.f, kind="local")
            return self._sparse(y)


def ode_jacobian(fun: Callable[..., Any], n: int, *, sparse: bool | None = None,
                 args: tuple[Any, ...] = ()) -> Callable[[float, np.ndarray], Any]:  # fmt: skip
    """``jac(t, y) = ∂fun(t, y, *args)/∂y`` for scipy's implicit ODE methods.

    Dense below :data:`SPARSE_FROM` unknowns, sparse (``csr_array``) from there.
    The pattern is found at every call for the time ``t`` of that call (``fun``
    may change its structure with ``t``, as a forcing switched on at some time
    does) and is local to ``y`` (each Jacobian exact at its point); the colouring
    is reused while the pattern stays the same.

    Parameters
    ----------
    fun : callable
        ``fun(t, y, *args)``, plain numpy code, returning an array shaped like ``y``.
    n : int
        Number of unknowns.
    sparse : bool, optional
        Force sparse (True) or dense (False) Jacobians.
    args : tuple
        Extra arguments for ``fun``.

    Returns
    -------
    callable
        ``jac(t, y)``, to pass to :func:`scipy.integrate.solve_ivp` as ``jac=``.

    Examples
    --------
    >>> import numpy as np, scipy.integrate, gradmix as gm
    >>> from gradmix.solve import ode_jacobian
    >>> heat = lambda t, y: np.roll(y, 1) + np.roll(y, -1) - 2 * y
    >>> jac = ode_jacobian(heat, 500)
    >>> sol = scipy.integrate.solve_ivp(heat, (0, 1), np.ones(500), method="BDF", jac=jac)
    >>> sol.success, jac(0.0, np.ones(500)).nnz
    (True, 1500)
    """
    now = [0.0]

    def at_now(y: Any) -> Any:
        return fun(now[0], y, *args)

    jac = StateJacobian(at_now, n, sparse=sparse, kind="local")

    def evaluate(t: float, y: np.ndarray) -> Any:
        now[0] = t
        return jac(y)

    return evaluate
