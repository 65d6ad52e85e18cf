"""Indexing, reshaping and joining: the linear, data-moving operations.

Five primitives carry every derivative here: ``getitem`` (gather), ``untake``
(its adjoint, scatter-add), ``reshape``, ``transpose``, ``broadcast_to`` and
``concatenate``.  Everything else (``flip``, ``roll``, ``tile``, ``pad``,
``diag``, ``sort``, ...) is a composite that builds an index with plain numpy
and gathers with ``getitem``, so it needs no rule of its own.

In a program being recorded (:func:`gradmix.compile`) an index chosen by the
values (``argmax``, ``argsort``, hence ``sort``) is itself an operation of the
program; ``gather`` and ``scatter_add`` take such indices as arguments, so the
program recomputes them at every call.

JVP rules accept tangents with one leading batch axis (``nb = 1``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np

from gradmix.ad.broadcasting import sum_to_shape
from gradmix.ad.core import defjvp, defvjp
from gradmix.ad.dispatch import register_numpy
from gradmix.ad.errors import NoDerivativeRuleError, TracerConversionError
from gradmix.ad.reverse import DeferredCotangent
from gradmix.ad.tracer import (
    PerArgRules,
    Primitive,
    Tracer,
    bind,
    reads_values,
    records_choices,
    strip,
)

__all__ = ["getitem", "untake", "gather", "reshape", "transpose", "broadcast_to", "concatenate",
           "stack", "is_basic_index", "zeros_outside", "placed_result", "entries_p",
           "entries_at", "adds_at_p", "ReadCotangents"]  # fmt: skip


def _nb(g: Any, x: Any) -> int:
    return np.ndim(g) - np.ndim(x)


def _as_tuple(idx: Any) -> tuple[Any, ...]:
    return idx if isinstance(idx, tuple) else (idx,)


def is_basic_index(idx: Any) -> bool:
    """Whether ``x[idx]`` is basic indexing (a view: slices, integers, None, Ellipsis)."""
    return _is_basic(_as_tuple(idx))


def _is_basic(idx: tuple[Any, ...]) -> bool:
    """True for indices that only slice (no advanced indexing, no reordering of axes)."""
    for i in idx:
        t = type(i)
        # (slices and Python integers first: the general test costs 0.8 µs an index)
        if t is slice or t is int or i is None or i is Ellipsis:
            continue
        if not isinstance(i, slice | int | np.integer) or isinstance(i, bool | np.bool_):
            return False
    return True


def _clean_index(idx: Any) -> Any:
    """Indices are never differentiated: strip tracers out of them."""
    if isinstance(idx, tuple):
        return tuple(_clean_index(i) for i in idx)
    if isinstance(idx, Tracer):
        reads_values("indexing with a traced index", idx)
        return strip(idx)
    if isinstance(idx, list) and any(isinstance(i, Tracer) for i in idx):
        reads_values("indexing with a traced index", *idx)
        return [strip(i) for i in idx]
    return idx


def _positions(shape: tuple[int, ...], idx: Any) -> np.ndarray:
    """Flat positions selected by ``idx`` in an array of ``shape``."""
    return np.arange(int(np.prod(shape)), dtype=np.intp).reshape(shape)[idx]


def _take_batched(g: Any, idx: Any, shape: tuple[int, ...], nb: int) -> Any:
    """``g[idx]`` for ``g`` of shape ``batch + shape`` (nb leading batch axes)."""
    if nb == 0:
        return getitem(g, idx)
    tup = _as_tuple(idx)
    if _is_basic(tup):
        return getitem(g, (slice(None),) * nb + tup)
    pos = _positions(shape, idx)
    lead = np.shape(g)[:nb]
    flat = reshape(g, lead + (-1,))
    return getitem(flat, (slice(None),) * nb + (pos,))


# gather ----------------------------------------------------------------------
def _getitem_impl(x: Any, idx: Any) -> Any:
    return x[idx]


getitem_p = Primitive(_getitem_impl, "getitem", batched=True)
defjvp(getitem_p, lambda g, ans, x, idx: _take_batched(g, idx, np.shape(x), _nb(g, x)))
defvjp(getitem_p, lambda ans, x, idx: lambda g: untake(g, idx, np.shape(x)))


def _getitem_into(buf: Any, g: Any, ans: Any, x: Any, idx: Any) -> Any:
    """Scatter ``g`` into the accumulator in place: no full-size temporary, no extra add.

    ``buf`` is None (nothing accumulated yet), an owned buffer, or False
    (an accumulated value that is not ours to modify).
    """
    if type(idx) is int and (type(g) is float or type(g) is np.float64) and buf is not False:
        # scalar code reading a vector entry by entry: a full-size array per read
        # would make a loop over n entries cost O(n²)
        if buf is None:
            buf = np.zeros(np.shape(x))
        elif type(buf) is not np.ndarray or buf.dtype != np.float64:
            return None
        buf[idx] += g
        return buf
    if buf is not False and getattr(g, "records_choices", False):
        # the same, in a program being recorded: the reads' cotangents are gathered and
        # become one array when the array's turn in the sweep comes (``buf``: a value of
        # the program, the cotangent so far, kept as it is)
        reads = buf if type(buf) is ReadCotangents else ReadCotangents(np.shape(x))
        if not reads.add(idx, g, np.shape(strip(ans))):
            return None
        return reads if buf is None or buf is reads else reads + buf
    if type(g) is not np.ndarray or buf is False or not _is_basic(_as_tuple(idx)):
        return None
    if buf is None:
        return _placed(g, _as_tuple(idx), np.shape(x), g.dtype)
    if type(buf) is not np.ndarray or np.result_type(buf, g) != buf.dtype:
        return None
    buf[idx] += g
    return buf


def _entry_position(idx: Any, shape: tuple[int, ...]) -> int | None:
    """The flat position of the one entry that ``idx`` (Python ints, one per axis) reads
    from an array of ``shape``; None for any other index."""
    idx = _as_tuple(idx)
    if len(idx) != len(shape) or not all(type(i) is int for i in idx):
        return None
    return int(np.ravel_multi_index(tuple(i % n for i, n in zip(idx, shape, strict=True)), shape))


def entries_at(values: Any, flat: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Zeros of ``shape`` (float64) with ``values`` at the flat positions ``flat``."""
    out = np.zeros(math.prod(shape))
    out[flat] = values
    return out.reshape(shape)


def _entries_impl(*values: Any, shape: tuple[int, ...], flat: np.ndarray | None = None) -> Any:
    if flat is None:
        return np.array(values, dtype=float).reshape(shape)
    return entries_at(values, flat, shape)


#: an array of scalars, in a recorded program's adjoint: all its entries in order, or
#: (``flat``) those at a few flat positions among zeros.  The gradient of an input that
#: the program reads by entries, and the cotangent of a computed array read so
entries_p = Primitive(_entries_impl, "entries")


def _entries_vjp(i: int) -> Any:
    def maker(ans: Any, *values: Any, shape: tuple[int, ...], flat: Any = None) -> Any:
        at = tuple(map(int, np.unravel_index(i if flat is None else int(flat[i]), shape)))
        return lambda g: getitem(g, at)

    return maker


# (linear: each value's cotangent is the entry it went to; a gradient taken inside a
# compiled function is differentiated again)
entries_p.vjps = PerArgRules(_entries_vjp)


def _adds_at_impl(*parts: Any, places: tuple[Any, ...], shape: tuple[int, ...]) -> np.ndarray:
    out = np.zeros(shape, dtype=np.result_type(*parts))
    for part, idx in zip(parts, places, strict=True):
        out[idx] += part
    return out


#: zeros with arrays added at basic indices (``places``), in order: in a recorded
#: program's adjoint, the cotangents of the slices of one array that it reads
adds_at_p = Primitive(_adds_at_impl, "adds_at")


