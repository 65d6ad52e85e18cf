"""Taylor mode: truncated Taylor polynomials, the generalisation of dual numbers.

A :class:`Taylor` value carries the normalised coefficients
``x(t) = x₀ + x₁ t + … + x_n tⁿ`` (``x_k = x⁽ᵏ⁾/k!``), i.e. arithmetic modulo
``t^(n+1)`` — dual numbers are the case n = 1.  Propagating through a
primitive costs O(n²) (products are convolutions; exp, log, sin, cos, sqrt,
powers, quotients, tanh, ... follow their standard recurrences), so the n-th
derivative costs O(n²) instead of the 2ⁿ of nested dual numbers.

Where the coefficients come from, by primitive:

- *linear or piecewise-linear* primitives (add, getitem, reshape, sum,
  maximum, where, abs, ...) and multilinear ones with a single Taylor
  argument (multiply or matmul by a constant): the forward-mode JVP rule of
  the table, applied to all higher coefficients at once as a batch;
- *multilinear* primitives with several Taylor arguments (multiply, matmul,
  einsum): the Cauchy product ``c_k = Σ_j P(a_j, b_{k-j})``;
- elementwise functions: their recurrences below; functions whose JVP rule
  uses only ``x`` (arctan, arcsin, erf, ...) get ``y' = f'(x)·x'`` with ``f'(x)``
  evaluated in Taylor arithmetic from the table's own rule.

Anything else (``prod``, ``np.linalg`` functions, ...) raises
:class:`NoDerivativeRuleError` naming it; :func:`gradmix.derivative` then falls
back to nesting forward mode.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.special as sc

from gradmix.ad.dispatch import numpy_rule
from gradmix.ad.errors import NoDerivativeRuleError, call_traced
from gradmix.ad.forward import Dual
from gradmix.ad.rules import elementwise, linalg, reductions, shape
from gradmix.ad.tracer import Primitive, Tracer, new_level, pack, strip

__all__ = ["Taylor", "taylor", "taylor_coefficients"]

Coeffs = list[Any]  # coefficient arrays x_0 … x_n, each of the primal's shape


class Taylor(Tracer):
    """A truncated Taylor polynomial: coefficients of shape (n+1,) + value shape."""

    __slots__ = ("coeffs",)

    def __init__(self, coeffs: Any, level: int) -> None:
        self.coeffs = coeffs
        self._level = level

    def __new__(cls, coeffs: Any, *args: Any, **kwargs: Any) -> Taylor:
        from gradmix.ad.tracer import ndim_of

        return object.__new__(TaylorArray if ndim_of(coeffs) > 1 else cls)

    @property
    def value(self) -> Any:
        return self.coeffs[0]

    @property
    def order(self) -> int:
        return len(self.coeffs) - 1

    def process(self, prim: Primitive, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
        lvl = self._level
        n = self.order
        traced = [i for i, a in enumerate(args) if isinstance(a, Taylor) and a._level == lvl]
        base = [a.coeffs[0] if i in traced else a for i, a in enumerate(args)]
        rule = _RULES.get(prim)
        if rule is not None:
            xs = [_split(args[i].coeffs) if i in traced else None for i in range(len(args))]
            out = rule(xs, base, kwargs, n, lvl)
        elif prim is _ABS and np.iscomplexobj(base[0]):
            raise NoDerivativeRuleError("Taylor mode: |z| of complex z is not analytic")
        elif prim in _LINEAR or (prim in _MULTILINEAR and len(traced) == 1):
            out = _by_jvp(prim, args, base, traced, kwargs, lvl)
        elif prim in _MULTILINEAR:
            out = _cauchy(prim, [_split(args[i].coeffs) if i in traced else None
                                 for i in range(len(args))], base, kwargs, n)  # fmt: skip
        else:
            raise NoDerivativeRuleError(
                f"Taylor mode has no rule for {prim.name}; gm.derivative falls back to "
                "nested forward mode for such functions"
            )
        return Taylor(out if not isinstance(out, list) else np.stack(out), lvl)


class TaylorArray(Taylor):
    """A :class:`Taylor` holding an array (indexable, iterable)."""

    __slots__ = ()

    def __getitem__(self, idx: Any) -> Any:
        return numpy_rule("getitem")(self, idx)

    def __len__(self) -> int:
        return int(np.shape(strip(self))[0])

    def __iter__(self) -> Any:
        for i in range(len(self)):
            yield self[i]


def _split(coeffs: Any) -> Coeffs:
    return [coeffs[k] for k in range(len(coeffs))]


def _by_jvp(prim: Primitive, args: Sequence[Any], base: list[Any], traced: list[int],
            kwargs: dict[str, Any], lvl: int) -> Any:  # fmt: skip
    """Linear (or piecewise-linear) in the traced arguments: the JVP rule, batched."""
    duals = list(base)
    for i in traced:
        c = args[i].coeffs
        duals[i] = Dual(c[0], c[1:], lvl, 1)
    res = prim.__call__(*duals, **kwargs)
    if not isinstance(res, Dual):  # cannot happen for a traced linear op; be safe
        raise NoDerivativeRuleError(f"Taylor mode: {prim.name} lost its input")
    return np.concatenate([np.expand_dims(res.primal, 0), res.tangent], axis=0)


def _cauchy(prim: Primitive, xs: list[Coeffs | None], base: list[Any], kwargs: dict[str, Any],
            n: int) -> Coeffs:  # fmt: skip
    """c_k = Σ P(a_j, b_{k-j}) for a primitive linear in each argument separately."""
    traced = [i for i, x in enumerate(xs) if x is not None]
    if len(traced) != 2:
        raise NoDerivativeRuleError(
            f"Taylor mode supports {prim.name} with at most two Taylor operands"
        )
    i, j = traced
    a, b = xs[i], xs[j]
    assert a is not None and b is not None
    out = []
    for k in range(n + 1):
        total = None
        for m in range(k + 1):
            operands = list(base)
            operands[i], operands[j] = a[m], b[k - m]
            term = prim(*operands, **kwargs)
            total = term if total is None else total + term
        out.append(total)
    return out


# ---------------------------------------------------------------------- recurrences
def _conv(a: Coeffs, b: Coeffs, k: int) -> Any:
    """Coefficient k of the product of two series."""
    total = a[0] * b[k]
    for j in range(1, k + 1):
        total = total + a[j] * b[k - j]
    return total


def _ode(x: Coeffs, d: Coeffs, y0: Any, n: int) -> Coeffs:
    """y with y' = d·x' (d known to order n-1): k y_k = Σ_{j=1..k} j x_j d_{k-j}."""
    y = [y0]
    for k in range(1, n + 1):
        total = x[1] * d[k - 1]
        for j in range(2, k + 1):
            total = total + j * x[j] * d[k - j]
        y.append(total / k)
    return y


def _exp(x: Coeffs, n: int) -> Coeffs:
    y = [np.exp(x[0])]
    for k in range(1, n + 1):
        total = x[1] * y[k - 1]
        for j in range(2, k + 1):
            total = total + j * x[j] * y[k - j]
        y.append(total / k)
    return y


def _log(x: Coeffs, n: int) -> Coeffs:
    y = [np.log(x[0])]
    for k in range(1, n + 1):
        total = x[k]
        for j in range(1, k):
            total = total - (j / k) * y[j] * x[k - j]
        y.append(total / x[0])
    return y


def _sin_cos(x: Coeffs, n: int, hyperbolic: bool = False) -> tuple[Coeffs, Coeffs]:
    s = [np.sinh(x[0]) if hyperbolic else np.sin(x[0])]
    c = [np.cosh(x[0]) if hyperbolic else np.cos(x[0])]
    sign = 1.0 if hyperbolic else -1.0
    for k in range(1, n + 1):
        ds = x[1] * c[k - 1]
        dc = x[1] * s[k - 1]
        for j in range(2, k + 1):
            ds = ds + j * x[j] * c[k - j]
            dc = dc + j * x[j] * s[k - j]
        s.append(ds / k)
        c.append(sign * dc / k)
    return s, c


def _quotient(a: Coeffs | None, a0: Any, b: Coeffs, n: int) -> Coeffs:
    """a / b, with ``a`` a series or (None) the constant a0."""
    c = [(a[0] if a is not None else a0) / b[0]]
    for k in range(1, n + 1):
        total = a[k] if a is not None else 0.0
        for j in range(1, k + 1):
            total = total - b[j] * c[k - j]
        c.append(total / b[0])
    return c


def _sqrt(x: Coeffs, n: int) -> Coeffs:
    y = [np.sqrt(x[0])]
    for k in range(1, n + 1):
        total = x[k]
        for j in range(1, k):
            total = total - y[j] * y[k - j]
        y.append(total / (2 * y[0]))
    return y


def _power_const(x: Coeffs, a: float, n: int) -> Coeffs:
    if float(a).is_integer() and 0 <= a <= 64:
        # repeated squaring by convolution: exact where x₀ = 0 too
        result: Coeffs = [np.ones_like(strip(x[0]))] + [np.zeros_like(strip(x[0]))] * n
        base, e = x, int(a)
        while e:
            if e & 1:
                result = [_conv(result, base, k) for k in range(n + 1)]
            e >>= 1
            if e:
                base = [_conv(base, base, k) for k in range(n + 1)]
        return result
    y = [x[0] ** a]
    for k in range(1, n + 1):
        total = (a - k + 1) * x[1] * y[k - 1]
        for j in range(2, k + 1):
            total = total + (a * j - (k - j)) * x[j] * y[k - j]
        y.append(total / (k * x[0]))
    return y


def _tan_like(x: Coeffs, n: int, y0: Any, sign: float, z0: Any) -> tuple[Coeffs, Coeffs]:
    """y' = z·x' with z = 1 + sign·y² (tan: +1, tanh: -1): the series of y and of z,
    whose constant term ``z0`` is given (tanh's, sech², from x: 1 - y0² would keep few
    of its digits where tanh is near ±1)."""
    y = [y0]
    z = [z0]
    for k in range(1, n + 1):
        total = x[1] * z[k - 1]
        for j in range(2, k + 1):
            total = total + j * x[j] * z[k - j]
        y.append(total / k)
        z.append(sign * _conv(y, y, k))
    return y, z


def _from_rule(prim: Primitive) -> Callable[..., Coeffs]:
    """y' = f'(x)·x' with f'(x) = the table's JVP rule at g = 1, in Taylor arithmetic."""

    def rule(xs: list[Coeffs | None], base: list[Any], kwargs: dict[str, Any], n: int,
             lvl: int) -> Coeffs:  # fmt: skip
        x = xs[0]
        assert x is not None
        y0 = prim(*base, **kwargs)
        if n == 0:
            return [y0]
        with new_level() as inner_level:
            inner = Taylor(np.stack(x[:n]), inner_level)
            d = prim.jvps[0](1.0, None, inner, **kwargs)  # type: ignore[misc]
        dcoeffs = _split(d.coeffs) if isinstance(d, Taylor) else [d] + [0.0] * (n - 1)
        return _ode(x, dcoeffs, y0, n)

    return rule


