"""Source transformation: trace a function to a straight-line program, write it out as Python.

:func:`trace` runs ``f`` once on tracer values and records every primitive
application: a :class:`Graph`, the lecture's ``w1 … w5``.  :meth:`Graph.source`
prints it as readable Python, :meth:`Graph.to_dot` as Graphviz text.

:func:`compile` goes one step further, like the lecture's ``diff_function.c``:
it runs the reverse sweep *symbolically* over the traced program, so the
table's VJP rules are themselves recorded, and emits one Python function that
computes the value and the gradient: the forward sweep followed by the adjoint
sweep.  Constants are folded while tracing (operations on constants are simply
computed), unused statements are dropped, and single-use scalar temporaries are
fused into the expressions that use them.  The text is generated only from the
package's own graph (primitive names, numbers, and references into a table of
constants) and ``exec``-ed once; user text never reaches it.

Only primitives whose derivative rules do not branch on values in Python can
be compiled (see :data:`gradmix.ad.recording.COMPILABLE`).  Choices by the
values that numpy expresses as operations — comparisons, ``np.where``'s
condition, which entry is the maximum, the sign in ``abs``, ``argmax`` and
``argsort`` and the indices they give (so ``np.sort``, ``np.median``) — are
recorded as operations of the program with no derivative, so they are
recomputed at every call, as JAX's ``jit`` does.  Python control flow on
traced values (``if x > 0:``) and results whose shape depends on the values
(``x[x > 0]``, ``np.nonzero``) raise an error that points to eager
:func:`gradmix.grad`.

The pieces: :mod:`~gradmix.ad.recording` holds the traced program's nodes and what
they record, :mod:`~gradmix.ad.graph` schedules them, :mod:`~gradmix.ad.emit`
writes the source; this module runs the function, the symbolic sweep and the
generated program.
"""

from __future__ import annotations

import functools
import itertools
import math
import types
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from gradmix.ad.allocator import paused_cycle_collector, tune_allocator
from gradmix.ad.emit import python_source
from gradmix.ad.errors import NotCompilableError, call_traced
from gradmix.ad.graph import Graph, schedule
from gradmix.ad.inner_products import inner_products
from gradmix.ad.pytree import flatten, split_aux, unflatten
from gradmix.ad.recording import (
    COMPLEX_MESSAGE,
    RECORDED,
    EntrywiseInput,
    TraceNode,
    WholeArrayUse,
    recording_level,
)
from gradmix.ad.reverse import Node, backward
from gradmix.ad.rules import reductions, shape
from gradmix.ad.tracer import Tracer, pack

__all__ = ["trace", "compile", "CompiledFunction", "CompiledProgram"]


def _leaf_key(x: Any) -> Any:
    """Shape and dtype of an argument: the compilation cache's key."""
    t = type(x)
    if t is float or t is np.float64:
        return "f8"
    if t is np.ndarray:
        return (x.shape, x.dtype.str)
    return (np.shape(x), np.result_type(x).str)


def _as_input(x: Any) -> Any:
    """Scalars as Python floats (the generated scalar code uses the math module)."""
    t = type(x)
    if t is float:
        return x
    if t is np.float64 or np.ndim(x) == 0:
        return float(x)
    return np.asarray(x)


def _prepare(args: Sequence[Any]) -> tuple[list[Any], Any]:
    leaves, tree = flatten(tuple(args))
    out = []
    for x in leaves:
        x = pack(x)
        a = np.asarray(x)
        if a.dtype.kind == "c":
            raise NotCompilableError(COMPLEX_MESSAGE)
        if a.dtype.kind != "f":
            a = a.astype(np.float64)
        out.append(a[()] if a.ndim == 0 else a)
    return out, tree


def trace(f: Callable[..., Any], *example_args: Any) -> Graph:
    """Record ``f`` on the example arguments as a straight-line program.

    Shapes and dtypes are fixed by the examples; values are not.

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> print(gm.trace(lambda x1, x2: x1 * x2 + np.sin(x1), 1.5, 2.0).source())
    def f(x1, x2):
        w3 = x1 * x2
        w4 = np.sin(x1)
        w5 = w3 + w4
        return w5
    <BLANKLINE>
    """
    leaves, tree = _prepare(example_args)
    with recording_level() as level:
        inputs = [TraceNode(x, level) for x in leaves]
        o_leaves, _ = flatten(call_traced(f, unflatten(tree, inputs)))
        o_leaves = [pack(o) for o in o_leaves]
    return Graph(inputs, o_leaves)


