"""Helpers for porting autograd programs: curried HVPs, flattened functions, fixed points.

``hessian_vector_product``, ``flatten_func`` and ``fixed_point`` have
autograd's names and signatures (``autograd.hessian_vector_product``,
``autograd.misc.flatten_func``, ``autograd.misc.fixed_points.fixed_point``), so
that its example programs run with their imports changed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gradmix.ad.core import defjvp, defvjp, primitive
from gradmix.ad.tracer import strip
from gradmix.ad.transforms import hvp, jvp, ravel_pytree, vjp

__all__ = ["fixed_point", "flatten_func", "hessian_vector_product"]


def hessian_vector_product(f: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """``(*args, v) -> H(args) @ v`` for the Hessian of ``f`` in argument ``argnum``.

    autograd's curried spelling of :func:`gradmix.hvp` (forward over reverse,
    without forming H).

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> hvp = gm.hessian_vector_product(lambda x: np.sum(x ** 3))
    >>> hvp(np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    array([6., 0.])
    """

    def product(*args: Any) -> Any:
        *point, v = args
        if not point:
            raise TypeError("hessian_vector_product(f)(*args, v): give the point and a vector")

        def along(x: Any) -> Any:
            full = list(point)
            full[argnum] = x
            return f(*full)

        return hvp(along, point[argnum], v)

    return product


def flatten_func(
    func: Callable[..., Any], example: Any
) -> tuple[Callable[..., Any], Callable[[Any], Any], Any]:
    """A function of one flat vector standing for the pytree ``func`` takes.

    Returns
    -------
    flat_func : callable
        ``flat_func(v, *args) = func(unflatten(v), *args)``.
    unflatten : callable
        Flat vector -> pytree shaped like ``example``.
    flat_example : ndarray, shape (n,)
        ``example`` flattened.

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> params = {"w": np.ones(2), "b": 0.5}
    >>> f, unflatten, v = gm.flatten_func(lambda p: np.sum(p["w"]) * p["b"], params)
    >>> v, gm.grad(f)(v)
    (array([0.5, 1. , 1. ]), array([2. , 0.5, 0.5]))
    """
    flat, unflatten = ravel_pytree(example)

    def flat_func(v: Any, *args: Any, **kwargs: Any) -> Any:
        return func(unflatten(v), *args, **kwargs)

    return flat_func, unflatten, flat


def _iterate(step: Callable[[Any], Any], x: Any, distance: Callable[[Any, Any], Any], tol: float,
             maxiter: int, what: str) -> Any:  # fmt: skip
    for _ in range(maxiter):
        x_new = step(x)
        if float(strip(distance(x_new, x))) <= tol:
            return x_new
        x = x_new
    raise RuntimeError(
        f"fixed_point: {what} did not converge to distance {tol} in {maxiter} iterations; "
        "raise maxiter or tol, or check that the map contracts"
    )


@primitive
def _fixed_point(a: Any, x0: Any, f: Callable[[Any], Callable[[Any], Any]],
                 distance: Callable[[Any, Any], Any], tol: float, maxiter: int) -> Any:  # fmt: skip
    return _iterate(f(a), x0, distance, tol, maxiter, "the iteration")


def _fixed_point_vjp_a(ans: Any, a: Any, x0: Any, f: Any, distance: Any, tol: float,
                       maxiter: int) -> Callable[[Any], Any]:  # fmt: skip
    # x* = f(a)(x*): the cotangent w solves w = g + (∂f/∂x)ᵀ w (the adjoint fixed point),
    # and a's cotangent is (∂f/∂a)ᵀ w (implicit function theorem)
    _, pull = vjp(lambda a_, x_: f(a_)(x_), a, ans)

    def pullback(g: Any) -> Any:
        w = _iterate(lambda w: _add(g, pull(w)[1]), g, distance, tol, maxiter, "the adjoint")
        return pull(w)[0]

    return pullback


def _fixed_point_jvp_a(da: Any, ans: Any, a: Any, x0: Any, f: Any, distance: Any, tol: float,
                       maxiter: int) -> Any:  # fmt: skip
    # ẋ = ∂f/∂a·ȧ + ∂f/∂x·ẋ, solved by the same iteration
    _, direct = jvp(lambda a_: f(a_)(ans), (a,), (da,))

    def step(s: Any) -> Any:
        return _add(direct, jvp(lambda x_: f(a)(x_), (ans,), (s,))[1])

    return _iterate(step, direct, distance, tol, maxiter, "the tangent")


def _add(u: Any, v: Any) -> Any:
    fu, back = ravel_pytree(u)
    return back(fu + ravel_pytree(v)[0])


def _zeros_like(tree: Any) -> Any:
    flat, back = ravel_pytree(tree)
    return back(np.zeros_like(flat))


# the fixed point does not depend on the start
defvjp(_fixed_point, _fixed_point_vjp_a,
       lambda ans, a, x0, *rest, **kw: lambda g: _zeros_like(x0))  # fmt: skip
defjvp(_fixed_point, _fixed_point_jvp_a,
       lambda g, ans, a, x0, *rest, **kw: _zeros_like(ans))  # fmt: skip


def fixed_point(f: Callable[[Any], Callable[[Any], Any]], a: Any, x0: Any,
                distance: Callable[[Any, Any], Any], tol: float, *,
                maxiter: int = 10_000) -> Any:  # fmt: skip
    """The fixed point ``x* = f(a)(x*)``, found by iteration, differentiable in ``a``.

    Derivatives come from the implicit function theorem, not from unrolling
    the iteration: reverse mode iterates the adjoint equation
    ``w = g + (∂f/∂x)ᵀ w`` to the same tolerance, forward mode the tangent
    equation.  They are right where ``f(a)`` contracts near ``x*``.

    Parameters
    ----------
    f : callable
        ``f(a)`` returns the map ``x -> x_next``.  Everything to differentiate
        must come through ``a`` (a pytree), not through a closure.
    a : pytree of arrays
        The parameters.
    x0 : pytree of arrays
        The start (the fixed point does not depend on it; its derivative is 0).
    distance : callable
        ``distance(x_new, x)`` -> float; the iteration stops at ``<= tol``.
    tol : float
    maxiter : int
        Most iterations (of the fixed point, and of each derivative solve).

    Returns
    -------
    pytree like ``x0``

    Raises
    ------
    RuntimeError
        No convergence in ``maxiter`` iterations.

    Examples
    --------
    Newton's iteration for a square root, and its derivative 1 / (2 sqrt(a)):

    >>> import numpy as np, gradmix as gm
    >>> newton_sqrt = lambda a: lambda x: 0.5 * (x + a / x)
    >>> dist = lambda x, y: np.abs(x - y)
    >>> sqrt = lambda a: gm.fixed_point(newton_sqrt, a, 1.0, dist, 1e-12)
    >>> round(float(sqrt(2.0)), 12), round(float(gm.grad(sqrt)(2.0)), 12)
    (1.414213562373, 0.353553390593)
    """
    if maxiter < 1:
        raise ValueError(f"maxiter must be at least 1, got {maxiter}")
    return _fixed_point(a, x0, f=f, distance=distance, tol=float(tol), maxiter=int(maxiter))
