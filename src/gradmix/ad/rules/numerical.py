"""Sampling, differences, interpolation, convolution and polynomials, as composites.

``linspace`` with traced end points, ``gradient`` (numpy's second-order
differences, on uniform or given coordinates), ``interp`` (piecewise linear),
``convolve``/``correlate`` (one bilinear primitive, the full convolution, whose
VJPs are convolutions again) and ``polyval`` (Horner's rule).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradmix.ad.core import (
    NoDerivativeRuleError,
    Primitive,
    Tracer,
    bind,
    reads_values,
    register_numpy,
    strip,
)
from gradmix.ad.rules.shape import concatenate, flip, getitem, moveaxis, reshape

__all__ = ["linspace", "gradient", "interp", "convolve", "correlate", "polyval"]


@register_numpy(np.linspace)
def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, retstep: bool = False,
             dtype: Any = None, axis: int = 0, **kw: Any) -> Any:  # fmt: skip
    """``np.linspace`` with traced ``start`` and ``stop`` (arrays too)."""
    num = int(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    div = (num - 1) if endpoint else num
    shape = np.broadcast_shapes(np.shape(strip(start)), np.shape(strip(stop)))
    t = np.arange(num, dtype=float).reshape((num,) + (1,) * len(shape))
    step = (stop - start) / div if div > 0 else (stop - start) * np.nan
    if div > 0:
        out = start + t * step
        if endpoint and num > 1:
            # numpy sets the last sample to stop exactly
            last = np.arange(num).reshape((num,) + (1,) * len(shape)) == num - 1
            out = np.where(last, stop + 0 * start, out)
    else:
        out = start + t * (stop - start)
    if axis != 0:
        out = moveaxis(out, 0, axis)
    if dtype is not None:
        out = out.astype(dtype)
    return (out, step) if retstep else out


def _gradient_1d(f: Any, axis: int, spacing: Any, edge_order: int) -> Any:
    """numpy's gradient along one axis: central differences inside, one-sided at the ends."""
    n = np.shape(strip(f))[axis]
    if n < edge_order + 1:
        raise ValueError(
            "Shape of array too small to calculate a numerical gradient, at least "
            "(edge_order + 1) elements are required."
        )
    nd = np.ndim(strip(f))

    def at(sl: Any) -> Any:
        return getitem(f, (slice(None),) * axis + (sl,))

    def col(v: Any) -> Any:  # coefficients along `axis`, broadcast over the others
        return np.reshape(v, (-1,) + (1,) * (nd - axis - 1))

    coords = np.asarray(strip(spacing), dtype=float)
    if coords.ndim == 0:
        h = float(coords)
        interior = (at(slice(2, None)) - at(slice(None, -2))) / (2 * h)
        if edge_order == 1:
            first = (at(slice(1, 2)) - at(slice(0, 1))) / h
            last = (at(slice(-1, None)) - at(slice(-2, -1))) / h
        else:
            first = (-1.5 * at(slice(0, 1)) + 2 * at(slice(1, 2)) - 0.5 * at(slice(2, 3))) / h
            last = (0.5 * at(slice(-3, -2)) - 2 * at(slice(-2, -1)) + 1.5 * at(slice(-1, None))) / h
        return concatenate([first, interior, last], axis)
    if coords.shape != (n,):
        raise ValueError("when 1d, distances must match the length of the corresponding dimension")
    dx = np.diff(coords)
    dx1, dx2 = dx[:-1], dx[1:]
    a = -dx2 / (dx1 * (dx1 + dx2))
    b = (dx2 - dx1) / (dx1 * dx2)
    c = dx1 / (dx2 * (dx1 + dx2))
    interior = (
        col(a) * at(slice(None, -2)) + col(b) * at(slice(1, -1)) + col(c) * at(slice(2, None))
    )
    if edge_order == 1:
        first = (at(slice(1, 2)) - at(slice(0, 1))) / dx[0]
        last = (at(slice(-1, None)) - at(slice(-2, -1))) / dx[-1]
    else:
        d1, d2 = dx[0], dx[1]
        first = (-(2.0 * d1 + d2) / (d1 * (d1 + d2)) * at(slice(0, 1))
                 + (d1 + d2) / (d1 * d2) * at(slice(1, 2))
                 - d1 / (d2 * (d1 + d2)) * at(slice(2, 3)))  # fmt: skip
        d1, d2 = dx[-2], dx[-1]
        last = (d2 / (d1 * (d1 + d2)) * at(slice(-3, -2))
                - (d2 + d1) / (d1 * d2) * at(slice(-2, -1))
                + (2.0 * d2 + d1) / (d2 * (d1 + d2)) * at(slice(-1, None)))  # fmt: skip
    return concatenate([first, interior, last], axis)