def _unary(fn: Callable[[Coeffs, int], Coeffs]) -> Callable[..., Coeffs]:
    def rule(xs: list[Coeffs | None], base: list[Any], kwargs: dict[str, Any], n: int,
             lvl: int) -> Coeffs:  # fmt: skip
        x = xs[0]
        assert x is not None
        return fn(x, n)

    return rule


def _shifted(fn: Callable[[Coeffs, int], Coeffs], y0: Callable[[Any], Any]) -> Any:
    """A function equal to ``fn`` up to its constant term (expm1 = exp - 1, ...)."""

    def wrapped(x: Coeffs, n: int) -> Coeffs:
        y = fn(x, n)
        return [y0(x[0])] + y[1:]

    return wrapped


def _divide(xs: list[Coeffs | None], base: list[Any], kwargs: dict[str, Any], n: int,
            lvl: int) -> Coeffs:  # fmt: skip
    a, b = xs
    if b is None:
        assert a is not None
        return [ak / base[1] for ak in a]
    return _quotient(a, base[0], b, n)


def _power(xs: list[Coeffs | None], base: list[Any], kwargs: dict[str, Any], n: int,
           lvl: int) -> Coeffs:  # fmt: skip
    x, y = xs
    if y is None and np.ndim(strip(base[1])) == 0 and not isinstance(base[1], Tracer):
        assert x is not None
        return _power_const(x, float(base[1]), n)
    # x**y = exp(y log x) for traced or array exponents
    lx = _log(x, n) if x is not None else [np.log(base[0])] + [0.0] * n
    yy = y if y is not None else [base[1]] + [0.0] * n
    return _exp([_conv(yy, lx, k) for k in range(n + 1)], n)


