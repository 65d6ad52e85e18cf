"""Reductions and scans: sum, max/min, prod, cumsum, cumprod, and the statistics built on them.

Conventions: ``max``/``min`` share the derivative evenly among tied maxima;
``prod`` and ``cumprod`` are exact with zeros in the input (``cumprod`` raises where
a running product before a zero underflows, rather than return a wrong derivative).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradmix.ad.core import defjvp, defvjp
from gradmix.ad.dispatch import register_numpy, register_ufunc_method
from gradmix.ad.errors import NoDerivativeRuleError, NotCompilableError
from gradmix.ad.rules.elementwise import select_or_zero
from gradmix.ad.rules.shape import broadcast_to, flip, reshape
from gradmix.ad.tracer import (
    Primitive,
    Tracer,
    bind,
    constant,
    reads_values,
    records_choices,
    strip,
)

__all__ = [
    "all_normal", "sum_", "amax", "amin", "prod", "cumsum", "cumprod", "logsumexp", "abs2",
    "flat_root",
]  # fmt: skip


def _axes(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int | np.integer):
        axis = (axis,)
    return tuple(sorted(int(a) % ndim for a in axis))


def _keep(g: Any, x: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    """Reinsert reduced axes into ``g`` so it broadcasts against ``x``."""
    if keepdims:
        return g
    x_shape = np.shape(strip(x))
    shape = np.shape(g)[: np.ndim(g) - (len(x_shape) - len(axes))] + tuple(
        1 if i in axes else n for i, n in enumerate(x_shape)
    )
    if not isinstance(g, Tracer):  # (the array's method: a third of reshape's cost)
        return np.asarray(g).reshape(shape)
    return reshape(g, shape)


def _nb(g: Any, x: Any) -> int:
    return np.ndim(g) - np.ndim(x)


def _shift(axes: tuple[int, ...], nb: int) -> tuple[int, ...]:
    return tuple(a + nb for a in axes)


# sum ----------------------------------------------------------------------------
_ADD: np.ufunc = np.add


def _sum_impl(x: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    if type(x) is np.ndarray:  # what np.sum calls, without its Python wrapper's 2-3 µs
        return _ADD.reduce(x, axis=axes, keepdims=keepdims)
    return np.sum(x, axis=axes, keepdims=keepdims)


sum_p = Primitive(_sum_impl, "np.sum", batched=True)
defjvp(sum_p, lambda g, ans, x, axes, keepdims: sum_(g, _shift(axes, _nb(g, x)), keepdims=keepdims))
# the cotangent stays compact (keepdims shape): consumers broadcast it for free
defvjp(sum_p, lambda ans, x, axes, keepdims: lambda g: _keep(g, x, axes, keepdims))


@register_numpy(np.sum)
def sum_(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
         initial: Any = None, where: Any = None) -> Any:  # fmt: skip
    """``np.sum``."""
    if where is not None and where is not True:
        a = np.where(where, a, 0.0)
    axes = _axes(axis, np.ndim(strip(a)))
    out_ = bind(sum_p, (a,), {"axes": axes, "keepdims": bool(keepdims)})
    return out_ if initial is None else out_ + initial


@register_numpy(np.mean)
def mean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
         *, where: Any = None) -> Any:  # fmt: skip
    """``np.mean``."""
    shape = np.shape(strip(a))
    axes = _axes(axis, len(shape))
    if where is not None and where is not True:
        w = np.broadcast_to(where, shape)
        return sum_(a, axis, keepdims=keepdims, where=w) / np.sum(w, axis=axes, keepdims=keepdims)
    count = int(np.prod([shape[i] for i in axes]))
    return sum_(a, axis, keepdims=keepdims) / count


@register_numpy(np.var)
def var(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: float = 0,
        keepdims: bool = False, *, where: Any = None, mean: Any = None,
        correction: Any = None) -> Any:  # fmt: skip
    """``np.var`` (two-pass, so no cancellation)."""
    shape = np.shape(strip(a))
    axes = _axes(axis, len(shape))
    ddof = correction if correction is not None else ddof
    count = int(np.prod([shape[i] for i in axes]))
    centred = a - sum_(a, axis, keepdims=True) / count
    return sum_(abs2(centred), axis, keepdims=keepdims) / (count - ddof)


def abs2(x: Any) -> Any:
    """``|x|²``, real also for complex ``x``."""
    return np.real(x * np.conjugate(x)) if np.iscomplexobj(strip(x)) else x * x


@register_numpy(np.std)
def std(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: float = 0,
        keepdims: bool = False, **kw: Any) -> Any:  # fmt: skip
    """``np.std``; derivative 0 where the values are all equal (as ``abs`` at 0)."""
    return flat_root(var(a, axis, ddof=ddof, keepdims=keepdims, **kw))


def flat_root(s: Any, p: Any = 2) -> Any:
    """``s ** (1/p)`` (``sqrt`` for p = 2), with derivative 0 where ``s`` is 0.

    Two ``where``s: the root's infinite slope at 0 must not meet the zero slope
    of ``s`` there (their product is NaN).  For a norm or a standard deviation
    this is the subgradient of least norm at the kink, as ``abs'(0) = 0``.
    """
    zero = constant(s) == 0  # (in a recorded program an operation of it, made at every call)
    root = np.sqrt if p == 2 else (lambda v: v ** (1.0 / p))
    if not records_choices(s) and not np.any(zero):
        return root(s)
    return np.where(zero, 0.0, root(np.where(zero, 1.0, s)))


@register_numpy(np.average)
def average(a: Any, axis: Any = None, weights: Any = None, returned: bool = False,
            *, keepdims: bool = False) -> Any:  # fmt: skip
    """``np.average`` (weights may be traced)."""
    if weights is None:
        avg = mean(a, axis, keepdims=keepdims)
        wsum = np.size(strip(a)) / np.size(strip(avg))
    else:
        w = weights
        if np.ndim(strip(w)) == 1 and np.ndim(strip(a)) > 1 and axis is not None:
            shape = [1] * np.ndim(strip(a))
            shape[int(axis)] = -1
            w = reshape(w, tuple(shape))
        wsum = sum_(broadcast_to(w, np.shape(strip(a))), axis, keepdims=keepdims)
        avg = sum_(a * w, axis, keepdims=keepdims) / wsum
    return (avg, wsum) if returned else avg


@register_numpy(np.cov)
def cov(m: Any, y: Any = None, rowvar: bool = True, bias: bool = False, ddof: Any = None,
        **kw: Any) -> Any:  # fmt: skip
    """``np.cov`` without weights."""
    x = np.atleast_2d(m)
    if not rowvar and np.shape(strip(x))[0] != 1:
        x = np.transpose(x)
    if y is not None:
        yy = np.atleast_2d(y)
        if not rowvar and np.shape(strip(yy))[0] != 1:
            yy = np.transpose(yy)
        x = np.concatenate([x, yy], axis=0)
    n = np.shape(strip(x))[1]
    ddof = (0 if bias else 1) if ddof is None else ddof
    xc = x - mean(x, axis=1, keepdims=True)
    c = (xc @ np.transpose(xc)) / (n - ddof)
    return np.squeeze(c)


# max / min -------------------------------------------------------------------------
def _extreme_weights(ans: Any, x: Any, axes: tuple[int, ...],
                     keepdims: bool) -> tuple[Any, Any]:  # fmt: skip
    """The entries attaining the extreme (a mask) and, where some tie, how many do per
    reduced position (``keepdims`` shape; None where each has one): the derivative is
    spread evenly over ties.  The count divides the small reduced array, not the mask."""
    xv = constant(x)
    av = constant(ans)
    if not keepdims and np.ndim(strip(ans)):  # (a scalar broadcasts as it is: 2 µs less)
        av = np.expand_dims(av, axes)
    hits = xv == av
    if isinstance(hits, Tracer):  # a recorded program: mask and counts are its operations
        return hits, bind(tie_counts_p, (hits, av), {"axes": axes})
    return hits, (None if _no_ties(hits, av) else np.count_nonzero(hits, axis=axes, keepdims=True))


def _no_ties(hits: np.ndarray, extreme: Any) -> bool:
    """Whether every reduced position's extreme is attained by one entry alone: as many
    hits as positions, and no extreme NaN (a NaN's position has no hit, which a tie
    elsewhere could make up for).  One count over the mask, not one per position: numpy's
    count along an axis of the mask takes ten times as long."""
    return int(np.count_nonzero(hits)) == np.size(extreme) and not np.isnan(extreme).any()


def tie_counts(hits: np.ndarray, extreme: Any, axes: tuple[int, ...]) -> np.ndarray:
    """How many entries of ``hits`` hold per position of ``extreme`` (the reduced array),
    counted along ``axes`` only where some position has a tie; shape: ``hits``' with
    ``axes`` kept as 1."""
    if _no_ties(hits, extreme):
        return np.ones([1 if i in axes else n for i, n in enumerate(np.shape(hits))], np.intp)
    return np.count_nonzero(hits, axis=axes, keepdims=True)


#: a recorded program's tie counts, recomputed at every call
tie_counts_p = Primitive(tie_counts, "tie_counts", nondiff=True)


# the entries off the extreme are selected out (np.where's), not multiplied by 0: their
# derivative is 0 even where a tangent or cotangent is infinite (0 · inf is NaN)
def _extreme_jvp(g: Any, ans: Any, x: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    mask, counts = _extreme_weights(ans, x, axes, keepdims)
    t = sum_(select_or_zero(mask, g), _shift(axes, _nb(g, x)), keepdims=keepdims)
    return t if counts is None else t / np.reshape(counts, np.shape(strip(ans)))


def _extreme_vjp(ans: Any, x: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    def vjp(g: Any) -> Any:
        mask, counts = _extreme_weights(ans, x, axes, keepdims)
        gk = _keep(g, x, axes, keepdims)
        return select_or_zero(mask, gk if counts is None else gk / counts)

    return vjp


#: rows this short are reduced column by column (below), where at least this many rows
#: per entry of a row make up for a call per column
SHORT_ROWS, ROWS_PER_COLUMN = 16, 64


def _extreme(fn: Any, pairwise: np.ufunc, name: str) -> Primitive:
    """The primitive of ``fn`` (``np.max``), whose ``pairwise`` (``np.maximum``) takes the
    columns of many short rows: numpy's reduction along a row pays per row, 37 ns, so
    (1 000, 3) took 37 µs against 3.2 µs by columns, and (1 000, 10) 42 against 16."""

    def impl(x: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
        if type(x) is not np.ndarray:
            return fn(x, axis=axes, keepdims=keepdims)
        if (
            x.ndim >= 2
            and axes == (x.ndim - 1,)
            and 1 < x.shape[-1] <= SHORT_ROWS
            and x.size >= ROWS_PER_COLUMN * x.shape[-1] ** 2
            and x.dtype.kind in "fiu"
        ):
            out = x[..., 0].copy()
            for j in range(1, x.shape[-1]):
                pairwise(out, x[..., j], out=out)
            return out[..., None] if keepdims else out
        return pairwise.reduce(x, axis=axes, keepdims=keepdims)  # (what ``fn`` calls)

    prim = Primitive(impl, name, batched=True)
    defjvp(prim, _extreme_jvp)
    defvjp(prim, _extreme_vjp)
    return prim


max_p = _extreme(np.max, np.maximum, "np.max")
min_p = _extreme(np.min, np.minimum, "np.min")


@register_numpy(np.max, np.amax)
def amax(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, initial: Any = None,
         where: Any = None) -> Any:  # fmt: skip
    """``np.max``; ties share the derivative evenly."""
    out_ = bind(max_p, (a,), {"axes": _axes(axis, np.ndim(strip(a))), "keepdims": bool(keepdims)})
    return out_ if initial is None else np.maximum(out_, initial)


@register_numpy(np.min, np.amin)
def amin(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, initial: Any = None,
         where: Any = None) -> Any:  # fmt: skip
    """``np.min``; ties share the derivative evenly."""
    out_ = bind(min_p, (a,), {"axes": _axes(axis, np.ndim(strip(a))), "keepdims": bool(keepdims)})
    return out_ if initial is None else np.minimum(out_, initial)


@register_numpy(np.ptp)
def ptp(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
    return amax(a, axis, keepdims=keepdims) - amin(a, axis, keepdims=keepdims)


# prod ----------------------------------------------------------------------------
def all_normal(products: Any) -> bool:
    """Whether every entry of ``products`` (values or traced) is a normal number: not 0,
    not subnormal, not infinite.  Only then does dividing a product by one of its factors
    give the product of the others to rounding."""
    size = np.abs(strip(products))
    return bool(np.all((size >= np.finfo(size.dtype).tiny) & (size < np.inf)))


def _others(x: Any, axes: tuple[int, ...], ans: Any) -> Any:
    """Product of all *other* entries along ``axes`` (exact when x has zeros), for
    ``ans`` the product of all of them."""
    if records_choices(x):  # (a recorded program: one operation, right at every point)
        return bind(exclusive_products_p, (x,), {"axes": axes})
    xv = strip(x)
    # a subnormal product keeps few digits (found: 2e-323 / 1e-323 = 2 where the other
    # entry was 1.84), one that underflowed to 0 or overflowed none
    if np.all(xv != 0) and all_normal(ans):
        return np.prod(x, axis=axes, keepdims=True) / x
    return _exclusive_products(x, axes)


def _exclusive_products(x: Any, axes: tuple[int, ...]) -> Any:
    """Product of all other entries along ``axes``: no division anywhere."""
    xv = strip(x)
    # move the reduced axes to the end, flatten them, and multiply the
    # exclusive prefix and suffix products
    nd = np.ndim(xv)
    rest = [i for i in range(nd) if i not in axes]
    perm = rest + list(axes)
    xt = np.transpose(x, perm)
    lead = np.shape(xt)[: len(rest)]
    flat = reshape(xt, lead + (-1,))
    ones = np.ones(lead + (1,), dtype=np.result_type(xv, np.float32))
    left = np.concatenate([ones, cumprod(flat[..., :-1], axis=-1)], axis=-1)
    right = flip(np.concatenate([ones, cumprod(flip(flat, -1)[..., :-1], axis=-1)], axis=-1), -1)
    out = reshape(left * right, np.shape(xt))
    return np.transpose(out, tuple(np.argsort(perm)))


prod_p = Primitive(lambda x, axes, keepdims: np.prod(x, axis=axes, keepdims=keepdims), "np.prod",
                   batched=True)  # fmt: skip


def _others_now(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """:func:`_others` of plain values, choosing at each call."""
    products = np.prod(x, axis=axes, keepdims=True)
    if np.all(x != 0) and all_normal(products):
        return products / x
    return _exclusive_products(x, axes)


#: the products of the others in a compiled program's derivative of np.prod
exclusive_products_p = Primitive(_others_now, "np.prod's products of the others",
                                 batched=True)  # fmt: skip


def _second_derivative_of_prod(*args: Any, **kwargs: Any) -> Any:
    raise NotCompilableError(
        "a second derivative of np.prod cannot be compiled (the product of the others has "
        "no fixed program for its own derivative); use eager gm.hessian / gm.grad"
    )


defjvp(exclusive_products_p, _second_derivative_of_prod)
defvjp(exclusive_products_p, _second_derivative_of_prod)


def _prod_jvp(g: Any, ans: Any, x: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    others = _others(x, axes, ans)
    terms = g * others
    if records_choices(others) or not np.all(np.isfinite(strip(others))):
        # an entry the direction leaves alone adds nothing, also where the product of
        # the others overflowed (a product 0 · inf would make the sum NaN)
        terms = select_or_zero(constant(g) != 0, terms)
    return sum_(terms, _shift(axes, _nb(g, x)), keepdims=keepdims)


defjvp(prod_p, _prod_jvp)
defvjp(
    prod_p,
    lambda ans, x, axes, keepdims: lambda g: _keep(g, x, axes, keepdims) * _others(x, axes, ans),
)


@register_numpy(np.prod)
def prod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
         initial: Any = None, where: Any = None) -> Any:  # fmt: skip
    """``np.prod``; exact derivatives also where entries are zero."""
    out_ = bind(prod_p, (a,), {"axes": _axes(axis, np.ndim(strip(a))), "keepdims": bool(keepdims)})
    return out_ if initial is None else out_ * initial


# scans ------------------------------------------------------------------------------
cumsum_p = Primitive(lambda x, axis: np.cumsum(x, axis=axis), "np.cumsum", batched=True)
defjvp(cumsum_p, lambda g, ans, x, axis: cumsum(g, axis + _nb(g, x)))
defvjp(cumsum_p, lambda ans, x, axis: lambda g: flip(cumsum(flip(g, axis), axis), axis))


@register_numpy(np.cumsum)
def cumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """``np.cumsum``."""
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    return bind(cumsum_p, (a,), {"axis": int(axis) % np.ndim(strip(a))})


def _normal_running(products: Any) -> None:
    """Refuse what the rules below cannot give: they divide running products by the
    entries, which is exact to rounding only where every such product is a normal number
    (one that underflowed to 0 would give 0 for a derivative of 1 at [1e-200, 1e-200,
    1e200])."""
    if not all_normal(products):
        raise ValueError(
            "gradmix: the derivative of np.cumprod is only implemented where no running "
            "product underflows or overflows (scale the entries, or sum their logarithms)"
        )


def _first_zeros(x: Any, axis: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Each line's first zero along ``axis``, and that entry with all after it (plain bool
    masks of x's shape); None where no entry is zero."""
    zero = strip(x) == 0
    if not zero.any():
        return None
    seen = np.cumsum(zero, axis=axis)
    return zero & (seen == 1), seen >= 1


