"""The solvers on sparse Jacobians and Hessians, against closed forms and scipy."""

import numpy as np
import pytest
import scipy.integrate
import scipy.optimize
import scipy.sparse as sp

import gradmix as gm
from gradmix.solve import SPARSE_FROM, least_squares, minimize, newton, ode_jacobian, odeint
from gradmix.solve import solve_ivp as gm_solve_ivp


def bratu(n, lam=1.0):
    """u'' + λ exp(u) = 0 on (0, 1), u(0) = u(1) = 0, by central differences."""
    h = 1.0 / (n + 1)

    def residual(u):
        padded = np.concatenate([[0.0], u, [0.0]])
        return (padded[2:] - 2 * u + padded[:-2]) / h**2 + lam * np.exp(u)

    return residual, np.linspace(h, 1 - h, n)


def bratu_exact(x, lam=1.0):
    # u = -2 log(cosh((x - 1/2) θ/2) / cosh(θ/4)) with θ = sqrt(2λ) cosh(θ/4) (lower branch)
    theta = scipy.optimize.brentq(lambda t: t - np.sqrt(2 * lam) * np.cosh(t / 4), 0.1, 4.0)
    return -2 * np.log(np.cosh((x - 0.5) * theta / 2) / np.cosh(theta / 4))


def test_newton_on_a_large_system_uses_the_sparse_lu_and_meets_the_closed_form():
    n = 2 * SPARSE_FROM
    residual, x = bratu(n)
    r = newton(residual, np.zeros(n))
    assert r.converged and r.residuals[-1] < 1e-8
    # discretisation error O(h²)
    np.testing.assert_allclose(r.x, bratu_exact(x), atol=5e-6)
    dense = newton(residual, np.zeros(n), sparse=False)
    np.testing.assert_allclose(r.x, dense.x, atol=1e-12)


def test_newton_sparse_reports_a_singular_jacobian():
    # J = 2 diag(v) - 2 diag(roll(v)) P is singular at v = 1 (it maps ones to zero)
    r = newton(lambda v: v**2 - np.roll(v, 1) ** 2 + 1, np.ones(5), sparse=True)
    assert not r.converged and "singular" in r.message


def test_newton_with_a_given_pattern():
    residual, _ = bratu(50)
    pattern = sp.diags_array([1, 1, 1], offsets=[-1, 0, 1], shape=(50, 50), dtype=bool)
    r = newton(residual, np.zeros(50), sparsity=pattern)
    assert r.converged
    with pytest.raises(ValueError, match="sparsity= has shape"):
        newton(residual, np.zeros(50), sparsity=sp.eye_array(49, dtype=bool))


def test_least_squares_sparse_agrees_with_scipy_finite_differences():
    n = 300
    data = np.sin(np.linspace(0, 6, n)) + 0.1 * np.random.default_rng(0).standard_normal(n)

    def residual(x):  # a smoothing fit: misfit and roughness
        return np.concatenate([x + 0.1 * x**3 - data, 3 * (x[1:] - x[:-1])])

    tight = {"ftol": 1e-12, "xtol": 1e-12, "gtol": 1e-12}
    ours = least_squares(residual, np.zeros(n), **tight)
    pattern = gm.jacobian_sparsity(residual, np.zeros(n))
    scipys = scipy.optimize.least_squares(residual, np.zeros(n), jac_sparsity=pattern, **tight)
    assert ours.success and scipys.success
    assert sp.issparse(ours.jac)
    np.testing.assert_allclose(ours.cost, scipys.cost, rtol=1e-9)
    np.testing.assert_allclose(ours.x, scipys.x, atol=1e-6)


def rosenbrock(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def test_minimize_with_a_sparse_hessian_reaches_the_rosenbrock_minimum():
    n = 300
    res = minimize(rosenbrock, np.full(n, 0.5), method="trust-constr", sparse_hessian=True,
                   options={"gtol": 1e-10, "maxiter": 2000})  # fmt: skip
    np.testing.assert_allclose(res.x, np.ones(n), atol=1e-6)
    with pytest.raises(ValueError, match="sparse Hessian"):
        minimize(rosenbrock, np.zeros(4), method="trust-exact", sparse_hessian=True)


def heat(t, y, k):
    return k * (np.roll(y, 1) + np.roll(y, -1) - 2 * y) - 0.1 * y**3


def test_solve_ivp_hands_bdf_an_exact_sparse_jacobian():
    n = 2 * SPARSE_FROM
    y0 = np.sin(np.linspace(0, 2 * np.pi, n, endpoint=False)) + 1.0
    ours = gm_solve_ivp(heat, (0, 2), y0, method="BDF", args=(50.0,), rtol=1e-8, atol=1e-10)
    scipys = scipy.integrate.solve_ivp(heat, (0, 2), y0, method="BDF", args=(50.0,),
                                       rtol=1e-8, atol=1e-10)  # fmt: skip
    assert ours.success and scipys.success and ours.njev > 0
    np.testing.assert_allclose(ours.y[:, -1], scipys.y[:, -1], atol=1e-6)


def test_ode_jacobian_is_exact_where_the_structure_changes_in_time():
    def fun(t, y):
        coupled = y * np.roll(y, 1) if t > 1 else np.zeros_like(y)
        return -y + coupled

    n = SPARSE_FROM + 10
    y = np.linspace(1, 2, n)
    jac = ode_jacobian(fun, n)
    for t in (0.5, 1.5, 0.5):
        got = jac(t, y)
        assert sp.issparse(got)
        np.testing.assert_allclose(got.toarray(), gm.jacfwd(lambda v, t=t: fun(t, v))(y))


def test_odeint_stiff_and_large_agrees_with_scipy():
    n = SPARSE_FROM + 50
    y0 = np.cos(np.linspace(0, 2 * np.pi, n, endpoint=False)) + 1.5
    t = np.array([0.0, 0.5, 1.0])
    ours = odeint(lambda y, s, k: heat(s, y, k), y0, t, (30.0,), method="BDF")
    ref = scipy.integrate.solve_ivp(heat, (0, 1), y0, method="BDF", args=(30.0,), t_eval=t,
                                    rtol=1e-10, atol=1e-12)  # fmt: skip
    np.testing.assert_allclose(ours, ref.y.T, atol=1e-6)
