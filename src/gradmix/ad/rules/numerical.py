"""Sampling, differences, interpolation, convolution and polynomials, as composites.

``linspace`` with traced end points, ``gradient`` (numpy's second-order
differences, on uniform or given coordinates), ``interp`` (piecewise linear),
``convolve``/``correlate`` (one bilinear primitive, the full convolution, whose
VJPs are convolutions again) and ``polyval`` (Horner's rule).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradmix.ad.core import defjvp, defvjp
from gradmix.ad.dispatch import register_numpy
from gradmix.ad.errors import NoDerivativeRuleError
from gradmix.ad.rules.shape import (
    concatenate,
    flip,
    getitem,
    moveaxis,
    reshape,
    stack,
    take_along_axis,
)
from gradmix.ad.tracer import (
    Primitive,
    Tracer,
    bind,
    constant,
    reads_values,
    records_choices,
    strip,
)

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
    if not records_choices(x, xp):  # (in a recorded program the choices are operations)
        reads_values("np.interp", x, xp)
    x, xp, fp = (v if isinstance(v, Tracer) else np.asarray(v, dtype=float) for v in (x, xp, fp))
    xv, xpv = constant(x), constant(xp)
    n = np.shape(strip(xp))[0]
    if n == 1:
        inside: Any = fp[0] + 0 * x if np.ndim(strip(fp)) else fp + 0 * x
    else:
        k = np.clip(np.searchsorted(xpv, xv, side="right") - 1, 0, n - 2)
        x0, x1 = _at(xp, k), _at(xp, k + 1)
        # (a span of 0, the last two knots repeated, is only taken at or past the last
        # knot, whose value the wheres below give: 1 keeps its NaN out of them)
        span = x1 - x0
        t = (x - x0) / np.where(constant(span) == 0, 1.0, span)
        f0 = _at(fp, k)
        inside = f0 + t * (_at(fp, k + 1) - f0)
        # numpy returns the knot's value exactly on the last knot
        inside = np.where(xv == xpv[-1], fp[n - 1] + 0 * x, inside)
    lo = fp[0] if left is None else left
    hi = fp[n - 1] if right is None else right
    return np.where(xv < xpv[0], lo + 0 * x, np.where(xv > xpv[-1], hi + 0 * x, inside))


def _at(a: Any, k: Any) -> Any:
    """``a[k]`` for a 1-D ``a`` and integer indices ``k`` of any shape, also where ``a``
    is a plain array and ``k`` an operation of a recorded program."""
    flat = reshape(k, (-1,))
    return reshape(take_along_axis(a, flat, 0), np.shape(strip(k)))


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
defjvp(conv_full_p, lambda g, ans, a, v: bind(conv_full_p, (g, v), {}))
defjvp(conv_full_p, lambda g, ans, a, v: bind(conv_full_p, (a, g), {}), argnums=(1,))
defvjp(conv_full_p, _full_vjp_a)
defvjp(conv_full_p, _full_vjp_v, argnums=(1,))

#: primitives whose derivative rules are formulas in their arguments (see
#: ``elementwise.FORMULA_RULES``)
FORMULA_RULES: set[Primitive] = {conv_full_p}


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


@register_numpy(np.geomspace)
def geomspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None,
              axis: int = 0) -> Any:  # fmt: skip
    """``np.geomspace`` of positive (or both negative) end points."""
    sign = np.sign(strip(start))
    reads_values("np.geomspace's sign", start)
    out = sign * np.exp(linspace(np.log(sign * start), np.log(sign * stop), num, endpoint,
                                 axis=axis))  # fmt: skip
    if num > 0:  # numpy makes the end points exact
        first = np.arange(num) == 0
        last = (np.arange(num) == num - 1) & bool(endpoint)
        shape = (num,) + (1,) * (np.ndim(strip(out)) - 1)
        out = moveaxis(out, axis, 0)
        out = np.where(first.reshape(shape), start + 0 * out, out)
        out = np.where(last.reshape(shape), stop + 0 * out, out)
        out = moveaxis(out, 0, axis)
    return out if dtype is None else out.astype(dtype)


@register_numpy(np.logspace)
def logspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, base: Any = 10.0,
             dtype: Any = None, axis: int = 0) -> Any:  # fmt: skip
    """``np.logspace``: ``base ** linspace(start, stop)``."""
    out = np.power(base, linspace(start, stop, num, endpoint, axis=axis))
    return out if dtype is None else out.astype(dtype)


@register_numpy(np.ediff1d)
def ediff1d(ary: Any, to_end: Any = None, to_begin: Any = None) -> Any:
    """``np.ediff1d``."""
    flat = reshape(ary, (-1,))
    parts = [] if to_begin is None else [reshape(to_begin + 0.0 * flat[:1], (-1,))]
    parts.append(getitem(flat, slice(1, None)) - getitem(flat, slice(None, -1)))
    if to_end is not None:
        parts.append(reshape(to_end + 0.0 * flat[:1], (-1,)))
    return concatenate(parts) if len(parts) > 1 else parts[0]


def _cumulative(fn: Any, x: Any, axis: Any, include_initial: bool, initial: float) -> Any:
    if axis is None:
        if np.ndim(strip(x)) > 1:
            raise ValueError("axis must be given for arrays of more than one dimension")
        axis = 0
    out = fn(x, axis=axis)
    if not include_initial:
        return out
    shape = list(np.shape(strip(x)))
    shape[axis] = 1
    return concatenate([np.full(shape, initial), out], axis=axis)


@register_numpy(np.cumulative_sum)
def cumulative_sum(x: Any, /, *, axis: Any = None, dtype: Any = None, out: Any = None,
                   include_initial: bool = False) -> Any:  # fmt: skip
    """``np.cumulative_sum``."""
    return _cumulative(np.cumsum, x, axis, include_initial, 0.0)


@register_numpy(np.cumulative_prod)
def cumulative_prod(x: Any, /, *, axis: Any = None, dtype: Any = None, out: Any = None,
                    include_initial: bool = False) -> Any:  # fmt: skip
    """``np.cumulative_prod``."""
    return _cumulative(np.cumprod, x, axis, include_initial, 1.0)


@register_numpy(np.histogram_bin_edges)
def histogram_bin_edges(a: Any, bins: Any = 10, range: Any = None, weights: Any = None) -> Any:
    """``np.histogram_bin_edges`` for a number of equal bins (the edges follow the data's
    range) or given edges."""
    if not isinstance(bins, int | np.integer):
        if isinstance(bins, str):
            raise NoDerivativeRuleError("gradmix: histogram bins given by a rule name")
        return bins
    reads_values("np.histogram's range", a)
    lo, hi = (np.min(a), np.max(a)) if range is None else range
    if np.all(strip(lo) == strip(hi)):
        lo, hi = lo - 0.5, hi + 0.5
    return linspace(lo, hi, int(bins) + 1)


@register_numpy(np.histogram)
def histogram(a: Any, bins: Any = 10, range: Any = None, density: Any = None,
              weights: Any = None) -> tuple[Any, Any]:  # fmt: skip
    """``np.histogram``: counts (plain; with ``density``, differentiable through the bin
    widths) and edges (differentiable in the data's range)."""
    reads_values("np.histogram", a)
    edges = histogram_bin_edges(a, bins, range)
    counts, _ = np.histogram(strip(a), np.asarray(strip(edges)), weights=strip(weights))
    if weights is not None and isinstance(weights, Tracer):
        raise NoDerivativeRuleError("gradmix: np.histogram with traced weights")
    if density:
        widths = np.diff(edges)
        return counts / widths / np.sum(counts), edges
    return counts, edges


@register_numpy(np.vander)
def vander(x: Any, N: Any = None, increasing: bool = False) -> Any:  # noqa: N803 - numpy's
    """``np.vander``: columns of powers of ``x``."""
    n = np.shape(strip(x))[0] if N is None else int(N)
    powers = np.arange(n) if increasing else np.arange(n - 1, -1, -1)
    return reshape(x, (-1, 1)) ** powers.astype(float)


@register_numpy(np.unwrap)
def unwrap(p: Any, discont: Any = None, axis: int = -1, *, period: float = 2 * np.pi) -> Any:
    """``np.unwrap``: ``p`` plus piecewise-constant multiples of the period."""
    reads_values("np.unwrap", p)
    pv = strip(p)
    return p + (np.unwrap(pv, discont, axis, period=period) - pv)


# polynomials, as numpy's coefficient arrays (highest power first) --------------------
def _poly_pad(a: Any, n: int) -> Any:
    a = a if isinstance(a, Tracer) else np.asarray(a, dtype=float)
    m = np.shape(strip(a))[0]
    return concatenate([np.zeros(n - m), a]) if m < n else a


@register_numpy(np.polyadd)
def polyadd(a1: Any, a2: Any) -> Any:
    n = max(np.size(strip(a1)), np.size(strip(a2)))
    return _poly_pad(reshape(a1, (-1,)), n) + _poly_pad(reshape(a2, (-1,)), n)


@register_numpy(np.polysub)
def polysub(a1: Any, a2: Any) -> Any:
    n = max(np.size(strip(a1)), np.size(strip(a2)))
    return _poly_pad(reshape(a1, (-1,)), n) - _poly_pad(reshape(a2, (-1,)), n)


@register_numpy(np.polymul)
def polymul(a1: Any, a2: Any) -> Any:
    return convolve(a1, a2)


@register_numpy(np.polyint)
def polyint(p: Any, m: int = 1, k: Any = None) -> Any:
    """``np.polyint``: linear in the coefficients and in the constants ``k``."""
    ks = np.zeros(m) if k is None else np.broadcast_to(np.asarray(strip(k), dtype=float), (m,))
    kt: Any = k if isinstance(k, Tracer) else None
    for i in range(int(m)):
        n = np.shape(strip(p))[0]
        const = ks[i] if kt is None else (kt if np.ndim(strip(kt)) == 0 else kt[i])
        p = concatenate([p / np.arange(n, 0, -1, dtype=float), reshape(const + 0.0 * p[:1], (1,))])
    return p


@register_numpy(np.polydiv)
def polydiv(u: Any, v: Any) -> tuple[Any, Any]:
    """``np.polydiv`` by long division, differentiable in both polynomials."""
    u = u if isinstance(u, Tracer) else np.asarray(u, dtype=float)
    v = v if isinstance(v, Tracer) else np.asarray(v, dtype=float)
    m, n = np.shape(strip(u))[0] - 1, np.shape(strip(v))[0] - 1
    scale = 1.0 / v[0]
    rem = [u[i] for i in range(m + 1)]
    q = []
    for k in range(max(m - n + 1, 0)):
        d = scale * rem[k]
        q.append(d)
        for i in range(n + 1):
            rem[k + i] = rem[k + i] - d * v[i]
    quotient = stack(q) if q else np.zeros(1)
    remainder = stack(rem[max(m - n + 1, 0) :]) if m >= n else stack(rem)
    # numpy trims leading (near) zeros of the remainder
    reads_values("np.polydiv's remainder", remainder)
    rv = strip(remainder)
    while np.size(rv) > 1 and np.allclose(rv[0], 0, rtol=1e-14, atol=0):
        remainder, rv = remainder[1:], rv[1:]
    return quotient, remainder


@register_numpy(np.poly)
def poly(seq_of_zeros: Any) -> Any:
    """``np.poly`` of a 1-D sequence of roots: the product of the factors ``(x - r)``."""
    if np.ndim(strip(seq_of_zeros)) != 1:
        raise NoDerivativeRuleError("gradmix: np.poly of a matrix (characteristic polynomial)")
    out: Any = np.ones(1)
    for i in range(np.shape(strip(seq_of_zeros))[0]):
        out = convolve(out, concatenate([np.ones(1), -reshape(seq_of_zeros[i], (1,))]))
    return out


@register_numpy(np.roots)
def roots(p: Any) -> Any:
    """``np.roots``: eigenvalues of the companion matrix (distinct roots)."""
    reads_values("np.roots", p)
    nz = np.flatnonzero(strip(p))
    if nz.size == 0:
        return np.array([])
    trailing = np.shape(strip(p))[0] - 1 - int(nz[-1])
    p = getitem(p, slice(int(nz[0]), int(nz[-1]) + 1))
    n = np.shape(strip(p))[0]
    if n < 2:
        found: Any = np.zeros(0)
    else:
        top = reshape(-getitem(p, slice(1, None)) / p[0], (1, -1))
        shift = np.eye(n - 2, n - 1) if n > 2 else np.zeros((0, 1))
        found = np.linalg.eigvals(concatenate([top, shift], axis=0))
    if trailing:
        return concatenate([found, np.zeros(trailing, dtype=np.result_type(strip(found), float))])
    return found


@register_numpy(np.polyfit)
def polyfit(x: Any, y: Any, deg: int, rcond: Any = None, full: bool = False, w: Any = None,
            cov: bool = False) -> Any:  # fmt: skip
    """``np.polyfit`` (least squares on the Vandermonde matrix, optional weights)."""
    if full or cov:
        raise NoDerivativeRuleError("gradmix differentiates np.polyfit's coefficients only")
    a = vander(x, int(deg) + 1)
    b = y if w is None else y * w
    if w is not None:
        a = a * reshape(w, (-1, 1))
    # numpy scales the columns before solving; the solution is the same
    return np.linalg.lstsq(a, b, rcond=rcond)[0]