def _cumprod_jvp(g: Any, ans: Any, x: Any, axis: int) -> Any:
    zeros = _first_zeros(x, axis)
    along = axis + _nb(g, x)
    if zeros is None:
        _normal_running(ans)
        return ans * cumsum(g / x, along)
    # y = x_z · cumprod(x with x_z = 1) from each line's first zero z on, the same
    # products before it: the same polynomial, so its derivatives of every order are
    # cumprod's (the inner cumprod has one zero fewer per line)
    first, after = zeros
    ones = np.where(first, 1.0, x)
    inner = cumprod(ones, axis)
    d_inner = _cumprod_jvp(np.where(first, 0.0, g), inner, ones, axis)
    at_zero, d_at_zero = (cumsum(np.where(first, v, 0.0), a) for v, a in ((x, axis), (g, along)))
    return np.where(after, d_at_zero * inner + at_zero * d_inner, d_inner)


def _cumprod_vjp(ans: Any, x: Any, axis: int) -> Any:
    zeros = _first_zeros(x, axis)
    if zeros is None:
        _normal_running(ans)
        return lambda g: flip(cumsum(flip(g * ans, axis), axis), axis) / x
    first, after = zeros  # (the JVP's rewriting)
    ones = np.where(first, 1.0, x)
    inner = cumprod(ones, axis)
    inner_pullback = _cumprod_vjp(inner, ones, axis)
    at_zero = cumsum(np.where(first, x, 0.0), axis)

    def pullback(g: Any) -> Any:
        through_inner = inner_pullback(np.where(after, g * at_zero, g))
        through_zero = sum_(np.where(after, g * inner, 0.0), (axis,), keepdims=True)
        return np.where(first, through_zero, through_inner)

    return pullback


