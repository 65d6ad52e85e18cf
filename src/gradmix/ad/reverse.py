"""Reverse mode: record a computation graph, then sweep it backwards.

Each operation on a :class:`Node` creates a new node remembering the
primitive, its (unwrapped) arguments and which of them were traced.
:func:`backward` visits the nodes in reverse topological order and applies the
VJP makers of the primitive table, accumulating cotangents per node.
Broadcasting is undone in one place (:func:`sum_to_shape`), so rules for
elementwise operations are written as if all shapes were equal.  Cotangents
may stay *compact* (broadcastable to their node's shape, e.g. the scalar
cotangent that ``sum`` hands back): elementwise rules broadcast them for free,
and they are expanded (as a view) only before a non-elementwise rule.
"""

from __future__ import annotations

import abc
import itertools
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gradmix.ad.broadcasting import shape_of, sum_to_shape
from gradmix.ad.dispatch import NUMPY
from gradmix.ad.tracer import (
    LIVE_LEVELS,
    EntryTracers,
    Primitive,
    Tracer,
    bind,
    ndim_of,
    strip,
)

__all__ = ["DeferredCotangent", "Node", "backward", "creation_numbers", "sum_to_shape"]


#: numbers the nodes in the order they are made (a topological order of any graph)
creation_numbers = itertools.count()
_new = object.__new__


