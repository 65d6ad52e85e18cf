"""A scheduled program written out as Python source.

:func:`python_source` writes one statement per node of a :class:`Program` (the
lecture's ``w3 = x1 * x2``), or, for a compiled program, fuses single-use scalar
temporaries into the expressions that read them, spells scalar functions with the
``math`` module, reuses the names of dead values in long programs, and writes
results into the memory of dead arrays.  Only the program's own nodes reach the
text: primitive names, numbers, and references into a table of constants.
"""

from __future__ import annotations

import collections
import itertools
import math
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from gradmix.ad.recording import FUNC, INFIX, UNARY_MINUS, TraceNode, TraceNodeArray
from gradmix.ad.reverse import Node
from gradmix.ad.rules import elementwise, linalg, reductions, shape
from gradmix.ad.tracer import Tracer, stop_gradient_p


class Program(Protocol):
    """What :func:`python_source` writes out: a scheduled straight-line program."""

    inputs: list[Any]  # the input nodes
    input_names: list[str]  # their names in the source
    outputs: list[Any]  # nodes or constants, returned in order
    nodes: list[Node]  # the operations, parents first
    dependencies: list[list[Node]]  # the nodes each operation reads, in argument order
    params: list[str]  # the function's parameters
    prologue: list[str]  # its first lines (unpacking the parameters into the inputs)


#: numpy functions whose scalar case the math module spells otherwise
_MATH = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh",
         "arccosh": "acosh", "arctanh": "atanh", "arctan2": "atan2"}  # fmt: skip

#: programs with more local variables than this (named values, and inputs' entries)
#: reuse the names of dead values: CPython slows every call of a function with more than
#: 2**16 locals by a second or more
REUSE_NAMES_ABOVE = 2**15
#: ... and so do compiled programs whose values hold more bytes than this, so that a dead
#: array is freed and its memory, still in cache, serves the next one (kept to the end,
#: an RK4 loop over 1e5 entries touches 500 MB and runs 1.6 times slower)
RELEASE_ABOVE_BYTES = 2**20

#: ... and write an elementwise result into a dead array's memory where it holds at
#: least this many bytes (numpy's own threshold for reusing a temporary: below it a new
#: array costs no more, and on tiny arrays ``np.add(a, b, out=w)``'s call costs more)
WRITE_INTO_BYTES = 2**18

#: how tightly Python binds the operands of an expression: a sum, a product, a negation,
#: a power, a term (a name, a call, a subscript, a number that is not negative)
SUM, PRODUCT, UNARY, POWER, ATOM = 1, 2, 3, 4, 5
BINDING = {"+": SUM, "-": SUM, "*": PRODUCT, "/": PRODUCT, "**": POWER}

#: single-use scalar temporaries nest at most this deep in one expression (CPython's
#: parser stops at 200 nested parentheses); deeper chains get named temporaries
MAX_INLINE_DEPTH = 50


