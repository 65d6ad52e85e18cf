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
be compiled (see :data:`COMPILABLE`).  Choices by the values that numpy
expresses as operations — comparisons, ``np.where``'s condition, which entry
is the maximum, the sign in ``abs``, ``argmax`` and ``argsort`` and the
indices they give (so ``np.sort``, ``np.median``) — are recorded as operations
of the program with no derivative, so they are recomputed at every call, as
JAX's ``jit`` does.  Python control flow on traced values (``if x > 0:``) and
results whose shape depends on the values (``x[x > 0]``, ``np.nonzero``) raise
an error that points to eager :func:`gradmix.grad`.
"""

from __future__ import annotations

import collections
import functools
import itertools
import math
import operator
import types
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

import numpy as np

from gradmix.ad.allocator import paused_cycle_collector, tune_allocator
from gradmix.ad.dispatch import numpy_rule
from gradmix.ad.errors import PLAIN_ARRAY_INDEX, NotCompilableError, call_traced
from gradmix.ad.inner_products import inner_products
from gradmix.ad.pytree import flatten, split_aux, unflatten
from gradmix.ad.reverse import Node, NodeArray, backward, creation_numbers
from gradmix.ad.rules import elementwise, linalg, numerical, reductions, shape
from gradmix.ad.tracer import (
    LIVE_LEVELS,
    Primitive,
    Tracer,
    bind,
    new_level,
    pack,
    stop_gradient_p,
    strip,
)

__all__ = ["Graph", "trace", "compile", "CompiledProgram", "COMPILABLE", "NotCompilableError"]


def _p(f: Any) -> Primitive:
    p = numpy_rule(f)
    assert isinstance(p, Primitive)
    return p


# primitive -> (infix operator or function name); scalar code uses math.*
_OPS = {np.add: "+", np.subtract: "-", np.multiply: "*", np.true_divide: "/", np.power: "**"}
_FUNCS = ("exp", "log", "log2", "log10", "log1p", "expm1", "sqrt", "sin", "cos", "tan",
          "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh",
          "arctanh", "arctan2", "hypot")  # fmt: skip
_MATH = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh",
         "arccosh": "acosh", "arctanh": "atanh", "arctan2": "atan2"}  # fmt: skip

INFIX = {_p(f): op for f, op in _OPS.items()}
FUNC = {_p(getattr(np, name)): name for name in _FUNCS}
UNARY_MINUS = _p(np.negative)
ADD, MULTIPLY, DIVIDE = _p(np.add), _p(np.multiply), _p(np.true_divide)

#: primitives whose rules depend on shapes only, never on values: safe to compile
COMPILABLE: set[Primitive] = set(INFIX) | set(FUNC) | {
    _p(f) for f in (np.negative, np.positive, np.square, np.reciprocal, np.cbrt, np.exp2,
                    np.deg2rad, np.rad2deg, np.conjugate, np.logaddexp, np.logaddexp2)  # fmt: skip
} | {
    shape.getitem_p, shape.untake_p, shape.gather_p, shape.scatter_p, shape.reshape_p,
    shape.transpose_p, shape.broadcast_to_p, shape.linear_map_p, shape.trailing_map_p,
    shape.astype_p, shape.concatenate_p, shape.entries_p, shape.adds_at_p,
    elementwise.where_p, elementwise.select_p, elementwise.abs_p, reductions.sum_p,
    reductions.max_p, reductions.min_p, _p(np.maximum), _p(np.minimum), _p(np.fmax),
    _p(np.fmin),
    reductions.cumsum_p, linalg.matmul_p, linalg.einsum_p, linalg.solve_p, linalg.inv_p,
    linalg.det_p, linalg.logabsdet_p, linalg.sign_det_p, linalg.cholesky_p,
} | elementwise.FORMULA_RULES | linalg.FORMULA_RULES | numerical.FORMULA_RULES  # fmt: skip


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

_COMPLEX = (
    "gm.compile and gm.trace handle real values only; use eager gm.grad / gm.value_and_grad "
    "for complex ones"
)


#: per recording level, the operations recorded so far by what they compute, so that a
#: repeated one (x·y twice, from the two sides of x·x's derivative) is recorded once
_RECORDED: dict[int, dict[Any, TraceNode]] = {}


@contextmanager
def _recording() -> Iterator[int]:
    """A new level whose repeated operations are recorded once."""
    with new_level() as level:
        _RECORDED[level] = {}
        try:
            yield level
        finally:
            del _RECORDED[level]


def _operand_key(a: Any) -> Any:
    # a node or an array by identity (the table's nodes keep them alive, so ids stay
    # unique); plain values by type and value; TypeError for anything else
    if isinstance(a, Node) or type(a) is np.ndarray:
        return (0, id(a))
    if isinstance(a, tuple | list):
        return (1, type(a), tuple(map(_operand_key, a)))
    if isinstance(a, slice):
        return (2, _operand_key(a.start), _operand_key(a.stop), _operand_key(a.step))
    hash(a)
    return (3, type(a), a)


def _operation_key(prim: Primitive, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """What an operation computes, as a dictionary key, or None where that is unclear."""
    try:
        return (prim, tuple(map(_operand_key, args)),
                tuple((k, _operand_key(v)) for k, v in sorted(kwargs.items())))  # fmt: skip
    except TypeError:
        return None


def _record(node: TraceNode, key: Any) -> TraceNode:
    table = _RECORDED.get(node._level)
    if key is not None and table is not None:
        table[key] = node
    return node


def _recorded(level: int, key: Any) -> TraceNode | None:
    table = _RECORDED.get(level)
    return None if key is None or table is None else table.get(key)


class TraceNode(Node):
    """A graph node recorded for source transformation: no value-dependent branching."""

    __slots__ = ()
    fixed_program = True
    records_choices = True

    def __new__(cls, value: Any, *args: Any, **kwargs: Any) -> TraceNode:
        return object.__new__(TraceNodeArray if np.ndim(value) else cls)

    def process(self, prim: Primitive, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
        if len(args) == 2 and not kwargs and prim in INFIX:
            done = _scalar_infix(self._level, prim, args[0], args[1])
            if done is not None:
                return done
        elif len(args) == 1 and args[0] is self and not kwargs and _records_scalar(self, prim):
            return _scalar_function(self, prim)
        if any(type(a) is EntrywiseInput for a in args):
            raise _WholeArrayUse
        if prim not in COMPILABLE:
            raise NotCompilableError(
                f"{prim.name} cannot be compiled: its derivative depends on the values "
                "(or has no fixed program); use eager gm.grad / gm.value_and_grad"
            )
        lvl = self._level
        args = [_frozen(a) for a in args]
        kwargs = {k: _frozen(v) for k, v in kwargs.items()}
        vals = list(args)
        parents = []
        for i, a in enumerate(args):
            if isinstance(a, Node) and a._level == lvl:
                vals[i] = a._value
                # an integer operand (an index chosen by argmax) is read, not differentiated
                if np.result_type(a._value).kind in "fc":
                    parents.append((i, a))
        if prim is _p(np.power) and any(i == 1 for i, _ in parents):
            raise NotCompilableError(
                "x ** y with a traced exponent cannot be compiled; write np.exp(y * np.log(x))"
            )
        folded = _identity_fold(prim, args, lvl)
        if folded is None:
            folded = _sign_fold(prim, args, lvl)
        if folded is None and prim is MULTIPLY and len(args) == 2:
            folded = _scalings_joined(args[0], args[1], lvl)
        if folded is None:
            folded = _scale_after_product(prim, args, kwargs, lvl)
        if folded is None:
            folded = _sum_before_product(prim, args, kwargs, lvl)
        if folded is None and prim is ADD and args[0] is args[1] and isinstance(args[0], NodeArray):
            folded = args[0] * 2.0  # x + x: one scaling, which can move past a product
        if folded is not None:
            return folded
        key = _operation_key(prim, args, kwargs)
        done = _recorded(lvl, key)
        if done is not None:
            return done
        ans = bind(prim, vals, kwargs)
        if np.iscomplexobj(ans):
            raise NotCompilableError(_COMPLEX)
        # keep the symbolic arguments: the reverse sweep then records its rules too
        return _record(TraceNode(ans, lvl, prim, list(args), kwargs, tuple(parents)), key)

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        # np.sin(x) of a scalar straight to its node: the general way goes through four
        # calls (the dispatch, the primitive, bind, process) before the same one
        prim = _SCALAR_UFUNCS.get(ufunc)
        if (
            prim is not None
            and len(inputs) == 1
            and inputs[0] is self
            and method == "__call__"
            and not kwargs
            and self._level in LIVE_LEVELS
            and _records_scalar(self, prim)
        ):
            return _scalar_function(self, prim)
        return super().__array_ufunc__(ufunc, method, *inputs, **kwargs)

    def __neg__(self) -> Any:
        if self._level in LIVE_LEVELS and _records_scalar(self, UNARY_MINUS):
            return _scalar_function(self, UNARY_MINUS)
        return super().__neg__()

    def process_nondiff(self, prim: Primitive, args: Sequence[Any],
                        kwargs: dict[str, Any]) -> Any:  # fmt: skip
        """A comparison, ``sign``, ``isnan``, ``stop_gradient``, ...: an operation of the
        program (recomputed at every call) with no derivative, so no parents."""
        if any(type(a) is EntrywiseInput for a in args):
            raise _WholeArrayUse
        lvl = self._level
        args = [_frozen(a) for a in args]
        key = _operation_key(prim, args, kwargs)
        done = _recorded(lvl, key)
        if done is not None:
            return done
        vals = [a._value if isinstance(a, Node) and a._level == lvl else strip(a) for a in args]
        ans = prim.impl(*vals, **kwargs)
        if np.iscomplexobj(ans):
            raise NotCompilableError(_COMPLEX)
        return _record(TraceNode(ans, lvl, prim, args, kwargs, ()), key)

    def rule_args(self) -> tuple[Any, Sequence[Any]]:
        return self, self.args


_SCALARS = (float, np.float64)
_EXACT_ON_FLOATS = {ADD: operator.add, _p(np.subtract): operator.sub, MULTIPLY: operator.mul}
_SCALAR_CONSTANTS = (float, np.float64, int)


def _scalar_infix(lvl: int, prim: Primitive, a: Any, b: Any) -> TraceNode | None:
    """What :meth:`TraceNode.process` gives for an infix operator on scalars (traced
    scalars of this level, or number constants), without its general path's per-call
    costs, which made tracing scalar code 20 µs an operation; None for anything else."""
    ta, tb = type(a), type(b)
    a_traced = ta is TraceNode and a._level == lvl and type(a._value) in _SCALARS
    b_traced = tb is TraceNode and b._level == lvl and type(b._value) in _SCALARS
    if not ((a_traced or ta in _SCALAR_CONSTANTS) and (b_traced or tb in _SCALAR_CONSTANTS)):
        return None
    op = INFIX[prim]
    if b_traced and op == "**":
        return None  # the general path refuses a traced exponent
    if not b_traced and ((b == 1 and op in ("*", "/", "**")) or (b == 0 and op in ("+", "-"))):
        return a
    if not a_traced and ((a == 1 and op == "*") or (a == 0 and op == "+")):
        return b
    if (prim is MULTIPLY or prim is DIVIDE) and (
        (a_traced and a.prim is UNARY_MINUS) or (b_traced and b.prim is UNARY_MINUS)
    ):
        folded = _sign_fold(prim, (a, b), lvl)
        if folded is not None:
            return folded
    if prim is ADD and a is b:  # x + x: one scaling, which can join another (x·x's derivative)
        return _scalar_infix(lvl, MULTIPLY, a, 2.0)
    if prim is MULTIPLY and (a_traced and a.prim is MULTIPLY or b_traced and b.prim is MULTIPLY):
        folded = _scalings_joined(a, b, lvl)
        if folded is not None:
            return folded
    # (never equal to the general path's keys, which no operation on these types takes)
    key = (prim, id(a) if a_traced else (ta, a), id(b) if b_traced else (tb, b))
    table = _RECORDED.get(lvl)
    done = None if table is None else table.get(key)
    if done is not None:
        return done
    va, vb = a._value if a_traced else a, b._value if b_traced else b
    exact = _EXACT_ON_FLOATS.get(prim) if type(va) is float and type(vb) is float else None
    # Python's own float arithmetic where it is numpy's to the bit and cannot raise (the
    # ufunc on two Python floats costs 20 times more); numpy's elsewhere (x / 0 is inf)
    ans = exact(va, vb) if exact is not None else prim.impl(va, vb)
    if type(ans) not in _SCALARS and np.iscomplexobj(ans):
        raise NotCompilableError(_COMPLEX)
    # the node built in place (Node's constructor, inlined: its call cost a fifth here)
    node = object.__new__(TraceNode)
    node._value, node._level, node.prim, node.args, node.kwargs = ans, lvl, prim, [a, b], {}
    node.parents = (
        ((0, a), (1, b)) if a_traced and b_traced else ((0, a),) if a_traced else ((1, b),)
    )
    node._seq = next(creation_numbers)
    if table is not None:
        table[key] = node
    return node


#: one-argument functions whose scalar case :func:`_scalar_function` records
_SCALAR_FUNCTIONS = {prim for prim, name in FUNC.items() if name not in ("arctan2", "hypot")}
_SCALAR_UFUNCS = {getattr(np, FUNC[prim]): prim for prim in _SCALAR_FUNCTIONS}


def _records_scalar(x: Any, prim: Primitive) -> bool:
    """Whether :func:`_scalar_function` records ``prim(x)``: a one-argument function of a
    traced scalar, or its negation unless it is a product (which the general path may
    fold: :func:`_sign_fold`)."""
    return (
        type(x) is TraceNode
        and type(x._value) in _SCALARS
        and (prim in _SCALAR_FUNCTIONS or prim is UNARY_MINUS and x.prim is not MULTIPLY)
    )


def _scalar_function(x: TraceNode, prim: Primitive) -> TraceNode:
    """What :meth:`TraceNode.process` gives for ``sin``, ``exp``, ``-`` ... of a traced scalar
    (a node, recorded once, under the general path's key), without its per-call costs."""
    lvl = x._level
    key = (prim, ((0, id(x)),), ())
    table = _RECORDED.get(lvl)
    done = None if table is None else table.get(key)
    if done is not None:
        return done
    ans = prim.impl(x._value)
    if type(ans) not in _SCALARS and np.iscomplexobj(ans):
        raise NotCompilableError(_COMPLEX)
    node = object.__new__(TraceNode)
    node._value, node._level, node.prim, node.args, node.kwargs = ans, lvl, prim, [x], {}
    node.parents = ((0, x),)
    node._seq = next(creation_numbers)
    if table is not None:
        table[key] = node
    return node


def _traced_operator(name: str, prim: Primitive, reflected: bool) -> Callable[[Any, Any], Any]:
    """TraceNode's Python operator ``name`` (``__mul__``, ``__rsub__``, ...): scalar code
    goes straight to :func:`_scalar_infix`, skipping the general way's four calls
    (the operator, :func:`bind`, :meth:`TraceNode.process`); anything else goes that way."""
    general = getattr(Tracer, name)

    def method(self: Any, other: Any) -> Any:
        lvl = self._level
        if lvl in LIVE_LEVELS:
            a, b = (other, self) if reflected else (self, other)
            done = _scalar_infix(lvl, prim, a, b)
            if done is not None:
                return done
        return general(self, other)

    method.__name__ = method.__qualname__ = name
    return method


for _name, _uf in (("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                   ("truediv", np.true_divide), ("pow", np.power)):  # fmt: skip
    for _method in (f"__{_name}__", f"__r{_name}__"):
        setattr(TraceNode, _method, _traced_operator(_method, _p(_uf), _method.startswith("__r")))


def _frozen(a: Any) -> Any:
    """A captured array as it is now: the program must not see later changes to it
    (the value and the gradient would then come from different arrays)."""
    if type(a) is np.ndarray and a.flags.writeable:
        a = a.copy()
        a.flags.writeable = False
    return a


def _is_scalar_const(v: Any, c: float) -> bool:
    return (
        not isinstance(v, Tracer)
        and np.ndim(v) == 0
        and isinstance(v, int | float | np.number)
        and float(v) == c
    )


def _is_neutral(v: Any, c: float, other: TraceNode) -> bool:
    """Whether constant ``v`` is ``c`` and combining it with ``other`` changes neither
    its shape nor its dtype: a scalar, or an array of ``c`` (the cotangent a sum hands
    back, broadcast) that broadcasts into ``other`` and does not widen its dtype."""
    if _is_scalar_const(v, c):
        return True
    value = other._value
    if not (type(v) is np.ndarray and v.dtype.kind in "fi" and v.size and
            type(value) is np.ndarray and np.result_type(v, value) == value.dtype):  # fmt: skip
        return False
    try:
        if np.broadcast_shapes(v.shape, value.shape) != value.shape:
            return False
    except ValueError:
        return False
    single = v.size == 1 or not any(v.strides)  # one value, perhaps broadcast
    return bool(v.flat[0] == c) if single else bool(np.all(v == c))


def _is_traced(a: Any, lvl: int, prim: Primitive) -> bool:
    return isinstance(a, TraceNode) and a._level == lvl and a.prim is prim


def _sign_fold(prim: Primitive, args: Sequence[Any], lvl: int) -> Any:
    """(-a)·c, c·(-a), (-a)/c and -(a·c) for a constant c of one entry are a·(-c) and
    a/(-c): the same numbers (negation is exact), and the negation's pass over ``a`` is
    left with no reader (a subtraction's cotangent, scaled)."""
    if prim is UNARY_MINUS:
        (a,) = args
        if _is_traced(a, lvl, MULTIPLY):
            x, c = a.args
            if _one_number(c) and isinstance(x, TraceNode):
                return x * -c
            if _one_number(x) and isinstance(c, TraceNode):
                return c * -x
        return None
    if len(args) != 2 or prim not in (MULTIPLY, DIVIDE):
        return None
    a, b = args
    if _is_traced(a, lvl, UNARY_MINUS) and _one_number(b):
        return a.args[0] * -b if prim is MULTIPLY else a.args[0] / -b
    if prim is MULTIPLY and _is_traced(b, lvl, UNARY_MINUS) and _one_number(a):
        return b.args[0] * -a
    return None


def _scalings_joined(a: Any, b: Any, lvl: int) -> Any:
    """(x·c₁)·c₂ for constants of one entry, one of them a power of two, is x·(c₁c₂):
    the same numbers (the product of the constants is exact), one pass over x fewer
    (a square's derivative, 2·g, of a scaled cotangent)."""
    scaled, c2 = (b, a) if type(a) is float else (a, b)
    if type(c2) is float and type(scaled) is TraceNode and scaled.prim is MULTIPLY:
        # scalar code, the case below without its general tests (a tenth of tracing it)
        x, c1 = scaled.args
        if type(x) is float:
            x, c1 = c1, x
        if (
            type(c1) is float
            and type(x) is TraceNode
            and x._level == lvl
            and type(x._value) is float
        ):
            joined = c1 * c2
            if (
                (_power_of_two(c2) or _power_of_two(c1))  # (c2: x + x's 2, most often)
                and math.isfinite(joined)
                and (joined == 0.0 or abs(joined) >= _SMALLEST_NORMAL)
            ):
                return _scalar_infix(lvl, MULTIPLY, x, joined)
            return None
    for scaled, c2 in ((a, b), (b, a)):
        if not (_one_number(c2) and _is_traced(scaled, lvl, MULTIPLY)):
            continue
        for x, c1 in (scaled.args, scaled.args[::-1]):
            if not (_one_number(c1) and isinstance(x, TraceNode)):
                continue
            joined = c1 * c2  # (Python numbers stay Python numbers: weak in numpy's casts)
            product = _entry(joined)
            if (
                (_power_of_two(_entry(c1)) or _power_of_two(_entry(c2)))
                and math.isfinite(product)
                and (product == 0.0 or abs(product) >= _SMALLEST_NORMAL)
                and (
                    type(joined) is float
                    and type(x._value) is float  # (scalar code's)
                    or np.result_type(x._value, joined) == np.result_type(scaled._value, c2)
                )
            ):
                return x * joined
    return None


_SMALLEST_NORMAL = float(np.finfo(np.float64).tiny)


def _entry(v: Any) -> float:
    """The one entry of a number or an array of one entry."""
    if type(v) is float or type(v) is int:
        return float(v)
    return float(v) if np.ndim(v) == 0 else float(np.reshape(v, -1)[0])


def _one_number(v: Any) -> bool:
    """A number constant, or a float array of one entry (a reduction's cotangent)."""
    return _is_scalar(v) or (type(v) is np.ndarray and v.size == 1 and v.dtype.kind == "f")


def _scale_after_product(prim: Primitive, args: Sequence[Any], kwargs: dict[str, Any],
                         lvl: int) -> Any:  # fmt: skip
    """(c·a) @ b and a @ (c·b) are (a @ b)·c, and Σ c·a is c·Σ a, for a power of two c
    (exact either way): the scaling then runs over the product or the sum where that is
    the smaller array (the subtraction's cotangent, scaled by the 2 of |x - c|², before
    a product with x)."""
    if prim is reductions.sum_p and len(args) == 1 and _is_traced(args[0], lvl, MULTIPLY):
        known = _sum_already_made(args[0], kwargs, lvl)
        if known is not None:
            return known
        x, c = args[0].args
        if _is_scalar(x):
            x, c = c, x
        if _is_scalar(c) and isinstance(x, TraceNode) and _power_of_two(float(c)):
            return bind(prim, (x,), kwargs) * c
        return None
    if prim is not linalg.matmul_p or len(args) != 2:
        return None
    shapes = [np.shape(strip(a)) for a in args]
    if min(map(len, shapes)) < 2:
        return None
    out_size = math.prod(np.broadcast_shapes(shapes[0][:-2], shapes[1][:-2])) * \
        shapes[0][-2] * shapes[1][-1]  # fmt: skip
    for k, operand in enumerate(args):
        if not _is_traced(operand, lvl, MULTIPLY) or math.prod(shapes[k]) <= out_size:
            continue
        x, c = operand.args
        if _is_scalar(x):
            x, c = c, x
        if _is_scalar(c) and isinstance(x, TraceNode) and _power_of_two(float(c)):
            a, b = (x, args[1]) if k == 0 else (args[0], x)
            return (a @ b) * c
    return None


def _sum_already_made(product: TraceNode, kwargs: dict[str, Any], lvl: int) -> Any:
    """Σ c·x, where ``c`` is constant along the summed axes, is c·Σ x: where the program
    already sums ``x`` over the same axes (a softmax's sum in a log-sum-exp's
    derivative), a pass over memory saved.  The same sum in another rounding, so equal
    to eager mode's to rounding."""
    axes = kwargs["axes"]
    for x, c in (product.args, product.args[::-1]):
        if not (isinstance(x, TraceNode) and x._level == lvl):
            continue
        shape = np.shape(x._value)
        kept = tuple(1 if i in axes else n for i, n in enumerate(shape))
        c_shape = np.shape(strip(c))
        if (
            shape != np.shape(product._value)
            or len(c_shape) > len(shape)
            or any(
                n != 1 and (i in axes or n != shape[i])
                for i, n in enumerate(c_shape, len(shape) - len(c_shape))
            )
        ):
            continue  # c is not constant along the summed axes
        for keep in (True, False):
            key = _operation_key(reductions.sum_p, [x], {"axes": axes, "keepdims": keep})
            made: Any = _recorded(lvl, key)
            if made is not None:
                total = (made if keep else np.reshape(made, kept)) * c
                return (
                    total
                    if kwargs["keepdims"]
                    else np.reshape(total, tuple(n for i, n in enumerate(shape) if i not in axes))
                )
    return None


def _sum_before_product(prim: Primitive, args: Sequence[Any], kwargs: dict[str, Any],
                        lvl: int) -> Any:  # fmt: skip
    """Σ over the rows of a @ b is (Σ of a's rows) @ b, and over its columns a @ (Σ of
    b's columns): a product with one row or column instead of a full one and a pass
    over it (the mean's cotangent in a mixture: the per-point cotangent times the
    precision factor, summed over the points).  The same sum in another order, so
    equal to eager mode's to rounding, not bit for bit."""
    if prim is not reductions.sum_p or len(args) != 1:
        return None
    (m,) = args
    if not _is_traced(m, lvl, linalg.matmul_p):
        return None
    a, b = m.args
    nd = np.ndim(m._value)
    if min(np.ndim(strip(a)), np.ndim(strip(b))) < 2 or kwargs["axes"] not in (
        (nd - 2,),
        (nd - 1,),
    ):
        return None
    if kwargs["axes"] == (nd - 2,):
        out = np.sum(a, axis=-2, keepdims=True) @ b
    else:
        out = a @ np.sum(b, axis=-1, keepdims=True)
    return out if kwargs["keepdims"] else np.squeeze(out, axis=kwargs["axes"][0])


def _power_of_two(c: Any) -> bool:
    return c != 0 and math.isfinite(c) and math.frexp(abs(c))[0] == 0.5


def _is_scalar(v: Any) -> bool:
    return type(v) in _SCALAR_CONSTANTS


def _identity_fold(prim: Primitive, args: Sequence[Any], lvl: int) -> Any:
    """x·1, 1·x, x+0, 0+x, x-0, x/1 and x**1 are x (for constants that change neither
    shape nor dtype: :func:`_is_neutral`)."""
    if len(args) != 2 or prim not in INFIX:
        return None
    a, b = args
    op = INFIX[prim]
    traced_a = isinstance(a, TraceNode) and a._level == lvl
    traced_b = isinstance(b, TraceNode) and b._level == lvl
    if traced_a and op in ("*", "/", "**") and _is_neutral(b, 1.0, a):
        return a
    if traced_a and op in ("+", "-") and _is_neutral(b, 0.0, a):
        return a
    if traced_b and op == "*" and _is_neutral(a, 1.0, b):
        return b
    if traced_b and op == "+" and _is_neutral(a, 0.0, b):
        return b
    return None


class TraceNodeArray(TraceNode, NodeArray):
    """A :class:`TraceNode` holding an array."""

    __slots__ = ()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if np.result_type(self._value).kind in "iu":  # an index
            raise NotCompilableError(PLAIN_ARRAY_INDEX)
        return super().__array__(dtype, copy)


class _WholeArrayUse(BaseException):
    """An :class:`EntrywiseInput` was used other than entry by entry: trace it whole.

    A BaseException, so that a user's ``except Exception`` cannot swallow it and
    have its fallback branch recorded as the program."""


class EntrywiseInput(TraceNodeArray):
    """An array input that the function reads one entry at a time (``x[i]``, scalar code).

    Each entry read becomes a scalar input of the program, unpacked to Python
    floats once at entry; its gradient is packed back into an array at the
    end.  Reading ``x[i]`` then costs what reading a list does, where a traced
    gather would cost a full-size scatter per read in the adjoint sweep.  Any
    other use of the array raises :class:`_WholeArrayUse`, and :func:`compile`
    traces the function again with the array as one input.
    """

    __slots__ = ("entries",)

    def __new__(cls, value: Any, *args: Any, **kwargs: Any) -> EntrywiseInput:
        return object.__new__(cls)

    def __init__(self, value: Any, level: int) -> None:
        super().__init__(value, level)
        self.entries: dict[int, TraceNode] = {}

    def __getitem__(self, idx: Any) -> Any:
        shape = self._value.shape
        if type(idx) is int and len(shape) == 1 and -shape[0] <= idx < shape[0]:
            # x[i] of a vector, the common read in scalar code, without the general checks
            node = self.entries.get(idx % shape[0])
            return self._entry(idx % shape[0]) if node is None else node
        idx = idx if isinstance(idx, tuple) else (idx,)
        ints = all(isinstance(i, int | np.integer) and not isinstance(i, bool) for i in idx)
        if len(idx) != len(shape) or not ints:
            raise _WholeArrayUse
        for i, n in zip(idx, shape, strict=True):
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for an axis of size {n}")
        pos = tuple(int(i) % n for i, n in zip(idx, shape, strict=True))
        return self._entry(int(np.ravel_multi_index(pos, shape)))

    def _entry(self, flat: int) -> TraceNode:
        """The scalar input for the entry at flat position ``flat`` (one per entry)."""
        node = self.entries.get(flat)
        if node is None:
            # (a float's node, built directly: TraceNode's constructor asks numpy its ndim)
            node = self.entries[flat] = object.__new__(TraceNode)
            Node.__init__(node, float(self._value.flat[flat]), self._level)
        return node


class Graph:
    """A traced straight-line program.

    Attributes
    ----------
    inputs : list of TraceNode
    outputs : list of TraceNode or constants
    nodes : list of TraceNode
        Every recorded application reachable from the outputs, in execution order.
    dependencies : list of list of TraceNode
        The values each of ``nodes`` reads, in argument order.
    """

    def __init__(self, inputs: list[Any], outputs: list[Any], names: list[str] | None = None,
                 out_names: list[str] | None = None) -> None:  # fmt: skip
        self.inputs = inputs
        self.outputs = outputs
        self.input_names = names or [f"x{i + 1}" for i in range(len(inputs))]
        self.output_names = out_names
        # the generated function's parameters and first lines, where they differ from
        # the inputs (arrays unpacked entry by entry, see EntrywiseInput)
        self.params = list(self.input_names)
        self.prologue: list[str] = []
        sizes: list[int] = []
        self.nodes, self.dependencies = _schedule(outputs, inputs, sizes)
        # for a compiled graph: how many of `nodes` belong to the forward sweep
        self.forward_size = len(self.nodes)
        #: how many of `nodes` the first output needs (they come first)
        self.first_output_size = sizes[0] if sizes else 0

    def __len__(self) -> int:
        return len(self.nodes)

    def names(self) -> dict[int, str]:
        """Variable names by node id: the inputs' own, then w1, w2, ... as in the lecture."""
        return node_names(self)

    @staticmethod
    def label(node: Node) -> str:
        """The operation a node applies, as it reads in the source (``*``, ``sin``)."""
        return node_label(node)

    def source(self, name: str = "f", fuse: bool = False) -> str:
        """The program as readable Python, one statement per primitive (``w3 = x1 * x2``)."""
        return _emit(self, name, fuse=fuse)[0]

    def to_dot(self) -> str:
        """Graphviz text of the computational graph (inputs, operations, outputs)."""
        names = node_names(self)
        lines = ["digraph G {", "  rankdir=LR;", '  node [shape=box, fontname="monospace"];']
        for node, nm in zip(self.inputs, self.input_names, strict=True):
            lines.append(f'  "{nm}" [shape=ellipse];')
            names[id(node)] = nm
        for node, deps in zip(self.nodes, self.dependencies, strict=True):
            nm = names[id(node)]
            label = f"{nm} = {node_label(node)}"
            lines.append(f'  "{nm}" [label="{label}"];')
            for parent in deps:
                lines.append(f'  "{names[id(parent)]}" -> "{nm}";')
        for k, out in enumerate(self.outputs):
            if isinstance(out, Node) and id(out) in names:
                lines.append(f'  "out{k}" [shape=doublecircle, label="output {k}"];')
                lines.append(f'  "{names[id(out)]}" -> "out{k}";')
        lines.append("}")
        return "\n".join(lines)


def node_label(node: Node) -> str:
    """The operation a traced node applies, as it reads in the source (``*``, ``sin``)."""
    prim = node.prim
    assert prim is not None
    return INFIX.get(prim) or FUNC.get(prim) or str(prim.name).replace("np.", "")


def _dependencies(node: Node) -> list[Node]:
    """The nodes ``node`` reads: its recorded arguments, the differentiable parents among
    them (a comparison's operands and an integer index are read without a derivative)."""
    return [a for a in node.args if isinstance(a, Node) and a._level == node._level]


def _schedule(outputs: list[Any], inputs: list[Any],
              sizes: list[int] | None = None) -> tuple[list[Node], list[list[Node]]]:  # fmt: skip
    """Nodes reachable from the outputs, in an order where parents come first (those of
    each output after the earlier outputs'; ``sizes`` gets the count after each), and
    each one's :func:`_dependencies` (inlined: its call was a third of the time here)."""
    seen: set[int] = {id(n) for n in inputs}
    order: list[Node] = []
    order_deps: list[list[Node]] = []
    for out in outputs:
        # (node, None): to visit; (node, its dependencies): its parents are scheduled
        stack: list[tuple[Node, list[Node] | None]] = [(out, None)] if isinstance(out, Node) else []
        while stack:
            node, deps = stack.pop()
            if deps is not None:
                order.append(node)
                order_deps.append(deps)
                continue
            nid = id(node)
            if nid in seen:
                continue
            seen.add(nid)
            lvl = node._level
            deps = [a for a in node.args if isinstance(a, Node) and a._level == lvl]
            stack.append((node, deps))
            for parent in reversed(deps):
                if id(parent) not in seen:
                    stack.append((parent, None))
        if sizes is not None:
            sizes.append(len(order))
    return order, order_deps


def node_names(graph: Graph) -> dict[int, str]:
    """Variable names by node id: the inputs' own, then w1, w2, ... as in the lecture."""
    names = {id(n): nm for n, nm in zip(graph.inputs, graph.input_names, strict=True)}
    k = len(graph.inputs)
    for node in graph.nodes:
        k += 1
        names[id(node)] = f"w{k}"
    return names


def _emit(graph: Graph, fname: str, fuse: bool, scalar_math: bool = False, release: bool = False,
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
            raise NotCompilableError(_COMPLEX)
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
    with _recording() as level:
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
            except _WholeArrayUse:
                pass
        return _build_traced(f, leaves, tree, has_aux, entrywise=False)


def _build_traced(f: Callable[..., Any], leaves: list[Any], tree: Any, has_aux: bool,
                  entrywise: bool) -> CompiledProgram:  # fmt: skip
    rec = _record_program(f, leaves, tree, has_aux, entrywise)
    src, consts = _emit(rec.graph, "value_and_grad", fuse=True, scalar_math=True, release=True)
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
            if not _same_program(_emit(again, "value_and_grad", fuse=True, scalar_math=True,
                                       release=True), (src, consts)):  # fmt: skip
                raise RuntimeError(
                    "gm.compile recorded a different program from the same arguments: the "
                    "function depends on something besides its arguments (a random draw, a "
                    "global variable); compile a function of its arguments alone"
                )
        return again

    @functools.cache
    def numpy_scalars() -> Callable[..., Any]:
        exact_src, exact_consts = _emit(graph(), "value_and_grad", fuse=True, release=True,
                                        prologue=numpy_prologue)  # fmt: skip
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
    with _recording() as level:
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
        if any(n.prim is reductions.sum_p for n in _RECORDED[level].values()):
            inner_products(*_schedule(outputs, inputs), outputs)
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
        raise _WholeArrayUse  # an input returned whole: trace it whole
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