def _tan_rule(xs: list[Coeffs | None], base: list[Any], kwargs: dict[str, Any], n: int,
              lvl: int) -> Coeffs:  # fmt: skip
    x = xs[0]
    assert x is not None
    y0 = np.tan(x[0])
    return _tan_like(x, n, y0, 1.0, 1 + y0 * y0)[0]


def _tanh_series(which: int) -> Callable[..., Coeffs]:
    """tanh's series (``which`` 0) or its derivative's, sech² = 1 - tanh² (1): the
    series y and z of :func:`_tan_like`, z's constant term sech²(x) from x."""

    def rule(xs: list[Coeffs | None], base: list[Any], kwargs: dict[str, Any], n: int,
             lvl: int) -> Coeffs:  # fmt: skip
        x = xs[0]
        assert x is not None
        return _tan_like(x, n, np.tanh(x[0]), -1.0, elementwise.sech_squared_p(x[0]))[which]

    return rule


def _prim(f: Any) -> Primitive:
    """The primitive registered for a numpy function or ufunc."""
    p = numpy_rule(f)
    assert isinstance(p, Primitive), f
    return p


_LN2, _LN10 = math.log(2.0), math.log(10.0)

_RULES: dict[Primitive, Callable[..., Any]] = {
    _prim(np.exp): _unary(_exp),
    _prim(np.expm1): _unary(_shifted(_exp, np.expm1)),
    _prim(np.exp2): _unary(lambda x, n: _exp([xk * _LN2 for xk in x], n)),
    _prim(np.log): _unary(_log),
    _prim(np.log2): _unary(lambda x, n: [y / _LN2 for y in _log(x, n)]),
    _prim(np.log10): _unary(lambda x, n: [y / _LN10 for y in _log(x, n)]),
    _prim(np.log1p): _unary(lambda x, n: [np.log1p(x[0])] + _log([1 + x[0]] + x[1:], n)[1:]),
    _prim(np.sin): _unary(lambda x, n: _sin_cos(x, n)[0]),
    _prim(np.cos): _unary(lambda x, n: _sin_cos(x, n)[1]),
    _prim(np.sinh): _unary(lambda x, n: _sin_cos(x, n, hyperbolic=True)[0]),
    _prim(np.cosh): _unary(lambda x, n: _sin_cos(x, n, hyperbolic=True)[1]),
    _prim(np.tan): _tan_rule,
    _prim(np.tanh): _tanh_series(0),
    elementwise.sech_squared_p: _tanh_series(1),
    _prim(np.sqrt): _unary(_sqrt),
    _prim(np.cbrt): _unary(lambda x, n: _power_const(x, 1.0 / 3.0, n)),
    _prim(np.square): _unary(lambda x, n: [_conv(x, x, k) for k in range(n + 1)]),
    _prim(np.reciprocal): _unary(lambda x, n: _quotient(None, 1.0, x, n)),
    _prim(np.true_divide): _divide,
    _prim(np.power): _power,
    _prim(np.float_power): _power,
}
for _uf in (np.arctan, np.arcsin, np.arccos, np.arcsinh, np.arccosh, np.arctanh, sc.erf,
            sc.erfc, sc.ndtr, sc.gammaln, sc.psi):  # fmt: skip
    _RULES[_prim(_uf)] = _from_rule(_prim(_uf))