def python_source(graph: Program, fname: str, fuse: bool, scalar_math: bool = False,
                  release: bool = False,
                  prologue: list[str] | None = None) -> tuple[str, list[Any]]:  # fmt: skip
    """Python source of the graph and its table of constants; ``release``: free the
    arrays of dead values when they hold many bytes (for speed, not for reading);
    ``prologue``: the first lines, in place of the graph's."""
    nodes = graph.nodes
    # the inputs' names; a statement's value is named where it is written (w1, w2, ... by
    # position, as node_names gives), an inlined one never
    names = {id(n): nm for n, nm in zip(graph.inputs, graph.input_names, strict=True)}
    numbered_from = len(graph.inputs) + 1
    consts: list[Any] = []
    deps = graph.dependencies
    uses = collections.Counter(map(id, itertools.chain.from_iterable(deps)))
    for out in graph.outputs:
        uses[id(out)] = uses.get(id(out), 0) + 2  # outputs are never inlined
    inline: dict[int, str] = {}
    loose: dict[int, int] = {}  # an inlined expression's binding, where looser than a term
    # which scalar values are spelt out inside their one reader's expression, and how
    # deeply such an expression nests others (Python's parser refuses deep nesting)
    depth: dict[int, int] = {}
    reader: dict[int, int] = {}  # an inlined value: the position of its one reader
    for k, (node, parents) in enumerate(zip(nodes, deps, strict=True)) if fuse else ():
        nested = 1
        for parent in parents:
            pid = id(parent)
            d = depth.get(pid)
            if d is not None:
                reader[pid] = k
                if d >= nested:
                    nested = d + 1
        nid = id(node)
        if (
            nested <= MAX_INLINE_DEPTH
            and uses[nid] == 1
            and (type(node) is TraceNode or _holds_scalar(node))
        ):
            depth[nid] = nested
    # a program of many named values reuses the names of those no longer needed (inlined
    # ones have none: the 80 000 values of a scalar chain take 800 statements)
    many_names = len(graph.inputs) + len(nodes) - len(depth) > REUSE_NAMES_ABOVE
    large_arrays = release and (
        sum(getattr(n._value, "nbytes", 0) for n in nodes if type(n) is not TraceNode)
        > RELEASE_ABOVE_BYTES
    )
    reuse = large_arrays or many_names
    released_at: dict[int, list[int]] = {}  # statement position -> values dead after it
    last_read: dict[int, int] = {}  # a value's last reader's position
    # an adjoint's scatter read only by an addition (``a + untake(g, idx)``): added into
    # ``a``'s memory where that is free then (``a[idx] += g``), with no zeros of full size
    # (whatever ``a``'s own size: n reads of an array's entries are n scatters, each a
    # pass over the array otherwise); so is a masked share (``a + mask * s``, a maximum's
    # ties) with ``where=mask``
    position = {id(n): k for k, n in enumerate(nodes)} if large_arrays else {}
    scattered = _scatters_into_sums(nodes, deps, uses, position) if large_arrays else {}
    # an elementwise result read only by such a scatter (``untake(a * b, idx)``): written
    # straight into the scatter's array at the index (``np.multiply(a, b, out=w[idx])``)
    boxed = _results_into_scatters(nodes, deps, uses, position, scattered) if large_arrays else {}
    if reuse:
        # a value is read where its reader's statement is, or, for an inlined reader,
        # where that expression is finally spelt out
        # (a scatter and a result written into one are spelt out by their readers)
        where = list(range(len(nodes)))
        placed = dict(itertools.chain(scattered.items(), boxed.items()))
        for k in range(len(nodes) - 1, -1, -1):  # (readers come after what they read)
            at = reader.get(id(nodes[k]))  # (inlined values have a reader)
            if at is not None:
                where[k] = where[at]
            wk = placed.get(k, where[k]) if placed else where[k]
            for parent in deps[k]:
                pid = id(parent)
                if last_read.get(pid, -1) < wk:
                    last_read[pid] = wk
        for out in graph.outputs:
            last_read[id(out)] = len(nodes)  # outputs live to the end
        for k, node in enumerate(nodes):
            nid = id(node)
            if nid not in depth and nid in last_read and k not in scattered and k not in boxed:
                released_at.setdefault(last_read[nid], []).append(nid)
    free: list[str] = []
    # arrays whose memory a later operation of the same shape and dtype may write its
    # result into once they are dead (``np.add(a, b, out=w4)``): a fresh allocation
    # per operation costs more than the operation on arrays of megabytes
    buffers = (_writable_buffers(nodes, deps, last_read, _sums_scattered_into(nodes, scattered))
               if large_arrays else {})  # fmt: skip
    holder: dict[str, Node] = {}  # a reused name: the value it holds now
    scatter_parts: dict[int, _Statement] = {}  # deferred scatters
    box_calls: dict[int, str] = {}  # a result written into a scatter: its function, operands

    def const(v: Any) -> str:
        if type(v) is float:  # the common case first (the chained checks below cost more)
            return repr(v) if math.isfinite(v) else f"float({str(v)!r})"
        if isinstance(v, bool | type(None) | str):
            return repr(v)
        if isinstance(v, int | np.integer):
            return repr(int(v))
        if isinstance(v, float | np.floating) and np.ndim(v) == 0:
            fv = float(v)
            return repr(fv) if math.isfinite(fv) else f"float({str(fv)!r})"
        consts.append(v)
        return f"C[{len(consts) - 1}]"

    body: list[str] = []
    for k, node in enumerate(nodes):
        prim = node.prim
        assert prim is not None
        lvl = node._level
        op = INFIX.get(prim)
        if op is not None and len(node.args) == 2:
            # (an operator's two operands, spelt out one by one: scalar code's common case)
            left, right = node.args
            if isinstance(left, Node) and left._level == lvl:
                lid = id(left)
                a = inline.pop(lid, "") or names[lid]
            else:
                a = const(left)
            if isinstance(right, Node) and right._level == lvl:
                rid = id(right)
                b = inline.pop(rid, "") or names[rid]
            else:
                b = const(right)
            args = [a, b]
        else:
            # a value's name, or its expression where it is inlined (read once: dropped then)
            args = [(inline.pop(id(a), "") or names[id(a)]) if isinstance(a, Node) and
                    a._level == lvl else const(a) for a in node.args]  # fmt: skip
        wrapped, binding = prim is linalg.matmul_p, ATOM
        if op == "**" and scalar_math and type(node) is TraceNode and _fractional(node.args[1]):
            # Python's float ** gives a complex number for a negative base; math.pow
            # raises there, as for the other cases numpy answers with nan or inf
            expr = f"math.pow({args[0]}, {args[1]})"
        elif op == "**" and scalar_math and _squares_a_name(node, args[0]):
            # the correctly rounded square, as numpy's ``a ** 2`` on arrays, in half the
            # time of Python's float ``**`` (whose pow is off by one unit in the last
            # place for about one number in a thousand)
            binding = PRODUCT
            expr = f"{args[0]} * {args[0]}"
        elif op is not None:
            # parentheses only where Python's precedence would read it otherwise: the
            # parser's time grows with them (a third of compiling scalar code)
            binding = BINDING[op]
            a, b = args
            # (a name, or a number: negative ones bind as a negation)
            bind_a = loose.get(id(left)) or (UNARY if a[0] == "-" else ATOM)
            bind_b = loose.get(id(right)) or (UNARY if b[0] == "-" else ATOM)
            if bind_a < binding or (binding == POWER and bind_a < ATOM):  # (a ** b) ** c
                a = f"({a})"
            if (bind_b < UNARY) if binding == POWER else (bind_b <= binding):  # a - (b - c)
                b = f"({b})"
            expr = f"{a} {op} {b}"
        elif prim is elementwise.sech_squared_p and scalar_math and type(node) is TraceNode:
            # (past |x| = 355 the square overflows, and the numpy program takes over)
            binding = PRODUCT
            expr = f"1.0 / math.cosh({args[0]}) ** 2"
        elif prim is UNARY_MINUS:
            binding = UNARY
            a = args[0]
            expr = f"-({a})" if (loose.get(id(node.args[0])) or UNARY) < UNARY else f"-{a}"
        elif prim in FUNC:
            fn = FUNC[prim]
            scalar = type(node) is TraceNode  # (TraceNodeArray holds arrays)
            if (
                scalar_math
                and scalar
                and all(
                    type(a) is TraceNode  # (a scalar's node: no need to ask numpy)
                    or np.ndim(a._value if isinstance(a, Node) else a) == 0
                    for a in node.args
                )
            ):
                expr = f"math.{_MATH.get(fn, fn)}({', '.join(args)})"
            else:
                expr = f"np.{fn}({', '.join(args)})"
        elif prim is shape.untake_p and id(node.args[0]) in box_calls:
            expr = _placed_expression(node, box_calls.pop(id(node.args[0])), const)
        else:
            if prim is not shape.entries_p:  # (a list's entries need no parentheses)
                # an operand of an indexing or a product (``a[i]``, ``a @ b``) is one term
                args = [f"({s})" if _literal_binding(s) < ATOM or id(a) in loose else s
                        for s, a in zip(args, node.args, strict=True)]  # fmt: skip
            expr = _call_expression(node, args, const, fast=release)
        nid = id(node)
        if nid in depth:
            inline[nid] = expr
            if binding < ATOM:
                loose[nid] = binding
            continue
        names[nid] = f"w{k + numbered_from}"
        if k in boxed:  # spelt out by its reader, the scatter
            box_calls[nid] = ", ".join(_into_call(node, args) or ())
            continue
        if k in scattered:  # spelt out by its reader, the addition
            inline[nid] = expr
            scatter_parts[nid] = _scatter_statement(node, args, const)
            continue
        name = names[nid]
        if reuse:
            # the right-hand side is read before the name is bound again
            dead = released_at.get(k)
            if dead:
                free += [names[i] for i in dead]
            target = (
                _scatter_target(node, k, scatter_parts, free, holder, buffers) if buffers else None
            )
            if target is not None:
                at, statement = target
                name = names[nid] = free.pop(at)
                holder[name] = node
                body.append(f"    {statement(name)}")
                continue
            if free:
                into = _dead_buffer(node, k, free, holder, buffers) if buffers else None
                written = None if into is None else _into_expression(node, args, free[into])
                if into is not None and written is not None:
                    expr, wrapped = written, False
                    name = names[nid] = free.pop(into)
                else:
                    pick = _name_to_rebind(k, free, holder, buffers)
                    if pick is not None or many_names:
                        name = names[nid] = free.pop(-1 if pick is None else pick)
            if buffers:
                holder[name] = node
        if expr == name:  # (a value passed on unchanged, stop_gradient's, in its own name)
            continue
        # a statement needs no outer parentheses (an inlined expression keeps them)
        body.append(f"    {name} = {expr[1:-1] if wrapped else expr}")
    outs: list[str] = []
    inputs = {id(x) for x in graph.inputs}
    for o in graph.outputs:
        out = names[id(o)] if isinstance(o, Node) else const(o)
        # every call returns arrays of its own: not a constant of the program, nor the
        # caller's input or a view of it (the caller may change what it gets in place:
        # the gradient of Σ x²/2 is x), nor one array in two places
        value = o._value if isinstance(o, Node) else o
        if (
            type(value) is np.ndarray
            and value.ndim
            and (out in outs or not isinstance(o, Node) or _may_view(o, inputs))
        ):
            out = f"{out}.copy()"
        outs.append(out)
    params = ", ".join(graph.params)
    ret = f"    return {', '.join(outs)}" if outs else "    return None"
    first = graph.prologue if prologue is None else prologue
    src = [f"def {fname}({params}):", *first, *body, ret]
    return "\n".join(src) + "\n", consts


