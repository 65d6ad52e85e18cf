"""Elementwise operations (numpy and scipy.special ufuncs).

For a real elementwise function the Jacobian is diagonal, so the JVP and the
VJP are the same expression ``g * f'(x)``: each rule below is written once and
registered for both modes.  Broadcasting is handled by the machinery
(``elementwise=True``).

Conventions at points where a derivative does not exist: ``abs'(0) = 0``;
``maximum``/``minimum`` split the derivative evenly between tied arguments;
``clip`` passes the derivative where ``lo <= x <= hi``; piecewise-constant
functions (``sign``, ``floor``, comparisons, ...) have derivative 0 and
return plain arrays.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.special as sc

from gradmix.ad.core import defjvp, defvjp
from gradmix.ad.dispatch import numpy_rule, register_numpy
from gradmix.ad.tracer import (
    Primitive,
    Tracer,
    bind,
    constant,
    pack,
    reads_values,
    records_choices,
    strip,
)

__all__ = ["elementwise", "where", "clip", "select_or_zero"]

_LOG2 = np.log(2.0)
_LOG10 = np.log(10.0)
_SQRT_2PI = np.sqrt(2 * np.pi)


def elementwise(
    impl: Callable[..., Any], *rules: Callable[..., Any] | None, name: str = ""
) -> Primitive:
    """Declare an elementwise primitive whose per-argument rule serves JVP and VJP.

    The primitive is ``self_adjoint`` (see :class:`~gradmix.ad.tracer.Primitive`):
    reverse mode applies the JVP rule to the cotangent, so only JVP rules are registered.
    """
    prim = Primitive(impl, name or getattr(impl, "__name__", None), elementwise=True, batched=True)
    defjvp(prim, *rules)
    return prim


def _ufunc(uf: Any, *rules: Callable[..., Any] | None) -> Primitive:
    prim = elementwise(uf, *rules, name=f"np.{uf.__name__}")
    register_numpy(uf)(prim)
    return prim


def _pow_rule_base(g: Any, ans: Any, x: Any, y: Any) -> Any:
    ty = type(y)
    if ty is int or ty is float or (ty is np.ndarray and y.ndim == 0):
        if y == 2:
            return g * 2 * x  # scalar factor on g first: one pass when g is compact
        if y == 1:
            return g * np.ones_like(strip(x))
        if y == 0:
            return g * 0.0
    return g * y * x ** (y - 1)


def _pow_rule_exp(g: Any, ans: Any, x: Any, y: Any) -> Any:
    # d/dy x**y = x**y log x; at x = 0 the product is taken as 0 (limit for y > 0)
    # (in a recorded program the test is an operation of it, made at every call)
    safe = np.where(constant(x) == 0, 1.0, x)
    return g * ans * np.log(safe)


def _real(x: Any) -> bool:
    return not np.iscomplexobj(strip(x))


def _one_where_zero(x: Any, y: Any) -> Any:
    """``y`` with ones where ``x`` is zero: the denominator of ``x / y`` for functions
    that are identically zero in ``y`` wherever ``x`` is."""
    return np.where(constant(x) == 0, 1.0, y)


def _t_density(df: Any, t: Any) -> Any:
    """Student's t density at ``t``, the derivative of ``stdtr`` in ``t``.  ``df`` is
    read as plain values (``stdtr`` has no derivative in it).  ``log poch(df/2, 1/2)``
    is the log ratio of gamma functions without the cancellation of a difference of
    ``gammaln`` at large ``df``; ``df = inf`` is the normal density."""
    dfv = np.asarray(strip(df), dtype=float)
    finite = np.isfinite(dfv)
    d = np.where(finite, dfv, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_norm = np.where(finite, np.log(sc.poch(d / 2, 0.5)) - 0.5 * np.log(d * np.pi),
                            -np.log(_SQRT_2PI))  # fmt: skip
    return np.exp(log_norm + np.where(finite, -(d + 1) / 2 * np.log1p(t**2 / d), -(t**2) / 2))


def _nonzero(a: Any) -> Any:
    """``a`` with its zeros replaced by ones: a safe denominator (the numerators that go
    with it vanish there, so the quotient is 0, the subgradient of least norm)."""
    return np.where(strip(a) == 0, 1.0, a)


# |x|: sign(x) for real x; for complex x, |x + t| = |x| + Re(conj(x)·t)/|x|, whose
# transpose under Re(a·b) is g·conj(x)/|x|: not the JVP rule, so a VJP of its own
def _abs_jvp(g: Any, a: Any, x: Any) -> Any:
    if _real(x):
        return g * np.sign(constant(x))
    return np.real(np.conjugate(x) * g) / _nonzero(a)


def _abs_vjp(a: Any, x: Any) -> Callable[[Any], Any]:
    if _real(x):
        return lambda g: g * np.sign(constant(x))
    return lambda g: g * np.conjugate(x) / _nonzero(a)


def _pick_share(x: Any, y: Any, larger: bool, nan_wins: bool) -> Any:
    """The share of ``maximum``/``minimum``/``fmax``/``fmin``'s derivative that goes to
    ``x``: all of it where ``x`` is the operand returned, half at ties.  ``maximum``
    returns a NaN operand (``nan_wins``), ``fmax`` the other one."""
    xv, yv = constant(x), constant(y)
    wins = xv > yv if larger else xv < yv
    share = np.where(wins, 1.0, np.where(xv == yv, 0.5, 0.0))
    if nan_wins:
        return np.where(np.isnan(xv), 1.0, np.where(np.isnan(yv), 0.0, share))
    return np.where(np.isnan(yv), 1.0, np.where(np.isnan(xv), 0.0, share))


def _share(g: Any, share: Any) -> Any:
    """``g * share``, 0 where the share is 0 even if ``g`` is NaN there (the tangent of
    an operand that ``fmax`` dropped for being NaN)."""
    out = g * share
    if isinstance(share, Tracer) or np.isnan(strip(out)).any():  # a recorded program: always
        return np.where(share == 0, 0.0, out)
    return out


_ufunc(np.negative, lambda g, a, x: -g)
_ufunc(np.positive, lambda g, a, x: g)
abs_p = _ufunc(np.absolute, _abs_jvp)
abs_p.self_adjoint = False
defvjp(abs_p, _abs_vjp)
_ufunc(np.exp, lambda g, a, x: g * a)
_ufunc(np.exp2, lambda g, a, x: g * a * _LOG2)
_ufunc(np.expm1, lambda g, a, x: g * np.exp(x))  # (a + 1 is 0 below x = -37)
_ufunc(np.log, lambda g, a, x: g / x)
_ufunc(np.log2, lambda g, a, x: g / (x * _LOG2))
_ufunc(np.log10, lambda g, a, x: g / (x * _LOG10))
_ufunc(np.log1p, lambda g, a, x: g / (1 + x))
_ufunc(np.sqrt, lambda g, a, x: g / (2 * a))
_ufunc(np.cbrt, lambda g, a, x: g / (3 * a**2))
_ufunc(np.square, lambda g, a, x: g * 2 * x)
_ufunc(np.reciprocal, lambda g, a, x: -g * a**2)


@np.errstate(over="ignore")  # cosh overflows past |x| = 710, where this is 0
def _sech_squared(x: Any) -> Any:
    """``1 / cosh(x)²``, tanh's derivative, from ``x``: ``1 - tanh(x)²`` keeps few of its
    digits where tanh is near ±1 (tanh's rounding leaves it 8 of 16 at x = 10, and
    none past 19, where it is 0)."""
    s = 1 / np.cosh(x)
    return s * s


# a primitive of its own, so that its derivative, -2 tanh(x) sech²(x), is 0 where cosh
# overflows (the chain through 1 / cosh would give inf / inf there)
sech_squared_p = elementwise(_sech_squared, lambda g, a, x: -2 * g * a * np.tanh(x),
                             name="sech²")  # fmt: skip
_ufunc(np.sin, lambda g, a, x: g * np.cos(x))
_ufunc(np.cos, lambda g, a, x: -g * np.sin(x))
_ufunc(np.tan, lambda g, a, x: g * (1 + a**2))
# 1 - x² as (1 - x)(1 + x), exact where x is near ±1 (1 - x**2 keeps 8 digits at
# x = 1 - 1e-8); x² - 1 as √(x - 1)·√(x + 1), which neither cancels nor overflows
_ufunc(np.arcsin, lambda g, a, x: g / np.sqrt((1 - x) * (1 + x)))
_ufunc(np.arccos, lambda g, a, x: -g / np.sqrt((1 - x) * (1 + x)))
_ufunc(np.arctan, lambda g, a, x: g / (1 + x**2))
_ufunc(np.sinh, lambda g, a, x: g * np.cosh(x))
_ufunc(np.cosh, lambda g, a, x: g * np.sinh(x))
_ufunc(np.tanh, lambda g, a, x: g * bind(sech_squared_p, (x,), {}))
_ufunc(np.arcsinh, lambda g, a, x: g / np.sqrt(x**2 + 1))
_ufunc(np.arccosh, lambda g, a, x: g / (np.sqrt(x - 1) * np.sqrt(x + 1)))
_ufunc(np.arctanh, lambda g, a, x: g / ((1 - x) * (1 + x)))
register_numpy(np.radians)(_ufunc(np.deg2rad, lambda g, a, x: g * (np.pi / 180)))
register_numpy(np.degrees)(_ufunc(np.rad2deg, lambda g, a, x: g * (180 / np.pi)))
_ufunc(np.conjugate, lambda g, a, x: np.conjugate(g))

# real and imaginary parts, argument: R-linear (or smooth) maps of complex values
real_p = elementwise(np.real, lambda g, a, x: np.real(g), name="np.real")
imag_p = elementwise(np.imag, lambda g, a, x: np.imag(g), name="np.imag")
imag_p.self_adjoint = False
defvjp(imag_p, lambda a, x: lambda g: g * -1j)  # Im(t) = Re(-i·t)
angle_p = elementwise(
    np.angle,
    lambda g, a, x: np.imag(np.conjugate(x) * g) / _nonzero(np.real(x * np.conjugate(x))),
    name="np.angle",
)
angle_p.self_adjoint = False
defvjp(
    angle_p,
    lambda a, x: lambda g: g * -1j * np.conjugate(x) / _nonzero(np.real(x * np.conjugate(x))),
)


@register_numpy(np.real)
def real(val: Any) -> Any:
    """``np.real``: the identity on real values."""
    return val if _real(val) else bind(real_p, (val,), {})


@register_numpy(np.imag)
def imag(val: Any) -> Any:
    """``np.imag``: zero (a plain array) for real values."""
    return np.zeros_like(strip(val)) if _real(val) else bind(imag_p, (val,), {})


@register_numpy(np.angle)
def angle(z: Any, deg: bool = False) -> Any:
    """``np.angle``: piecewise constant (0 or pi) on real values."""
    if _real(z):
        reads_values("np.angle of a real value", z)
        return np.angle(strip(z), deg)
    out = bind(angle_p, (z,), {})
    return out * (180 / np.pi) if deg else out


_add = _ufunc(np.add, lambda g, a, x, y: g, lambda g, a, x, y: g)
_sub = _ufunc(np.subtract, lambda g, a, x, y: g, lambda g, a, x, y: -g)
_add.scales_cotangent = _sub.scales_cotangent = frozenset({0, 1})
_mul = _ufunc(np.multiply, lambda g, a, x, y: g * y, lambda g, a, x, y: g * x)
_div = _ufunc(np.true_divide, lambda g, a, x, y: g / y, lambda g, a, x, y: -g * a / y)
_pow = _ufunc(np.power, _pow_rule_base, _pow_rule_exp)


def _operator_impl(op: Callable[[Any, Any], Any], uf: Any) -> Callable[[Any, Any], Any]:
    """Python's operator where an operand is a numpy object (same result, a fraction of the
    cost on numpy scalars); the ufunc itself for two plain Python numbers, so that numpy's
    semantics (inf, nan, warnings) hold rather than Python's (ZeroDivisionError, complex)."""
    plain = (int, float)

    def impl(a: Any, b: Any) -> Any:
        if type(a) in plain and type(b) in plain:
            return uf(a, b)
        return op(a, b)

    return impl