class CompiledProgram(NamedTuple):
    """One compilation of a :class:`CompiledFunction` (what ``compile_for`` returns): the
    generated function, its source, the structures of the arguments and of the
    auxiliary outputs (and how many leaves those have), its graph (``recorded()``:
    recorded again when first asked for, as the program does not keep it), and the
    same program on numpy scalars (made when first needed).

    ``fn`` computes scalar code on Python floats and the ``math`` module, which raise
    where numpy answers with inf or nan (a division by zero, ``log(0)``, an
    overflow); the call then runs ``numpy_scalars()``, whose numbers are eager
    mode's."""

    fn: Callable[..., Any]
    source: str
    tree: Any
    aux_tree: Any
    n_aux: int
    recorded: Callable[[], Graph]
    numpy_scalars: Callable[[], Callable[..., Any]]

    @property
    def graph(self) -> Graph:
        """The program's forward-and-adjoint graph, recorded again on first use (see
        :class:`CompiledFunction`)."""
        return self.recorded()

    def __call__(self, *inputs: Any) -> Any:
        """The program's outputs for its inputs (Python floats or arrays)."""
        try:
            return self.fn(*inputs)
        except (ArithmeticError, ValueError):
            exact = self.numpy_scalars()
            return exact(*(np.float64(x) if type(x) is float else x for x in inputs))


class CompiledFunction:
    """``value_and_grad`` of ``f`` as generated Python; re-traced for new shapes or dtypes.

    Call it with the same positional arguments as ``f``; it returns
    ``(value, gradient)`` with the gradient shaped like the arguments (a tuple
    when ``f`` takes several), or ``((value, aux), gradient)`` with ``has_aux``.
    """

    def __init__(self, f: Callable[..., Any], has_aux: bool = False) -> None:
        self.f = f
        self.has_aux = has_aux
        self._cache: dict[Any, CompiledProgram] = {}
        self._last: CompiledProgram | None = None
        # programs for arguments that are all lists of float64 numbers, by their lengths:
        # such a call skips flattening (scalar code on lists, where it cost more than
        # the program itself)
        self._float_lists: dict[tuple[int, ...], CompiledProgram] = {}
        # ... and for one array with axes, by its shape and dtype (flattening, the cache's
        # key and the gradient's structure cost 5 µs a call, half a small program)
        self._arrays: dict[tuple[tuple[int, ...], str], CompiledProgram] = {}

    @property
    def graph(self) -> Graph:
        """The forward-and-adjoint graph of the most recent compilation.

        Recorded again from the example arguments on first use: a compiled program
        keeps no graph, whose nodes would hold every intermediate value of the trace.
        A function that records a different program the second time (one that reads
        a random draw or a global variable) raises RuntimeError here.
        """
        if self._last is None:
            raise ValueError("not compiled yet: call the function or pass example arguments")
        return self._last.graph

    @property
    def source(self) -> str:
        """The generated source of the most recent compilation."""
        if self._last is None:
            raise ValueError("not compiled yet: call the function or pass example arguments")
        return self._last.source

    def compile_for(self, *args: Any) -> CompiledProgram:
        """Compile (or fetch from the cache) for arguments shaped like ``args``; the
        program is then the most recent (``source``, ``graph``)."""
        leaves, tree = flatten(args)
        key = (tree, tuple(map(_leaf_key, leaves)))
        entry = self._cache.get(key)
        if entry is None:
            prepared, _ = _prepare(args)
            entry = self._cache[key] = _build(self.f, prepared, tree, self.has_aux)
        self._last = entry
        return entry

    def __call__(self, *args: Any) -> Any:
        if len(args) == 1 and type(args[0]) is np.ndarray and not self.has_aux:
            x = args[0]
            entry = self._arrays.get((x.shape, x.dtype.str)) if x.ndim else None
            if entry is not None:
                value, grad = entry(x)
                return value, grad
        if len(args) == 1 and type(args[0]) is list:  # scalar code on one list of floats
            entry = self._float_lists.get((len(args[0]),))
            if entry is not None and _all_floats(args[0]):
                value, *rest = entry(*args[0])
                return value, rest
        lists = _float_lists(args)
        entry = None if lists is None else self._float_lists.get(lists[0])
        if lists is not None and entry is not None:
            lengths, entries = lists
            value, *rest = entry(*entries)
            # (what unflatten gives for lists of leaves: the gradient's floats as lists)
            if len(lengths) == 1:
                return value, rest
            ends = [0, *itertools.accumulate(lengths)]
            g = [rest[a:b] for a, b in itertools.pairwise(ends)]
        else:
            leaves, tree = flatten(args)
            key = (tree, tuple(map(_leaf_key, leaves)))
            entry = self._cache.get(key) or self.compile_for(*args)
            if lists is not None and not self.has_aux:
                self._float_lists[lists[0]] = entry
            if len(args) == 1 and type(args[0]) is np.ndarray and args[0].ndim and \
                    not self.has_aux:  # fmt: skip
                self._arrays[args[0].shape, args[0].dtype.str] = entry
            value, *rest = entry(*map(_as_input, leaves))
            n = len(rest) - entry.n_aux
            g = unflatten(entry.tree, rest[:n])
        grad = g[0] if len(args) == 1 else tuple(g)
        if self.has_aux:
            return (value, unflatten(entry.aux_tree, rest[n:])), grad
        return value, grad