def _adds_at_vjp(i: int) -> Any:
    def maker(ans: Any, *parts: Any, places: tuple[Any, ...], shape: tuple[int, ...]) -> Any:
        return lambda g: getitem(g, places[i])

    return maker


adds_at_p.vjps = PerArgRules(_adds_at_vjp)


#: a recorded program's scatters of slices into one array hold at most this many
#: entries in all while it is recorded (each one an array of the full size); past it,
#: they become one adds_at
FULL_SIZE_SCATTERS_AT_MOST = 2**23


class ReadCotangents(DeferredCotangent):
    """The cotangent of an array that a recorded program reads piece by piece (entries,
    slices): each entry's scalar cotangent by its flat position, each other piece's by
    its basic index, and the sum of any other cotangents, made one array
    (:data:`entries_p`, :data:`adds_at_p`, plus that sum) when the array's turn in the
    sweep comes, where a scatter per read would hold an array of the full size."""

    __slots__ = ("shape", "entries", "pieces", "rest")

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape
        self.entries: dict[int, Any] = {}
        self.pieces: list[tuple[Any, Any]] = []
        self.rest: Any = None

    def add(self, idx: Any, g: Any, read: tuple[int, ...]) -> bool:
        """Add ``g``, the cotangent of the read ``x[idx]`` of shape ``read``; False
        (nothing added) for an index that is not basic or a ``g`` of another shape."""
        if np.shape(strip(g)) != read:
            return False
        flat = _entry_position(idx, self.shape)
        if flat is not None:
            prev = self.entries.get(flat)
            self.entries[flat] = g if prev is None else prev + g
        elif _is_basic(_as_tuple(idx)):
            self.pieces.append((idx, g))
        else:
            return False
        return True

    def __add__(self, other: Any) -> ReadCotangents:
        self.rest = other if self.rest is None else self.rest + other
        return self

    def value(self) -> Any:
        total = self.rest
        if self.entries:
            flat = sorted(self.entries)
            total = _plus(total, bind(entries_p, [self.entries[k] for k in flat],
                                      {"shape": self.shape, "flat": np.array(flat)}))  # fmt: skip
        if len(self.pieces) * math.prod(self.shape) > FULL_SIZE_SCATTERS_AT_MOST:
            places, parts = zip(*self.pieces, strict=True)
            total = _plus(total, bind(adds_at_p, parts, {"places": places, "shape": self.shape}))
        else:  # a scatter each, whose placement the compiler makes in place
            for idx, g in self.pieces:
                total = _plus(total, untake(g, idx, self.shape))
        return total


def _plus(a: Any, b: Any) -> Any:
    return b if a is None else a + b


