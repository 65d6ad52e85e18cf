"""gradmix.solve.odeint: values equal scipy's, derivatives equal central differences."""

import numpy as np
import pytest
from scipy.integrate import odeint as scipy_odeint

import gradmix as gm
from gradmix.solve import odeint, solve_ivp
from tests.ad.helpers import numerical_jacobian

TIGHT = dict(rtol=1e-11, atol=1e-12)
T = np.linspace(0.0, 3.0, 7)
Y0 = np.array([1.0, 0.5])
W = np.arange(1.0, 15.0).reshape(7, 2)


def lotka_volterra(y, t, a, b):
    return np.stack([a * y[0] - b * y[0] * y[1], -y[1] + b * y[0] * y[1]])


def loss(y0, t, a, b):
    return np.sum(odeint(lotka_volterra, y0, t, (a, b), **TIGHT) ** 2 * W)


def central(f, x, h=1e-6):
    x = np.array(x, dtype=float)
    out = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        out[i] = (f(x + e) - f(x - e)) / (2 * h)
    return out


def test_values_equal_scipys_odeint():
    ours = odeint(lotka_volterra, Y0, T, (1.2, 0.7), **TIGHT)
    ref = scipy_odeint(lotka_volterra, Y0, T, args=(1.2, 0.7), rtol=1e-12, atol=1e-12)
    assert ours.shape == (7, 2)
    np.testing.assert_allclose(ours, ref, rtol=1e-8)


@pytest.mark.parametrize("method", ["LSODA", "DOP853",
                                    pytest.param("Radau", marks=pytest.mark.slow)])  # fmt: skip
def test_adjoint_gradient_in_every_input_equals_central_differences(method):
    def f(y0, t, a, b):
        ys = odeint(lotka_volterra, y0, t, (a, b), method=method, **TIGHT)
        return np.sum(ys**2 * W)

    g = gm.grad(f, argnums=(0, 1, 2, 3))(Y0, T, 1.2, 0.7)
    refs = [
        central(lambda v: f(v, T, 1.2, 0.7), Y0),
        central(lambda v: f(Y0, v, 1.2, 0.7), T),
        central(lambda v: f(Y0, T, v, 0.7), 1.2),
        central(lambda v: f(Y0, T, 1.2, v), 0.7),
    ]
    for got, ref in zip(g, refs, strict=True):
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6 * np.max(np.abs(ref)))


def test_forward_and_reverse_jacobians_agree_and_match_differences():
    def solution(y0, t, a):
        return odeint(lotka_volterra, y0, t, (a, 0.7), **TIGHT)

    args = (Y0, T, 1.2)
    jf = gm.jacfwd(solution, argnums=(0, 1, 2))(*args)
    jr = gm.jacrev(solution, argnums=(0, 1, 2))(*args)
    for i in range(3):
        # h = 1e-4: the solver's own error (~1e-11) over a step of 1e-6 would be 1e-5
        ref = numerical_jacobian(solution, args, i, h=1e-4)
        np.testing.assert_allclose(jf[i], jr[i], rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(jf[i], ref, rtol=1e-5, atol=1e-6)


def test_fitting_an_ode_parameter_by_gradient_recovers_it():
    decay = lambda y, t, k: -k * y  # noqa: E731
    t = np.linspace(0.0, 2.0, 9)
    data = 2.0 * np.exp(-0.8 * t)[:, None]
    sq = lambda k: np.sum((odeint(decay, np.array([2.0]), t, (k,)) - data) ** 2)  # noqa: E731
    res = gm.solve.minimize(sq, np.array([0.3]), method="BFGS")
    assert abs(res.x[0] - 0.8) < 1e-6


def test_pytree_args_and_integer_leaves_pass_through():
    def f(y, t, p):
        return -p["k"] * y ** p["power"]

    k = 0.5
    g = gm.grad(lambda k: odeint(f, np.array([1.0]), T, ({"k": k, "power": 1},))[-1, 0])(k)
    np.testing.assert_allclose(g, -3.0 * np.exp(-0.5 * 3.0), rtol=1e-6)


def test_bad_input_and_unsupported_uses_are_clear_errors():
    f = lambda y, t: -y  # noqa: E731
    with pytest.raises(ValueError, match="strictly increasing or strictly decreasing"):
        odeint(f, Y0, np.array([0.0, 1.0, 0.5]))
    with pytest.raises(ValueError, match="NaN"):
        odeint(f, np.array([np.nan, 1.0]), T)
    with pytest.raises(ValueError, match="1-D"):
        odeint(f, Y0, np.ones((2, 2)))
    with pytest.raises(ValueError, match="shape of y0"):
        odeint(lambda y, t: np.ones(3), Y0, T)
    with pytest.raises(RuntimeError, match="integrator failed"):
        odeint(lambda y, t: y**2, np.array([1.0]), np.array([0.0, 2.0]), method="RK45")
    with pytest.raises(gm.TracerConversionError, match="args="):
        gm.grad(lambda k: odeint(lambda y, t: -k * y, Y0, T)[-1, 0])(0.5)
    with pytest.raises(TypeError, match=r"args must be a tuple.*args=\(k,\)"):
        odeint(lambda y, t, k: -k[0] * y, Y0, T, np.array([0.5, 1.0]))
    with pytest.raises(gm.NoDerivativeRuleError, match="first-order"):
        gm.hessian(lambda k: odeint(lambda y, t, k: -k * y, Y0, T, (k,))[-1, 0])(0.5)


def test_decreasing_times_and_a_single_time():
    f = lambda y, t, k: -k * y  # noqa: E731
    t = np.array([1.0, 0.5, 0.0])
    ys = odeint(f, np.array([1.0]), t, (0.7,))
    np.testing.assert_allclose(ys[:, 0], np.exp(0.7 * (1.0 - t)), rtol=1e-7)
    g = gm.grad(lambda k: odeint(f, np.array([1.0]), t, (k,))[-1, 0])(0.7)
    np.testing.assert_allclose(g, np.exp(0.7), rtol=1e-6)
    np.testing.assert_array_equal(odeint(f, np.array([3.0]), np.array([0.0]), (0.7,)), [[3.0]])


@pytest.mark.parametrize("method", ["LSODA", "RK45", "Radau", "BDF"])
def test_a_blow_up_raises_naming_the_time(method):
    # y' = y², y(0) = 1 has the solution 1/(1 - t), which leaves every float before t = 1;
    # scipy's LSODA alone never returns from it
    with pytest.raises(RuntimeError, match=r"t = 0\.99|t = 1"):
        odeint(lambda y, t: y**2, np.array([1.0]), np.array([0.0, 2.0]), method=method)


def test_every_solve_is_bounded():
    with pytest.raises(RuntimeError, match="50 evaluations .* did not reach t = 100"):
        odeint(lambda y, t: -1000 * y, np.array([1.0]), np.array([0.0, 100.0]), method="RK45",
               max_evaluations=50)  # fmt: skip
    with pytest.raises(RuntimeError, match="not finite"):
        solve_ivp(lambda t, y: y**2, (0.0, 2.0), [1.0], method="LSODA")
    with pytest.raises(ValueError, match="max_evaluations"):
        odeint(lambda y, t: -y, np.array([1.0]), np.array([0.0, 1.0]), max_evaluations=0)
