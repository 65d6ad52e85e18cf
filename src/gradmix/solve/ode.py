"""An ODE solution that can be differentiated: adjoint method in reverse, sensitivities forward.

``scipy.integrate.odeint`` and ``solve_ivp`` turn their inputs into floats, so
a transform cannot see through them.  :func:`odeint` solves the same problem
with scipy and registers its derivatives as a primitive:

- reverse mode integrates the continuous adjoint system backwards, from the
  last output time to the first (Pontryagin; the method of autograd's
  ``odeint`` and of neural ODEs): for a cotangent ``g`` of the outputs,
  ``a' = -aᵀ ∂f/∂y`` and ``a_θ' = -aᵀ ∂f/∂θ``, with ``g(t_i)`` added to ``a`` at
  every output time.  The state ``y(t)`` the adjoint needs comes from the
  forward solution's dense output, not from integrating ``y`` backwards
  (which is unstable for dissipative systems).  Cost: one backward solve per
  cotangent, whatever the number of parameters;
- forward mode integrates the sensitivity equations
  ``s' = ∂f/∂y · s + ∂f/∂θ · θ̇`` alongside ``y``.

Both are first-order rules: a Hessian through ``odeint`` is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.integrate

from gradmix.ad import (
    NoDerivativeRuleError,
    Primitive,
    Tracer,
    TracerConversionError,
    defjvp,
    defvjp,
    jvp,
    ravel_pytree,
    strip,
    vjp,
)
from gradmix.ad import tree_flatten as flatten
from gradmix.ad import tree_unflatten as unflatten
from gradmix.solve.bounded import BoundedRhs
from gradmix.solve.jacobians import ode_jacobian

__all__ = ["odeint"]

_IMPLICIT = ("Radau", "BDF", "LSODA")


@dataclass(frozen=True, eq=False)
class _Problem:
    """What the primitive's rules need besides its three array arguments."""

    func: Callable[..., Any]
    rebuild: Callable[[Any], tuple[Any, ...]]  # flat parameters -> args of func
    shape: tuple[int, ...]  # of y
    method: str
    rtol: float
    atol: float
    max_evaluations: int

    def f(self, y: Any, t: float, theta: Any) -> Any:
        """``func`` on flat state and flat parameters, returning a flat vector."""
        out = self.func(np.reshape(y, self.shape), t, *self.rebuild(theta))
        if isinstance(out, Tracer) and not isinstance(y, Tracer) and not isinstance(theta, Tracer):
            raise TracerConversionError(
                "odeint's func uses a traced value it closes over; pass it through "
                "args=(...) so that its derivative is carried"
            )
        if np.shape(strip(out)) != self.shape:
            raise ValueError(
                f"func must return the shape of y0 {self.shape}, got {np.shape(strip(out))}"
            )
        return np.reshape(out, (-1,))

    def solve(self, rhs: Callable[[float, np.ndarray], np.ndarray], z0: np.ndarray,
              t0: float, t1: float, t_eval: Any = None, dense: bool = False,
              jac: Any = None) -> Any:  # fmt: skip
        extra = {} if jac is None else {"jac": jac}
        bounded = BoundedRhs(rhs, t1, self.max_evaluations, "odeint")
        sol = scipy.integrate.solve_ivp(
            bounded, (t0, t1), z0, method=self.method, t_eval=t_eval, dense_output=dense,
            rtol=self.rtol, atol=self.atol, **extra,
        )  # fmt: skip
        if not sol.success:
            raise RuntimeError(f"odeint: the integrator failed near {bounded.where()} (solving "
                               f"to t = {t1:.8g}): {sol.message}")  # fmt: skip
        return sol


