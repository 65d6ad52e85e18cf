"""Taylor mode against closed forms, against nested forward mode, and against Cauchy's integral."""

import math
import time

import numpy as np
import pytest
import scipy.special as sc

import gradmix as gm


def cauchy_derivatives(f, x0, order, radius=2.0, n=256):
    """f^(k)(x0) from Cauchy's integral formula by FFT on a circle (complex evaluation)."""
    z = x0 + radius * np.exp(2j * np.pi * np.arange(n) / n)
    coeffs = np.fft.fft(f(z)) / n / radius ** np.arange(n)
    return np.array([coeffs[k].real * math.factorial(k) for k in range(order + 1)])


def test_twentieth_derivative_of_exp_sin_is_exact_and_fast():
    f = lambda x: np.exp(np.sin(x))  # noqa: E731
    t0 = time.perf_counter()
    d = gm.taylor(f, 0.5, 20)
    elapsed = time.perf_counter() - t0
    ref = cauchy_derivatives(f, 0.5, 20)
    np.testing.assert_allclose(d, ref, rtol=1e-8)
    assert gm.derivative(f, 20)(0.5) == pytest.approx(ref[20], rel=1e-8)
    # not asserted as a timing test: recorded so a regression to 2^20 work is visible
    print(f"20th derivative in {elapsed * 1e3:.2f} ms")


@pytest.mark.parametrize(
    ("name", "f", "x0", "exact"),
    [
        ("sin", np.sin, 0.7, lambda k, x: math.sin(x + k * math.pi / 2)),
        ("exp", np.exp, -0.3, lambda k, x: math.exp(x)),
        ("geometric", lambda x: 1 / (1 - x), 0.3,
         lambda k, x: math.factorial(k) / (1 - x) ** (k + 1)),
        ("log", np.log, 1.7,
         lambda k, x: math.log(x) if k == 0 else (-1) ** (k - 1) * math.factorial(k - 1) / x**k),
        ("sqrt", np.sqrt, 2.0, lambda k, x: math.prod(0.5 - j for j in range(k)) * x ** (0.5 - k)),
        ("power", lambda x: x**2.5, 1.3,
         lambda k, x: math.prod(2.5 - j for j in range(k)) * x ** (2.5 - k)),
        ("cosh", np.cosh, 0.4, lambda k, x: math.cosh(x) if k % 2 == 0 else math.sinh(x)),
    ],
)  # fmt: skip
def test_closed_forms(name, f, x0, exact):
    d = gm.taylor(f, x0, 10)
    np.testing.assert_allclose(d, [exact(k, x0) for k in range(11)], rtol=1e-12)


COMPOSITES = {
    "tan": np.tan,
    "tanh": lambda x: np.tanh(2 * x) * x,
    "quotient": lambda x: np.sin(x) / (2 + np.cos(x)),
    "arctan": lambda x: np.arctan(x**2),
    "arcsin": lambda x: np.arcsin(x / 2),
    "erf": lambda x: sc.erf(x) * np.exp(-x),
    "log1p_expm1": lambda x: np.log1p(x**2) + np.expm1(x),
    "power_of_x": lambda x: x**x,
    "integer_power_at_zero": lambda x: (x - 0.25) ** 3,
    "linear_ops": lambda x: np.sum(np.stack([x, x**2, np.sin(x)]) * np.array([1.0, 2.0, 3.0])),
    "maximum_where": lambda x: np.maximum(x, 0.1) * np.where(x > 0, x, -x),
    "logsumexp": lambda x: gm.logsumexp(np.stack([x, 2 * x, np.sin(x)])),
}


@pytest.mark.parametrize("name", sorted(COMPOSITES))
def test_against_nested_forward_mode(name):
    f = COMPOSITES[name]
    x0 = 0.25 if name != "integer_power_at_zero" else 0.25
    d = gm.taylor(f, x0, 4)
    for k in range(1, 5):
        nested = f
        for _ in range(k):
            nested = gm.derivative(nested, 1)
        assert d[k] == pytest.approx(nested(x0), rel=1e-10, abs=1e-12), k


def test_elementwise_on_arrays_and_vector_outputs():
    x = np.array([0.0, 0.5, 1.0])
    d = gm.taylor(np.sin, x, 3)
    assert d.shape == (4, 3)
    np.testing.assert_allclose(d[3], -np.cos(x), rtol=1e-14)
    # f: R -> R^2
    d2 = gm.taylor(lambda t: np.stack([t**2, np.exp(t)]), 1.0, 2)
    np.testing.assert_allclose(d2, [[1, np.e], [2, np.e], [2, np.e]], rtol=1e-14)


def test_composes_with_other_transforms():
    # d/da of the third derivative of exp(a x) at 0 is d/da a³ = 3a²
    assert gm.grad(lambda a: gm.derivative(lambda x: np.exp(a * x), 3)(0.0))(2.0) == 12.0
    J = gm.jacfwd(lambda a: gm.taylor(lambda x: np.sin(a * x), 0.3, 2))(1.0)
    np.testing.assert_allclose(J, [0.3 * np.cos(0.3), np.cos(0.3) - 0.3 * np.sin(0.3),
                                   -2 * np.sin(0.3) - 0.3 * np.cos(0.3)])  # fmt: skip


def test_no_taylor_rule_falls_back_to_nesting():
    def f(x):
        return np.linalg.det(np.stack([np.stack([x, 1.0 + 0 * x]), np.stack([2.0 + 0 * x, x**3])]))

    with pytest.raises(gm.NoDerivativeRuleError, match="Taylor mode has no rule"):
        gm.taylor(f, 1.5, 3)
    assert gm.derivative(f, 3)(1.5) == pytest.approx(24 * 1.5)  # det = x⁴ - 2


def test_bad_order():
    with pytest.raises(ValueError, match="order"):
        gm.taylor(np.sin, 1.0, -1)


def test_orders_beyond_floats_range_are_refused_as_by_derivative():
    with pytest.raises(ValueError, match="above 170"):
        gm.taylor(np.sin, 1.0, 200)
    with pytest.raises(ValueError, match="above 170"):
        gm.derivative(np.sin, 200)
    np.testing.assert_allclose(gm.taylor(np.exp, 0.0, 170)[-1], 1.0)


def test_tanh_series_where_tanh_saturates_keeps_its_digits():
    """tanh's series from sech²(x), not 1 - tanh(x)², which keeps 8 of 16 digits at
    x = 10; and the series of tanh's derivative, sech² (a primitive of its own)."""
    x = np.array([10.0, -18.0, 0.4])
    t = np.tanh(x)
    s = 4 * np.exp(-2 * abs(x)) / (1 + np.exp(-2 * abs(x))) ** 2  # sech², closed form
    expected = np.array([t, s, -2 * t * s, s * (4 * t * t - 2 * s)])
    np.testing.assert_allclose(gm.taylor(np.tanh, x, 3), expected, rtol=1e-13, atol=0)
    np.testing.assert_allclose(gm.taylor(gm.grad(np.tanh), 10.0, 2), expected[1:, 0],
                               rtol=1e-13, atol=0)  # fmt: skip