_cumprod = Primitive(lambda x, axis: np.cumprod(x, axis=axis), "np.cumprod", batched=True)
defjvp(_cumprod, _cumprod_jvp)
defvjp(_cumprod, _cumprod_vjp)


@register_numpy(np.cumprod)
def cumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """``np.cumprod``; exact derivatives also where entries are zero."""
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    return bind(_cumprod, (a,), {"axis": int(axis) % np.ndim(strip(a))})


def logsumexp(a: Any, axis: Any = None, b: Any = None, keepdims: bool = False) -> Any:
    """log(sum(b·exp(a))) along ``axis``, stable, differentiable in ``a`` and ``b``.

    Parameters
    ----------
    a : array_like
        Values.
    axis : int or tuple of int, optional
        Axes to reduce (all by default).
    b : array_like, optional
        Positive scale factors, broadcastable to ``a``.
    keepdims : bool
        Keep reduced axes with length one.
    """
    m = constant(amax(a, axis=axis, keepdims=True))  # the stabiliser: no derivative
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(a - m)
    if b is not None:
        e = e * b
    s = sum_(e, axis, keepdims=True)
    out = np.log(s) + m
    if not keepdims:
        out = np.squeeze(out, axis=_axes(axis, np.ndim(strip(a))))
    return out