#: operations whose result is a new array (never a view of an operand's memory)
_FRESH_RESULT = {
    *INFIX, *FUNC, UNARY_MINUS, reductions.sum_p, linalg.matmul_p, elementwise.select_p,
    shape.untake_p, shape.scatter_p, shape.adds_at_p,
}  # fmt: skip
_UFUNC = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.true_divide, "**": np.power}
#: how many of the most recently freed names are looked at for a dead array
_RECENT = 9


def _sums_scattered_into(nodes: list[Node], scattered: dict[int, int]) -> set[int]:
    """The values (by id) that the additions of ``scattered`` add a scatter to."""
    return {id(a) for s, k in scattered.items() for a in nodes[k].args if a is not nodes[s]}


def _writable_buffers(nodes: list[Node], deps: list[list[Node]], last_read: dict[int, int],
                      any_size: set[int]) -> dict[int, int]:  # fmt: skip
    """The arrays an operation of :data:`_FRESH_RESULT` made, by id, each with the last
    statement at which a value that may share its memory is read (-1 for none): its
    memory may be written once its own name is dead and that statement is past.  Those
    of ``any_size`` count whatever their size, the others from :data:`WRITE_INTO_BYTES`.

    Any other operation's result may be a view or an alias of its operands (a slice, a
    reshape, a stopped gradient), and so may be its own readers' of the same kind."""
    shared: dict[int, int] = {}  # the last read of a value that may share one's memory
    for k in range(len(nodes) - 1, -1, -1):  # readers come after what they read
        nid = id(nodes[k])
        until = max(last_read.get(nid, k), shared.get(nid, -1))  # the memory's last read
        if nodes[k].prim not in _FRESH_RESULT:
            for parent in deps[k]:
                if shared.get(id(parent), -1) < until:
                    shared[id(parent)] = until
    return {
        id(n): shared.get(id(n), -1) for n in nodes
        if n.prim in _FRESH_RESULT and type(n._value) is np.ndarray
        and (n._value.nbytes >= WRITE_INTO_BYTES or id(n) in any_size)
    }  # fmt: skip