_uf: Any
for _p, _op, _uf in ((_add, operator.add, np.add), (_sub, operator.sub, np.subtract),
                     (_mul, operator.mul, np.multiply), (_div, operator.truediv, np.true_divide),
                     (_pow, operator.pow, np.power)):  # fmt: skip
    _p.impl = _operator_impl(_op, _uf)
_ufunc(np.float_power, _pow_rule_base, _pow_rule_exp)
for _uf, _larger, _nan_wins in ((np.maximum, True, True), (np.fmax, True, False),
                                 (np.minimum, False, True), (np.fmin, False, False)):  # fmt: skip
    _pick = _ufunc(
        _uf,
        lambda g, a, x, y, _l=_larger, _n=_nan_wins: _share(g, _pick_share(x, y, _l, _n)),
        lambda g, a, x, y, _l=_larger, _n=_nan_wins: _share(g, _pick_share(y, x, _l, _n)),
    )
    _pick.selects = not _nan_wins
_ufunc(
    np.arctan2,
    lambda g, a, y, x: g * x / (x**2 + y**2),
    lambda g, a, y, x: -g * y / (x**2 + y**2),
)
_ufunc(np.hypot, lambda g, a, x, y: g * x / a, lambda g, a, x, y: g * y / a)
_ufunc(
    np.logaddexp,
    lambda g, a, x, y: g * np.exp(x - a),
    lambda g, a, x, y: g * np.exp(y - a),
)
_ufunc(
    np.logaddexp2,
    lambda g, a, x, y: g * np.exp2(x - a),
    lambda g, a, x, y: g * np.exp2(y - a),
)
_ufunc(
    np.remainder,
    lambda g, a, x, y: g,
    lambda g, a, x, y: -g * np.floor_divide(constant(x), constant(y)),
)
register_numpy(np.fmod)(
    elementwise(
        np.fmod,
        lambda g, a, x, y: g,
        lambda g, a, x, y: -g * np.trunc(constant(x) / constant(y)),
        name="np.fmod",
    )
)

