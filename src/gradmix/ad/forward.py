"""Forward mode: dual numbers ``x + ẋ·d`` with ``d² = 0``.

A :class:`Dual` carries a primal value and a tangent.  The tangent may carry
one leading *batch* axis of directions, ``tangent.shape == (B,) + shape``:
the lecture's "more dual components" ``x + ẋ₁d₁ + … + ẋ_B d_B`` with
``dᵢdⱼ = 0``, which lets :func:`gradmix.jacfwd` build a whole Jacobian in one
sweep.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gradmix.ad.broadcasting import shape_of
from gradmix.ad.dispatch import NUMPY
from gradmix.ad.tracer import LIVE_LEVELS, EntryTracers, Primitive, Tracer, bind, ndim_of

__all__ = ["Dual"]

USER_LEVEL = 0  # Duals built by hand share one level below every transform's
_new = object.__new__


def _contains_tracer(x: Any) -> bool:
    return isinstance(x, Tracer) or (
        isinstance(x, np.ndarray)
        and x.dtype == object
        and any(isinstance(e, Tracer) for e in x.flat)
    )


class Dual(Tracer):
    """A dual number (or array of them): ``primal + tangent·d``.

    Parameters
    ----------
    primal : float or ndarray, shape S
        The value.
    tangent : float or ndarray, shape S or (B,) + S
        The derivative part; a leading axis of length B carries B directions
        at once (``x + ẋ₁d₁ + … + ẋ_B d_B``).

    Examples
    --------
    The lecture's dual program for f(x1, x2) = x1·x2 + sin(x1), seeded for ∂f/∂x2:

    >>> import numpy as np, gradmix as gm
    >>> x1, x2 = gm.Dual(1.5, 0.0), gm.Dual(2.0, 1.0)
    >>> w5 = x1 * x2 + np.sin(x1)
    >>> float(w5.tangent)
    1.5
    """

    __slots__ = ("primal", "tangent", "_nb")

    def __new__(cls, primal: Any, *args: Any, **kwargs: Any) -> Dual:
        return object.__new__(DualArray if ndim_of(primal) else cls)

    def __init__(
        self, primal: Any, tangent: Any, _level: int | None = None, _nb: int | None = None
    ):
        if _level is None:
            if _contains_tracer(primal) or _contains_tracer(tangent):
                raise TypeError(
                    "gm.Dual(...) by hand takes plain values; inside a transform use gm.jvp"
                )
            _level = USER_LEVEL
            if not isinstance(primal, np.ndarray) or primal.dtype.kind not in "fc":
                primal = np.asarray(primal, dtype=np.result_type(primal, 1.0))
                if primal.ndim == 0:
                    primal = primal[()]
            tangent = np.asarray(tangent, dtype=np.result_type(primal))
            extra = tangent.ndim - np.ndim(primal)
            if extra not in (0, 1) or tangent.shape[extra:] != np.shape(primal):
                raise ValueError(
                    f"tangent shape {tangent.shape} must equal the primal shape "
                    f"{np.shape(primal)}, optionally with one leading axis of directions"
                )
            if tangent.ndim == 0:
                tangent = tangent[()]
            _nb = extra
        self.primal = primal
        self.tangent = tangent
        self._level = _level
        self._nb = 0 if _nb is None else _nb

    @property
    def value(self) -> Any:
        return self.primal

    def __repr__(self) -> str:
        return f"Dual({self.primal!r}, {self.tangent!r})"

    def process(self, prim: Primitive, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
        lvl, nb = self._level, self._nb
        primals = list(args)
        seeded: list[tuple[int, Any]] = []
        # any tracer of an outer transform (or in a container) left among the arguments?
        nested = prim.pytree_args
        for i, a in enumerate(args):
            if isinstance(a, Dual) and a._level == lvl:
                if a._nb != nb:
                    raise ValueError("dual numbers with different numbers of directions were mixed")
                p = primals[i] = a.primal
                seeded.append((i, a.tangent))
                if isinstance(p, Tracer):
                    nested = True
            elif isinstance(a, Tracer) or (type(a) is np.ndarray and a.dtype == object):
                nested = True
        ans = bind(prim, primals, kwargs) if nested else prim.impl(*primals, **kwargs)
        out_shape = shape_of(ans)
        if prim.jvp_joint is not None:
            tangents: list[Any] = [None] * len(args)
            for i, g in seeded:
                tangents[i] = g
            return Dual(ans, prim.jvp_joint(tangents, ans, *primals, **kwargs), lvl, nb)
        out: Any = None
        for i, g in seeded:
            rule = prim.jvps.get(i)
            if rule is None:
                raise prim.missing_rule(i, "JVP")
            if prim.elementwise:
                if nb:
                    g = _expand_batched(g, len(out_shape))
                t = rule(g, ans, *primals, **kwargs)
            elif nb and not prim.batched:
                t = np.stack([rule(g[b], ans, *primals, **kwargs) for b in range(len(g))])
            else:
                t = rule(g, ans, *primals, **kwargs)
            out = t if out is None else out + t
        if prim.elementwise:
            got = shape_of(out)
            full = (got[0],) + out_shape if nb else out_shape
            if got != full:
                out = np.broadcast_to(out, full)
        if type(ans) is np.float64:  # the constructor's two calls, skipped for scalars
            dual = _new(Dual)
            dual.primal, dual.tangent, dual._level, dual._nb = ans, out, lvl, nb
            return dual
        return Dual(ans, out, lvl, nb)


class DualArray(EntryTracers, Dual):
    """A :class:`Dual` holding an array (indexable, iterable; one dual number per entry
    read by an integer index)."""

    __slots__ = ("_entries",)


def _scalar_operator(
    name: str, uf: np.ufunc, op: Callable[[Any, Any], Any], reflected: bool
) -> Callable[[Any, Any], Any]:
    """Dual's Python operator ``name`` (``__mul__``, ``__rsub__``, ...).

    Scalar code is operators on real scalars at one live level: the primal by
    Python's operator (on a numpy scalar it computes what the ufunc ``uf``
    does, as the primitive's own implementation chooses), the tangent by the
    primitive's JVP rules, in one call where the general way (the operator,
    :func:`bind` twice, :meth:`Dual.process`, the constructor) takes six.  The
    tangents may carry a batch axis: with scalar primals the rules broadcast
    over it.  Anything else goes the general way.
    """
    general = getattr(Tracer, name)

    def method(self: Any, other: Any) -> Any:
        pa = self.primal
        ta, to = type(pa), type(other)
        if type(self) is Dual and (ta is np.float64 or ta is float):
            lvl = self._level
            if to is Dual:
                pb = other.primal
                tb = type(pb)
                if other._level != lvl or other._nb != self._nb or \
                        (tb is not np.float64 and tb is not float):  # fmt: skip
                    return general(self, other)
                seeded = 2
            elif to is float or to is np.float64 or to is int:
                pb, tb, seeded = other, to, 1
            else:
                return general(self, other)
            p = NUMPY[uf]
            if type(p) is Primitive and p.jvp_joint is None and lvl in LIVE_LEVELS:
                primals = [pb, pa] if reflected else [pa, pb]
                if ta is np.float64 or tb is np.float64:
                    ans = op(*primals)
                else:  # two Python numbers: numpy's semantics (inf, nan), not Python's
                    ans = p.impl(*primals)
                jvps = p.jvps
                i = 1 if reflected else 0  # self's position
                rule = jvps.get(i)
                if rule is not None and type(ans) is np.float64:
                    t = rule(self.tangent, ans, *primals)
                    if seeded == 2:
                        rule_b = jvps.get(1 - i)
                        if rule_b is None:
                            return general(self, other)
                        t = t + rule_b(other.tangent, ans, *primals)
                    dual = _new(Dual)
                    dual.primal, dual.tangent, dual._level, dual._nb = ans, t, lvl, self._nb
                    return dual
        return general(self, other)

    method.__name__ = method.__qualname__ = name
    return method


for _name, _uf, _op in (("add", np.add, operator.add), ("sub", np.subtract, operator.sub),
                        ("mul", np.multiply, operator.mul),
                        ("truediv", np.true_divide, operator.truediv),
                        ("pow", np.power, operator.pow)):  # fmt: skip
    setattr(Dual, f"__{_name}__", _scalar_operator(f"__{_name}__", _uf, _op, reflected=False))
    setattr(Dual, f"__r{_name}__", _scalar_operator(f"__r{_name}__", _uf, _op, reflected=True))


def _expand_batched(g: Any, ndim: int) -> Any:
    """Insert axes after the batch axis so ``g`` broadcasts like its primal."""
    missing = ndim + 1 - np.ndim(g)
    if missing <= 0:
        return g
    return np.reshape(g, (np.shape(g)[0],) + (1,) * missing + np.shape(g)[1:])


def zeros_tangent(primal: Any, nbatch: int | None) -> Any:
    """A zero tangent for ``primal`` with ``nbatch`` directions (None: unbatched)."""
    shape = np.shape(primal)
    if nbatch is not None:
        shape = (nbatch,) + shape
    return np.zeros(shape, dtype=np.result_type(strip_float(primal)))


def strip_float(x: Any) -> Any:
    from gradmix.ad.tracer import strip

    v = strip(x)
    dt = np.result_type(v)
    return np.zeros((), dtype=dt if dt.kind in "fc" else np.float64)