_FLOAT_TYPES = frozenset((float, np.float64))


def _all_floats(entries: list[Any]) -> bool:
    """Whether every entry is a Python float (the quickest test found: a third of the
    time of a set of their types, on a call of a few microseconds)."""
    return list(map(type, entries)).count(float) == len(entries)


def _float_lists(args: tuple[Any, ...]) -> tuple[tuple[int, ...], list[float]] | None:
    """When every argument is a non-empty list of float64 numbers (Python floats or numpy
    scalars), their lengths and all their entries as Python floats; else None."""
    for a in args:
        if type(a) is not list or not a:
            return None
    if not args:
        return None
    entries = args[0] if len(args) == 1 else list(itertools.chain(*args))
    if _all_floats(entries):
        return tuple(map(len, args)), entries
    if _FLOAT_TYPES.issuperset(map(type, entries)):
        return tuple(map(len, args)), list(map(float, entries))
    return None


def _entrywise_candidate(x: Any) -> bool:
    """Whether ``x`` is first traced entry by entry: a float64 array with entries, whatever
    its size (its entries are then Python floats, which compute what numpy's float64 does;
    another dtype's entries, as numpy scalars of it, are read from the array traced whole).
    """
    return bool(np.ndim(x)) and np.size(x) > 0 and np.result_type(x) == np.float64


def _build(f: Callable[..., Any], leaves: list[Any], tree: Any, has_aux: bool) -> CompiledProgram:
    with paused_cycle_collector():
        if any(map(_entrywise_candidate, leaves)):
            try:
                return _build_traced(f, leaves, tree, has_aux, entrywise=True)
            except WholeArrayUse:
                pass
        return _build_traced(f, leaves, tree, has_aux, entrywise=False)


def _build_traced(f: Callable[..., Any], leaves: list[Any], tree: Any, has_aux: bool,
                  entrywise: bool) -> CompiledProgram:  # fmt: skip
    rec = _record_program(f, leaves, tree, has_aux, entrywise)
    src, consts = python_source(rec.graph, "value_and_grad", fuse=True, scalar_math=True,
                                release=True)  # fmt: skip
    aux_tree, n_aux, numpy_prologue = rec.aux_tree, rec.n_aux, rec.numpy_prologue
    del rec  # (the closures below must not hold the graph)
    namespace: dict[str, Any] = {"np": np, "math": math, "C": consts}
    # the text was generated above from the package's own graph: primitive names,
    # numbers and references into C, never from user-supplied text
    exec(src, namespace)  # noqa: S102
    # The program does not keep its graph: the nodes hold every intermediate value of
    # the trace (14 times the input's bytes for Rosenbrock's function), and every full
    # run of the cycle collector would walk them for as long as the program lives.
    # The graph is recorded again, from copies of the example arguments, when asked for.
    examples = [x.copy() if isinstance(x, np.ndarray) else x for x in leaves]

    @functools.cache
    def graph() -> Graph:
        with paused_cycle_collector():
            again = _record_program(f, examples, tree, has_aux, entrywise).graph
            if not _same_program(python_source(again, "value_and_grad", fuse=True,
                                               scalar_math=True, release=True),
                                 (src, consts)):  # fmt: skip
                raise RuntimeError(
                    "gm.compile recorded a different program from the same arguments: the "
                    "function depends on something besides its arguments (a random draw, a "
                    "global variable); compile a function of its arguments alone"
                )
        return again

    @functools.cache
    def numpy_scalars() -> Callable[..., Any]:
        exact_src, exact_consts = python_source(graph(), "value_and_grad", fuse=True,
                                                release=True, prologue=numpy_prologue)  # fmt: skip
        exact_namespace: dict[str, Any] = {"np": np, "C": exact_consts}
        exec(exact_src, exact_namespace)  # noqa: S102 - the package's own graph, as above
        fn: Callable[..., Any] = exact_namespace["value_and_grad"]
        return fn

    return CompiledProgram(namespace["value_and_grad"], src, tree, aux_tree, n_aux, graph,
                           numpy_scalars)  # fmt: skip