# scipy.special ufuncs reach __array_ufunc__ too


# scipy.special.polygamma is a Python function, not a ufunc, so it never
# reaches the dispatch; this primitive serves the derivatives of psi
polygamma_p: Primitive = elementwise(
    lambda n, x: sc.polygamma(n, x), None, lambda g, a, n, x: g * polygamma_p(n + 1, x),
    name="scipy.special.polygamma",
)  # fmt: skip

_ufunc(sc.erf, lambda g, a, x: g * (2 / np.sqrt(np.pi)) * np.exp(-(x**2)))
_ufunc(sc.erfc, lambda g, a, x: -g * (2 / np.sqrt(np.pi)) * np.exp(-(x**2)))
_ufunc(sc.expit, lambda g, a, x: g * a * sc.expit(-x))  # (1 - a: 0 from x = 37)
_ufunc(sc.logit, lambda g, a, x: g / (x * (1 - x)))
_ufunc(sc.gammaln, lambda g, a, x: g * sc.psi(x))
_ufunc(sc.psi, lambda g, a, x: g * polygamma_p(1, x))
_ufunc(sc.ndtr, lambda g, a, x: g * np.exp(-(x**2) / 2) / _SQRT_2PI)
_ufunc(sc.log_ndtr, lambda g, a, x: g * np.exp(-(x**2) / 2 - a) / _SQRT_2PI)
# xlogy(0, y) is 0 for every y, so its y-derivative there is 0 (not 0/0 at y = 0)
_ufunc(sc.xlogy, lambda g, a, x, y: g * np.log(y), lambda g, a, x, y: g * x / _one_where_zero(x, y))
_ufunc(
    sc.xlog1py,
    lambda g, a, x, y: g * np.log1p(y),
    lambda g, a, x, y: g * x / _one_where_zero(x, 1 + y),
)
_ufunc(sc.stdtr, None, lambda g, a, df, t: g * _t_density(df, t))
_ufunc(sc.gamma, lambda g, a, x: g * a * sc.psi(x))
_ufunc(sc.rgamma, lambda g, a, x: -g * a * sc.psi(x))
_ufunc(sc.loggamma, lambda g, a, x: g * sc.psi(x))
_ufunc(sc.erfinv, lambda g, a, x: g * (np.sqrt(np.pi) / 2) * np.exp(a**2))
_ufunc(sc.erfcinv, lambda g, a, x: -g * (np.sqrt(np.pi) / 2) * np.exp(a**2))
_ufunc(sc.erfcx, lambda g, a, x: g * (2 * x * a - 2 / np.sqrt(np.pi)))
_ufunc(sc.ndtri, lambda g, a, x: g * _SQRT_2PI * np.exp(a**2 / 2))
_ufunc(sc.log_expit, lambda g, a, x: g * sc.expit(-x))
_ufunc(sc.exp1, lambda g, a, x: -g * np.exp(-x) / x)
_ufunc(sc.expi, lambda g, a, x: g * np.exp(x) / x)
_ufunc(sc.entr, lambda g, a, x: -g * (np.log(x) + 1))
_ufunc(sc.rel_entr, lambda g, a, x, y: g * (np.log(x / y) + 1), lambda g, a, x, y: -g * x / y)
_ufunc(sc.kl_div, lambda g, a, x, y: g * np.log(x / y), lambda g, a, x, y: g * (1 - x / y))
_ufunc(
    sc.betaln,
    lambda g, a, x, y: g * (sc.psi(x) - sc.psi(x + y)),
    lambda g, a, x, y: g * (sc.psi(y) - sc.psi(x + y)),
)
_ufunc(
    sc.beta,
    lambda g, a, x, y: g * a * (sc.psi(x) - sc.psi(x + y)),
    lambda g, a, x, y: g * a * (sc.psi(y) - sc.psi(x + y)),
)
# regularised incomplete gamma functions: derivatives in x only (in a they are
# series without a closed form); xlogy makes the density at x = 0 that of the limit
_ufunc(sc.gammainc, None, lambda g, r, a, x: g * np.exp(sc.xlogy(a - 1, x) - x - sc.gammaln(a)))
_ufunc(sc.gammaincc, None, lambda g, r, a, x: -g * np.exp(sc.xlogy(a - 1, x) - x - sc.gammaln(a)))
# Bessel functions: derivatives in x (recurrences), none in the order v
_ufunc(sc.iv, None, lambda g, a, v, x: g * (sc.iv(v - 1, x) + sc.iv(v + 1, x)) / 2)
_ufunc(sc.jv, None, lambda g, a, v, x: g * (sc.jv(v - 1, x) - sc.jv(v + 1, x)) / 2)
_ufunc(sc.yv, None, lambda g, a, v, x: g * (sc.yv(v - 1, x) - sc.yv(v + 1, x)) / 2)
_ufunc(sc.kv, None, lambda g, a, v, x: -g * (sc.kv(v - 1, x) + sc.kv(v + 1, x)) / 2)
_ufunc(
    sc.ive, None,
    lambda g, a, v, x: g * ((sc.ive(v - 1, x) + sc.ive(v + 1, x)) / 2 - np.sign(constant(x)) * a),
)  # fmt: skip
_ufunc(sc.kve, None, lambda g, a, v, x: g * (a - (sc.kve(v - 1, x) + sc.kve(v + 1, x)) / 2))
_ufunc(sc.i0, lambda g, a, x: g * sc.i1(x))
_ufunc(sc.i1, lambda g, a, x: g * (sc.i0(x) + sc.iv(2, x)) / 2)
_ufunc(sc.i0e, lambda g, a, x: g * (sc.i1e(x) - np.sign(constant(x)) * a))
_ufunc(sc.i1e, lambda g, a, x: g * ((sc.i0e(x) + sc.ive(2, x)) / 2 - np.sign(constant(x)) * a))
_ufunc(sc.j0, lambda g, a, x: -g * sc.j1(x))
_ufunc(sc.j1, lambda g, a, x: g * (sc.j0(x) - sc.jv(2, x)) / 2)
_ufunc(sc.y0, lambda g, a, x: -g * sc.y1(x))
_ufunc(sc.y1, lambda g, a, x: g * (sc.y0(x) - sc.yv(2, x)) / 2)
_ufunc(sc.k0, lambda g, a, x: -g * sc.k1(x))
_ufunc(sc.k1, lambda g, a, x: -g * (sc.k0(x) + sc.kv(2, x)) / 2)
register_numpy(np.i0)(lambda x: sc.i0(x))
# Hurwitz zeta: derivative in q only.  scipy.special.zeta is a Python function around
# the ufunc _zeta, which is what reaches the dispatch
_zeta = sc.zeta if isinstance(sc.zeta, np.ufunc) else getattr(sc, "_ufuncs", sc)._zeta
_ufunc(_zeta, None, lambda g, a, s_, q: -g * s_ * sc.zeta(s_ + 1, q))

