"""Divided differences: the numerical derivatives AD is checked against."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["divided_difference", "check_grad", "check_grads"]


def divided_difference(f: Callable[[Any], Any], x: Any, h: float = 1e-6,
                       scheme: str = "central") -> Any:  # fmt: skip
    """Approximate the derivative of ``f`` at ``x`` by a divided difference.

    Parameters
    ----------
    f : callable
        Function of one argument (scalar or array), returning a scalar or array.
    x : float or ndarray, shape S
        Point.
    h : float
        Step.
    scheme : {"forward", "central"}
        ``(f(x+h) - f(x)) / h`` (error O(h)) or ``(f(x+h) - f(x-h)) / 2h`` (O(h²)).

    Returns
    -------
    float or ndarray, shape f(x).shape + S
        The derivative (scalar x) or the Jacobian (array x), column by column.

    Examples
    --------
    >>> import gradmix as gm
    >>> round(float(gm.divided_difference(lambda x: x**3, 1.0, 0.1, "forward")), 10)
    3.31
    """
    if scheme not in ("forward", "central"):
        raise ValueError(f"scheme must be 'forward' or 'central', got {scheme!r}")
    if not h > 0:
        raise ValueError(f"the step h must be positive, got {h!r}")
    xa = np.asarray(x, dtype=np.result_type(x, 1.0))

    def diff(e: Any) -> Any:
        if scheme == "forward":
            return (np.asarray(f(xa + e)) - np.asarray(f(xa))) / h
        return (np.asarray(f(xa + e)) - np.asarray(f(xa - e))) / (2 * h)

    if xa.ndim == 0:
        out = diff(h)
        return out[()] if out.ndim == 0 else out
    cols = []
    for k in range(xa.size):
        e = np.zeros(xa.size, dtype=xa.dtype)
        e[k] = h
        cols.append(diff(e.reshape(xa.shape)))
    jac = np.stack(cols, axis=-1)
    return jac.reshape(jac.shape[:-1] + xa.shape)


def check_grad(f: Callable[[Any], Any], x: Any, h: float | None = None) -> float:
    """Largest error of gradmix's gradient against central differences.

    The step defaults to ``eps**(1/3) * max(1, |x|_max)``, which balances the
    truncation error (O(h²)) against rounding (O(eps/h)).  The error is
    ``max|ad - fd| / max(|fd|_max, |ad|_max, 1)``: relative for gradients
    larger than one, absolute below (where central differences themselves
    carry an absolute error of about 1e-10).  Of order 1e-10 for a correct
    gradient of a smooth function in float64.

    Parameters
    ----------
    f : callable
        Scalar function of one array argument.
    x : float or ndarray
        Point.
    h : float, optional
        Step for the differences.

    See Also
    --------
    check_grads : both modes, higher orders, and an ``AssertionError`` for tests.
    """
    from gradmix.ad.transforms import grad

    xa = np.asarray(x, dtype=np.result_type(x, 1.0))
    if h is None:
        h = float(np.finfo(xa.dtype).eps ** (1 / 3) * max(1.0, float(np.max(np.abs(xa)))))
    ad = np.asarray(grad(f)(xa))
    fd = np.asarray(divided_difference(f, xa, h, "central"))
    scale = max(float(np.max(np.abs(fd))), float(np.max(np.abs(ad))), 1.0)
    return float(np.max(np.abs(ad - fd)) / scale)


def check_grads(
    f: Callable[..., Any],
    args: Sequence[Any] | None = None,
    order: int = 2,
    modes: Sequence[str] = ("fwd", "rev"),
    *,
    rtol: float = 1e-5,
    atol: float = 1e-7,
    seed: int = 0,
) -> Any:
    """Check forward and reverse mode, up to ``order``, against central differences.

    Raises ``AssertionError`` naming the mode and order that disagree; returns
    None when all agree.  Directions are random (``seed``): for each argument
    a tangent ``v`` and an output cotangent ``u``; forward mode is checked as
    ``J·v``, reverse mode as ``uᵀ(J·v)``, and each derivative map is itself
    checked again for the next order (JAX's ``check_grads``).

    Both spellings work: ``check_grads(f, (x, y), order=2)`` (JAX) and
    ``check_grads(f, modes=["fwd", "rev"], order=2)(x, y)`` (autograd).

    Parameters
    ----------
    f : callable
        Function of real arrays returning an array (pytrees are not walked).
    args : tuple, optional
        Point; omitted, a checker taking the arguments is returned.
    order : int
        Highest derivative order checked.
    modes : sequence of {"fwd", "rev"}
        Modes checked.
    rtol, atol : float
        Tolerances on the comparison (the differences have error about 1e-10
        relative to the values, for smooth functions in float64).
    seed : int
        Seed of the random directions.

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> gm.check_grads(lambda x: np.sin(x) * x, (np.array([0.3, 1.2]),), order=2)
    """
    bad = [m for m in modes if m not in ("fwd", "rev")]
    if bad or not modes:
        raise ValueError(f"modes must be a non-empty selection of 'fwd' and 'rev', got {modes!r}")
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise ValueError(f"order must be a positive integer, got {order!r}")
    if args is None:
        return lambda *a: check_grads(f, a, order, modes, rtol=rtol, atol=atol, seed=seed)
    if not isinstance(args, tuple | list):
        raise TypeError("args must be a tuple of arguments, e.g. check_grads(f, (x,))")
    xs = tuple(np.asarray(a, dtype=np.result_type(a, 1.0)) for a in args)
    for a in xs:
        if a.dtype.kind == "c":
            raise TypeError("check_grads checks functions of real arrays")
    _check(f, xs, order, tuple(modes), rtol, atol, np.random.default_rng(seed))
    return None


def _check(f: Callable[..., Any], xs: tuple[np.ndarray, ...], order: int, modes: tuple[str, ...],
           rtol: float, atol: float, rng: np.random.Generator, level: int = 1) -> None:  # fmt: skip
    from gradmix.ad.transforms import jvp, vjp

    vs = tuple(rng.normal(size=x.shape) for x in xs)
    out = np.asarray(f(*xs))
    u = rng.normal(size=out.shape)
    scale = max(1.0, *(float(np.max(np.abs(x), initial=0.0)) for x in xs))
    h = float(np.finfo(np.float64).eps ** (1 / 3)) * scale
    plus = np.asarray(f(*(x + h * v for x, v in zip(xs, vs, strict=True))))
    minus = np.asarray(f(*(x - h * v for x, v in zip(xs, vs, strict=True))))
    fd = (plus - minus) / (2 * h)
    tol = atol + rtol * max(1.0, float(np.max(np.abs(fd), initial=0.0)))

    def jvp_map(*p: Any) -> Any:
        return jvp(f, p, vs)[1]

    def vjp_map(*p: Any) -> Any:
        return vjp(f, *p)[1](u)

    for mode in modes:
        if mode == "fwd":
            ad = np.asarray(jvp_map(*xs))
            err = float(np.max(np.abs(ad - fd), initial=0.0))
        else:
            cots = vjp_map(*xs)
            ad_u = sum(float(np.sum(c * v)) for c, v in zip(cots, vs, strict=True))
            fd_u = float(np.sum(u * fd))
            err = abs(ad_u - fd_u)
            tol_u = atol + rtol * max(1.0, abs(fd_u), float(np.sum(np.abs(u * fd))))
            if err > tol_u:
                raise AssertionError(
                    f"reverse mode disagrees with central differences at derivative order "
                    f"{level}: uᵀJv = {ad_u!r} against {fd_u!r}"
                )
            continue
        if err > tol:
            raise AssertionError(
                f"forward mode disagrees with central differences at derivative order "
                f"{level} by {err:.3g} (tolerance {tol:.3g})"
            )
    if order > 1:
        if "fwd" in modes:
            _check(jvp_map, xs, order - 1, modes, rtol, atol, rng, level + 1)
        if "rev" in modes:

            def flat_vjp(*p: Any) -> Any:
                return np.concatenate([np.ravel(c) for c in vjp_map(*p)])

            _check(flat_vjp, xs, order - 1, modes, rtol, atol, rng, level + 1)