for _ufunc, _reduction in ((np.add, sum_), (np.multiply, prod), (np.maximum, amax),
                            (np.minimum, amin)):  # fmt: skip
    register_ufunc_method("reduce", _ufunc, lambda a, axis=0, _r=_reduction, **kw:
                          _r(a, axis, keepdims=kw.get("keepdims", False)))  # fmt: skip
register_ufunc_method("accumulate", np.add, lambda a, axis=0, **kw: cumsum(a, axis))
register_ufunc_method("accumulate", np.multiply, lambda a, axis=0, **kw: cumprod(a, axis))


@register_numpy(np.median)
def median(a: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
           keepdims: bool = False) -> Any:  # fmt: skip
    """``np.median``: the middle of the sorted values (average of the two middles)."""
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    nd = np.ndim(strip(a))
    axis = int(axis) % nd
    s = np.sort(a, axis=axis)
    n = np.shape(strip(a))[axis]
    pre = (slice(None),) * axis
    mid = s[pre + (slice((n - 1) // 2, n // 2 + 1),)]
    return mean(mid, axis=axis, keepdims=keepdims)


# reductions that skip NaN --------------------------------------------------------------
def _nan_filled(a: Any, fill: float) -> tuple[Any, Any]:
    """``a`` with NaN entries replaced by ``fill`` (derivative zero there), and the mask."""
    nan = np.isnan(strip(a))
    if not np.any(nan):
        return a, nan
    reads_values("a nan-skipping reduction over NaN entries", a)
    return np.where(nan, fill, a), nan


@register_numpy(np.nansum)
def nansum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
           **kw: Any) -> Any:  # fmt: skip
    """``np.nansum``."""
    return sum_(_nan_filled(a, 0.0)[0], axis, keepdims=keepdims)


@register_numpy(np.nanprod)
def nanprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
            **kw: Any) -> Any:  # fmt: skip
    """``np.nanprod``."""
    return prod(_nan_filled(a, 1.0)[0], axis, keepdims=keepdims)


@register_numpy(np.nanmean)
def nanmean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
            **kw: Any) -> Any:  # fmt: skip
    """``np.nanmean`` (NaN where a slice is all NaN, as numpy)."""
    filled, nan = _nan_filled(a, 0.0)
    count = np.sum(~nan, axis=axis, keepdims=keepdims)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sum_(filled, axis, keepdims=keepdims) / count