# piecewise-constant functions: derivative zero, result is a plain array
for _uf in (
    np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
    np.logical_and, np.logical_or, np.logical_xor, np.logical_not, np.isfinite, np.isnan,
    np.isinf, np.signbit, np.sign, np.floor, np.ceil, np.rint, np.trunc, np.floor_divide,
    np.spacing, np.fix, np.isreal, np.iscomplex, np.isposinf, np.isneginf,
):  # fmt: skip
    register_numpy(_uf)(Primitive(_uf, f"np.{_uf.__name__}", nondiff=True))

register_numpy(np.fabs)(abs_p)


@register_numpy(np.sinc)
def sinc(x: Any) -> Any:
    """``np.sinc``: sin(πx)/(πx); near 0 its Maclaurin polynomial, so that every
    derivative is finite and right there too."""
    px = np.pi * x
    # (in a recorded program the test is an operation of it, made at every call)
    small = np.abs(constant(px)) < 1e-2
    if not records_choices(px) and not np.any(small):
        return np.sin(px) / px
    safe = np.where(small, 1.0, px)
    s2 = np.where(small, px, 0.0) ** 2
    # the next term, s2⁵/11!, is below 3e-28 here
    series = 1 - s2 / 6 + s2**2 / 120 - s2**3 / 5040 + s2**4 / 362880
    return np.where(small, series, np.sin(safe) / safe)