def _placed(g: Any, idx: tuple[Any, ...], shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """Zeros of ``shape`` with ``g`` written at the basic index ``idx``."""
    out = zeros_outside(shape, idx, dtype)
    out[idx] = g
    return out


#: arrays smaller than this are zeroed whole before a slice of them is written (a
#: slice's cotangent placed in (5, 3) zeros: 7.3 µs through the box, 0.5 µs so; in
#: (1000, 100): 33 against 28 µs; equal at 1 MiB, and the box wins above it)
ZEROS_BELOW_BYTES = 2**20


def zeros_outside(shape: tuple[int, ...], idx: Any, dtype: Any) -> np.ndarray:
    """An array of ``shape`` that is zero outside the basic index ``idx`` and not yet
    written inside it, for a value to be stored at ``out[idx]``: where the index is a
    box, only the box's complement is written (one pass over memory, not two).  Below
    :data:`ZEROS_BELOW_BYTES` plain zeros: finding the box and writing its complement in
    parts cost more than the second pass there."""
    if math.prod(shape) * np.dtype(dtype).itemsize < ZEROS_BELOW_BYTES:
        return np.zeros(shape, dtype=dtype)
    idx = _as_tuple(idx)
    box = _box(idx, shape)
    if box is None:
        return np.zeros(shape, dtype=dtype)
    out = np.empty(shape, dtype=dtype)
    for k, (lo, hi) in enumerate(box):
        head = tuple(slice(a, b) for a, b in box[:k])
        out[head + (slice(0, lo),)] = 0
        out[head + (slice(hi, shape[k]),)] = 0
    return out


def placed_result(shape: tuple[int, ...], idx: Any, dtype: Any, fn: Callable[..., Any],
                  *operands: Any) -> np.ndarray:  # fmt: skip
    """``untake(fn(*operands), idx, shape)`` with ``fn``'s result written straight into
    the index (``fn`` takes ``out=``: a ufunc): no array of the result's own, no copy.
    ``idx`` is a basic index whose result has at least one axis (a view)."""
    out = zeros_outside(shape, idx, dtype)
    fn(*operands, out=out[idx])
    return out


def _box(idx: tuple[Any, ...], shape: tuple[int, ...]) -> list[tuple[int, int]] | None:
    """The index as a box of (start, stop) per axis, if it is one (unit-step slices, ints)."""
    if any(i is None for i in idx):
        return None
    if any(i is Ellipsis for i in idx):
        k = idx.index(Ellipsis)
        idx = idx[:k] + (slice(None),) * (len(shape) - len(idx) + 1) + idx[k + 1 :]
    idx = idx + (slice(None),) * (len(shape) - len(idx))
    box = []
    for i, n in zip(idx, shape, strict=True):
        if isinstance(i, slice):
            start, stop, step = i.indices(n)
            if step != 1:
                return None
            box.append((start, max(start, stop)))
        else:
            j = int(i) % n
            box.append((j, j + 1))
    return box


getitem_p.vjp_into = _getitem_into


def getitem(x: Any, idx: Any) -> Any:
    """``x[idx]`` for basic, advanced and boolean indices."""
    if type(idx) is int:  # scalar code's entry reads: nothing to inspect
        return bind(getitem_p, (x,), {"idx": idx})
    tup = _as_tuple(idx)
    at = tuple(k for k, i in enumerate(tup) if _recorded_integers(i))
    if at:
        rest = tuple(None if k in at else _clean_index(i) for k, i in enumerate(tup))
        return gather(x, rest, at, [tup[k] for k in at])
    return bind(getitem_p, (x,), {"idx": _clean_index(idx)})


register_numpy("getitem")(getitem)


# scatter-add: the adjoint of gather --------------------------------------------
def _untake_impl(g: Any, idx: Any, shape: tuple[int, ...], nb: int = 0) -> Any:
    g = np.asarray(g)
    lead = g.shape[:nb]
    dtype = g.dtype if g.dtype == np.float64 else np.result_type(g, np.float32)
    tup = _as_tuple(idx)
    basic = _is_basic(tup)
    if basic and nb == 0:
        return _placed(g, tup, tuple(shape), dtype)
    out = np.zeros(lead + tuple(shape), dtype=dtype)
    if basic:
        out[(slice(None),) * nb + tup] += g
    elif nb == 0:
        np.add.at(out, idx, g)
    else:
        flat = out.reshape(lead + (-1,))
        np.add.at(flat, (slice(None),) * nb + (_positions(tuple(shape), idx),), g)  # type: ignore[arg-type]
    return out


untake_p = Primitive(_untake_impl, "untake", batched=True)
defjvp(
    untake_p,
    lambda g, ans, x, idx, shape, nb=0: bind(
        untake_p, (g,), {"idx": idx, "shape": shape, "nb": nb + _nb(g, x)}
    ),
)
defvjp(untake_p, lambda ans, x, idx, shape, nb=0: lambda g: _take_batched(g, idx, shape, nb))


def untake(g: Any, idx: Any, shape: tuple[int, ...]) -> Any:
    """Zeros of ``shape`` with ``g`` added at ``idx`` (repeated indices accumulate)."""
    return bind(untake_p, (g,), {"idx": idx, "shape": tuple(shape), "nb": 0})


# gather and scatter-add by indices that are operations of a recorded program ---------
def _recorded_integers(i: Any) -> bool:
    """Whether ``i`` is an integer index computed by a program being recorded."""
    return isinstance(i, Tracer) and records_choices(i) and np.result_type(strip(i)).kind in "iu"


def _with_parts(index: tuple[Any, ...], at: tuple[int, ...], parts: Sequence[Any]) -> Any:
    full = list(index)
    for k, part in zip(at, parts, strict=True):
        full[k] = part
    return tuple(full)


def _gather_impl(x: Any, *parts: Any, index: tuple[Any, ...], at: tuple[int, ...]) -> Any:
    return x[_with_parts(index, at, parts)]


def _scatter_impl(g: Any, *parts: Any, index: tuple[Any, ...], at: tuple[int, ...],
                  shape: tuple[int, ...]) -> Any:  # fmt: skip
    out = np.zeros(shape, dtype=np.result_type(g, np.float32))
    np.add.at(out, _with_parts(index, at, parts), g)
    return out


#: ``x[index]`` where the entries ``at`` of the index are the arguments after ``x``
gather_p = Primitive(_gather_impl, "gather")
#: its adjoint: zeros of ``shape`` with ``g`` added at the index (repeats accumulate)
scatter_p = Primitive(_scatter_impl, "scatter_add")
defjvp(gather_p, lambda g, ans, x, *parts, index, at: gather(g, index, at, parts))
defvjp(gather_p, lambda ans, x, *parts, index, at: lambda g: bind(
    scatter_p, (g, *parts), {"index": index, "at": at, "shape": np.shape(x)}))  # fmt: skip
defjvp(scatter_p, lambda g, ans, x, *parts, index, at, shape: bind(
    scatter_p, (g, *parts), {"index": index, "at": at, "shape": shape}))  # fmt: skip
defvjp(scatter_p, lambda ans, x, *parts, index, at, shape: lambda g: gather(g, index, at, parts))


def gather(x: Any, index: tuple[Any, ...], at: Sequence[int], parts: Sequence[Any]) -> Any:
    """``x[index]`` with ``parts`` (integer arrays, operations of a recorded program) at
    the positions ``at`` of the index; its derivative scatters back to those entries."""
    return bind(gather_p, (x, *parts), {"index": tuple(index), "at": tuple(at)})


# reshape / transpose / broadcast_to ----------------------------------------------
def _reshape_jvp(g: Any, ans: Any, x: Any, shape: Any, order: str = "C") -> Any:
    nb = _nb(g, x)
    if nb and order != "C":
        return np.stack([reshape(g[b], np.shape(ans), order) for b in range(len(g))])
    return reshape(g, np.shape(g)[:nb] + np.shape(ans), order)


reshape_p = Primitive(lambda x, shape, order="C": np.reshape(x, shape, order=order), "reshape",
                     batched=True)  # fmt: skip
defjvp(reshape_p, _reshape_jvp)
defvjp(reshape_p, lambda ans, x, shape, order="C": lambda g: reshape(g, np.shape(x), order))


@register_numpy(np.reshape)
def reshape(
    a: Any, shape: Any = None, order: str = "C", *, newshape: Any = None, copy: Any = None
) -> Any:
    """``np.reshape``."""
    shape = newshape if shape is None else shape
    shape = (shape,) if isinstance(shape, int | np.integer) else tuple(shape)
    if -1 in shape:
        probe = np.empty(np.shape(strip(a)), dtype=np.bool_)
        shape = probe.reshape(shape, order=order).shape  # type: ignore[call-overload]
    if shape == np.shape(strip(a)):
        return a
    return bind(reshape_p, (a,), {"shape": shape, "order": order})


def _transpose_jvp(g: Any, ans: Any, x: Any, axes: tuple[int, ...]) -> Any:
    nb = _nb(g, x)
    return transpose(g, tuple(range(nb)) + tuple(a + nb for a in axes))


transpose_p = Primitive(lambda x, axes: np.transpose(x, axes), "transpose", batched=True)
defjvp(transpose_p, _transpose_jvp)
defvjp(transpose_p, lambda ans, x, axes: lambda g: transpose(g, tuple(np.argsort(axes))))


@register_numpy(np.transpose)
def transpose(a: Any, axes: Any = None) -> Any:
    """``np.transpose``."""
    nd = np.ndim(strip(a))
    axes = tuple(range(nd))[::-1] if axes is None else tuple(int(i) % nd for i in axes)
    if axes == tuple(range(nd)):
        return a
    return bind(transpose_p, (a,), {"axes": axes})


def _bcast_jvp(g: Any, ans: Any, x: Any, shape: tuple[int, ...]) -> Any:
    nb = _nb(g, x)
    if nb:
        pad = len(shape) - np.ndim(x)
        g = reshape(g, np.shape(g)[:nb] + (1,) * pad + np.shape(x))
    return broadcast_to(g, np.shape(g)[:nb] + shape)


def _sum_to(g: Any, shape: tuple[int, ...]) -> Any:
    return sum_to_shape(g, shape)


broadcast_to_p = Primitive(lambda x, shape: np.broadcast_to(x, shape), "broadcast_to", batched=True)
defjvp(broadcast_to_p, _bcast_jvp)
defvjp(broadcast_to_p, lambda ans, x, shape: lambda g: _sum_to(g, np.shape(x)))


@register_numpy(np.broadcast_to)
def broadcast_to(array: Any, shape: Any, subok: bool = False) -> Any:
    """``np.broadcast_to``."""
    shape = (shape,) if isinstance(shape, int | np.integer) else tuple(shape)
    if np.shape(strip(array)) == shape:
        return array
    return bind(broadcast_to_p, (array,), {"shape": shape})


@register_numpy(np.broadcast_arrays)
def broadcast_arrays(*args: Any, subok: bool = False) -> tuple[Any, ...]:
    shape = np.broadcast_shapes(*(np.shape(strip(a)) for a in args))
    return tuple(broadcast_to(a, shape) for a in args)


# astype ------------------------------------------------------------------------
astype_p = Primitive(lambda x, dtype: np.asarray(x).astype(dtype), "astype", batched=True)
defjvp(astype_p, lambda g, ans, x, dtype: astype(g, dtype))
defvjp(astype_p, lambda ans, x, dtype: lambda g: astype(g, np.result_type(strip(x))))


#: casting to a non-float type: no derivative (in a recorded program, an operation of it)
cast_p = Primitive(lambda x, dtype: np.asarray(x).astype(dtype), "astype", nondiff=True)


def astype(x: Any, dtype: Any) -> Any:
    """``x.astype(dtype)``; casting to a non-float type ends differentiation."""
    dt = np.dtype(dtype)
    if dt.kind not in "fc":
        if records_choices(x):
            return bind(cast_p, (x,), {"dtype": dt})
        reads_values(f"casting to {dt}", x)
        return np.asarray(strip(x)).astype(dt)
    if np.result_type(strip(x)) == dt:
        return x
    return bind(astype_p, (x,), {"dtype": dt})


register_numpy("astype")(astype)
register_numpy("flat")(lambda x: FlatView(x))


# concatenate -------------------------------------------------------------------
def _concat_joint(tangents: list[Any], ans: Any, *xs: Any, axis: int) -> Any:
    nb = next(_nb(t, x) for t, x in zip(tangents, xs, strict=True) if t is not None)
    lead = next(np.shape(t)[:nb] for t in tangents if t is not None)
    parts = [
        np.zeros(lead + np.shape(x), dtype=np.result_type(strip(ans))) if t is None else t
        for t, x in zip(tangents, xs, strict=True)
    ]
    return concatenate(parts, axis=axis + nb)


def _concat_vjp(i: int) -> Any:
    def maker(ans: Any, *xs: Any, axis: int) -> Any:
        start = sum(np.shape(x)[axis] for x in xs[:i])
        stop = start + np.shape(xs[i])[axis]
        idx = (slice(None),) * axis + (slice(start, stop),)
        return lambda g: getitem(g, idx)

    return maker


concatenate_p = Primitive(lambda *xs, axis: np.concatenate(xs, axis=axis), "concatenate",
                         batched=True)  # fmt: skip
concatenate_p.jvp_joint = _concat_joint
concatenate_p.vjps = PerArgRules(_concat_vjp)


@register_numpy(np.concatenate)
def concatenate(arrays: Any, axis: int | None = 0, out: Any = None, dtype: Any = None,
                casting: str = "same_kind") -> Any:  # fmt: skip
    """``np.concatenate`` of traced and plain arrays (lists of scalars allowed)."""
    arrays = [a if isinstance(a, Tracer) else np.asarray(a) for a in arrays]
    if axis is None:
        arrays = [ravel(a) for a in arrays]
        axis = 0
    axis = int(axis) % max(np.ndim(strip(arrays[0])), 1)
    return bind(concatenate_p, tuple(arrays), {"axis": axis})


@register_numpy(np.stack)
def stack(arrays: Any, axis: int = 0, out: Any = None, *, dtype: Any = None,
          casting: str = "same_kind") -> Any:  # fmt: skip
    """``np.stack`` of traced and plain arrays (numpy's signature: ``axis`` may be
    given by position)."""
    arrays = tuple(arrays)
    nd = np.ndim(strip(arrays[0])) + 1
    ax = int(axis) % nd
    return concatenate([expand_dims(a, ax) for a in arrays], axis=ax)


# composites ---------------------------------------------------------------------
@register_numpy(np.ravel)
def ravel(a: Any, order: str = "C") -> Any:
    return reshape(a, (-1,), order)


@register_numpy(np.expand_dims)
def expand_dims(a: Any, axis: Any) -> Any:
    shape = np.expand_dims(np.empty(np.shape(strip(a)), dtype=np.bool_), axis).shape
    return reshape(a, shape)


@register_numpy(np.squeeze)
def squeeze(a: Any, axis: Any = None) -> Any:
    shape = np.squeeze(np.empty(np.shape(strip(a)), dtype=np.bool_), axis).shape
    return reshape(a, shape)


@register_numpy(np.swapaxes)
def swapaxes(a: Any, axis1: int, axis2: int) -> Any:
    axes = list(range(np.ndim(strip(a))))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(a, axes)


@register_numpy(np.moveaxis)
def moveaxis(a: Any, source: Any, destination: Any) -> Any:
    nd = np.ndim(strip(a))
    src = [int(s) % nd for s in np.atleast_1d(source)]
    dst = [int(d) % nd for d in np.atleast_1d(destination)]
    order = [n for n in range(nd) if n not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return transpose(a, tuple(order))


@register_numpy(np.atleast_1d)
def atleast_1d(*arys: Any) -> Any:
    out = [reshape(a, np.atleast_1d(np.empty(np.shape(strip(a)))).shape) for a in arys]
    return out[0] if len(out) == 1 else out


@register_numpy(np.atleast_2d)
def atleast_2d(*arys: Any) -> Any:
    out = [reshape(a, np.atleast_2d(np.empty(np.shape(strip(a)))).shape) for a in arys]
    return out[0] if len(out) == 1 else out


@register_numpy(np.atleast_3d)
def atleast_3d(*arys: Any) -> Any:
    out = [reshape(a, np.atleast_3d(np.empty(np.shape(strip(a)))).shape) for a in arys]
    return out[0] if len(out) == 1 else out


@register_numpy(np.hstack)
def hstack(tup: Any, **kw: Any) -> Any:
    arrs = [atleast_1d(a) for a in tup]
    return concatenate(arrs, axis=0 if np.ndim(strip(arrs[0])) == 1 else 1)


@register_numpy(np.vstack)
def vstack(tup: Any, **kw: Any) -> Any:
    return concatenate([atleast_2d(a) for a in tup], axis=0)


@register_numpy(np.column_stack)
def column_stack(tup: Any) -> Any:
    cols = [reshape(a, (-1, 1)) if np.ndim(strip(a)) < 2 else a for a in tup]
    return concatenate(cols, axis=1)


@register_numpy(np.dstack)
def dstack(tup: Any) -> Any:
    return concatenate([atleast_3d(a) for a in tup], axis=2)


def _index_map(a: Any, fn: Any) -> Any:
    """Apply a pure data-movement numpy function by moving flat positions."""
    shape = np.shape(strip(a))
    pos = fn(np.arange(int(np.prod(shape)), dtype=np.intp).reshape(shape))
    return getitem(ravel(a), pos)


# linear maps with a known adjoint ------------------------------------------------
# Permutations (flip, roll, rot90) and copies (tile, repeat, constant pad) run as
# numpy's own function; their VJP is the adjoint map (the inverse permutation, or
# a sum over the copies), not a scatter-add of a gather, which costs several times
# more.  fwd and adj see plain arrays only.
def _linear_impl(x: Any, fwd: Callable[[Any], Any], adj: Callable[[Any], Any]) -> Any:
    return fwd(x)


linear_map_p = Primitive(_linear_impl, "linear_map")
# the same for maps acting on trailing axes only (negative axes, broadcasting masks):
# a leading axis of directions passes through them, so forward mode pushes all
# directions in one call
trailing_map_p = Primitive(_linear_impl, "linear_map", batched=True)
for _p in (linear_map_p, trailing_map_p):
    defjvp(_p, lambda g, ans, x, fwd, adj, _p=_p: bind(_p, (g,), {"fwd": fwd, "adj": adj}))
    defvjp(_p, lambda ans, x, fwd, adj, _p=_p: lambda g: bind(_p, (g,), {"fwd": adj, "adj": fwd}))


def linear_map(x: Any, fwd: Callable[[Any], Any], adj: Callable[[Any], Any],
               trailing: bool = False) -> Any:  # fmt: skip
    """``fwd(x)`` for a linear ``fwd`` whose adjoint (transpose) is ``adj``.

    ``trailing``: both act on the last ``x.ndim`` axes of whatever they are given
    (negative axes, masks that broadcast), so leading axes pass through.
    """
    return bind(trailing_map_p if trailing else linear_map_p, (x,), {"fwd": fwd, "adj": adj})


def _from_end(axis: Any, ndim: int) -> Any:
    """Axes counted from the end (None stays None): the same axes with leading ones added."""
    if axis is None:
        return None
    if isinstance(axis, tuple | list):
        return tuple(int(a) % ndim - ndim for a in axis)
    return int(axis) % ndim - ndim


@register_numpy(np.flip)
def flip(m: Any, axis: Any = None) -> Any:
    ax = _from_end(axis, max(np.ndim(strip(m)), 1))
    f = functools.partial(np.flip, axis=ax)
    return linear_map(m, f, f, trailing=ax is not None)


@register_numpy(np.fliplr)
def fliplr(m: Any) -> Any:
    return linear_map(m, np.fliplr, np.fliplr)


@register_numpy(np.flipud)
def flipud(m: Any) -> Any:
    return linear_map(m, np.flipud, np.flipud)


@register_numpy(np.roll)
def roll(a: Any, shift: Any, axis: Any = None) -> Any:
    ax = _from_end(axis, max(np.ndim(strip(a)), 1))
    back = -np.asarray(shift) if axis is not None else -int(shift)
    fwd = functools.partial(np.roll, shift=shift, axis=ax)
    return linear_map(a, fwd, functools.partial(np.roll, shift=back, axis=ax),
                      trailing=ax is not None)  # fmt: skip


@register_numpy(np.rot90)
def rot90(m: Any, k: int = 1, axes: Any = (0, 1)) -> Any:
    fwd = functools.partial(np.rot90, k=k, axes=axes)
    return linear_map(m, fwd, functools.partial(np.rot90, k=-k, axes=axes))


def _untile(g: Any, shape: tuple[int, ...], reps: tuple[int, ...]) -> Any:
    """Adjoint of ``np.tile``: the sum of the tiles."""
    d = max(len(shape), len(reps))
    s = (1,) * (d - len(shape)) + tuple(shape)
    r = (1,) * (d - len(reps)) + tuple(reps)
    blocks = np.reshape(g, [n for pair in zip(r, s, strict=True) for n in pair])
    return np.reshape(np.sum(blocks, axis=tuple(range(0, 2 * d, 2))), shape)


@register_numpy(np.tile)
def tile(A: Any, reps: Any) -> Any:  # noqa: N803 - numpy's name
    shape = np.shape(strip(A))
    r = tuple(int(k) for k in np.atleast_1d(reps))
    adj = functools.partial(_untile, shape=shape, reps=r)
    return linear_map(A, functools.partial(np.tile, reps=r), adj)


def _unrepeat(g: Any, repeats: np.ndarray, axis: int, shape: tuple[int, ...]) -> Any:
    """Adjoint of ``np.repeat`` along ``axis``: the sum of each entry's copies."""
    out = np.zeros(shape, dtype=np.result_type(g))
    keep = repeats > 0
    if keep.any():
        starts = np.concatenate([[0], np.cumsum(repeats)[:-1]])[keep]
        idx: list[Any] = [slice(None)] * len(shape)
        idx[axis] = keep
        out[tuple(idx)] = np.add.reduceat(g, starts, axis=axis)
    return out


@register_numpy(np.repeat)
def repeat(a: Any, repeats: Any, axis: Any = None) -> Any:
    reads_values("np.repeat with traced repeats", repeats)
    if axis is None:
        a, axis = ravel(a), 0
    shape = np.shape(strip(a))
    axis = int(axis) % len(shape)
    reps = np.broadcast_to(np.asarray(strip(repeats), dtype=np.intp), (shape[axis],))
    fwd = functools.partial(np.repeat, repeats=reps, axis=axis)
    return linear_map(a, fwd, functools.partial(_unrepeat, repeats=reps, axis=axis, shape=shape))


@register_numpy(np.pad)
def pad(array: Any, pad_width: Any, mode: str = "constant", **kwargs: Any) -> Any:
    """``np.pad`` for the copying modes and ``constant`` (constant values not traced)."""
    if mode not in ("constant", "edge", "reflect", "symmetric", "wrap"):
        raise NoDerivativeRuleError(
            f"gradmix has no derivative rule for numpy.pad with mode={mode!r} (it has one for "
            "'constant', 'edge', 'reflect', 'symmetric' and 'wrap')"
        )
    shape = np.shape(strip(array))
    pos = np.arange(int(np.prod(shape)), dtype=np.intp).reshape(shape)
    if mode != "constant":
        return getitem(ravel(array), np.pad(pos, pad_width, mode=mode, **kwargs))  # type: ignore[call-overload]
    # zeros around the array (linear, its adjoint cuts the array back out), plus
    # the constants around it
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.intp), (len(shape), 2))
    inner = tuple(slice(int(lo), int(lo) + n) for (lo, _), n in zip(widths, shape, strict=True))
    fwd = functools.partial(np.pad, pad_width=widths)
    padded = linear_map(array, fwd, lambda g: g[inner])
    values = kwargs.get("constant_values", 0)
    if np.all(np.asarray(values) == 0):
        return padded
    filled = np.pad(np.zeros(shape), widths, mode="constant", constant_values=values)
    return padded + filled