_LINEAR: set[Primitive] = {
    _prim(f)
    for f in (np.add, np.subtract, np.negative, np.positive, np.conjugate, np.deg2rad,
              np.rad2deg, np.absolute, np.maximum, np.minimum, np.fmax, np.fmin, np.remainder,
              np.fmod)  # fmt: skip
} | {
    shape.getitem_p, shape.untake_p, shape.reshape_p, shape.transpose_p, shape.broadcast_to_p,
    shape.astype_p, shape.concatenate_p, shape.linear_map_p, shape.trailing_map_p, reductions.sum_p,
    reductions.cumsum_p, reductions.max_p, reductions.min_p,
}  # fmt: skip
_LINEAR |= {elementwise.where_p, elementwise.clip_p, elementwise.real_p, elementwise.imag_p}
_ABS = _prim(np.absolute)
_MULTILINEAR: set[Primitive] = {_prim(np.multiply), linalg.matmul_p, linalg.einsum_p}


# ------------------------------------------------------------------------ transforms
def taylor_coefficients(f: Callable[[Any], Any], x: Any, order: int) -> Any:
    """Normalised Taylor coefficients of ``f`` at ``x``: ``[f(x), f'(x), f''(x)/2!, …]``.

    Returns
    -------
    ndarray of shape (order+1,) + f(x).shape
    """
    if not isinstance(order, int | np.integer) or order < 0:
        raise ValueError(f"order must be a non-negative integer, got {order!r}")
    xv = x if isinstance(x, Tracer) else np.asarray(x, dtype=np.result_type(x, 1.0))
    coeffs = [xv, np.ones_like(strip(xv))] + [np.zeros_like(strip(xv))] * (order - 1)
    with new_level() as level:
        out = pack(call_traced(f, [Taylor(np.stack(coeffs[: order + 1]), level)]))
    if isinstance(out, Taylor) and out._level == level:
        return out.coeffs
    zeros = [np.zeros_like(strip(out))] * order
    return np.stack([out] + zeros) if order else np.stack([out])