def _may_view(node: Node, inputs: set[int]) -> bool:
    """Whether ``node``'s value may share memory with one of ``inputs`` (it is one, or
    operations that may return views lead to one)."""
    stack, seen = [node], set()
    while stack:
        n = stack.pop()
        if id(n) in inputs:
            return True
        if id(n) in seen or n.prim is None or n.prim in _FRESH_RESULT or n.prim is shape.entries_p:
            continue
        seen.add(id(n))
        stack += _dependencies(n)
    return False


def _dead_buffer(node: Node, k: int, free: list[str], holder: dict[str, Node],
                 buffers: dict[int, int]) -> int | None:  # fmt: skip
    """The position in ``free`` of a writable array shaped and typed like ``node``'s
    value whose memory no value read at statement ``k`` or later shares (the most
    recently freed first: its memory is likeliest still in cache)."""
    value = node._value
    if type(value) is not np.ndarray or value.nbytes < WRITE_INTO_BYTES:
        return None
    for i in range(len(free) - 1, max(len(free) - 1 - _RECENT, -1), -1):
        held = holder.get(free[i])
        if held is not None and buffers.get(id(held), k) < k:
            old = held._value
            if old.shape == value.shape and old.dtype == value.dtype:
                return i
    return None


def _name_to_rebind(k: int, free: list[str], holder: dict[str, Node],
                    buffers: dict[int, int]) -> int | None:  # fmt: skip
    """The position in ``free`` of the name to bind a result written to new memory: the
    most recently freed one that does not hold a writable array still read through a
    view (rebinding its name would lose the array before its memory can be written);
    None where the last few all do."""
    last = len(free) - 1
    if not buffers:
        return last
    for i in range(last, max(last - _RECENT, -1), -1):
        held = holder.get(free[i])
        if held is None or buffers.get(id(held), -1) < k:
            return i
    return None