@register_numpy(np.diff)
def diff(a: Any, n: int = 1, axis: int = -1, **kw: Any) -> Any:
    nd = np.ndim(strip(a))
    axis = axis % nd
    for _ in range(n):
        hi = (slice(None),) * axis + (slice(1, None),)
        lo = (slice(None),) * axis + (slice(None, -1),)
        a = getitem(a, hi) - getitem(a, lo)
    return a


@register_numpy(np.diagonal)
def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    return _index_map(a, lambda p: np.diagonal(p, offset, axis1, axis2).copy())


@register_numpy(np.trace)
def trace(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None,
          out: Any = None) -> Any:  # fmt: skip
    return np.sum(diagonal(a, offset, axis1, axis2), axis=-1)


@register_numpy(np.diag)
def diag(v: Any, k: int = 0) -> Any:
    """``np.diag``: extract a diagonal (2-D input) or build a diagonal matrix (1-D)."""
    if np.ndim(strip(v)) == 2:
        return diagonal(v, k)
    n = np.shape(strip(v))[0]
    m = n + abs(k)
    rows = np.arange(n) + max(-k, 0)
    cols = np.arange(n) + max(k, 0)
    return untake(v, (rows, cols), (m, m))


@register_numpy(np.diagflat)
def diagflat(v: Any, k: int = 0) -> Any:
    return diag(ravel(v), k)