def odeint(
    func: Callable[..., Any],
    y0: Any,
    t: Any,
    args: tuple[Any, ...] = (),
    *,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    method: str = "LSODA",
    max_evaluations: int = 1_000_000,
) -> Any:
    """Solve ``dy/dt = func(y, t, *args)`` at the times ``t``, differentiably.

    Called like :func:`scipy.integrate.odeint`; inside ``gm.grad``, ``gm.vjp``,
    ``gm.jacrev`` (adjoint method) or ``gm.jvp``, ``gm.jacfwd`` (forward
    sensitivities) it carries derivatives with respect to ``y0``, ``t`` and
    every float array in ``args``.

    Parameters
    ----------
    func : callable
        ``func(y, t, *args)``: plain numpy code returning an array shaped like ``y``.
        Values to differentiate must come through ``args``, not a closure.
    y0 : array_like of real numbers, any shape
        The state at ``t[0]``.
    t : array_like, shape (T,)
        Output times, strictly increasing or strictly decreasing; ``t[0]`` is
        the starting time.
    args : tuple (a pytree of arrays)
        Extra arguments of ``func``; integer and non-array leaves are passed
        through unchanged and are not differentiated.
    rtol, atol : float
        Tolerances of the integrator, for the solution and for its derivatives.
    method : str
        A :func:`scipy.integrate.solve_ivp` method; "LSODA" (default) switches
        between stiff and non-stiff as scipy's ``odeint`` does.  The implicit
        methods ("LSODA", "BDF", "Radau") get the exact Jacobian ∂func/∂y,
        sparse for "BDF" and "Radau" from ``gradmix.solve.SPARSE_FROM`` (200)
        unknowns.
    max_evaluations : int
        Most evaluations of ``func`` per solve (forward, adjoint or sensitivity).

    Returns
    -------
    ndarray, shape ``(T, *y0.shape)``
        The solution at each time in ``t``.

    Raises
    ------
    RuntimeError
        When the integrator fails (rather than returning a partial solution), the
        solution blows up (the message names the time), or ``max_evaluations``
        runs out: every solve ends, whatever the input.

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> from gradmix.solve import odeint
    >>> decay = lambda y, t, k: -k * y
    >>> t = np.array([0.0, 1.0])
    >>> dk = gm.grad(lambda k: odeint(decay, np.array([1.0]), t, (k,))[-1, 0])(0.5)
    >>> bool(np.isclose(dk, -np.exp(-0.5)))
    True
    """
    y0, t = _check_inputs(y0, t)
    if not isinstance(args, tuple):
        # (as scipy's odeint: an array's entries taken as separate arguments would be
        # a different call from the one meant)
        raise TypeError(f"args must be a tuple, as in scipy's odeint: args=(k,) for one "
                        f"argument k, not a {type(args).__name__}")  # fmt: skip
    leaves, treedef = flatten(args)
    moving = [i for i, x in enumerate(leaves) if _is_float(x)]
    theta, unravel = ravel_pytree([leaves[i] for i in moving])

    def rebuild(flat: Any) -> tuple[Any, ...]:
        merged = list(leaves)
        for i, v in zip(moving, unravel(flat), strict=True):
            merged[i] = v
        return tuple(unflatten(treedef, merged))

    if int(max_evaluations) != max_evaluations or max_evaluations < 1:
        raise ValueError(f"max_evaluations must be a positive integer, got {max_evaluations!r}")
    problem = _Problem(func, rebuild, np.shape(strip(y0)), method, float(rtol), float(atol),
                       int(max_evaluations))  # fmt: skip
    return odeint_p(y0, t, theta, problem=problem)


def _is_float(x: Any) -> bool:
    return isinstance(x, Tracer) or np.result_type(x).kind in "fc"


def _check_inputs(y0: Any, t: Any) -> tuple[Any, Any]:
    if not isinstance(y0, Tracer):
        y0 = np.asarray(y0, dtype=np.result_type(y0, np.float64))
    if not isinstance(t, Tracer):
        t = np.asarray(t, dtype=np.result_type(t, np.float64))
    y, tt = strip(y0), strip(t)
    if np.iscomplexobj(y):
        raise TypeError("odeint integrates real states; split a complex state into two real ones")
    if not np.all(np.isfinite(y)):
        raise ValueError("y0 contains NaN or infinite values")
    if np.ndim(tt) != 1 or len(tt) < 1:
        raise ValueError(f"t must be a 1-D array of output times, got shape {np.shape(tt)}")
    if not np.all(np.isfinite(tt)):
        raise ValueError("t contains NaN or infinite values")
    steps = np.diff(tt)
    if len(steps) and not (np.all(steps > 0) or np.all(steps < 0)):
        raise ValueError("t must be strictly increasing or strictly decreasing")
    return y0, t


def _forward(y0: np.ndarray, t: np.ndarray, theta: np.ndarray, *, problem: _Problem,
             dense: bool = False) -> Any:  # fmt: skip
    def rhs(s: float, y: np.ndarray) -> Any:
        return problem.f(y, s, theta)

    jac = None
    if problem.method in _IMPLICIT:
        # exact ∂f/∂y for the stiff methods: dense for small systems, sparse for large
        # ones (LSODA takes dense Jacobians only)
        jac = ode_jacobian(
            rhs, int(np.size(y0)), sparse=False if problem.method == "LSODA" else None
        )
    return problem.solve(rhs, np.ravel(y0).astype(float), t[0], t[-1], t_eval=t, dense=dense,
                         jac=jac)  # fmt: skip


def _solve(y0: np.ndarray, t: np.ndarray, theta: np.ndarray, *, problem: _Problem) -> np.ndarray:
    if len(t) == 1:
        return np.asarray(y0, dtype=float)[None].copy()
    sol = _forward(y0, t, theta, problem=problem)
    return np.ascontiguousarray(sol.y.T).reshape((len(t),) + problem.shape)


odeint_p = Primitive(_solve, "gradmix.solve.odeint")


def _first_order_only(*values: Any) -> None:
    if any(isinstance(v, Tracer) for v in values):
        raise NoDerivativeRuleError(
            "gradmix.solve.odeint has first-order derivative rules only; a second derivative "
            "through it (gm.hessian, a gradient of a gradient) is not supported"
        )