def _scatters_into_sums(nodes: list[Node], deps: list[list[Node]], uses: dict[int, int],
                        position: dict[int, int]) -> dict[int, int]:  # fmt: skip
    """Positions of the scatters whose one reader adds them to a value of their own shape
    and dtype (``position``: each node's, by id), mapped to that addition's position: an
    ``untake`` at a basic index, or a share placed by a boolean mask of the full shape
    (a maximum's ties)."""
    found: dict[int, int] = {}
    for k, node in enumerate(nodes):
        if INFIX.get(node.prim) != "+" or type(node._value) is not np.ndarray:  # type: ignore[arg-type]
            continue
        for parent in deps[k]:
            value = parent._value
            if (
                uses.get(id(parent)) == 1
                and type(value) is np.ndarray
                and value.shape == node._value.shape
                and value.dtype == node._value.dtype
                and (
                    parent.prim is shape.untake_p
                    and not parent.kwargs.get("nb", 0)
                    and shape.is_basic_index(parent.kwargs["idx"])
                    or _masked_share(parent) is not None
                )
            ):
                found[position[id(parent)]] = k
                break
    return found


def _masked_share(node: Node) -> tuple[int, int] | None:
    """For a share placed by a boolean array of the node's own shape, zero elsewhere
    (``np.where(mask, s, 0)``, a maximum's ties, or ``mask * s``): the positions of the
    mask and the share among the arguments; None for anything else."""
    full = np.shape(node._value)
    args = node.args
    if node.prim is elementwise.select_p and len(args) == 3:
        candidates = [(0, 1)] if _is_zero_constant(args[2]) else []
    elif INFIX.get(node.prim) == "*" and len(args) == 2:  # type: ignore[arg-type]
        candidates = [(0, 1), (1, 0)]
    else:
        return None
    for m, s in candidates:
        mask = args[m]._value if isinstance(args[m], Node) else args[m]
        share = args[s]._value if isinstance(args[s], Node) else args[s]
        if (
            type(mask) is np.ndarray
            and mask.dtype == np.bool_
            and mask.shape == full
            and np.result_type(share) != np.bool_
        ):
            return m, s
    return None