def masked(x: Any, mask: np.ndarray) -> Any:
    """``x`` where the constant ``mask`` holds, 0 elsewhere: a linear map (its own
    adjoint), so the zeros it writes are structural for every transform."""

    def keep(v: Any) -> Any:
        return np.where(mask, v, np.zeros((), dtype=np.result_type(v)))

    shape = np.shape(strip(x))
    full = np.broadcast_shapes(shape, np.shape(mask))
    return linear_map(x if full == shape else broadcast_to(x, full), keep, keep, trailing=True)


@register_numpy(np.triu)
def triu(m: Any, k: int = 0) -> Any:
    return masked(m, np.triu(np.ones(np.shape(strip(m))[-2:], dtype=bool), k))


@register_numpy(np.tril)
def tril(m: Any, k: int = 0) -> Any:
    return masked(m, np.tril(np.ones(np.shape(strip(m))[-2:], dtype=bool), k))


@register_numpy(np.take)
def take(a: Any, indices: Any, axis: Any = None, out: Any = None, mode: str = "raise") -> Any:
    """``np.take``; indices computed by a recorded program stay operations of it."""
    if mode == "raise" and _recorded_integers(indices):
        if axis is None:
            return getitem(ravel(a), indices)
        return getitem(a, (slice(None),) * (int(axis) % np.ndim(strip(a))) + (indices,))
    reads_values("np.take with traced indices", indices)
    return _index_map(a, lambda p: np.take(p, strip(indices), axis, mode=mode))  # type: ignore[call-overload]


@register_numpy(np.take_along_axis)
def take_along_axis(arr: Any, indices: Any, axis: Any) -> Any:
    """``np.take_along_axis``; indices computed by a recorded program (``argsort``) stay
    operations of it."""
    if _recorded_integers(indices):
        if axis is None:
            return getitem(ravel(arr), indices)
        shape_ = np.shape(strip(arr))
        ax = int(axis) % len(shape_)
        # the other axes index themselves (broadcast against the indices, as numpy does)
        index = tuple(indices if k == ax else
                      np.arange(n).reshape([-1 if j == k else 1 for j in range(len(shape_))])
                      for k, n in enumerate(shape_))  # fmt: skip
        return getitem(arr, index)
    reads_values("np.take_along_axis with traced indices", indices)
    return _index_map(arr, lambda p: np.take_along_axis(p, strip(indices), axis))


@register_numpy(np.sort)
def sort(a: Any, axis: int = -1, kind: Any = None, order: Any = None, **kw: Any) -> Any:
    """``np.sort``; the derivative follows each element to its sorted place (in a
    recorded program the order is an operation of it, recomputed at every call)."""
    if axis is None:
        a, axis = ravel(a), 0
    return take_along_axis(a, chosen(np.argsort, a, axis=axis, kind=kind), axis)


