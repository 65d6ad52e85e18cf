"""Solvers on exact derivatives, against known answers and scipy's own results."""

import numpy as np
import pytest
import scipy.optimize
from scipy.integrate import solve_ivp as scipy_solve_ivp
from scipy.optimize import curve_fit

from gradmix.solve import least_squares, minimize, newton, solve_ivp

ROOT = 2.0945514815423265


def test_newton_classical_example():
    r = newton(lambda x: x**3 - 2 * x - 5, 2.0)
    assert r.converged and r.iterations <= 6
    assert abs(r.x - ROOT) <= 1e-14
    # quadratic convergence: each residual about the square of the previous (relative)
    res = r.residuals
    assert res[2] < 10 * res[1] ** 2 and res[3] < 10 * res[2] ** 2


def test_newton_system_and_args():
    def F(v, r):
        return np.array([v[0] ** 2 + v[1] ** 2 - r**2, np.exp(v[0]) + v[1] - 1])

    res = newton(F, np.array([1.0, -1.7]), args=(2.0,))
    assert res.converged
    np.testing.assert_allclose(F(res.x, 2.0), 0, atol=1e-14)
    assert len(res.iterates) == res.iterations + 1


def test_newton_line_search_rescues_far_start():
    f = lambda x: np.arctan(x)  # noqa: E731 - plain Newton diverges from |x0| > 1.39
    assert newton(f, 3.0, line_search=True).converged
    assert not newton(f, 3.0, line_search=False, maxiter=20).converged


def test_newton_failures_are_reported_not_raised():
    singular = newton(lambda v: np.array([v[0] + v[1], v[0] + v[1] - 1]), np.array([0.0, 0.0]))
    assert not singular.converged and "singular" in singular.message
    flat = newton(lambda x: x**2 + 1, 0.0)
    assert not flat.converged and "singular" in flat.message
    nonfinite = newton(lambda x: np.log(x), -1.0)
    assert not nonfinite.converged and "not finite" in nonfinite.message
    no_root = newton(lambda x: x**2 + 1, 0.5, maxiter=30)
    assert not no_root.converged


def test_newton_wrong_output_shape():
    with pytest.raises(ValueError, match="shape of x"):
        newton(lambda v: np.sum(v), np.ones(2))
    with pytest.raises(ValueError, match="1-D"):
        newton(lambda v: v, np.ones((2, 2)))


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


# scipy's trust-krylov multiplies a nan inside its own sub-problem solver on the way
# (scipy/optimize/_trustregion.py) and still converges; the assertion is on the answer
@pytest.mark.filterwarnings("ignore:invalid value encountered in multiply:RuntimeWarning")
@pytest.mark.parametrize("method", ["trust-exact", "Newton-CG",
                                    pytest.param("trust-krylov", marks=pytest.mark.slow), "BFGS",
                                    "L-BFGS-B", "Nelder-Mead"])  # fmt: skip
def test_minimize_rosenbrock(method):
    x0 = np.zeros(6 if method != "Nelder-Mead" else 2)
    res = minimize(rosen, x0, method=method, tol=1e-10, options={"maxiter": 20000})
    np.testing.assert_allclose(res.x, 1.0, atol=1e-4 if method == "Nelder-Mead" else 1e-6)


def test_minimize_exact_hessian_beats_bfgs():
    x0 = np.zeros(20)
    newton_like = minimize(rosen, x0, method="trust-exact", tol=1e-10)
    bfgs = minimize(rosen, x0, method="BFGS", tol=1e-10)
    assert newton_like.nit < bfgs.nit
    np.testing.assert_allclose(newton_like.x, 1.0, atol=1e-8)


@pytest.mark.parametrize("method", ["BFGS", "trust-exact", "Nelder-Mead"])
def test_minimize_takes_an_array_of_args_as_one_argument_as_scipy_does(method):
    # scipy reads args=k as (k,); unpacked, k's entries became a and the default b
    def f(x, a, b=0.0):
        return np.sum((x - a) ** 2) + b * x[0]

    target = np.array([1.5, -0.5])
    ref = scipy.optimize.minimize(f, np.zeros(2), args=target, method="Nelder-Mead", tol=1e-10)
    res = minimize(f, np.zeros(2), args=target, method=method, tol=1e-10)
    np.testing.assert_allclose(ref.x, target, atol=1e-4)
    np.testing.assert_allclose(res.x, target, atol=1e-4)


def test_least_squares_matches_curve_fit():
    rng = np.random.default_rng(0)
    t = np.linspace(0, 4, 50)
    y = 2.5 * np.exp(-1.3 * t) + 0.5 + 0.02 * rng.standard_normal(t.size)

    def model(t, a, k, c):
        return a * np.exp(-k * t) + c

    ref, _ = curve_fit(model, t, y, p0=[1.0, 1.0, 0.0])
    fit = least_squares(lambda p, t, y: model(t, *p) - y, np.array([1.0, 1.0, 0.0]), args=(t, y))
    np.testing.assert_allclose(fit.x, ref, rtol=1e-6)
    with pytest.raises(ValueError, match="1-D"):
        least_squares(lambda p: np.sum(p), np.ones(2))


def robertson(t, y):
    return np.stack([-0.04 * y[0] + 1e4 * y[1] * y[2],
                     0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
                     3e7 * y[1] ** 2])  # fmt: skip


def test_solve_ivp_robertson_with_exact_jacobian():
    y0 = np.array([1.0, 0.0, 0.0])
    sol = solve_ivp(robertson, (0, 1e5), y0, rtol=1e-8, atol=1e-12)
    assert sol.success and sol.njev > 0
    ref = scipy_solve_ivp(robertson, (0, 1e5), y0, method="Radau", rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(sol.y[:, -1], ref.y[:, -1], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(sol.y[:, -1].sum(), 1.0, rtol=1e-8)  # mass is conserved


def test_solve_ivp_args_methods_and_errors():
    decay = lambda t, y, k: -k * y  # noqa: E731
    for method in ("BDF", "LSODA", "RK45"):
        sol = solve_ivp(
            decay, (0, 2), [1.0, 2.0], method=method, args=(0.5,), rtol=1e-9, atol=1e-12
        )
        np.testing.assert_allclose(sol.y[:, -1], np.array([1.0, 2.0]) * np.exp(-1.0), rtol=1e-6)
    with pytest.raises(ValueError, match="shape of y"):
        solve_ivp(lambda t, y: np.sum(y), (0, 1), [1.0, 2.0])