def _is_zero_constant(v: Any) -> bool:
    return not isinstance(v, Node) and np.ndim(v) == 0 and isinstance(v, int | float) and v == 0


def _scatter_statement(node: Node, args: list[str], const: Callable[[Any], str]) -> _Statement:
    """The statement adding a deferred scatter into the array named by its argument."""
    placed = _masked_share(node)
    if placed is None:
        g, idx = args[0], const(node.kwargs["idx"])
        return lambda target: f"{target}[{idx}] += {g}"
    mask, share = args[placed[0]], args[placed[1]]
    return lambda target: f"np.add({target}, {share}, out={target}, where={mask})"


#: a deferred scatter: the statement adding it into the array its argument names
_Statement = Callable[[str], str]


def _scatter_target(node: Node, k: int, parts: dict[int, _Statement], free: list[str],
                    holder: dict[str, Node],
                    buffers: dict[int, int]) -> tuple[int, _Statement] | None:  # fmt: skip
    """For an addition (statement ``k``) of a deferred scatter to a value of its own
    shape and dtype whose writable memory is free now: that value's position in
    ``free``, and the scatter's statement."""
    if not parts or len(node.args) != 2:
        return None
    a, b = node.args
    for scatter, other in ((b, a), (a, b)):
        got = parts.get(id(scatter))
        if (
            got is None
            or buffers.get(id(other), k) >= k
            or np.shape(other._value) != node._value.shape
            or other._value.dtype != node._value.dtype
        ):
            continue
        for i in range(len(free) - 1, -1, -1):
            if holder.get(free[i]) is other:
                return i, got
    return None


def _into_expression(node: Node, args: list[str], out: str) -> str | None:
    """``node``'s operation written to store its result in the array named ``out``, for
    the elementwise operations that take ``out=``; None for the others."""
    call = _into_call(node, args)
    return None if call is None else f"{call[0]}({', '.join(call[1:])}, out={out})"


def _into_call(node: Node, args: list[str]) -> list[str] | None:
    """The function (which takes ``out=``) and operands computing ``node``'s value, for
    the elementwise operations; None for the others."""
    prim = node.prim
    op = INFIX.get(prim)  # type: ignore[arg-type]
    exponent = node.args[1] if op == "**" else None
    if type(exponent) in (int, float) and exponent == 2:
        return ["np.square", args[0]]  # (what ``a ** 2`` computes)
    if op is not None:
        return [f"np.{_UFUNC[op].__name__}", args[0], args[1]]
    if prim is UNARY_MINUS:
        return ["np.negative", args[0]]
    if prim in FUNC:
        return [f"np.{FUNC[prim]}", *args]
    return None


def _results_into_scatters(nodes: list[Node], deps: list[list[Node]], uses: dict[int, int],
                           position: dict[int, int],
                           added: dict[int, int]) -> dict[int, int]:  # fmt: skip
    """Positions of the elementwise results (of at least one axis) whose one reader is an
    adjoint's scatter (``untake``) at a basic index into an array of their dtype, mapped
    to that scatter's position; not for the scatters ``added`` into another array."""
    found: dict[int, int] = {}
    for k, node in enumerate(nodes):
        if node.prim is not shape.untake_p or node.kwargs.get("nb", 0) or k in added:
            continue
        (g,) = deps[k] or (None,)
        value = getattr(g, "_value", None)
        if (
            g is not None
            and node.args[0] is g
            and uses.get(id(g)) == 1
            and type(value) is np.ndarray
            and value.ndim
            and value.dtype == np.result_type(node._value)
            and shape.is_basic_index(node.kwargs["idx"])
            and _into_call(g, ["_"] * len(g.args)) is not None
        ):
            found[position[id(g)]] = k
    return found