@register_numpy(np.array_split)
def array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    n = np.shape(strip(ary))[axis]
    pieces = np.array_split(np.arange(n), indices_or_sections)
    pre = (slice(None),) * (axis % np.ndim(strip(ary)))
    return [getitem(ary, pre + (slice(int(p[0]), int(p[-1]) + 1) if len(p) else slice(0, 0),))
            for p in pieces]  # fmt: skip


@register_numpy(np.split)
def split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    if isinstance(indices_or_sections, int | np.integer):
        if np.shape(strip(ary))[axis] % indices_or_sections:
            raise ValueError("array split does not result in an equal division")
    return array_split(ary, indices_or_sections, axis)


@register_numpy(np.vsplit)
def vsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    if np.ndim(strip(ary)) < 2:
        raise ValueError("vsplit only works on arrays of 2 or more dimensions")
    return split(ary, indices_or_sections, 0)


@register_numpy(np.hsplit)
def hsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    if np.ndim(strip(ary)) == 0:
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return split(ary, indices_or_sections, 1 if np.ndim(strip(ary)) > 1 else 0)


@register_numpy(np.dsplit)
def dsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    if np.ndim(strip(ary)) < 3:
        raise ValueError("dsplit only works on arrays of 3 or more dimensions")
    return split(ary, indices_or_sections, 2)


@register_numpy(np.rollaxis)
def rollaxis(a: Any, axis: int, start: int = 0) -> Any:
    """``np.rollaxis`` as the transpose numpy applies."""
    n = np.ndim(strip(a))
    axis = int(axis) % n
    start = int(start) + n if start < 0 else int(start)
    if not 0 <= start <= n:
        raise np.exceptions.AxisError(f"start arg requires {-n} <= start < {n + 1}")
    if axis < start:
        start -= 1
    if axis == start:
        return a
    axes = [i for i in range(n) if i != axis]
    axes.insert(start, axis)
    return transpose(a, tuple(axes))


@register_numpy(np.partition)
def partition(
    a: Any, kth: Any, axis: int = -1, kind: str = "introselect", order: Any = None
) -> Any:
    """``np.partition``; the derivative follows each element to its place."""
    if axis is None:
        a, axis = ravel(a), 0
    return take_along_axis(a, chosen(np.argpartition, a, kth, axis=axis), axis)


@register_numpy(np.unique)
def unique(ar: Any, return_index: bool = False, return_inverse: bool = False,
           return_counts: bool = False, axis: Any = None, **kw: Any) -> Any:  # fmt: skip
    """``np.unique`` (flattened): the distinct values, each differentiated where it was
    first found; indices, inverse and counts are plain."""
    reads_values("np.unique", ar)
    if axis is not None:
        raise NoDerivativeRuleError("gradmix differentiates np.unique with axis=None only")
    flat = ravel(ar)
    _, first, inverse, counts = np.unique(
        strip(flat), return_index=True, return_inverse=True, return_counts=True, **kw
    )
    values = getitem(flat, first)
    extra = [e for e, want in ((first, return_index), (inverse, return_inverse),
                               (counts, return_counts)) if want]  # fmt: skip
    return (values, *extra) if extra else values


class FlatView:
    """``x.flat`` of a traced array: indexing and iteration over the flattened values."""

    __slots__ = ("base",)

    def __init__(self, base: Any) -> None:
        self.base = base

    def __getitem__(self, idx: Any) -> Any:
        return getitem(ravel(self.base), idx)

    def __setitem__(self, idx: Any, value: Any) -> None:
        self.base[idx] = value  # the tracer's own error: assignment drops derivatives

    def __len__(self) -> int:
        return int(np.size(strip(self.base)))

    def __iter__(self) -> Any:
        flat = ravel(self.base)
        return (getitem(flat, i) for i in range(len(self)))


@register_numpy(np.append)
def append(arr: Any, values: Any, axis: Any = None) -> Any:
    if axis is None:
        return concatenate([ravel(arr), ravel(values)], axis=0)
    return concatenate([arr, values], axis=axis)


@register_numpy(np.select)
def select(condlist: Any, choicelist: Any, default: Any = 0) -> Any:
    result = default
    for cond, choice in zip(reversed(list(condlist)), reversed(list(choicelist)), strict=True):
        result = np.where(cond, choice, result)
    return result


@register_numpy(np.copy)
def copy(a: Any, order: str = "K", subok: bool = False) -> Any:
    return a


# functions of shape and dtype only: no derivative, plain results
_f: Any
for _f in (np.shape, np.ndim, np.size, np.zeros_like, np.ones_like, np.empty_like,
           np.iscomplexobj, np.isrealobj, np.result_type):  # fmt: skip

    def _plain(*args: Any, _f: Any = _f, **kwargs: Any) -> Any:
        return _f(*[strip(a) for a in args], **{k: strip(v) for k, v in kwargs.items()})

    register_numpy(_f)(_plain)

# functions that choose by the values, with results of a fixed shape: no derivative, a
# plain result, and in a recorded program an operation of it (recomputed at every call)
_CHOICES = {f: Primitive(f, f"np.{f.__name__}", nondiff=True) for f in (
    np.argmax, np.argmin, np.argsort, np.count_nonzero, np.isclose, np.allclose,
    np.array_equal, np.array_equiv, np.searchsorted, np.nanargmax, np.nanargmin,
    np.argpartition, np.digitize, np.any, np.all, np.isin, np.linalg.matrix_rank)}  # fmt: skip