@register_numpy(np.nan_to_num)
def nan_to_num(x: Any, copy: bool = True, nan: float = 0.0, posinf: Any = None,
               neginf: Any = None) -> Any:  # fmt: skip
    """``np.nan_to_num``: derivative 1 at finite entries, 0 at replaced ones."""
    if not _real(x):
        return nan_to_num(np.real(x), nan=nan, posinf=posinf, neginf=neginf) + 1j * nan_to_num(
            np.imag(x), nan=nan, posinf=posinf, neginf=neginf
        )
    if records_choices(x):  # which entries are replaced: operations of the program
        replaced = bind(_nan_to_num_p, (x,), {"nan": nan, "posinf": posinf, "neginf": neginf})
        return np.where(np.isfinite(x), x, replaced)
    xv = strip(x)
    finite = np.isfinite(xv)
    if np.all(finite):
        return x
    reads_values("np.nan_to_num of values that are not finite", x)
    return np.where(finite, x, np.nan_to_num(xv, nan=nan, posinf=posinf, neginf=neginf))


_nan_to_num_p = Primitive(np.nan_to_num, "np.nan_to_num", nondiff=True)


@register_numpy(np.heaviside)
def heaviside(x1: Any, x2: Any) -> Any:
    """``np.heaviside``: 0, ``x2`` or 1; the derivative reaches ``x2`` where ``x1 == 0``."""
    x1 = strip(x1) if not isinstance(x1, Tracer) else x1
    return np.where(x1 < 0, 0.0, np.where(x1 > 0, 1.0, x2))


