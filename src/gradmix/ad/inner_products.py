"""Whole-array sums of products as inner products, in compiled programs.

``np.sum(100 * (a - b**2) ** 2 + (1 - b) ** 2)`` (Rosenbrock's function) has
numpy write a temporary array for each square, for the scaling and for the
addition, a pass over memory each, before the sum reads the last of them.
Written as ``100 * (u @ u) + (v @ v)``, with ``u = a - b**2`` and ``v = 1 - b``,
it is two inner products, which read their operands once and write nothing:
the least-squares objectives, Gaussian log-likelihoods and penalties that
users sum are mostly of this form.  So are sums over the last axis, row by
row (``np.sum(d ** 2, axis=-1)``, the squared distances of k-means and the
quadratic forms of a Gaussian): ``np.einsum('...i,...i->...', d, d)`` makes
no temporary, up to 3 times quicker than the product and the sum where the
rows are long enough (:data:`EINSUM_ROWS_FROM`).

:func:`inner_products` rewrites a recorded program's sums of float64 arrays
over every axis, or over the last, so, where the summed array is a
combination, by ``+``, ``-``, negation and scalings by constants, of products
and squares of arrays of its shape that nothing else in the program reads.
The value is the same sum added in another order (BLAS and einsum add in
lanes, numpy pairwise): equal to eager mode's to rounding, a few units in the
last place at 10⁷ entries. float32 sums are left to numpy: running sums per
lane would lose digits there.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from gradmix.ad.dispatch import numpy_rule
from gradmix.ad.reverse import Node
from gradmix.ad.rules import reductions

__all__ = ["inner_products"]

_ADD, _SUBTRACT, _MULTIPLY, _NEGATIVE, _POWER, _SQUARE = (
    numpy_rule(f) for f in (np.add, np.subtract, np.multiply, np.negative, np.power, np.square)
)


#: rows at least this long are summed by einsum; shorter ones cost it more per row than
#: the product and a product with ones take (100 000 rows of 2: 0.44 ms against 0.15;
#: of 8: 0.52 against 0.46; of 12: 0.63 against 0.88; (10 000, 100, 16): 9.7 against 28)
EINSUM_ROWS_FROM = 12


class _Term(NamedTuple):
    """``coefficient · Σ left·right``, or ``coefficient · Σ left`` where ``right`` is None."""

    coefficient: float
    left: Any
    right: Any


def _reduction(node: Node, value: np.ndarray) -> str | None:
    """Which sum ``node`` is, of its argument's ``value``: "whole" (every axis), "rows"
    (the last axis of two or more, a long one), or None for those left as they are."""
    axes = sorted(node.kwargs["axes"])
    if value.dtype != np.float64 or value.ndim == 0:
        return None
    if axes == list(range(value.ndim)):
        return "whole"
    if value.ndim >= 2 and axes == [value.ndim - 1] and value.shape[-1] >= EINSUM_ROWS_FROM:
        return "rows"
    return None


def inner_products(nodes: Sequence[Node], deps: Sequence[Sequence[Node]],
                   outputs: Sequence[Any]) -> int:  # fmt: skip
    """Rewrite, in place, the sums of ``nodes`` that add products as inner products.

    Parameters
    ----------
    nodes : sequence of Node
        A recorded program's nodes, parents before children, at the recording level
        that is still live (the new nodes are recorded at it).
    deps : sequence of sequences of Node
        Each node's arguments that are nodes of the program.
    outputs : sequence
        The program's outputs (their values are read outside it).

    Returns
    -------
    int
        How many sums were rewritten. A rewritten sum node keeps its identity (its
        readers are unchanged) and computes the same value from new nodes; the
        products, squares and additions it no longer reads are left with no reader.
    """
    uses = collections.Counter(id(p) for parents in deps for p in parents)
    for out in outputs:
        if isinstance(out, Node):
            uses[id(out)] += 2  # read outside the program: never folded away
    done = 0
    for node in nodes:
        if node.prim is not reductions.sum_p:
            continue
        (x,) = node.args
        value = x._value if isinstance(x, Node) else None
        if type(value) is not np.ndarray or uses[id(x)] != 1:
            continue
        kind = _reduction(node, value)
        if kind is None:
            continue
        terms: list[_Term] = []
        _collect(x, 1.0, value.shape, node._level, uses, terms, kind == "whole")
        if all(t.right is None for t in terms):
            continue  # nothing to gain: the sums numpy would take anyway
        total: Any = _combination(terms, kind == "whole")
        if node.kwargs["keepdims"]:  # (a broadcast scalar's cotangent, a row's)
            total = np.reshape(total, np.shape(node._value))
        node.prim, node.args, node.kwargs, node.parents = (
            total.prim, total.args, total.kwargs, total.parents
        )  # fmt: skip
        done += 1
    return done


def _collect(x: Any, c: float, shape: tuple[int, ...], level: int,
             uses: collections.Counter[int], terms: list[_Term], whole: bool) -> None:  # fmt: skip
    """The terms of ``c · Σ x``, expanding the additions, negations and scalings that
    only this sum reads, down to products and squares of whole arrays (``whole``: read
    as vectors, which must then copy nothing)."""
    if not (isinstance(x, Node) and x._level == level and uses[id(x)] == 1):
        terms.append(_Term(c, x, None))
        return
    prim, args = x.prim, x.args

    def operand(a: Any) -> bool:
        return _whole(a, shape) and (not whole or _flat(a))

    if prim in (_ADD, _SUBTRACT) and all(_whole(a, shape) for a in args):
        _collect(args[0], c, shape, level, uses, terms, whole)
        _collect(args[1], c if prim is _ADD else -c, shape, level, uses, terms, whole)
    elif prim is _NEGATIVE:
        _collect(args[0], -c, shape, level, uses, terms, whole)
    elif prim is _MULTIPLY and (_number(args[0]) or _number(args[1])):
        s, y = args if _number(args[0]) else args[::-1]
        _collect(y, c * float(np.reshape(s, -1)[0]), shape, level, uses, terms, whole)
    elif prim is _MULTIPLY and all(map(operand, args)):
        terms.append(_Term(c, args[0], args[1]))
    elif (prim is _SQUARE or prim is _POWER and _number(args[1])
          and float(np.reshape(args[1], -1)[0]) == 2.0) and operand(args[0]):  # fmt: skip
        terms.append(_Term(c, args[0], args[0]))
    else:
        terms.append(_Term(c, x, None))


def _number(v: Any) -> bool:
    """A constant of one entry (a Python or numpy number, or a float array of one)."""
    return not isinstance(v, Node) and np.size(v) == 1 and np.result_type(v).kind in "fiu"


def _whole(a: Any, shape: tuple[int, ...]) -> bool:
    """A float64 array of the sum's shape: nothing broadcast, nothing widened."""
    value = a._value if isinstance(a, Node) else a
    return type(value) is np.ndarray and value.shape == shape and value.dtype == np.float64


def _flat(a: Any) -> bool:
    """Whether ``a`` is a vector, or is laid out so that reading it as one copies
    nothing (an inner product of a copy would cost the passes it saves)."""
    value = a._value if isinstance(a, Node) else a
    return bool(value.ndim == 1 or value.flags.c_contiguous)


def _vector(a: Any) -> Any:
    return a if np.ndim(a._value if isinstance(a, Node) else a) == 1 else np.reshape(a, (-1,))


def _combination(terms: list[_Term], whole: bool) -> Node:
    """Σ coefficient · (left · right) as inner products, recorded: ``left @ right`` of
    the two as vectors (``whole``), else row by row (``einsum``) over the last axis."""
    total: Any = None
    for c, left, right in terms:
        if right is None:
            part = np.sum(left) if whole else np.sum(left, axis=-1)
        elif whole:
            part = _vector(left) @ _vector(right)
        else:
            part = np.einsum("...i,...i->...", left, right)
        if total is None:
            total = part if c == 1.0 else -part if c == -1.0 else c * part
        elif abs(c) == 1.0:
            total = total + part if c == 1.0 else total - part
        else:
            total = total + c * part
    assert isinstance(total, Node)
    return total