class _Recording(NamedTuple):
    """A traced program's graph, with what the compiled program needs besides it."""

    graph: Graph
    aux_tree: Any
    n_aux: int
    numpy_prologue: list[str]  # the entrywise inputs' unpacking, as numpy scalars


def _record_program(f: Callable[..., Any], leaves: list[Any], tree: Any, has_aux: bool,
                    entrywise: bool) -> _Recording:  # fmt: skip
    """``f``'s value, gradient and auxiliary outputs recorded as one graph."""
    with recording_level() as level:
        inputs = [
            EntrywiseInput(x, level)
            if entrywise and _entrywise_candidate(x)
            else TraceNode(x, level)
            for x in leaves
        ]
        out, aux = split_aux(call_traced(f, unflatten(tree, inputs)), has_aux)
        out = pack(out)
        if np.size(out.value if isinstance(out, Node) else out) != 1:
            raise TypeError("gm.compile differentiates functions with a scalar output")
        aux_leaves, aux_tree = flatten(aux)
        aux_leaves = [_aux_output(a, level) for a in aux_leaves]
        cot = _symbolic_sweep(out) if isinstance(out, Node) and out._level == level else {}
        grads = [_gradient(x, cot, level) for x in inputs]
        outputs = [out, *grads, *aux_leaves]
        # (every sum is recorded in the level's table: a program without one, scalar
        # code, pays no schedule for the rewrite)
        if any(n.prim is reductions.sum_p for n in RECORDED[level].values()):
            inner_products(*schedule(outputs, inputs), outputs)
    graph_inputs: list[Any] = []
    names: list[str] = []
    prologue: list[str] = []  # entries as Python floats, and as numpy scalars
    numpy_prologue: list[str] = []
    for i, x in enumerate(inputs):
        name = f"x{i + 1}"
        if type(x) is not EntrywiseInput:
            graph_inputs.append(x)
            names.append(name)
        elif x.entries:
            read = sorted(x.entries)
            size = int(np.size(x._value))
            if _reads_most(read, x):  # all entries, the others to ``_``
                targets = [f"{name}_{k}" if k in x.entries else "_" for k in range(size)]
                picked = f"{name}.ravel()"
            else:  # a few of many: those alone (the source does not grow with the array)
                targets = [f"{name}_{k}" for k in read]
                at = f":{len(read)}" if read[-1] == len(read) - 1 else repr(read)
                picked = f"{name}.ravel()[{at}]"
            prologue.append(f"    {', '.join(targets)}, = {picked}.tolist()")
            numpy_prologue.append(f"    {', '.join(targets)}, = {picked}")
            graph_inputs += [x.entries[k] for k in read]
            names += [f"{name}_{k}" for k in read]
    graph = Graph(graph_inputs, outputs, names=names)
    graph.params = [f"x{i + 1}" for i in range(len(inputs))]
    graph.prologue = prologue
    graph.forward_size = graph.first_output_size
    return _Recording(graph, aux_tree, len(aux_leaves), numpy_prologue)


def _same_program(a: tuple[str, list[Any]], b: tuple[str, list[Any]]) -> bool:
    """Whether two emitted programs (source, constants) compute the same function."""
    (src_a, consts_a), (src_b, consts_b) = a, b
    return src_a == src_b and _same_constant(consts_a, consts_b)


def _same_constant(x: Any, y: Any, depth: int = 0) -> bool:
    """Equal constants of generated code: the same object, or equal values of one type
    (arrays entry by entry, NaN equal to NaN; sequences entry by entry; functions made
    by one ``def`` with equal defaults and closures, as rules make per call)."""
    if x is y:
        return True
    if type(x) is not type(y) or depth > 8:
        return False
    if isinstance(x, tuple | list):
        pairs = zip(x, y, strict=True) if len(x) == len(y) else None
        return pairs is not None and all(_same_constant(a, b, depth + 1) for a, b in pairs)
    if isinstance(x, np.ndarray | np.generic | float | complex):
        return np.shape(x) == np.shape(y) and bool(np.array_equal(x, y, equal_nan=True))
    if isinstance(x, types.FunctionType):
        cells = [tuple(c.cell_contents for c in f.__closure__ or ()) for f in (x, y)]
        return (x.__code__ is y.__code__
                and _same_constant(x.__defaults__, y.__defaults__, depth + 1)
                and _same_constant(cells[0], cells[1], depth + 1))  # fmt: skip
    if isinstance(x, functools.partial):
        return (_same_constant(x.func, y.func, depth + 1)
                and _same_constant(x.args, y.args, depth + 1)
                and _same_constant(x.keywords, y.keywords, depth + 1))  # fmt: skip
    if isinstance(x, dict):
        return x.keys() == y.keys() and all(_same_constant(x[k], y[k], depth + 1) for k in x)
    try:
        return bool(x == y)
    except (TypeError, ValueError):  # an object whose == is not a truth value
        return False