@register_numpy(np.copysign)
def copysign(x1: Any, x2: Any) -> Any:
    """``np.copysign``: ``|x1|`` with the sign of ``x2`` (derivative zero in ``x2``)."""
    return np.where(np.signbit(x2), -np.abs(x1), np.abs(x1))


@register_numpy(np.ldexp)
def ldexp(x1: Any, x2: Any) -> Any:
    """``np.ldexp``: ``x1 · 2**x2`` for integer ``x2``."""
    return x1 * np.ldexp(1.0, strip(x2))


@register_numpy(np.frexp)
def frexp(x: Any) -> tuple[Any, Any]:
    """``np.frexp``: mantissa ``x · 2**-e`` (differentiable) and exponent ``e`` (plain)."""
    reads_values("np.frexp", x)
    _, e = np.frexp(strip(x))
    return x * np.ldexp(1.0, -e), e


@register_numpy(np.divmod)
def divmod_(x1: Any, x2: Any) -> tuple[Any, Any]:
    """``np.divmod``: the floor quotient (plain) and the remainder."""
    return np.floor_divide(x1, x2), np.remainder(x1, x2)


# the next float after x1 towards x2: x1 moved by a piecewise-constant step
register_numpy(np.nextafter)(
    elementwise(np.nextafter, lambda g, a, x, y: g, lambda g, a, x, y: 0 * g, name="np.nextafter")
)