@register_numpy(np.gradient)
def gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: int = 1) -> Any:
    """``np.gradient``: linear in ``f`` for given spacings or coordinates (not traced)."""
    if edge_order not in (1, 2):
        raise ValueError("'edge_order' greater than 2 not supported")
    nd = np.ndim(strip(f))
    axes = tuple(range(nd)) if axis is None else (axis,) if np.ndim(axis) == 0 else tuple(axis)
    axes = tuple(int(a) % nd for a in axes)
    spacing: list[Any]
    if not varargs:
        spacing = [1.0] * len(axes)
    elif len(varargs) == 1 and np.ndim(strip(varargs[0])) == 0:
        spacing = [varargs[0]] * len(axes)
    elif len(varargs) == len(axes):
        spacing = list(varargs)
    else:
        raise TypeError("invalid number of arguments")
    reads_values("np.gradient's spacing", *spacing)
    out = [_gradient_1d(f, ax, h, edge_order) for ax, h in zip(axes, spacing, strict=True)]
    return out[0] if len(out) == 1 else tuple(out)


@register_numpy(np.interp)
def interp(x: Any, xp: Any, fp: Any, left: Any = None, right: Any = None,
           period: Any = None) -> Any:  # fmt: skip
    """``np.interp``: piecewise linear, differentiable in ``x``, ``xp`` and ``fp``
    (outside the knots, in ``left``/``right`` or the end values)."""
    if period is not None:
        raise NoDerivativeRuleError("gradmix differentiates np.interp without period only")
    reads_values("np.interp", x, xp)
    x, xp, fp = (v if isinstance(v, Tracer) else np.asarray(v, dtype=float) for v in (x, xp, fp))
    xv, xpv = np.asarray(strip(x), dtype=float), np.asarray(strip(xp), dtype=float)
    n = len(xpv)
    if n == 1:
        inside: Any = fp[0] + 0 * x if np.ndim(strip(fp)) else fp + 0 * x
    else:
        k = np.clip(np.searchsorted(xpv, xv, side="right") - 1, 0, n - 2)
        x0, x1 = xp[k], xp[k + 1]
        t = (x - x0) / (x1 - x0)
        inside = fp[k] + t * (fp[k + 1] - fp[k])
        # numpy returns the knot's value exactly on the last knot
        inside = np.where(xv == xpv[-1], fp[n - 1] + 0 * t, inside)
    lo = fp[0] if left is None else left
    hi = fp[n - 1] if right is None else right
    return np.where(xv < xpv[0], lo + 0 * x, np.where(xv > xpv[-1], hi + 0 * x, inside))


# convolution ------------------------------------------------------------------------
def _full_vjp_a(ans: Any, a: Any, v: Any) -> Any:
    n = np.shape(strip(a))[0]
    m = np.shape(strip(v))[0]
    return lambda g: getitem(bind(conv_full_p, (g, flip(v)), {}), slice(m - 1, m - 1 + n))


def _full_vjp_v(ans: Any, a: Any, v: Any) -> Any:
    n = np.shape(strip(a))[0]
    m = np.shape(strip(v))[0]
    return lambda g: getitem(bind(conv_full_p, (g, flip(a)), {}), slice(n - 1, n - 1 + m))


#: the full linear convolution of two 1-D arrays, bilinear: each VJP is a correlation,
#: written as a convolution with the other factor reversed
conv_full_p = Primitive(lambda a, v: np.convolve(a, v, "full"), "np.convolve")
conv_full_p.jvps[0] = lambda g, ans, a, v: bind(conv_full_p, (g, v), {})
conv_full_p.jvps[1] = lambda g, ans, a, v: bind(conv_full_p, (a, g), {})
conv_full_p.vjps[0] = _full_vjp_a
conv_full_p.vjps[1] = _full_vjp_v


def _mode_slice(n: int, m: int, mode: str) -> slice:
    lo, hi = min(n, m), max(n, m)
    if mode == "full":
        return slice(0, n + m - 1)
    if mode == "same":
        start = (lo - 1) // 2
        return slice(start, start + hi)
    if mode == "valid":
        return slice(lo - 1, hi)
    raise ValueError(f"mode must be one of 'full', 'same' or 'valid', got {mode!r}")


@register_numpy(np.convolve)
def convolve(a: Any, v: Any, mode: str = "full") -> Any:
    """``np.convolve``, differentiable in both arguments."""
    n, m = np.size(strip(a)), np.size(strip(v))
    if n == 0 or m == 0:
        raise ValueError("v cannot be empty" if m == 0 else "a cannot be empty")
    a, v = reshape(a, (n,)), reshape(v, (m,))
    full = bind(conv_full_p, (a, v), {})
    return getitem(full, _mode_slice(n, m, mode))


@register_numpy(np.correlate)
def correlate(a: Any, v: Any, mode: str = "valid") -> Any:
    """``np.correlate``: ``convolve(a, conj(v)[::-1])``."""
    return convolve(a, flip(np.conjugate(v)), mode)


@register_numpy(np.polyval)
def polyval(p: Any, x: Any) -> Any:
    """``np.polyval`` by Horner's rule, differentiable in the coefficients and in ``x``."""
    coeffs = [getitem(p, i) for i in range(np.shape(strip(p))[0])]
    y: Any = 0 * x
    for c in coeffs:
        y = y * x + c
    return y


@register_numpy(np.polyder)
def polyder(p: Any, m: int = 1) -> Any:
    """``np.polyder``: linear in the coefficients."""
    for _ in range(int(m)):
        n = np.shape(strip(p))[0]
        p = getitem(p, slice(0, n - 1)) * np.arange(n - 1, 0, -1, dtype=float)
    return p