def _symbolic_sweep(out: Node) -> dict[int, Any]:
    """The reverse sweep over a recorded program: its cotangents, by node.

    Rules applied to constants are computed then, on Python floats (faster than numpy
    scalars), which raise where numpy answers with inf (a derivative ``1 / y`` at a
    constant ``y = 0``): the sweep then runs again from a numpy scalar seed.
    """
    try:
        return backward([(out, 1.0)])
    except ArithmeticError:
        return backward([(out, np.float64(1.0))])


def _aux_output(a: Any, level: int) -> Any:
    """An auxiliary output: a value of the program, or a constant (returned as it is)."""
    a = pack(a)
    if type(a) is EntrywiseInput:
        raise WholeArrayUse  # an input returned whole: trace it whole
    if isinstance(a, Tracer) and not (isinstance(a, TraceNode) and a._level == level):
        raise TypeError(f"gm.compile's auxiliary output holds a traced value of another "
                        f"transform ({a!r}): return plain values or the program's own")  # fmt: skip
    return a


def _reads_most(read: list[int], x: EntrywiseInput) -> bool:
    """Whether the program reads most of ``x``'s entries (unpacked and packed whole);
    else it takes the few it reads, and the source does not grow with the array."""
    return 2 * len(read) >= np.size(x._value)


def _gradient(x: Any, cot: dict[int, Any], level: int) -> Any:
    """The gradient of input ``x`` from the reverse sweep's cotangents, shaped like ``x``."""
    shape_ = np.shape(x._value)
    if type(x) is EntrywiseInput:
        # each entry read is an input of its own; entries never read have gradient 0
        read = sorted(x.entries)
        kwargs: dict[str, Any] = {"shape": shape_}
        if _reads_most(read, x):
            parts = [cot.get(id(x.entries[k]), 0.0) if k in x.entries else 0.0
                     for k in range(int(np.size(x._value)))]  # fmt: skip
        else:
            parts = [cot.get(id(x.entries[k]), 0.0) for k in read]
            kwargs["flat"] = np.array(read, dtype=np.intp)
        parents = tuple((k, p) for k, p in enumerate(parts) if isinstance(p, Node))
        value = shape.entries_p.impl(
            *(p._value if isinstance(p, Node) else p for p in parts), **kwargs
        )
        if not parents:
            return value
        return TraceNode(value, level, shape.entries_p, parts, kwargs, parents)
    g = cot.get(id(x))
    dtype = np.result_type(x._value)
    if g is None:
        return np.zeros(shape_, dtype)
    if np.shape(g.value if isinstance(g, Node) else g) != shape_:
        g = np.broadcast_to(g, shape_) + np.zeros(shape_, dtype)
    if np.result_type(g.value if isinstance(g, Node) else g) != dtype:
        # the argument's dtype, as eager mode gives (a float32 argument's gradient can
        # pick up float64 from the seed or a count)
        g = g.astype(dtype) if isinstance(g, Node) else np.asarray(g, dtype)
    return g


def compile(f: Callable[..., Any], *example_args: Any,  # noqa: A001
            has_aux: bool = False) -> CompiledFunction:  # fmt: skip
    """A fast ``value_and_grad`` of ``f`` built from generated Python source.

    Parameters
    ----------
    f : callable
        Scalar function of arrays, straight-line numpy code (no value-dependent
        ``if``/``while``).
    *example_args
        Optional examples: compile now (otherwise on the first call).  Calls
        with other shapes or dtypes re-trace and cache.
    has_aux : bool
        ``f`` returns a pair ``(output, aux)``: ``aux`` (arrays, or containers
        of them) is computed by the same program and returned, not
        differentiated, as with :func:`gradmix.value_and_grad`.

    Returns
    -------
    CompiledFunction
        ``(*args) -> (value, gradient)``, or ``((value, aux), gradient)`` with
        ``has_aux``; ``.source`` is the generated code.

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> vg = gm.compile(lambda x1, x2: x1 * x2 + np.sin(x1), 1.5, 2.0)
    >>> vg(1.5, 2.0)[1]
    (2.070737201667703, 1.5)
    """
    tune_allocator()  # the program's temporaries, like reverse mode's, reuse freed memory
    cf = CompiledFunction(f, has_aux)
    if example_args:
        cf.compile_for(*example_args)
    return cf