@register_numpy(np.real_if_close)
def real_if_close(a: Any, tol: float = 100) -> Any:
    """``np.real_if_close``: the real part where every imaginary part is negligible."""
    if _real(a):
        return a
    reads_values("np.real_if_close", a)
    return np.real(a) if np.isrealobj(np.real_if_close(strip(a), tol)) else a


@register_numpy(np.modf)
def modf(x: Any) -> tuple[Any, Any]:
    """``np.modf``: fractional part (derivative 1) and integral part (plain)."""
    reads_values("np.modf", x)
    whole = np.trunc(strip(x))
    return x - whole, whole


# where / clip ----------------------------------------------------------------
where_p = elementwise(
    lambda x, y, cond: np.where(cond, x, y),
    lambda g, a, x, y, cond: np.where(cond, g, 0.0),
    lambda g, a, x, y, cond: np.where(cond, 0.0, g),
    name="np.where",
)
where_p.selects = True

#: ``np.where`` with the condition an operation of a recorded program (its argument 0,
#: which takes no derivative: its rule's zero cotangent is never used, and the
#: generated program drops it); elsewhere the condition is a constant (``where_p``)
select_p = elementwise(
    lambda cond, x, y: np.where(cond, x, y),
    lambda g, a, cond, x, y: 0.0 * g,
    lambda g, a, cond, x, y: np.where(cond, g, 0.0),
    lambda g, a, cond, x, y: np.where(cond, 0.0, g),
    name="np.where",
)
select_p.selects = True


#: a condition holding at fewer than one entry in this many is a sparse one (below)
SPARSE_CONDITION = 20


