"""The tracer machinery every AD mode shares: primitives, levels, binding, tracers.

A :class:`Primitive` is one differentiable operation: a numpy implementation,
one JVP rule and one VJP maker per positional argument (registered with
:func:`gradmix.ad.core.defjvp` / :func:`~gradmix.ad.core.defvjp`).  Forward mode
(:mod:`gradmix.ad.forward`) reads the JVP rules, reverse mode
(:mod:`gradmix.ad.reverse`) the VJP makers.

Tracers are the values a transform feeds through user code.  Each carries a
*level*: every transform invocation gets a fresh, larger level, so an inner
transform's tracers always outrank the outer ones and perturbations of
different transforms never mix.  :func:`bind` hands an operation to the
highest-level tracer among its arguments; that tracer unwraps its own level
and calls :func:`bind` again on the rest, so nesting works to any depth.  A
new transform is a :class:`Tracer` subclass with a ``process`` method
(:mod:`gradmix.ad.sparsity` is one, in one module).

numpy reaches the tracers through their ``__array_ufunc__`` and
``__array_function__``, which look the function up in :mod:`gradmix.ad.dispatch`.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from gradmix.ad.dispatch import (
    NUMPY,
    UFUNC_ACCUMULATE,
    UFUNC_REDUCE,
    no_rule_error,
    numpy_name,
    reject_out,
)
from gradmix.ad.errors import NoDerivativeRuleError, NotCompilableError, TracerConversionError
from gradmix.ad.pytree import flatten, unflatten

__all__ = [
    "EntryTracers", "LIVE_LEVELS", "Primitive", "PerArgRules", "SequenceMethods", "TracedDType",
    "Tracer", "bind", "ndim_of",
    "new_level", "pack", "reads_values", "records_choices", "strip", "constant",
    "stop_gradient_p",
]  # fmt: skip


def reads_values(what: str, *xs: Any) -> None:
    """Raise if ``what`` is about to read the values of a value being traced to a program.

    Sorting, ``argmax``, rounding, casting to integers and indexing with
    traced indices choose their result by the values.  Eager transforms see
    fresh values at every call, but a traced program (:func:`gradmix.compile`)
    would freeze the choice made at the trace point and silently return the
    wrong value and gradient elsewhere; so there they are an error.
    """
    for x in xs:
        x = pack(x)
        while isinstance(x, Tracer):
            if x.fixed_program:
                raise x.reads_values_error(what)
            x = x.value


JvpRule = Callable[..., Any]
VjpMaker = Callable[..., Callable[[Any], Any]]


class Primitive:
    """One differentiable operation: implementation plus derivative rules.

    Parameters
    ----------
    impl : callable
        The numpy implementation, called on plain values.
    name : str, optional
        Name used in error messages and generated code.
    elementwise : bool
        True for broadcasting operations (ufunc-like).  The machinery then
        broadcasts tangents to the output shape and sums cotangents back to
        each argument's shape, so rules can be written for equal shapes.
    batched : bool
        True when every JVP rule accepts tangents with leading batch axes
        (several directions at once).  Otherwise forward mode with batched
        tangents calls the rule once per direction.
    nondiff : bool
        True for operations whose output is piecewise constant (comparisons,
        ``sign``, ``floor``): they run on the stripped values and return plain
        arrays.

    Notes
    -----
    Complex values follow one convention inside the machinery: a VJP maps the
    output cotangent ``g`` to the input cotangent under the pairing
    ``Re(sum(a * b))`` (no conjugate).  For a holomorphic function the VJP is
    then ``g * f'(z)``, the JVP rule applied to ``g``, so an elementwise
    primitive's JVP rule serves reverse mode too (``self_adjoint``).  Where it
    does not (``abs``, ``imag``, ``angle``) the primitive says so and registers
    its own VJP.
    """

    __slots__ = (
        "impl", "name", "jvps", "vjps", "jvp_joint", "vjp_into", "elementwise", "batched",
        "nondiff", "self_adjoint", "pytree_args", "selects", "scales_cotangent",
    )  # fmt: skip

    def __init__(
        self,
        impl: Callable[..., Any],
        name: str | None = None,
        *,
        elementwise: bool = False,
        batched: bool = False,
        nondiff: bool = False,
    ) -> None:
        self.impl = impl
        self.name = name or getattr(impl, "__name__", repr(impl))
        self.jvps: dict[int, JvpRule | None] = {}
        self.vjps: dict[int, VjpMaker | None] = {}
        # optional rule seeing all tangents at once (None where untraced), for
        # operations like concatenate whose per-argument rules would each
        # build a mostly-zero output
        self.jvp_joint: JvpRule | None = None
        # optional fast path of reverse mode for argument 0: add the cotangent
        # straight into an accumulator the backward pass owns,
        # ``vjp_into(buffer | None, g, ans, *args, **kwargs) -> buffer | None``
        # (None: not applicable, use the VJP maker)
        self.vjp_into: Callable[..., Any] | None = None
        self.elementwise = elementwise
        self.batched = batched
        self.nondiff = nondiff
        # elementwise JVP rule applied to a cotangent is the VJP (see Notes)
        self.self_adjoint = elementwise
        # a user's primitive: traced values may sit inside tuple/list/dict arguments
        self.pytree_args = False
        # passes some operand entries and drops others (np.where, np.fmax): a dropped
        # NaN entry gets cotangent 0, which reverse mode keeps from turning into NaN
        # upstream (see gradmix.ad.reverse.backward)
        self.selects = False
        # arguments whose elementwise rule multiplies the cotangent by a constant
        # (x + y, x - y): reverse mode sums a broadcast cotangent down to the
        # argument's shape first, so the rule runs on the smaller array
        self.scales_cotangent: frozenset[int] = frozenset()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return bind(self, args, kwargs)

    def vjp_maker(self, argnum: int) -> VjpMaker | None:
        """The VJP maker for argument ``argnum``: the registered one, or for a
        ``self_adjoint`` primitive its JVP rule applied to the cotangent (None: no rule)."""
        maker = self.vjps.get(argnum)
        if maker is not None or not self.self_adjoint:
            return maker
        rule = self.jvps.get(argnum)
        if rule is None:
            return None

        def from_jvp(ans: Any, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
            return lambda g: rule(g, ans, *args, **kwargs)

        return from_jvp

    def __repr__(self) -> str:
        return f"<gradmix primitive {self.name}>"

    def missing_rule(self, argnum: int, mode: str) -> NoDerivativeRuleError:
        return NoDerivativeRuleError(
            f"gradmix has no {mode} rule for {self.name} with respect to argument "
            f"{argnum}; register one with gm.def{'jvp' if mode == 'JVP' else 'vjp'}"
            f"({self.name}, ...) or keep that argument out of the differentiated path"
        )


#: the identity with no derivative: :func:`constant` inside a recorded program
stop_gradient_p = Primitive(lambda x: x, "stop_gradient", nondiff=True)


class PerArgRules(dict[int, Any]):
    """Rule table of a variadic primitive: the rule for argument i is made on demand."""

    def __init__(self, factory: Callable[[int], Any]) -> None:
        super().__init__()
        self.factory = factory

    def get(self, i: int, default: Any = None) -> Any:
        return self.factory(i)


_levels = itertools.count(1)
#: levels of the transforms running now (0: dual numbers built by hand, always live); a
#: tracer whose level is not here escaped its transform
LIVE_LEVELS: set[int] = {0}


#: per level handed out by :func:`new_level`, its tracers that keep the entries they
#: handed out (:class:`EntryTracers`); the caches are dropped when the level ends
_ENTRY_CACHES: dict[int, list[Any]] = {}


@contextlib.contextmanager
def new_level() -> Iterator[int]:
    """A fresh transform level, larger than every level handed out before, live inside
    the ``with`` block: a tracer of it used afterwards has escaped its transform.

    On leaving it, the tracers of the level forget the entries they handed out: a
    reverse-mode node and the entry nodes that read it refer to each other, and such a
    cycle would keep the node and everything before it (its arrays included) alive
    until Python's cycle collector next runs."""
    level = next(_levels)
    LIVE_LEVELS.add(level)
    _ENTRY_CACHES[level] = []
    try:
        yield level
    finally:
        LIVE_LEVELS.discard(level)
        for tracer in _ENTRY_CACHES.pop(level, ()):
            del tracer._entries