# reverse mode: the adjoint system ----------------------------------------------------------
class _AdjointCache:
    """The last adjoint solve: the three argument rules of one cotangent share it."""

    def __init__(self) -> None:
        self.key: tuple[Any, ...] = ()
        self.value: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def get(self, ans: Any, g: Any, y0: Any, t: Any, theta: Any, problem: _Problem) -> Any:
        key = (ans, g, y0, t, theta, problem)
        if self.value is None or len(self.key) != len(key) or \
                any(a is not b for a, b in zip(self.key, key, strict=True)):  # fmt: skip
            self.value = _adjoint(ans, g, y0, t, theta, problem)
            self.key = key
        # copies: the backward pass may accumulate into what a rule returns
        return tuple(v.copy() for v in self.value)


_cache = _AdjointCache()


def _adjoint(
    ans: np.ndarray, g: np.ndarray, y0: np.ndarray, t: np.ndarray, theta: np.ndarray,
    problem: _Problem,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Cotangents of (y0, t, theta) for the output cotangent ``g``."""
    _first_order_only(ans, g, y0, t, theta)
    n, p = int(np.size(y0)), int(np.size(theta))
    g = np.reshape(np.asarray(g, dtype=float), (len(t), n))
    ys = np.reshape(ans, (len(t), n))
    ct_t = np.zeros(len(t))
    for i in range(1, len(t)):
        ct_t[i] = g[i] @ problem.f(ys[i], t[i], theta)
    a, a_theta = g[-1].copy(), np.zeros(p)
    if len(t) > 1:
        path = _forward(y0, t, theta, problem=problem, dense=True).sol

        def rhs(s: float, z: np.ndarray) -> np.ndarray:
            _, pull = vjp(lambda y, th: problem.f(y, s, th), path(s), theta)
            ct_y, ct_th = pull(z[:n])
            return -np.concatenate([ct_y, ct_th])

        for i in range(len(t) - 1, 0, -1):
            z = problem.solve(rhs, np.concatenate([a, a_theta]), t[i], t[i - 1]).y[:, -1]
            a, a_theta = z[:n] + g[i - 1], z[n:]
        ct_t[0] = -(a - g[0]) @ problem.f(ys[0], t[0], theta)
    return a.reshape(np.shape(y0)), ct_t, a_theta


defvjp(
    odeint_p,
    lambda ans, y0, t, theta, problem: lambda g: _cache.get(ans, g, y0, t, theta, problem)[0],
    lambda ans, y0, t, theta, problem: lambda g: _cache.get(ans, g, y0, t, theta, problem)[1],
    lambda ans, y0, t, theta, problem: lambda g: _cache.get(ans, g, y0, t, theta, problem)[2],
)


# forward mode: sensitivities -------------------------------------------------------------
def _sensitivity(
    y0: np.ndarray, t: np.ndarray, theta: np.ndarray, s0: np.ndarray, dtheta: np.ndarray | None,
    problem: _Problem,
) -> np.ndarray:  # fmt: skip
    """Tangent of the outputs for the starting tangent ``s0`` and parameter tangent ``dtheta``."""
    n = int(np.size(y0))
    if len(t) == 1:
        return np.reshape(s0, (1,) + problem.shape)
    dth = np.zeros_like(theta) if dtheta is None else dtheta

    def rhs(s: float, z: np.ndarray) -> np.ndarray:
        fy, ds = jvp(lambda y, th: problem.f(y, s, th), (z[:n], theta), (z[n:], dth))
        return np.concatenate([fy, ds])

    z0 = np.concatenate([np.ravel(y0), np.ravel(s0)]).astype(float)
    sol = problem.solve(rhs, z0, t[0], t[-1], t_eval=t)
    return np.ascontiguousarray(sol.y[n:].T).reshape((len(t),) + problem.shape)


def _jvp_y0(g: Any, ans: Any, y0: Any, t: Any, theta: Any, problem: _Problem) -> np.ndarray:
    _first_order_only(g, ans, y0, t, theta)
    return _sensitivity(y0, t, theta, g, None, problem)


def _jvp_t(g: Any, ans: Any, y0: Any, t: Any, theta: Any, problem: _Problem) -> np.ndarray:
    _first_order_only(g, ans, y0, t, theta)
    f0 = problem.f(np.ravel(y0), t[0], theta).reshape(problem.shape)
    out = _sensitivity(y0, t, theta, -f0 * g[0], None, problem)
    out[0] = 0.0  # y(t[0]) is y0 wherever t[0] is
    for i in range(1, len(t)):
        out[i] += problem.f(np.ravel(ans[i]), t[i], theta).reshape(problem.shape) * g[i]
    return out


def _jvp_theta(g: Any, ans: Any, y0: Any, t: Any, theta: Any, problem: _Problem) -> np.ndarray:
    _first_order_only(g, ans, y0, t, theta)
    return _sensitivity(y0, t, theta, np.zeros(np.shape(y0)), g, problem)


defjvp(odeint_p, _jvp_y0, _jvp_t, _jvp_theta)