def _placed_expression(node: Node, call: str, const: Callable[[Any], str]) -> str:
    """The scatter ``node`` of a result written straight into it (``call``: the
    function and operands computing that result)."""
    shape_, idx = tuple(map(int, node.kwargs["shape"])), node.kwargs["idx"]
    dtype = np.result_type(node._value)
    return f"{const(shape.placed_result)}({shape_!r}, {const(idx)}, {const(dtype)}, {call})"


def _literal_binding(text: str) -> int:
    """How tightly a name or a constant binds: a negative number as a negation."""
    return UNARY if text[:1] == "-" else ATOM


def _squares_a_name(node: Node, base: str) -> bool:
    """Whether scalar ``node`` is ``base ** 2`` with ``base`` a name (not an expression,
    which ``base * base`` would compute twice)."""
    exponent = node.args[1]
    return (type(node) is TraceNode and type(exponent) in (int, float) and exponent == 2
            and base.isidentifier())  # fmt: skip


def _fractional(v: Any) -> bool:
    """Whether ``v`` is a number that is not a whole one (a traced value counts)."""
    return isinstance(v, Tracer) or not (isinstance(v, int | float | np.number)
                                         and float(v).is_integer())  # fmt: skip


def _holds_scalar(node: Node) -> bool:
    """Whether a traced node's value is a scalar (TraceNode's constructor makes a
    TraceNodeArray for anything else)."""
    t = type(node)
    if t is TraceNode or t is TraceNodeArray:
        return t is TraceNode
    return bool(np.ndim(node._value) == 0)


def _call_expression(node: Node, args: list[str], const: Callable[[Any], str],
                     fast: bool = False) -> str:  # fmt: skip
    """The expression of a node that is neither an infix operator nor a function of
    :data:`FUNC`: a reduction, an indexing, a reshape, or a call of the primitive.

    ``fast``: for speed, not for reading. numpy's ``np.sum``, ``np.reshape`` and
    ``np.transpose`` are Python functions around ``np.add.reduce`` and the array's
    methods, 1-3 µs a call, which a program of small arrays pays at every statement."""
    prim = node.prim
    assert prim is not None
    if prim is reductions.sum_p:
        axes, keep = node.kwargs["axes"], node.kwargs["keepdims"]
        total = "np.add.reduce" if fast else "np.sum"
        return _sum_by_product(node, args[0], const) or \
            f"{total}({args[0]}, axis={axes!r}, keepdims={keep})"  # fmt: skip
    if prim is linalg.matmul_p:
        return f"({args[0]} @ {args[1]})"
    if prim is shape.getitem_p:
        return f"{args[0]}[{const(node.kwargs['idx'])}]"
    if prim is shape.gather_p:
        index = list(map(const, node.kwargs["index"]))
        for pos, part in zip(node.kwargs["at"], args[1:], strict=True):
            index[pos] = part
        return f"{args[0]}[{', '.join(index)}]"
    if prim is shape.entries_p:
        values, flat, shape_ = ", ".join(args), node.kwargs.get("flat"), node.kwargs["shape"]
        if flat is not None:
            return f"{const(shape.entries_at)}([{values}], {const(flat)}, {shape_!r})"
        return f"np.array([{values}]).reshape({shape_!r})"
    # (a method on a name whose value is an array: a scalar may be a Python float)
    method = prim in (shape.reshape_p, shape.transpose_p) and fast and \
        type(node.args[0]) is TraceNodeArray and args[0].isidentifier()  # fmt: skip
    if prim is shape.reshape_p and node.kwargs.get("order", "C") == "C":
        if method:
            return f"{args[0]}.reshape({node.kwargs['shape']!r})"
        new_shape = node.kwargs["shape"]
        if fast and type(node.args[0]) is TraceNode and math.prod(new_shape) == 1:
            # a scalar as an array of one entry (a sum's cotangent): 0.3 µs, where numpy's
            # reshape of a scalar takes 1.4 µs (2.5 for a Python float)
            return f"np.array({'[' * len(new_shape)}{args[0]}{']' * len(new_shape)})"
        return f"np.reshape({args[0]}, {node.kwargs['shape']!r})"
    if prim is shape.transpose_p:
        if method:
            return f"{args[0]}.transpose({node.kwargs['axes']!r})"
        return f"np.transpose({args[0]}, {node.kwargs['axes']!r})"
    if prim is elementwise.select_p:
        if _is_zero_constant(node.args[2]):
            return f"{const(elementwise.select_or_zero)}({args[0]}, {args[1]})"
        return f"np.where({', '.join(args)})"
    if prim is stop_gradient_p:
        return args[0]
    if prim.nondiff and getattr(np, prim.impl.__name__, None) is prim.impl:
        kw = "".join(f", {k}={const(v)}" for k, v in node.kwargs.items())
        return f"np.{prim.impl.__name__}({', '.join(args)}{kw})"
    kw = ", ".join(f"{k}={const(v)}" for k, v in node.kwargs.items())
    pref = const(prim.impl)
    return f"{pref}({', '.join(args)}{', ' if kw and args else ''}{kw})"