class Node(Tracer):
    """A value recorded in a reverse-mode computation graph."""

    __slots__ = ("_value", "prim", "args", "kwargs", "parents", "_seq")

    def __new__(cls, value: Any, *args: Any, **kwargs: Any) -> Node:
        return object.__new__(NodeArray if ndim_of(value) else cls)

    def __init__(
        self,
        value: Any,
        level: int,
        prim: Primitive | None = None,
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
        parents: tuple[tuple[int, Node], ...] = (),
    ) -> None:
        self._value = value
        self._level = level
        self.prim = prim
        self.args = args
        self.kwargs = kwargs if kwargs is not None else {}
        self.parents = parents
        # creation order is a topological order: a node is made after its parents
        self._seq = next(creation_numbers)

    @property
    def value(self) -> Any:
        return self._value

    def rule_args(self) -> tuple[Any, Sequence[Any]]:
        """What the VJP makers see: the output and the arguments (values, here)."""
        return self._value, self.args

    def process(self, prim: Primitive, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
        lvl = self._level
        if len(args) == 2:
            # scalar code is mostly binary operators: the common cases without a loop
            a, b = args
            ta, tb = type(a), type(b)
            if ta is tb and (ta is Node or ta is NodeArray) and a._level == b._level == lvl:
                va, vb = a._value, b._value
                if not isinstance(va, Tracer) and not isinstance(vb, Tracer):
                    ans = prim.impl(va, vb, **kwargs)
                    return _new_node(ans, lvl, prim, [va, vb], kwargs, ((0, a), (1, b)))
            elif (ta is Node or ta is NodeArray) and a._level == lvl and tb in _PLAIN_SCALARS:
                va = a._value
                if not isinstance(va, Tracer):
                    ans = prim.impl(va, b, **kwargs)
                    return _new_node(ans, lvl, prim, [va, b], kwargs, ((0, a),))
            elif (tb is Node or tb is NodeArray) and b._level == lvl and ta in _PLAIN_SCALARS:
                vb = b._value
                if not isinstance(vb, Tracer):
                    ans = prim.impl(a, vb, **kwargs)
                    return _new_node(ans, lvl, prim, [a, vb], kwargs, ((1, b),))
        vals = list(args)
        parents = []
        nested = False  # any tracer of an outer transform left among the arguments?
        i = 0
        for a in args:
            if isinstance(a, Tracer):
                if a._level == lvl and isinstance(a, Node):
                    parents.append((i, a))
                    a = vals[i] = a._value
                    if isinstance(a, Tracer):
                        nested = True
                else:
                    nested = True
            elif type(a) is np.ndarray and a.dtype == object:
                nested = True
            i += 1
        ans = bind(prim, vals, kwargs) if nested else prim.impl(*vals, **kwargs)
        return _new_node(ans, lvl, prim, vals, kwargs, tuple(parents))


def _new_node(
    ans: Any, lvl: int, prim: Primitive, vals: list[Any], kwargs: dict[str, Any],
    parents: tuple[tuple[int, Node], ...],
) -> Node:  # fmt: skip
    """``Node(ans, ...)``; a scalar one is built in place, because the constructor's two
    Python-level calls are a fifth of the cost of an operation in scalar code."""
    if type(ans) is not np.float64:
        return Node(ans, lvl, prim, vals, kwargs, parents)
    node = _new(Node)
    node._value, node._level, node.prim = ans, lvl, prim
    node.args, node.kwargs, node.parents = vals, kwargs, parents
    node._seq = next(creation_numbers)
    return node


class NodeArray(EntryTracers, Node):
    """A :class:`Node` holding an array (indexable, iterable; one node per entry read by
    an integer index)."""

    __slots__ = ("_entries",)


def _scalar_operator(
    name: str, uf: np.ufunc, op: Callable[[Any, Any], Any], reflected: bool
) -> Callable[[Any, Any], Any]:
    """Node's Python operator ``name`` (``__mul__``, ``__rsub__``, ...).

    Scalar code is operators on real scalars at one live level: their node is
    made here, in one call, where the general way (the operator, :func:`bind`,
    :meth:`Node.process`, the constructor) takes five.  Anything else goes the
    general way.  ``op`` is Python's operator: on a numpy scalar it computes what
    the ufunc ``uf`` does (the primitive's own implementation makes the same
    choice), at a fraction of the cost.
    """
    general = getattr(Tracer, name)

    def method(self: Any, other: Any) -> Any:
        va = self._value
        tv, to = type(va), type(other)
        # (a scalar node's value may be an outer transform's scalar tracer, a dual number
        # in a Hessian: Python's operator then hands it on, as bind would)
        if type(self) is Node and (tv is np.float64 or tv is float or isinstance(va, Tracer)):
            lvl = self._level
            parents: tuple[tuple[int, Node], ...] | None = None
            if to is Node:
                vb = other._value
                tb = type(vb)
                if other._level == lvl and (tb is np.float64 or tb is float or
                                            isinstance(vb, Tracer)):  # fmt: skip
                    parents = ((0, other), (1, self)) if reflected else ((0, self), (1, other))
            elif to is float or to is np.float64 or to is int:
                vb, tb = other, to
                parents = ((1, self),) if reflected else ((0, self),)
            p = NUMPY[uf]
            if parents is not None and type(p) is Primitive and lvl in LIVE_LEVELS:
                args = [vb, va] if reflected else [va, vb]
                if tv is np.float64 or tb is np.float64:
                    ans = op(*args)
                else:  # two Python numbers: numpy's semantics (inf, nan), not Python's; or
                    ans = p.impl(*args)  # an outer tracer, which its operator takes
                # _new_node, inlined: one more call would be a tenth of this path's cost
                if type(ans) is not np.float64:
                    return Node(ans, lvl, p, args, _NO_KWARGS, parents)
                node = _new(Node)
                node._value, node._level, node.prim = ans, lvl, p
                node.args, node.kwargs, node.parents = args, _NO_KWARGS, parents
                node._seq = next(creation_numbers)
                return node
        return general(self, other)

    method.__name__ = method.__qualname__ = name
    return method


_NO_KWARGS: dict[str, Any] = {}
for _name, _uf, _op in (("add", np.add, operator.add), ("sub", np.subtract, operator.sub),
                        ("mul", np.multiply, operator.mul),
                        ("truediv", np.true_divide, operator.truediv),
                        ("pow", np.power, operator.pow)):  # fmt: skip
    setattr(Node, f"__{_name}__", _scalar_operator(f"__{_name}__", _uf, _op, reflected=False))
    setattr(Node, f"__r{_name}__", _scalar_operator(f"__r{_name}__", _uf, _op, reflected=True))


_PLAIN_SCALARS = (float, int, np.float64)
_REAL_SCALARS = (float, np.float64)


def _is_complex(x: Any) -> bool:
    t = type(x)
    if t is np.ndarray:
        return x.dtype.kind == "c"
    if t is np.float64 or t is float:
        return False
    return np.iscomplexobj(strip(x))


def _accumulate(acc: dict[int, Any], owned: set[int], key: int, c: Any) -> None:
    prev = acc.get(key)
    if prev is None:
        acc[key] = c
    elif (
        key in owned
        and type(prev) is np.ndarray
        and isinstance(c, (np.ndarray, float))
        and np.result_type(prev, c) == prev.dtype
        and np.broadcast_shapes(shape_of(c), prev.shape) == prev.shape
    ):
        np.add(prev, c, out=prev)
    else:
        acc[key] = prev + c
        owned.add(key)


def _has_nan(a: Any) -> bool:
    v = strip(a)
    t = type(v)
    if t is np.float64 or t is float:  # scalar code
        return bool(v != v)
    return t is np.ndarray and v.dtype.kind in "fc" and bool(np.isnan(v).any())


def _zero_dropped_nan(c: Any, g: Any, ans: Any) -> Any:
    """``c`` with 0 where ``ans`` is NaN and its cotangent ``g`` is 0.

    A NaN entry that a later operation dropped (``np.nansum``'s ``where``, say)
    gets cotangent 0; its local derivatives are NaN too (``d * w`` at a NaN
    ``d``), and ``0 * NaN`` would make every shared input's gradient NaN.  The
    output does not depend on that entry (it would be NaN if it did), so its
    contribution is 0.  A zero cotangent on a finite entry is left alone.
    """
    if not _has_nan(c) and not ((type(c) is float or type(c) is np.float64) and c != c):
        return c
    dropped = np.isnan(np.asarray(strip(ans), dtype=float)) & (np.asarray(strip(g)) == 0)
    return np.where(dropped, 0.0, c) if dropped.any() else c


class DeferredCotangent(abc.ABC):
    """A cotangent gathered in parts during the sweep and made a value only when its
    node's turn comes (:meth:`value`): a ``vjp_into`` rule may return one, which the
    sweep then holds as the node's accumulator, adding any other cotangent to it with
    ``+``.  A recorded program's reads of an array's entries and slices use one, where
    a scatter per read would hold an array of the full size."""

    __slots__ = ()

    @abc.abstractmethod
    def value(self) -> Any:
        """The cotangent, a value of the sweep (a recorded program's node)."""

    @abc.abstractmethod
    def __add__(self, other: Any) -> DeferredCotangent:
        """Add ``other`` (a cotangent of the node) and return the accumulator."""


def backward(roots: Sequence[tuple[Node, Any]]) -> dict[int, Any]:
    """Propagate cotangents from ``roots`` (node, cotangent) back through the graph.

    Returns
    -------
    dict
        ``id(node) -> cotangent`` for every node reached, leaves included.
    """
    # Creation order is a topological order (a node is made after its parents), so
    # the sweep visits creation numbers downwards, from the newest root, taking the
    # nodes that hold a cotangent by then: no separate sort of the graph (it took a
    # third of the sweep in scalar code).  A number whose node is not reached (made
    # in between and unused, or another level's) costs one dict lookup.  Cotangents
    # and pending nodes are keyed by creation number.
    acc: dict[int, Any] = {}
    pending: dict[int, Node] = {}
    owned: set[int] = set()  # buffers created here, safe to add into in place
    for node, g in roots:
        _accumulate(acc, owned, node._seq, g)
        pending[node._seq] = node
    leaves: dict[int, Any] = {}
    dropped_nan = False  # has a selecting operation dropped a NaN entry?
    deferred: set[int] = set()  # the nodes whose cotangent is a DeferredCotangent

    def propagate(
        prim: Primitive, i: int, parent: Node, g: Any, ans: Any, args: Sequence[Any],
        kwargs: dict[str, Any], ans_shape: tuple[int, ...],
    ) -> None:  # fmt: skip
        """Add argument ``i``'s share of the cotangent ``g`` into ``parent``'s."""
        scalar = type(ans) is float or type(ans) is np.float64
        key = parent._seq
        pending[key] = parent
        if i == 0 and prim.vjp_into is not None:
            prev = acc.get(key)
            # (a value that is not ours to write into is withheld; a traced one is never
            # written into, and a rule may keep it, as a DeferredCotangent does)
            buf = prim.vjp_into(
                prev if prev is None or key in owned or isinstance(prev, Tracer) else False,
                g, ans, *args, **kwargs,
            )  # fmt: skip
            if buf is not None:
                acc[key] = buf
                owned.add(key)
                if type(buf) is not np.ndarray and isinstance(buf, DeferredCotangent):
                    deferred.add(key)
                return
        rule = prim.jvps.get(i) if prim.self_adjoint else None
        reduced = False
        if rule is not None:
            # one rule serves both modes for elementwise functions: call it
            # directly rather than through a VJP maker's closure
            gi = g
            if i in prim.scales_cotangent and not scalar:
                pshape = shape_of(parent._value)
                if pshape != ans_shape or shape_of(g) != pshape:
                    # c·g summed over broadcast axes is c·(g summed): the sum first
                    gi, reduced = sum_to_shape(g, pshape, ans_shape), True
            c = rule(gi, ans, *args, **kwargs)
        else:
            maker = prim.vjps.get(i)
            if maker is None:
                raise prim.missing_rule(i, "VJP")
            c = maker(ans, *args, **kwargs)(g)
        if prim.elementwise and not reduced:  # (a constant factor has no NaN to drop)
            if dropped_nan:
                c = _zero_dropped_nan(c, g, ans)
            pshape = shape_of(parent._value)
            if pshape != ans_shape or shape_of(c) != pshape:
                c = sum_to_shape(c, pshape, ans_shape)
        if _is_complex(c) and not _is_complex(parent._value):
            # a real value's cotangent is real: Re(c·t) for real t is Re(c)·t
            c = np.real(c)
        _accumulate(acc, owned, key, c)

    for seq in range(max(pending, default=0), -1, -1):
        reached = pending.pop(seq, None)
        if reached is None:
            if not pending:
                break
            continue
        node = reached
        g = acc.pop(seq)
        if deferred and seq in deferred:
            g = g.value()
        prim = node.prim
        if prim is None:
            leaves[id(node)] = g
            continue
        if type(node) is Node:
            ans, args = node._value, node.args
            ta, tg = type(ans), type(g)
            real = (ta is np.float64 or ta is float) and (tg is np.float64 or tg is float)
            # or a scalar node holding an outer transform's real scalar tracer (a dual
            # number, in a Hessian), whose cotangents are that transform's scalars
            nested = (
                not real
                and isinstance(ans, Tracer)
                and prim.self_adjoint
                and prim.vjp_into is None
                and not prim.selects
                and type(strip(ans)) is np.float64
            )
            scalar = real or nested
        else:  # NodeArray, and TraceNode's symbolic arguments
            ans, args = node.rule_args()
            # a scalar program being recorded (gm.compile) takes the scalar path too, the
            # rules applied to the symbolic values (unless a NaN was dropped: see below)
            nested, scalar = False, node.fixed_program and type(node._value) in _REAL_SCALARS
        if prim.selects and not dropped_nan:
            dropped_nan = any(_has_nan(a) for a in args)
        kwargs = node.kwargs
        if scalar and not (dropped_nan and node.fixed_program):
            if prim.vjp_into is not None or not prim.self_adjoint:
                # (a scalar's cotangent is never compact: nothing to broadcast)
                for i, parent in node.parents:
                    propagate(prim, i, parent, g, ans, args, kwargs, ())
                continue
            # scalar code: a scalar's cotangent from a scalar's, by the JVP rule, with no
            # shapes to reconcile and nothing complex
            for i, parent in node.parents:
                rule = prim.jvps.get(i)
                if rule is not None:
                    if (type(parent) is Node) if nested else type(parent._value) in _REAL_SCALARS:
                        c = rule(g, ans, *args, **kwargs) if kwargs else rule(g, ans, *args)
                        tc = type(c)
                        if (
                            nested
                            or tc in _REAL_SCALARS
                            or (tc is type(node) and type(c._value) in _REAL_SCALARS)
                        ):
                            if dropped_nan:  # (eager mode only, by the condition above)
                                c = _zero_dropped_nan(c, g, ans)
                            key = parent._seq
                            prev = acc.get(key)
                            if prev is None:
                                acc[key] = c
                                pending[key] = parent
                            else:
                                acc[key] = prev + c
                            continue
                propagate(prim, i, parent, g, ans, args, kwargs, ())
            continue
        ans_shape = () if type(ans) is float or type(ans) is np.float64 else shape_of(ans)
        if not prim.elementwise and shape_of(g) != ans_shape:
            # cotangents may stay compact (a scalar from sum, say) while they
            # flow through elementwise rules; other rules get the full shape
            g = np.broadcast_to(g, ans_shape)
        for i, parent in node.parents:
            propagate(prim, i, parent, g, ans, args, kwargs, ans_shape)
    return leaves
