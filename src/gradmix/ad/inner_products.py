"""Sums of products as inner products, in compiled programs.

``np.sum(100 * (a - b**2) ** 2 + (1 - b) ** 2)`` (Rosenbrock's function) has
numpy write a temporary array for each square, for the scaling and for the
addition, a pass over memory each, before the sum reads the last of them.
Written as ``100 * (u @ u) + (v @ v)``, with ``u = a - b**2`` and ``v = 1 - b``,
it is two inner products, which read their operands once and write nothing:
the least-squares objectives, Gaussian log-likelihoods and penalties that
users sum are mostly of this form.  So are sums over the last axis, row by
row (``np.sum(d ** 2, axis=-1)``, the squared distances of k-means and the
quadratic forms of a Gaussian), and products of more factors or of
broadcast ones (``np.sum(w * r ** 2)``, ``np.sum(X * x[0])``):
``np.einsum`` makes no temporary either, 1.5-3.5 times quicker than the
product and the sum where its loop is not a short row's
(:data:`EINSUM_ROWS_FROM`).

:func:`inner_products` rewrites a recorded program's sums of float64 arrays
over every axis, or over the last, so, where the summed array is a
combination, by ``+``, ``-``, negation and scalings by constants, of products
(of arrays that broadcast to its shape) and squares that nothing else in the
program reads: two arrays of the sum's shape laid out in order are a BLAS
dot of two vectors, anything else an ``einsum`` of two (more factors are
multiplied down to two first).  The value is the same sum
added in another order (BLAS and einsum add in lanes, numpy pairwise): equal
to eager mode's to rounding, a few units in the last place at 10⁷ entries.
float32 sums are left to numpy: running sums per lane would lose digits
there.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from gradmix.ad.dispatch import numpy_rule
from gradmix.ad.reverse import Node
from gradmix.ad.rules import reductions
from gradmix.ad.tracer import strip

__all__ = ["inner_products"]

_ADD, _SUBTRACT, _MULTIPLY, _NEGATIVE, _POWER, _SQUARE = (
    numpy_rule(f) for f in (np.add, np.subtract, np.multiply, np.negative, np.power, np.square)
)


#: rows at least this long are summed by einsum; shorter ones cost it more per row than
#: the product and a product with ones take (100 000 rows of 2: 0.44 ms against 0.15;
#: of 8: 0.52 against 0.46; of 12: 0.63 against 0.88; (10 000, 100, 16): 9.7 against 28)
EINSUM_ROWS_FROM = 12


class _Term(NamedTuple):
    """``coefficient · Σ`` of the product of ``factors`` (one factor: a plain sum)."""

    coefficient: float
    factors: tuple[Any, ...]


def _reduction(node: Node, value: np.ndarray) -> str | None:
    """Which sum ``node`` is, of its argument's ``value``: "whole" (every axis), "rows"
    (the last axis of two or more, a long one), or None for those left as they are."""
    axes = sorted(node.kwargs["axes"])
    if value.dtype != np.float64 or not 0 < value.ndim <= 26:  # (einsum's letters)
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
        The new nodes are newer than the node that reads them: the graph is then for
        scheduling and emitting only (the reverse sweep, which takes creation order
        as a topological order, must have run).
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
        _collect(x, 1.0, value.shape, node._level, uses, terms)
        if all(len(t.factors) == 1 for t in terms):
            continue  # nothing to gain: the sums numpy would take anyway
        total: Any = _combination(terms, value.shape, kind == "whole")
        if node.kwargs["keepdims"]:  # (a broadcast scalar's cotangent, a row's)
            total = np.reshape(total, np.shape(node._value))
        node.prim, node.args, node.kwargs, node.parents = (
            total.prim, total.args, total.kwargs, total.parents
        )  # fmt: skip
        done += 1
    return done


def _collect(x: Any, c: float, shape: tuple[int, ...], level: int,
             uses: collections.Counter[int], terms: list[_Term]) -> None:  # fmt: skip
    """The terms of ``c · Σ x``, expanding the additions, negations and scalings that
    only this sum reads, down to products (and squares) of arrays."""
    if not _single_use(x, level, uses):
        terms.append(_Term(c, (x,)))
        return
    prim, args = x.prim, x.args
    if prim in (_ADD, _SUBTRACT) and all(_whole(a, shape) for a in args):
        _collect(args[0], c, shape, level, uses, terms)
        _collect(args[1], c if prim is _ADD else -c, shape, level, uses, terms)
    elif prim is _NEGATIVE:
        _collect(args[0], -c, shape, level, uses, terms)
    elif prim is _MULTIPLY and (_number(args[0]) or _number(args[1])):
        s, y = args if _number(args[0]) else args[::-1]
        _collect(y, c * _entry(s), shape, level, uses, terms)
    else:
        scale, factors = _factors(x, shape, level, uses)
        terms.append(_Term(c * scale, tuple(factors)))


def _factors(x: Any, shape: tuple[int, ...], level: int,
             uses: collections.Counter[int]) -> tuple[float, list[Any]]:  # fmt: skip
    """``x`` as a constant times a product of factors: the products (of arrays that
    broadcast to ``shape``, and numbers) and squares that only their reader reads,
    flattened; anything else is one factor."""
    if _single_use(x, level, uses):
        args = x.args
        if x.prim is _MULTIPLY and all(_number(a) or _operand(a, shape) for a in args):
            scale, factors = 1.0, list[Any]()
            for a in args:
                if _number(a):
                    scale *= _entry(a)
                else:
                    s, f = _factors(a, shape, level, uses)
                    scale, factors = scale * s, factors + f
            return scale, factors
        if (x.prim is _SQUARE or x.prim is _POWER and _number(args[1])
                and _entry(args[1]) == 2.0) and _operand(args[0], shape):  # fmt: skip
            return 1.0, [args[0], args[0]]
    return 1.0, [x]


def _single_use(x: Any, level: int, uses: collections.Counter[int]) -> bool:
    """A node of the program that one operation alone reads."""
    return isinstance(x, Node) and x._level == level and uses[id(x)] == 1


def _entry(v: Any) -> float:
    return float(np.reshape(v, -1)[0])


def _number(v: Any) -> bool:
    """A constant of one entry (a Python or numpy number, or a float array of one)."""
    return not isinstance(v, Node) and np.size(v) == 1 and np.result_type(v).kind in "fiu"


def _whole(a: Any, shape: tuple[int, ...]) -> bool:
    """A float64 array of the sum's shape: nothing broadcast, nothing widened."""
    value = a._value if isinstance(a, Node) else a
    return type(value) is np.ndarray and value.shape == shape and value.dtype == np.float64