#: a sum over the last axis, or over the one before it, of an array whose last axis is
#: at most this long is a product with ones
SMALL_INNER_AXIS = 16
#: ... and so is a float64 sum over a longer axis where the ones have at most this many
#: entries (see :func:`_sum_by_product`)
ONES_AT_MOST = 4096


def _sum_by_product(node: Node, arg: str, const: Callable[[Any], str]) -> str | None:
    """A sum over the last axis, or over the one before it, of a float array, where numpy's
    reduction is slow: a product with a vector or row of ones; None for other sums.

    numpy's reduction runs its inner loop over the last axis, once per entry of the
    others: summing a (5, 1000, 2) array over either of its last two axes takes
    75 µs, the product 3–6 µs (a mixture's log-density over two features, and its
    means' cotangent).  Over a longer last axis, a float64 sum is one matrix-vector
    product of the rows (a (50, 1000, 32) array: 1.1 ms against 0.11 ms), but a
    product per matrix of a stack can cost more than numpy's sum (BLAS's threads
    start for each): the sum over the axis before the last of a stack is numpy's
    ``einsum`` (0.41 ms against 0.97 ms).  The product adds in BLAS's order, not
    numpy's: the same sum to rounding, not bit for bit.  Not for float32 over long
    axes: BLAS keeps a running sum per lane, with two to three times the rounding of
    numpy's pairwise sums."""
    x = node.args[0]
    if not isinstance(x, Node):
        return None
    value = x._value
    if type(value) is not np.ndarray or value.ndim < 2 or value.dtype.kind != "f":
        return None
    axes, keep = node.kwargs["axes"], node.kwargs["keepdims"]
    last, before = value.shape[-1], value.shape[-2]
    short = last <= SMALL_INNER_AXIS
    if axes == (value.ndim - 1,):
        if short or value.dtype == np.float64 and last <= ONES_AT_MOST:
            ones = const(np.ones(last, value.dtype))
            if short or value.ndim == 2 or not value.flags.c_contiguous:
                total = f"({arg} @ {ones})"
                return f"{total}[..., None]" if keep else total
            rows = value.shape[:-1] + ((1,) if keep else ())
            return f"(np.reshape({arg}, (-1, {last})) @ {ones}).reshape({rows!r})"
        return None
    if axes != (value.ndim - 2,):
        return None
    if short or value.dtype == np.float64 and value.ndim == 2 and before <= ONES_AT_MOST:
        total = f"({const(np.ones((1, before), value.dtype))} @ {arg})"
        return total if keep else f"{total}[..., 0, :]"
    if value.dtype == np.float64:
        total = f"np.einsum('...ij->...j', {arg})"
        return f"{total}[..., None, :]" if keep else total
    return None


def _dependencies(node: Node) -> list[Node]:
    """The nodes ``node`` reads: its recorded arguments, the differentiable parents among
    them (a comparison's operands and an integer index are read without a derivative)."""
    return [a for a in node.args if isinstance(a, Node) and a._level == node._level]