def chosen(f: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``f(*args, **kwargs)`` for a numpy function that chooses by the values (``argmax``):
    the plain result, or an operation of the program being recorded under ``args``."""
    traced_kwargs = any(isinstance(v, Tracer) for v in kwargs.values())
    if f in _CHOICES and not traced_kwargs and records_choices(*args):
        return bind(_CHOICES[f], args, kwargs)
    leaves = [x for a in (*args, *kwargs.values()) for x in (a if _is_seq(a) else (a,))]
    reads_values(f"np.{f.__name__}", *leaves)
    return f(*map(_unwrapped, args), **{k: _unwrapped(v) for k, v in kwargs.items()})


def _is_seq(a: Any) -> bool:
    return isinstance(a, tuple | list)


def _unwrapped(a: Any) -> Any:
    """The plain value of an argument; of each entry of a sequence (lexsort's keys)."""
    return type(a)(map(_unwrapped, a)) if _is_seq(a) else strip(a)


# ... and those whose result's shape depends on the values: an error in a recorded program
for _f in (*_CHOICES, np.nonzero, np.argwhere, np.flatnonzero, np.lexsort):
    register_numpy(_f)(functools.partial(chosen, _f))


@register_numpy(np.full_like)
def full_like(a: Any, fill_value: Any, dtype: Any = None, **kwargs: Any) -> Any:
    """``np.full_like``: a traced fill value keeps its derivative."""
    out = np.full_like(strip(a), strip(fill_value), dtype=dtype, **kwargs)
    if not isinstance(fill_value, Tracer) or out.dtype.kind not in "fc":
        reads_values("np.full_like with a non-float dtype", fill_value)
        return out
    return broadcast_to(fill_value, out.shape) + np.zeros_like(out)


# more of numpy's array manipulation, as gathers --------------------------------------
def _array(x: Any) -> Any:
    return x if isinstance(x, Tracer) else np.asarray(x)


@register_numpy(np.block)
def block(arrays: Any) -> Any:
    """``np.block``: nested lists joined along the last axes first."""

    def depth(x: Any) -> int:
        return 1 + depth(x[0]) if isinstance(x, list) else 0

    def join(x: Any, level: int, total: int) -> Any:
        if not isinstance(x, list):
            a = _array(x)
            nd = max(np.ndim(strip(a)), total)
            return reshape(a, (1,) * (nd - np.ndim(strip(a))) + np.shape(strip(a)))
        parts = [join(e, level + 1, total) for e in x]
        nd = max(np.ndim(strip(p)) for p in parts)
        parts = [reshape(p, (1,) * (nd - np.ndim(strip(p))) + np.shape(strip(p))) for p in parts]
        return concatenate(parts, axis=-(total - level))

    d = depth(arrays)
    return join(arrays, 0, d) if d else _array(arrays)


@register_numpy(np.choose)
def choose(a: Any, choices: Any, out: Any = None, mode: str = "raise") -> Any:
    """``np.choose``: entry i of ``choices[a[i]]`` (the index array is not traced)."""
    reads_values("np.choose's index", a)
    idx = np.asarray(strip(a))
    picked = np.broadcast_arrays(idx, *[np.empty(np.shape(strip(c))) for c in choices])[0]
    stacked = stack([broadcast_to(_array(c), picked.shape) for c in choices], axis=0)
    idx = np.choose(picked, np.arange(len(choices)), mode=cast(Any, mode))
    return take_along_axis(stacked, idx[None], 0)[0]


@register_numpy(np.compress)
def compress(condition: Any, a: Any, axis: Any = None, out: Any = None) -> Any:
    """``np.compress``: the entries where ``condition`` holds (``condition`` not traced)."""
    reads_values("np.compress's condition", condition)
    cond = np.asarray(strip(condition), dtype=bool)
    if axis is None:
        return getitem(ravel(a), np.nonzero(cond)[0])
    idx: list[Any] = [slice(None)] * np.ndim(strip(a))
    idx[axis] = np.nonzero(cond)[0]
    return getitem(a, tuple(idx))


@register_numpy(np.extract)
def extract(condition: Any, arr: Any) -> Any:
    """``np.extract``: ``ravel(arr)[ravel(condition)]``."""
    reads_values("np.extract's condition", condition)
    return getitem(ravel(arr), np.nonzero(np.ravel(strip(condition)))[0])


@register_numpy(np.delete)
def delete(arr: Any, obj: Any, axis: Any = None) -> Any:
    """``np.delete`` (the positions are not traced)."""
    if axis is None:
        arr, axis = ravel(arr), 0
    n = np.shape(strip(arr))[axis]
    keep = np.delete(np.arange(n), strip(obj))
    idx: list[Any] = [slice(None)] * np.ndim(strip(arr))
    idx[axis] = keep
    return getitem(arr, tuple(idx))


@register_numpy(np.insert)
def insert(arr: Any, obj: Any, values: Any, axis: Any = None) -> Any:
    """``np.insert``: values (traced or not) placed between the entries of ``arr``."""
    if axis is None:
        arr, axis = ravel(arr), 0
    nd = np.ndim(strip(arr))
    axis = int(axis) % nd
    n = np.shape(strip(arr))[axis]
    # numpy's own insert on position labels: which entries come from where
    labels = np.insert(np.arange(n, dtype=float), strip(obj), -1.0, axis=0)
    new = np.flatnonzero(labels < 0)
    old = np.flatnonzero(labels >= 0)
    shape = list(np.shape(strip(arr)))
    shape[axis] = len(new)
    vals = _array(values)
    if np.ndim(strip(vals)) == 1 and nd > 1 and len(new) == np.shape(strip(vals))[0]:
        vals = moveaxis(
            broadcast_to(vals, tuple(shape[:axis] + shape[axis + 1 :]) + (len(new),)), -1, axis
        )
    vals = broadcast_to(vals, tuple(shape)) + np.zeros(tuple(shape))
    joined = concatenate([arr, vals], axis=axis)
    order = np.empty(len(labels), dtype=np.intp)
    order[old] = np.arange(n)
    order[new] = n + np.arange(len(new))
    idx: list[Any] = [slice(None)] * nd
    idx[axis] = order
    return getitem(joined, tuple(idx))


@register_numpy(np.resize)
def resize(a: Any, new_shape: Any) -> Any:
    """``np.resize``: the flattened array repeated to fill ``new_shape``."""
    size = int(np.size(strip(a)))
    total = int(np.prod(new_shape))
    pos = np.arange(total) % size if size else np.zeros(0, dtype=np.intp)
    return reshape(getitem(ravel(a), pos), new_shape)


@register_numpy(np.trim_zeros)
def trim_zeros(filt: Any, trim: str = "fb", axis: Any = None) -> Any:
    """``np.trim_zeros`` of a 1-D array."""
    reads_values("np.trim_zeros", filt)
    nz = np.flatnonzero(strip(filt))
    lo = int(nz[0]) if "f" in trim.lower() and nz.size else 0
    hi = int(nz[-1]) + 1 if "b" in trim.lower() and nz.size else np.shape(strip(filt))[0]
    if not nz.size:
        return getitem(filt, slice(0, 0))
    return getitem(filt, slice(lo, hi))


@register_numpy(np.unstack)
def unstack(x: Any, /, *, axis: int = 0) -> tuple[Any, ...]:
    """``np.unstack``."""
    moved = moveaxis(x, axis, 0)
    return tuple(getitem(moved, i) for i in range(np.shape(strip(moved))[0]))


@register_numpy(np.ix_)
def ix_(*args: Any) -> tuple[Any, ...]:
    """``np.ix_`` of float sequences: open-mesh reshapes."""
    n = len(args)
    return tuple(reshape(_array(a), (1,) * k + (-1,) + (1,) * (n - k - 1))
                 for k, a in enumerate(args))  # fmt: skip


@register_numpy(np.meshgrid)
def meshgrid(*xi: Any, copy: bool = True, sparse: bool = False, indexing: str = "xy") -> Any:
    """``np.meshgrid``."""
    n = len(xi)
    shapes = [np.size(strip(x)) for x in xi]
    out = []
    for k, x in enumerate(xi):
        shape = [1] * n
        shape[k] = -1
        if indexing == "xy" and n > 1 and k < 2:
            shape[0], shape[1] = shape[1], shape[0]
        out.append(reshape(_array(x), tuple(shape)))
    if not sparse:
        full = list(shapes)
        if indexing == "xy" and n > 1:
            full[0], full[1] = full[1], full[0]
        out = [broadcast_to(o, tuple(full)) for o in out]
    return tuple(out)


@register_numpy(np.matrix_transpose)
def matrix_transpose(x: Any, /) -> Any:
    """``np.matrix_transpose``: swap the last two axes."""
    return swapaxes(x, -1, -2)


@register_numpy(np.sort_complex)
def sort_complex(a: Any) -> Any:
    """``np.sort_complex``: sorted by real part, then imaginary part (complex result)."""
    reads_values("np.sort_complex", a)
    v = np.asarray(strip(a))
    order = np.lexsort((np.imag(v), np.real(v)), axis=-1)
    return take_along_axis(a, order, -1) * (1 + 0j)


_Unique = type(np.unique_all(np.zeros(1)))
_UniqueCounts = type(np.unique_counts(np.zeros(1)))
_UniqueInverse = type(np.unique_inverse(np.zeros(1)))


@register_numpy(np.unique_values)
def unique_values(x: Any) -> Any:
    """``np.unique_values``."""
    return unique(x)


@register_numpy(np.unique_all)
def unique_all(x: Any) -> Any:
    """``np.unique_all``: values (differentiable), indices, inverse and counts (plain)."""
    values, first, inverse, counts = unique(x, True, True, True)
    return _Unique(values, first, np.reshape(inverse, np.shape(strip(x))), counts)


@register_numpy(np.unique_counts)
def unique_counts(x: Any) -> Any:
    """``np.unique_counts``."""
    values, counts = unique(x, return_counts=True)
    return _UniqueCounts(values, counts)


@register_numpy(np.unique_inverse)
def unique_inverse(x: Any) -> Any:
    """``np.unique_inverse``."""
    values, inverse = unique(x, return_inverse=True)
    return _UniqueInverse(values, np.reshape(inverse, np.shape(strip(x))))


@register_numpy(np.union1d)
def union1d(ar1: Any, ar2: Any) -> Any:
    """``np.union1d``: the distinct values of both, each from where it was first found."""
    return unique(concatenate([ravel(_array(ar1)), ravel(_array(ar2))]))


@register_numpy(np.setdiff1d)
def setdiff1d(ar1: Any, ar2: Any, assume_unique: bool = False) -> Any:
    """``np.setdiff1d``: distinct values of ``ar1`` absent from ``ar2`` (``ar2`` not traced)."""
    reads_values("np.setdiff1d", ar1, ar2)
    values = unique(ar1) if not assume_unique else ravel(ar1)
    keep = ~np.isin(strip(values), strip(ar2))
    return getitem(values, np.flatnonzero(keep))


@register_numpy(np.setxor1d)
def setxor1d(ar1: Any, ar2: Any, assume_unique: bool = False) -> Any:
    """``np.setxor1d``: the values in exactly one of the arrays, sorted."""
    reads_values("np.setxor1d", ar1, ar2)
    a, b = unique(ar1), unique(ar2)
    joined = concatenate([a, b])
    v = strip(joined)
    once = np.flatnonzero(np.isin(v, np.setxor1d(strip(a), strip(b))))
    picked = getitem(joined, once)
    return take_along_axis(picked, np.argsort(strip(picked), kind="stable"), 0)


# writing into arrays: impossible with traced values
def _in_place(name: str) -> Any:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise TracerConversionError(
            f"np.{name} writes into an array in place, which would drop derivatives; build "
            "a new array instead (np.where, np.concatenate, or indexing)"
        )

    return refuse


for _f in (np.copyto, np.fill_diagonal, np.place, np.putmask, np.put, np.put_along_axis):
    register_numpy(_f)(_in_place(_f.__name__))

# indices of a shape: plain
for _f in (np.diag_indices_from, np.tril_indices_from, np.triu_indices_from):
    register_numpy(_f)(lambda arr, *a, _f=_f, **k: _f(np.empty(np.shape(strip(arr))), *a, **k))


@register_numpy(np.bincount)
def bincount(x: Any, /, weights: Any = None, minlength: int = 0) -> Any:
    """``np.bincount``: counts are plain; sums of traced weights are differentiable."""
    reads_values("np.bincount's bins", x)
    idx = np.asarray(strip(x))
    if weights is None or not isinstance(weights, Tracer):
        return np.bincount(idx, strip(weights), minlength)
    n = max(int(minlength), int(idx.max()) + 1 if idx.size else 0)
    return untake(ravel(weights), (idx.ravel(),), (n,))


@register_numpy(np.full)
def full(shape: Any, fill_value: Any, dtype: Any = None, order: str = "C", **kw: Any) -> Any:
    """``np.full`` with a traced fill value."""
    shape = (shape,) if isinstance(shape, int | np.integer) else tuple(shape)
    out = broadcast_to(fill_value, shape) + np.zeros(shape)
    return out if dtype is None else astype(out, dtype)


@register_numpy(np.arange)
def arange(start: Any, stop: Any = None, step: Any = None, dtype: Any = None, **kw: Any) -> Any:
    """``np.arange`` with traced end points or step: ``start + step · k``."""
    if stop is None:
        start, stop = 0.0, start
    step = 1.0 if step is None else step
    reads_values("np.arange's length", start, stop, step)
    n = len(np.arange(strip(start), strip(stop), strip(step)))
    out = start + step * np.arange(n, dtype=float)
    return out if dtype is None else astype(out, dtype)


@register_numpy(np.intersect1d)
def intersect1d(ar1: Any, ar2: Any, assume_unique: bool = False,
                return_indices: bool = False) -> Any:  # fmt: skip
    """``np.intersect1d``: each common value is in both arrays, so its derivative is
    shared evenly between the two entries it comes from (the convention for ties)."""
    reads_values("np.intersect1d", ar1, ar2)
    a, b = ravel(_array(ar1)), ravel(_array(ar2))
    _, ia, ib = np.intersect1d(strip(a), strip(b), assume_unique, return_indices=True)
    values = 0.5 * (getitem(a, ia) + getitem(b, ib))
    return (values, ia, ib) if return_indices else values


@register_numpy(np.piecewise)
def piecewise(x: Any, condlist: Any, funclist: Any, *args: Any, **kw: Any) -> Any:
    """``np.piecewise``: each function on the entries its condition selects (the last
    condition wins where several hold, as in numpy), gathered and scattered back."""
    shape = np.shape(strip(x))
    conds = [np.asarray(strip(c), dtype=bool) for c in
             (condlist if isinstance(condlist, list | tuple) else [condlist])]  # fmt: skip
    conds = [np.broadcast_to(c, shape) for c in conds]
    if len(funclist) == len(conds) + 1:  # the last function is "otherwise"
        conds.append(~np.any(conds, axis=0) if conds else np.ones(shape, bool))
    if len(funclist) != len(conds):
        raise ValueError(
            f"with {len(conds)} condition(s), funclist must have {len(conds)} or "
            f"{len(conds) + 1} entries, got {len(funclist)}"
        )
    reads_values("np.piecewise", x)
    taken = np.zeros(shape, bool)
    out: Any = np.zeros(shape, dtype=np.result_type(strip(x), float))
    for cond, func in reversed(list(zip(conds, funclist, strict=True))):
        mine = cond & ~taken
        taken |= cond
        pos = np.nonzero(mine)
        if not pos[0].size:
            continue
        if callable(func):
            vals = func(getitem(x, pos), *args, **kw)
            vals = broadcast_to(_array(vals), (pos[0].size,))
        else:  # a constant, possibly traced
            vals = broadcast_to(_array(func), (pos[0].size,))
        out = out + untake(vals, pos, shape)
    return out


@register_numpy(np.apply_along_axis)
def apply_along_axis(func1d: Callable[..., Any], axis: int, arr: Any, *args: Any,
                     **kwargs: Any) -> Any:  # fmt: skip
    """``np.apply_along_axis``: ``func1d`` on every 1-D slice, results stacked in place of
    the axis (a Python loop over the slices, each traced)."""
    arr = _array(arr)
    nd = np.ndim(strip(arr))
    moved = moveaxis(arr, axis, -1)
    outer = np.shape(strip(moved))[:-1]
    if not outer:
        return _array(func1d(moved, *args, **kwargs))
    results = [_array(func1d(moved[i], *args, **kwargs)) for i in np.ndindex(outer)]
    out = stack(results, axis=0)
    res_shape = np.shape(strip(out))[1:]
    out = reshape(out, outer + res_shape)
    # numpy puts the result's own axes where the applied axis was
    k = len(res_shape)
    ax = axis % nd
    order = list(range(ax)) + list(range(len(outer), len(outer) + k)) + list(range(ax, len(outer)))
    return transpose(out, order)


@register_numpy(np.apply_over_axes)
def apply_over_axes(func: Callable[..., Any], a: Any, axes: Any) -> Any:
    """``np.apply_over_axes``: ``func(a, axis)`` repeatedly, keeping the number of axes."""
    val = _array(a)
    nd = np.ndim(strip(val))
    for axis in np.atleast_1d(axes).tolist():
        res = _array(func(val, axis % nd))
        rd = np.ndim(strip(res))
        if rd == nd:
            val = res
        elif rd == nd - 1:
            val = expand_dims(res, axis % nd)
        else:
            raise ValueError("function is not returning an array of the correct shape")
    return val


@register_numpy(np.astype)
def astype_function(x: Any, dtype: Any, /, *, copy: bool = True, device: Any = None) -> Any:
    """``np.astype(x, dtype)`` (the array-API function): as ``x.astype(dtype)``."""
    return astype(x, dtype)