#: orders above this have Taylor coefficients f⁽ⁿ⁾/n! outside float64's range (170! ~ 7e306)
MAX_ORDER = 170


def taylor(f: Callable[[Any], Any], x: Any, order: int) -> Any:
    """Derivatives ``[f(x), f'(x), …, f⁽ⁿ⁾(x)]`` by Taylor-mode arithmetic.

    Parameters
    ----------
    f : callable
        Function of one scalar (or, elementwise, of an array) written with numpy.
    x : float or ndarray
        Point (an array is differentiated elementwise: ``f`` must act elementwise).
    order : int
        Highest derivative, at most ``MAX_ORDER`` (170).

    Returns
    -------
    ndarray of shape (order+1,) + f(x).shape

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> gm.taylor(np.exp, 0.0, 4)
    array([1., 1., 1., 1., 1.])
    """
    if isinstance(order, int | np.integer) and order > MAX_ORDER:
        raise ValueError(
            f"order {order} is above {MAX_ORDER}: Taylor coefficients f^(n)/n! of higher "
            "orders leave float64's range (n! > 1.8e308)"
        )
    c = taylor_coefficients(f, x, order)
    factorials = np.array([math.factorial(k) for k in range(order + 1)], dtype=float)
    scale = factorials.reshape((order + 1,) + (1,) * (np.ndim(strip(c)) - 1))
    return c * scale