def _operand(a: Any, shape: tuple[int, ...]) -> bool:
    """A float64 array of one or more dimensions that broadcasts to ``shape``."""
    value = a._value if isinstance(a, Node) else a
    if type(value) is not np.ndarray or value.dtype != np.float64 or not value.ndim:
        return False
    return value.ndim <= len(shape) and all(
        n in (1, m) for n, m in zip(value.shape[::-1], shape[::-1], strict=False)
    )


def _flat(a: Any, shape: tuple[int, ...]) -> bool:
    """Whether ``a`` has the sum's shape and reading it as a vector copies nothing."""
    value = a._value if isinstance(a, Node) else a
    return _whole(a, shape) and bool(value.ndim == 1 or value.flags.c_contiguous)


def _vector(a: Any) -> Any:
    return a if np.ndim(a._value if isinstance(a, Node) else a) == 1 else np.reshape(a, (-1,))


def _combination(terms: list[_Term], shape: tuple[int, ...], whole: bool) -> Node:
    """Σ coefficient · Π factors, recorded: a product of two vectors (``u @ v``) where
    the sum is over every axis of two arrays of its shape laid out in order, else
    ``einsum`` (over every axis, or the last)."""
    letters = "abcdefghijklmnopqrstuvwxyz"[: len(shape)]
    out = "" if whole else letters[:-1]
    total: Any = None
    for c, factors in terms:
        if len(factors) > 2:
            # the others' product first: einsum on three operands or more plans its order
            # at every call (numpy's optimize, tens of µs), and reads no fewer bytes
            head = factors[0]
            for f in factors[1:-1]:
                head = head * f
            factors = (head, factors[-1])
        if len(factors) == 1:
            part = np.sum(factors[0]) if whole else np.sum(factors[0], axis=-1)
        elif whole and len(factors) == 2 and all(_flat(f, shape) for f in factors):
            part = _vector(factors[0]) @ _vector(factors[1])
        else:
            subscripts = [letters[len(shape) - np.ndim(strip(f)) :] for f in factors]
            part = np.einsum(f"{','.join(subscripts)}->{out}", *factors)
        if total is None:
            total = part if c == 1.0 else -part if c == -1.0 else c * part
        elif abs(c) == 1.0:
            total = total + part if c == 1.0 else total - part
        else:
            total = total + c * part
    assert isinstance(total, Node)
    return total