def select_or_zero(condition: Any, x: Any) -> Any:
    """``np.where(condition, x, 0)``: ``x`` where ``condition`` holds and 0 elsewhere,
    even where ``x`` is infinite or NaN (a mask's product would give NaN there).

    A sparse condition (a maximum's entries: one in a row) on plain arrays takes zeros,
    then ``np.copyto`` where it holds: at one entry in 50, 1.3-1.8 times quicker than
    ``np.where`` on 10⁴ entries or more ((1 000, 1 000), a row broadcast: 0.62 against
    1.10 ms).  ``np.where``'s loop has no branch, and is quicker from one entry in 20
    (1.4-3.6 times at one in 2).  The count that tells them apart costs a twentieth of
    either."""
    if isinstance(condition, Tracer) or isinstance(x, Tracer):
        return np.where(condition, x, 0.0)
    if np.count_nonzero(condition) * SPARSE_CONDITION >= np.size(condition):
        return np.where(condition, x, 0.0)
    x = np.asarray(x)
    # (np.broadcast's shape: a quarter of np.broadcast_shapes' cost)
    out = np.zeros(np.broadcast(condition, x).shape, np.result_type(x, 0.0))
    np.copyto(out, x, where=condition)
    return out


@register_numpy(np.where)
def where(condition: Any, x: Any = None, y: Any = None) -> Any:
    """``np.where``; the condition is not differentiated."""
    c = pack(condition)
    if x is not None and y is not None and isinstance(c, Tracer) and c.records_choices:
        return bind(select_p, (c, x, y), {})
    reads_values("np.where's condition", condition)
    if x is None and y is None:
        return np.where(strip(condition))
    return bind(where_p, (x, y), {"cond": strip(condition)})


clip_p = elementwise(
    lambda x, lo, hi: np.clip(x, lo, hi),
    lambda g, a, x, lo, hi: (
        g * np.logical_and(constant(x) >= constant(lo), constant(x) <= constant(hi))
    ),
    lambda g, a, x, lo, hi: g * (constant(x) < constant(lo)),
    lambda g, a, x, lo, hi: g * (constant(x) > constant(hi)),
    name="np.clip",
)

#: primitives whose derivative rules are formulas in their arguments, reading no value
#: in Python (the choices they make go through ``constant``): a recorded program
#: (:func:`gradmix.compile`) can hold them
FORMULA_RULES: set[Primitive] = {clip_p, polygamma_p, sech_squared_p} | {
    numpy_rule(f) for f in (
        np.remainder, np.fmod, sc.erf, sc.erfc, sc.expit, sc.logit, sc.gammaln, sc.psi,
        sc.ndtr, sc.log_ndtr, sc.xlogy, sc.xlog1py, sc.gamma, sc.rgamma, sc.loggamma,
        sc.erfinv, sc.erfcinv, sc.erfcx, sc.ndtri, sc.log_expit, sc.exp1, sc.expi, sc.entr,
        sc.rel_entr, sc.kl_div, sc.betaln, sc.beta, sc.gammainc, sc.gammaincc, sc.iv, sc.jv,
        sc.yv, sc.kv, sc.ive, sc.kve, sc.i0, sc.i1, sc.i0e, sc.i1e, sc.j0, sc.j1, sc.y0,
        sc.y1, sc.k0, sc.k1, _zeta)
}  # fmt: skip


@register_numpy(np.clip)
def clip(a: Any, a_min: Any = None, a_max: Any = None, **kwargs: Any) -> Any:
    """``np.clip``: derivative 1 where ``a_min <= a <= a_max``, else that of the bound."""
    lo = -np.inf if a_min is None else a_min
    hi = np.inf if a_max is None else a_max
    return bind(clip_p, (a, lo, hi), {})


round_p = Primitive(np.round, "np.round", nondiff=True)


@register_numpy(np.round, np.around)
def _round(a: Any, decimals: int = 0) -> Any:
    """``np.round``: piecewise constant, a plain result (in a recorded program an
    operation of it, with no derivative)."""
    if records_choices(a):
        return bind(round_p, (a,), {"decimals": decimals})
    reads_values("np.round", a)
    return np.round(strip(a), decimals)