@register_numpy(np.nanvar)
def nanvar(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: float = 0,
           keepdims: bool = False, **kw: Any) -> Any:  # fmt: skip
    """``np.nanvar``."""
    filled, nan = _nan_filled(a, 0.0)
    count = np.sum(~nan, axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        centred = np.where(nan, 0.0, filled - sum_(filled, axis, keepdims=True) / count)
        total = sum_(abs2(centred), axis, keepdims=keepdims)
        return total / (np.sum(~nan, axis=axis, keepdims=keepdims) - ddof)


@register_numpy(np.nanstd)
def nanstd(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: float = 0,
           keepdims: bool = False, **kw: Any) -> Any:  # fmt: skip
    """``np.nanstd``; derivative 0 where the values are all equal (as ``np.std``)."""
    return flat_root(nanvar(a, axis, ddof=ddof, keepdims=keepdims))


def _nan_extreme(a: Any, axis: Any, keepdims: bool, pick: Any, fill: float) -> Any:
    filled, nan = _nan_filled(a, fill)
    out = pick(filled, axis, keepdims=keepdims)
    allnan = np.all(nan, axis=axis, keepdims=keepdims)
    return np.where(allnan, np.nan, out) if np.any(allnan) else out


@register_numpy(np.nanmax)
def nanmax(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, **kw: Any) -> Any:
    """``np.nanmax``."""
    return _nan_extreme(a, axis, keepdims, amax, -np.inf)


@register_numpy(np.nanmin)
def nanmin(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, **kw: Any) -> Any:
    """``np.nanmin``."""
    return _nan_extreme(a, axis, keepdims, amin, np.inf)


@register_numpy(np.nancumsum)
def nancumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """``np.nancumsum``."""
    return cumsum(_nan_filled(a, 0.0)[0], axis)


@register_numpy(np.nancumprod)
def nancumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """``np.nancumprod``."""
    return cumprod(_nan_filled(a, 1.0)[0], axis)


# quantiles -----------------------------------------------------------------------------
@register_numpy(np.quantile)
def quantile(a: Any, q: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
             method: str = "linear", keepdims: bool = False, **kw: Any) -> Any:  # fmt: skip
    """``np.quantile`` (method ``"linear"``): the sorted values, interpolated; the
    derivative reaches ``a`` through the two neighbours and ``q`` through the slope."""
    if method != "linear":
        raise NoDerivativeRuleError(
            f"gradmix differentiates np.quantile with method='linear' only, not {method!r}"
        )
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
        keep_shape = None
    else:
        keep_shape = np.shape(strip(a))
    nd = np.ndim(strip(a))
    axis = int(axis) % nd
    n = np.shape(strip(a))[axis]
    s = np.moveaxis(np.sort(a, axis=axis), axis, 0)
    q = q if isinstance(q, Tracer) else np.asarray(q, dtype=float)
    pos = q * (n - 1)
    reads_values("np.quantile's position", q)
    lo = np.clip(np.floor(strip(pos)).astype(np.intp), 0, n - 1)
    hi = np.minimum(lo + 1, n - 1)
    frac = np.reshape(pos - lo, np.shape(lo) + (1,) * (nd - 1))
    out = s[lo] + (s[hi] - s[lo]) * frac
    if keepdims:
        shape = list(keep_shape) if keep_shape is not None else [1] * nd
        shape[axis] = 1
        out = reshape(out, np.shape(lo) + tuple(shape))
    return out


@register_numpy(np.percentile)
def percentile(a: Any, q: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
               method: str = "linear", keepdims: bool = False, **kw: Any) -> Any:  # fmt: skip
    """``np.percentile`` (method ``"linear"``)."""
    q = q if isinstance(q, Tracer) else np.asarray(q, dtype=float)
    return quantile(a, q / 100, axis, method=method, keepdims=keepdims)


@register_numpy(np.trapezoid)
def trapezoid(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1) -> Any:
    """``np.trapezoid``: differentiable in the values and in the sample points."""
    nd = np.ndim(strip(y))
    axis = int(axis) % nd
    pre = (slice(None),) * axis
    hi, lo = pre + (slice(1, None),), pre + (slice(None, -1),)
    if x is None:
        d: Any = dx
    else:
        d = np.diff(x, axis=axis if np.ndim(strip(x)) > 1 else -1)
        if np.ndim(strip(x)) == 1 and nd > 1:
            d = reshape(d, (-1,) + (1,) * (nd - 1 - axis))
    return sum_(d * (y[hi] + y[lo]) / 2.0, axis)


@register_numpy(np.corrcoef)
def corrcoef(x: Any, y: Any = None, rowvar: bool = True, **kw: Any) -> Any:
    """``np.corrcoef``: the covariance scaled by the standard deviations."""
    c = np.cov(x, y, rowvar=rowvar)
    if np.ndim(strip(c)) == 0:
        return c / c
    d = np.sqrt(np.diagonal(c))
    out = c / reshape(d, (-1, 1)) / reshape(d, (1, -1))
    return np.clip(out, -1.0, 1.0)


def _nan_quantile_1d(a: Any, q: Any) -> Any:
    keep = np.flatnonzero(~np.isnan(strip(a)))
    return quantile(a[keep], q) if keep.size else np.full(np.shape(strip(q)), np.nan)


@register_numpy(np.nanquantile)
def nanquantile(a: Any, q: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
                method: str = "linear", keepdims: bool = False, **kw: Any) -> Any:  # fmt: skip
    """``np.nanquantile`` (method ``"linear"``): the quantile of each slice's numbers."""
    if method != "linear":
        raise NoDerivativeRuleError(
            f"gradmix differentiates np.nanquantile with method='linear' only, not {method!r}"
        )
    reads_values("np.nanquantile", a)
    q = q if isinstance(q, Tracer) else np.asarray(q, dtype=float)
    if axis is None:
        res = _nan_quantile_1d(reshape(a, (-1,)), q)
        return reshape(res, np.shape(strip(q)) + (1,) * np.ndim(strip(a))) if keepdims else res
    moved = np.moveaxis(a, axis, -1)
    lead = np.shape(strip(moved))[:-1]
    flat = reshape(moved, (-1, np.shape(strip(moved))[-1]))
    rows = [_nan_quantile_1d(flat[i], q) for i in range(np.shape(strip(flat))[0])]
    res = np.stack(rows, axis=-1) if rows else np.zeros(np.shape(strip(q)) + (0,))
    res = reshape(res, np.shape(strip(q)) + lead)
    return (
        np.expand_dims(res, axis if axis >= 0 else axis + np.ndim(strip(a)) + np.ndim(strip(q)))
        if keepdims
        else res
    )


@register_numpy(np.nanpercentile)
def nanpercentile(a: Any, q: Any, axis: Any = None, out: Any = None,
                  overwrite_input: bool = False, method: str = "linear", keepdims: bool = False,
                  **kw: Any) -> Any:  # fmt: skip
    """``np.nanpercentile`` (method ``"linear"``)."""
    q = q if isinstance(q, Tracer) else np.asarray(q, dtype=float)
    return nanquantile(a, q / 100, axis, method=method, keepdims=keepdims)


@register_numpy(np.nanmedian)
def nanmedian(a: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
              keepdims: bool = False) -> Any:  # fmt: skip
    """``np.nanmedian``."""
    return nanquantile(a, 0.5, axis, keepdims=keepdims)