def _escaped(tracer: Tracer) -> TracerConversionError:
    return TracerConversionError(
        f"a traced value escaped the transform that made it ({tracer!r}) and was used "
        "after that transform finished (stored in a list, a global or a closure?); "
        "return it from the function instead, or keep its .value"
    )


def bind(prim: Primitive, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """Apply ``prim`` to ``args``, letting the highest-level tracer handle it."""
    if prim.pytree_args and _nested_tracers(prim, args, kwargs):
        return _bind_flat(prim, args, kwargs)
    top: Tracer | None = None
    for a in args:
        if isinstance(a, Tracer):
            if top is None or a._level > top._level:
                top = a
        elif isinstance(a, np.ndarray) and a.dtype == object:
            return bind(prim, [pack(x) for x in args], kwargs)
    if top is None:
        return prim.impl(*args, **kwargs)
    if top._level not in LIVE_LEVELS:
        raise _escaped(top)
    if prim.nondiff:
        return top.process_nondiff(prim, args, kwargs)
    return top.process(prim, args, kwargs)


def _has_tracer(x: Any) -> bool:
    if isinstance(x, Tracer):
        return True
    if isinstance(x, tuple | list):
        return any(_has_tracer(e) for e in x)
    if isinstance(x, dict):
        return any(_has_tracer(e) for e in x.values())
    return False


def _nested_tracers(prim: Primitive, args: Sequence[Any], kwargs: dict[str, Any]) -> bool:
    """Traced values inside containers?  (Traced keyword arguments are an error: a
    rule is registered per positional argument, and none may be bypassed.)"""
    if kwargs and any(_has_tracer(v) for v in kwargs.values()):
        names = ", ".join(k for k, v in kwargs.items() if _has_tracer(v))
        raise TypeError(
            f"traced values passed by keyword ({names}) to the primitive {prim.name} would "
            "bypass its derivative rules: pass them positionally"
        )
    return any(isinstance(a, tuple | list | dict) and _has_tracer(a) for a in args)


# (primitive, argument structure) -> the primitive taking the flattened leaves
_FLAT: dict[tuple[int, Any], Primitive] = {}


def _bind_flat(prim: Primitive, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """A user's primitive called with traced values inside containers: bind its
    flattened version, whose rules call the user's rules with whole containers."""
    leaves, tree = flatten(tuple(args))
    key = (id(prim), tree)
    flat = _FLAT.get(key)
    if flat is None:
        flat = _FLAT[key] = _flattened(prim, tree, [len(flatten(a)[0]) for a in args])
    return bind(flat, leaves, kwargs)


def _flattened(prim: Primitive, tree: Any, counts: list[int]) -> Primitive:
    owner = [(i, k) for i, n in enumerate(counts) for k in range(n)]

    def impl(*leaves: Any, **kwargs: Any) -> Any:
        return prim.impl(*unflatten(tree, list(leaves)), **kwargs)

    def jvp_maker(j: int) -> Any:
        i, k = owner[j]

        def rule(g: Any, ans: Any, *leaves: Any, **kwargs: Any) -> Any:
            user = prim.jvps.get(i)
            if user is None:
                raise prim.missing_rule(i, "JVP")
            full = unflatten(tree, list(leaves))
            parts, sub = flatten(full[i])
            zeros = [g if m == k else np.zeros_like(strip(p)) for m, p in enumerate(parts)]
            return user(unflatten(sub, zeros), ans, *full, **kwargs)

        return rule

    def vjp_maker(j: int) -> Any:
        i, k = owner[j]

        def maker(ans: Any, *leaves: Any, **kwargs: Any) -> Callable[[Any], Any]:
            user = prim.vjps.get(i)
            if user is None:
                raise prim.missing_rule(i, "VJP")
            full = unflatten(tree, list(leaves))
            pull = user(ans, *full, **kwargs)
            return lambda g: flatten(pull(g))[0][k]

        return maker

    flat = Primitive(impl, prim.name)
    flat.jvps = PerArgRules(jvp_maker)
    flat.vjps = PerArgRules(vjp_maker)
    return flat


def records_choices(*xs: Any) -> bool:
    """Whether a program is being recorded under any of ``xs`` (a level with
    ``records_choices`` anywhere in its tower): a choice by their values (``argmax``,
    ``argsort``, a traced index) is then an operation of that program."""
    for x in xs:
        p = pack(x)
        while isinstance(p, Tracer):
            if p.records_choices:
                return True
            p = p.value
    return False


def constant(x: Any) -> Any:
    """``x`` as a constant of differentiation, for derivative rules that choose by the
    values (which entry is the maximum, the sign of ``x``): its plain value, or, in a
    program being recorded (``records_choices``), an operation of that program that
    recomputes the value at every call and passes no derivative."""
    p = pack(x)
    return bind(stop_gradient_p, (p,), {}) if records_choices(p) else strip(p)


def strip(x: Any) -> Any:
    """The plain value under any number of tracer levels."""
    while isinstance(x, Tracer):
        x = x.value
    if isinstance(x, np.ndarray) and x.dtype == object:
        return strip(pack(x))
    return x


def pack(x: Any) -> Any:
    """Turn an object array of traced scalars (from ``np.array([...])``) into one tracer."""
    if not (isinstance(x, np.ndarray) and x.dtype == object):
        return x
    if not any(isinstance(e, Tracer) for e in x.flat):
        plain = np.asarray(x.tolist())
        return plain if plain.dtype.kind in "fc" else plain.astype(float)
    flat = [e for e in x.flat]
    # np.stack reaches the registered rule through the tracers' __array_function__
    return np.stack(flat, axis=0).reshape(x.shape) if flat else np.zeros(x.shape)


class Tracer:
    """Base class of traced values (dual numbers, graph nodes).

    Implements numpy's dispatch protocols and Python's operators, so user code
    written against ``numpy`` runs unchanged.  Subclasses provide ``value``,
    ``_level`` and :meth:`process`.
    """

    __slots__ = ("_level",)
    __array_priority__ = 1000.0
    _level: int
    #: True for tracers whose result must hold at other points than this one (a program
    #: replayed by :func:`gradmix.compile`, a global sparsity pattern): nothing may read
    #: their values
    fixed_program = False
    #: True for tracers that record a program (:func:`gradmix.compile`): value-dependent
    #: choices (comparisons, ``np.where``'s condition, which entry is the maximum) become
    #: operations of that program, recomputed at every call with no derivative
    records_choices = False

    def reads_values_error(self, what: str) -> Exception:
        """The error for ``what`` reading the values of a ``fixed_program`` tracer."""
        return NotCompilableError(
            f"{what} decides by the values of a traced array, so it cannot be part "
            "of a fixed program (the choice made at the trace point would be "
            "replayed at every other point): use eager gm.grad / gm.value_and_grad"
        )

    @property
    def value(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def process(self, prim: Primitive, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
        raise NotImplementedError  # pragma: no cover - overridden

    def process_nondiff(self, prim: Primitive, args: Sequence[Any],
                        kwargs: dict[str, Any]) -> Any:  # fmt: skip
        """Piecewise-constant operations (comparisons, sign, floor): a plain result, or,
        over a program being recorded, that program's operation (a constant here)."""
        if records_choices(*args):
            lvl = self._level
            return bind(prim, [a.value if isinstance(a, Tracer) and a._level == lvl else a
                               for a in args], kwargs)  # fmt: skip
        reads_values(str(prim.name), *args)
        return prim.impl(*[strip(a) for a in args], **kwargs)

    # numpy protocols -------------------------------------------------------
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if kwargs:
            reject_out(kwargs, ufunc)
            kwargs.pop("out", None)
        if method == "__call__":
            impl = NUMPY.get(ufunc)
            if impl is None:
                raise no_rule_error(ufunc)
            for k in kwargs:
                if k not in ("dtype", "casting"):
                    raise TypeError(
                        f"gradmix: keyword {k!r} of {numpy_name(ufunc)} is not supported "
                        "on traced values"
                    )
            out = impl(*inputs)
            dtype = kwargs.get("dtype")
            return out if dtype is None else out.astype(dtype)
        table = {"reduce": UFUNC_REDUCE, "accumulate": UFUNC_ACCUMULATE}.get(method)
        impl = table.get(ufunc) if table is not None else None
        if impl is None:
            raise no_rule_error(ufunc, f".{method}")
        return impl(*inputs, **kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        impl = NUMPY.get(func)
        if impl is None:
            raise no_rule_error(func)
        reject_out(kwargs, func)
        kwargs = {k: v for k, v in kwargs.items() if k != "out"}
        return impl(*args, **kwargs)

    # conversions that would drop the derivative -----------------------------
    def _conversion_error(self, what: str) -> TracerConversionError:
        return TracerConversionError(
            f"{what} of a traced value would drop its derivative (math.* functions, "
            "float(), int() and writing it into a numpy array do this); use the numpy "
            "function instead (np.sin, not math.sin), or take .value outside the transform"
        )

    def __float__(self) -> float:
        raise self._conversion_error("float()")

    def __int__(self) -> int:
        raise self._conversion_error("int()")

    def __complex__(self) -> complex:
        raise self._conversion_error("complex()")

    def __index__(self) -> int:
        raise self._conversion_error("using as an index")

    def __bool__(self) -> bool:
        reads_values("value-dependent Python control flow (if/while on a traced value)", self)
        return bool(strip(self))

    def item(self, *args: Any) -> Any:
        raise self._conversion_error(".item()")

    def tolist(self) -> Any:
        raise self._conversion_error(".tolist()")

    def __setitem__(self, key: Any, value: Any) -> None:
        raise TracerConversionError(
            "in-place assignment into a traced array (x[i] = v) would drop derivatives; "
            "build a new array instead, e.g. np.where(mask, v, x) or np.concatenate"
        )

    def __hash__(self) -> int:
        return id(self)

    # array attributes -------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return np.shape(strip(self))

    @property
    def ndim(self) -> int:
        return np.ndim(strip(self))

    @property
    def size(self) -> int:
        return int(np.size(strip(self)))

    @property
    def dtype(self) -> Any:
        return _traced_dtype(np.result_type(strip(self)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.value!r}, level={self._level})"

    # ndarray-style methods ---------------------------------------------------
    def __neg__(self) -> Any:
        return NUMPY[np.negative](self)

    def __pos__(self) -> Any:
        return self

    def __abs__(self) -> Any:
        return np.abs(self)

    def __round__(self, ndigits: int | None = None) -> Any:
        # a scalar's round(), as numpy's float64 has it (its derivative is 0 wherever it
        # has one); numpy's arrays have none
        if self.ndim:
            raise TypeError(f"type {type(strip(self)).__name__} doesn't define __round__ "
                            "method; use np.round")  # fmt: skip
        x: Any = self
        return np.round(x, 0 if ndigits is None else ndigits)

    def reshape(self, *shape: Any, order: Any = "C") -> Any:
        if len(shape) == 1 and isinstance(shape[0], tuple | list):
            shape = tuple(shape[0])
        return np.reshape(self, shape, order=order)  # type: ignore[call-overload]

    def transpose(self, *axes: Any) -> Any:
        if len(axes) == 1 and isinstance(axes[0], tuple | list):
            axes = tuple(axes[0])
        x: Any = self
        return np.transpose(x, axes or None)

    def astype(self, dtype: Any, **kwargs: Any) -> Any:
        return NUMPY["astype"](self, dtype)

    def sort(self, *args: Any, **kwargs: Any) -> None:
        raise TracerConversionError(
            "x.sort() sorts in place, which would drop derivatives; use x = np.sort(x)"
        )

    def flatten(self, order: Any = "C") -> Any:
        x: Any = self
        return np.ravel(x, order=order)

    def copy(self) -> Any:
        return self

    @property
    def T(self) -> Any:  # noqa: N802
        x: Any = self
        return np.transpose(x)

    @property
    def real(self) -> Any:
        x: Any = self
        return np.real(x)

    @property
    def imag(self) -> Any:
        x: Any = self
        return np.imag(x)

    if TYPE_CHECKING:  # attached by _make_methods below

        def __add__(self, other: Any) -> Any: ...
        def __radd__(self, other: Any) -> Any: ...
        def __sub__(self, other: Any) -> Any: ...
        def __rsub__(self, other: Any) -> Any: ...
        def __mul__(self, other: Any) -> Any: ...
        def __rmul__(self, other: Any) -> Any: ...
        def __truediv__(self, other: Any) -> Any: ...
        def __rtruediv__(self, other: Any) -> Any: ...
        def __pow__(self, other: Any) -> Any: ...
        def __rpow__(self, other: Any) -> Any: ...
        def __matmul__(self, other: Any) -> Any: ...
        def __rmatmul__(self, other: Any) -> Any: ...
        def sum(self, *args: Any, **kwargs: Any) -> Any: ...


class TracedDType:
    """The ``dtype`` of a traced value: the numpy dtype in every respect but one.

    numpy's own code on object arrays (``np.mean([a, b])``) finishes with
    ``result.dtype.type(result)``; this ``.type`` hands tracers through
    unchanged instead of converting them to a float, which would drop the
    derivative.  numpy accepts the object wherever it takes a dtype (it reads
    the ``.dtype`` attribute).
    """

    __slots__ = ("dtype",)

    def __init__(self, dtype: np.dtype[Any]) -> None:
        self.dtype = dtype

    def __getattr__(self, name: str) -> Any:
        return getattr(self.dtype, name)

    @property
    def type(self) -> type:
        return _passthrough_scalar(self.dtype.type)

    def __eq__(self, other: object) -> bool:
        return bool(self.dtype == (other.dtype if isinstance(other, TracedDType) else other))

    def __hash__(self) -> int:
        return hash(self.dtype)

    def __repr__(self) -> str:
        return repr(self.dtype)

    def __str__(self) -> str:
        return str(self.dtype)


_PASSTHROUGH: dict[type, type] = {}


def _passthrough_scalar(scalar: type) -> type:
    if scalar not in _PASSTHROUGH:

        def __new__(cls: type, value: Any = 0, *args: Any) -> Any:  # noqa: N807
            return value if isinstance(value, Tracer) else scalar(value, *args)

        _PASSTHROUGH[scalar] = type(scalar.__name__, (scalar,), {"__new__": __new__})
    return _PASSTHROUGH[scalar]


def _traced_dtype(dt: np.dtype[Any]) -> TracedDType:
    return TracedDType(dt)


class SequenceMethods:
    """Indexing, ``len`` and iteration, for tracers of arrays with ``ndim >= 1``.

    Scalar tracers deliberately lack them: numpy treats any object with
    ``__getitem__`` as a sequence, and would then report writing a traced
    scalar into an array as a confusing shape error instead of our own.
    """

    __slots__ = ()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        # without this numpy would build an object array of traced scalars, one per
        # entry: slow, and library code (scipy's Python functions) then fails far
        # from the cause or silently computes on objects.  (Scalar tracers have no
        # __array__: np.array([a, b]) of traced scalars is how users build vectors.)
        if "index_tricks" in sys._getframe(1).f_code.co_filename:
            raise TracerConversionError(
                "np.r_ and np.c_ convert their pieces to numpy arrays, which would drop "
                "the derivative: join traced arrays with np.concatenate, np.hstack, "
                "np.column_stack or np.stack"
            )
        raise TracerConversionError(
            "converting a traced array to a numpy array (np.asarray, np.array([...]) of "
            "traced arrays, or a library function that does so, such as scipy.special."
            "logsumexp or polygamma, scipy.stats or scipy.signal) would drop its derivative: "
            "use numpy functions, np.stack to join traced arrays, gm.logsumexp, and the "
            "differentiable versions in gradmix.scipy (special, stats, signal)"
        )

    def __getitem__(self, idx: Any) -> Any:
        return NUMPY["getitem"](self, idx)

    def __len__(self) -> int:
        return self.shape[0]  # type: ignore[attr-defined]

    @property
    def flat(self) -> Any:
        return NUMPY["flat"](self)

    def __iter__(self) -> Any:
        for i in range(len(self)):
            yield self[i]


class EntryTracers(SequenceMethods):
    """Indexing that keeps one tracer per entry read by an integer index.

    Scalar code reads entries one at a time, often each several times: one
    node or dual number per entry, not per read.  Subclasses give the
    ``_entries`` slot (a mixin's slots would clash with the tracer's).
    """

    __slots__ = ()
    _entries: dict[int, Any]

    def __getitem__(self, idx: Any) -> Any:
        if type(idx) is not int:
            return NUMPY["getitem"](self, idx)
        entries: dict[int, Any]
        try:
            entries = self._entries
        except AttributeError:
            entries = {}
            self._entries = entries  # type: ignore[misc]  # (the subclass's slot)
            caches = _ENTRY_CACHES.get(self._level)  # type: ignore[attr-defined]
            if caches is not None:
                caches.append(self)
        tracer = entries.get(idx)
        if tracer is None:
            tracer = entries[idx] = NUMPY["getitem"](self, idx)
        return tracer


def ndim_of(x: Any) -> int:
    """``np.ndim`` without dispatch overhead."""
    if type(x) is float:
        return 0
    nd = getattr(x, "ndim", None)
    return nd if nd is not None else np.ndim(x)


_NO_KWARGS: dict[str, Any] = {}


def _make_methods() -> None:
    """Python operators and ndarray-style methods, routed through numpy."""
    binary = {
        "add": np.add,
        "sub": np.subtract,
        "mul": np.multiply,
        "truediv": np.true_divide,
        "floordiv": np.floor_divide,
        "mod": np.remainder,
        "pow": np.power,
        "matmul": np.matmul,
    }
    for name, uf in binary.items():
        # straight to the registered primitive: skips numpy's dispatch machinery,
        # which dominates the cost of scalar code

        def fwd(self: Any, other: Any, _f: Any = uf) -> Any:
            p = NUMPY[_f]
            return bind(p, (self, other), _NO_KWARGS) if type(p) is Primitive else p(self, other)

        def rev(self: Any, other: Any, _f: Any = uf) -> Any:
            p = NUMPY[_f]
            return bind(p, (other, self), _NO_KWARGS) if type(p) is Primitive else p(other, self)

        setattr(Tracer, f"__{name}__", fwd)
        setattr(Tracer, f"__r{name}__", rev)
    compare = {
        "lt": np.less,
        "le": np.less_equal,
        "gt": np.greater,
        "ge": np.greater_equal,
        "eq": np.equal,
        "ne": np.not_equal,
    }
    for name, uf in compare.items():

        def cmp(self: Any, other: Any, _f: Any = uf) -> Any:
            return _f(self, other)

        setattr(Tracer, f"__{name}__", cmp)

    methods = {
        "sum": np.sum,
        "mean": np.mean,
        "prod": np.prod,
        "max": np.max,
        "min": np.min,
        "var": np.var,
        "std": np.std,
        "cumsum": np.cumsum,
        "cumprod": np.cumprod,
        "ravel": np.ravel,
        "squeeze": np.squeeze,
        "swapaxes": np.swapaxes,
        "dot": np.dot,
        "clip": np.clip,
        "trace": np.trace,
        "diagonal": np.diagonal,
        "repeat": np.repeat,
        "round": np.round,
        "conj": np.conjugate,
        "conjugate": np.conjugate,
    }
    for name, f in methods.items():

        def meth(self: Any, *args: Any, _f: Any = f, **kwargs: Any) -> Any:
            return _f(self, *args, **kwargs)

        meth.__name__ = name
        setattr(Tracer, name, meth)

    # elementwise methods that numpy's object-dtype loops call on elements, so
    # np.exp(np.array([tracer, tracer])) works too
    for name in (
        "exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tan", "arcsin", "arccos",
        "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "log2", "log10",
        "exp2", "square", "cbrt", "reciprocal",
    ):  # fmt: skip
        uf = getattr(np, name)

        def elem(self: Any, _f: Any = uf) -> Any:
            return _f(self)

        setattr(Tracer, name, elem)


_make_methods()
