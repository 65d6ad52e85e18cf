"""What :func:`gradmix.trace` and :func:`gradmix.compile` record: the traced program's nodes.

A :class:`TraceNode` records every primitive it meets as a node of a straight-line
program, at a level opened by :func:`recording_level`; an operation repeated at one
level (x·y from both sides of x·x's derivative) is recorded once.  While recording,
scalar arithmetic takes a fast path (:func:`scalar_infix`), and a few rewrites that
change no number are made (a scaling joined to another, a negation folded into a
constant, an identity dropped).  :class:`EntrywiseInput` is an array input read one
entry at a time (scalar code), each entry a scalar input of the program.

Only primitives whose derivative rules do not branch on values in Python are
recorded (:data:`COMPILABLE`); comparisons and the other choices by the values
that numpy expresses as operations are recorded with no derivative
(:meth:`TraceNode.process_nondiff`).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from gradmix.ad.dispatch import numpy_rule
from gradmix.ad.errors import PLAIN_ARRAY_INDEX, NotCompilableError
from gradmix.ad.reverse import Node, NodeArray, creation_numbers
from gradmix.ad.rules import elementwise, linalg, numerical, reductions, shape
from gradmix.ad.tracer import (
    LIVE_LEVELS,
    Primitive,
    Tracer,
    bind,
    new_level,
    strip,
)


def _p(f: Any) -> Primitive:
    p = numpy_rule(f)
    assert isinstance(p, Primitive)
    return p


# primitive -> infix operator or function name, as the generated source spells them
_OPS = {np.add: "+", np.subtract: "-", np.multiply: "*", np.true_divide: "/", np.power: "**"}
_FUNCS = ("exp", "log", "log2", "log10", "log1p", "expm1", "sqrt", "sin", "cos", "tan",
          "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh",
          "arctanh", "arctan2", "hypot")  # fmt: skip

INFIX = {_p(f): op for f, op in _OPS.items()}
FUNC = {_p(getattr(np, name)): name for name in _FUNCS}
UNARY_MINUS = _p(np.negative)
ADD, MULTIPLY, DIVIDE = _p(np.add), _p(np.multiply), _p(np.true_divide)

#: primitives whose rules depend on shapes only, never on values: safe to compile
COMPILABLE: set[Primitive] = set(INFIX) | set(FUNC) | {
    _p(f) for f in (np.negative, np.positive, np.square, np.reciprocal, np.cbrt, np.exp2,
                    np.deg2rad, np.rad2deg, np.conjugate, np.logaddexp, np.logaddexp2,
                    np.float_power)  # fmt: skip
} | {
    shape.getitem_p, shape.untake_p, shape.gather_p, shape.scatter_p, shape.reshape_p,
    shape.transpose_p, shape.broadcast_to_p, shape.linear_map_p, shape.trailing_map_p,
    shape.astype_p, shape.concatenate_p, shape.entries_p, shape.adds_at_p,
    elementwise.where_p, elementwise.select_p, elementwise.abs_p, reductions.sum_p,
    reductions.max_p, reductions.min_p, _p(np.maximum), _p(np.minimum), _p(np.fmax),
    _p(np.fmin),
    reductions.cumsum_p, reductions.prod_p, reductions.exclusive_products_p, linalg.matmul_p,
    linalg.einsum_p, linalg.solve_p, linalg.inv_p,
    linalg.det_p, linalg.cofactors_p, linalg.logabsdet_p, linalg.sign_det_p, linalg.cholesky_p,
} | elementwise.FORMULA_RULES | linalg.FORMULA_RULES | numerical.FORMULA_RULES  # fmt: skip

#: the refusal of complex values
COMPLEX_MESSAGE = (
    "gm.compile and gm.trace handle real values only; use eager gm.grad / gm.value_and_grad "
    "for complex ones"
)


#: per recording level, the operations recorded so far by what they compute, so that a
#: repeated one (x·y twice, from the two sides of x·x's derivative) is recorded once
RECORDED: dict[int, dict[Any, TraceNode]] = {}


@contextmanager
def recording_level() -> Iterator[int]:
    """A new level whose repeated operations are recorded once."""
    with new_level() as level:
        RECORDED[level] = {}
        try:
            yield level
        finally:
            del RECORDED[level]


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
    table = RECORDED.get(node._level)
    if key is not None and table is not None:
        table[key] = node
    return node


def _recorded(level: int, key: Any) -> TraceNode | None:
    table = RECORDED.get(level)
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
            raise WholeArrayUse
        if prim not in COMPILABLE:
            raise NotCompilableError(
                COMPLEX_MESSAGE if _complex_result(prim, args, kwargs) else
                f"{prim.name} cannot be compiled: its derivative depends on the values "
                "(or has no fixed program); use eager gm.grad / gm.value_and_grad"
            )  # fmt: skip
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
            raise NotCompilableError(COMPLEX_MESSAGE)
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
            raise WholeArrayUse
        lvl = self._level
        args = [_frozen(a) for a in args]
        key = _operation_key(prim, args, kwargs)
        done = _recorded(lvl, key)
        if done is not None:
            return done
        vals = [a._value if isinstance(a, Node) and a._level == lvl else strip(a) for a in args]
        ans = prim.impl(*vals, **kwargs)
        if np.iscomplexobj(ans):
            raise NotCompilableError(COMPLEX_MESSAGE)
        return _record(TraceNode(ans, lvl, prim, args, kwargs, ()), key)

    def rule_args(self) -> tuple[Any, Sequence[Any]]:
        return self, self.args


_SCALARS = (float, np.float64)
_EXACT_ON_FLOATS = {ADD: operator.add, _p(np.subtract): operator.sub, MULTIPLY: operator.mul}
_SCALAR_CONSTANTS = (float, np.float64, int)


def _complex_result(prim: Primitive, args: Sequence[Any], kwargs: dict[str, Any]) -> bool:
    """Whether ``prim`` gives complex values here (the reason to name when refusing it)."""
    try:
        return bool(np.iscomplexobj(prim.impl(*[strip(a) for a in args], **kwargs)))
    except Exception:  # noqa: BLE001 - only the message depends on it
        return False


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
        return None  # (the general path: its rule for the exponent is not one for scalars)
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
    table = RECORDED.get(lvl)
    done = None if table is None else table.get(key)
    if done is not None:
        return done
    va, vb = a._value if a_traced else a, b._value if b_traced else b
    exact = _EXACT_ON_FLOATS.get(prim) if type(va) is float and type(vb) is float else None
    # Python's own float arithmetic where it is numpy's to the bit and cannot raise (the
    # ufunc on two Python floats costs 20 times more); numpy's elsewhere (x / 0 is inf)
    ans = exact(va, vb) if exact is not None else prim.impl(va, vb)
    if type(ans) not in _SCALARS and np.iscomplexobj(ans):
        raise NotCompilableError(COMPLEX_MESSAGE)
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
    table = RECORDED.get(lvl)
    done = None if table is None else table.get(key)
    if done is not None:
        return done
    ans = prim.impl(x._value)
    if type(ans) not in _SCALARS and np.iscomplexobj(ans):
        raise NotCompilableError(COMPLEX_MESSAGE)
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


class WholeArrayUse(BaseException):
    """An :class:`EntrywiseInput` was used other than entry by entry: trace it whole.

    A BaseException, so that a user's ``except Exception`` cannot swallow it and
    have its fallback branch recorded as the program."""


class EntrywiseInput(TraceNodeArray):
    """An array input that the function reads one entry at a time (``x[i]``, scalar code).

    Each entry read becomes a scalar input of the program, unpacked to Python
    floats once at entry; its gradient is packed back into an array at the
    end.  Reading ``x[i]`` then costs what reading a list does, where a traced
    gather would cost a full-size scatter per read in the adjoint sweep.  Any
    other use of the array raises :class:`WholeArrayUse`, and :func:`compile`
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
            raise WholeArrayUse
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
