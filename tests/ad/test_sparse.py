"""Sparse Jacobians and Hessians: equal to the dense ones, computed in few sweeps."""

import numpy as np
import pytest
import scipy.sparse as sp

import gradmix as gm


def brusselator(n):
    """The 2-D Brusselator right-hand side on an n × n periodic grid (2n² unknowns)."""
    xy = np.linspace(0, 1, n)
    X, Y = np.meshgrid(xy, xy, indexing="ij")  # noqa: N806
    k = 10.0 / (xy[1] - xy[0]) ** 2

    def lap(z):
        return np.roll(z, 1, 0) + np.roll(z, -1, 0) + np.roll(z, 1, 1) + np.roll(z, -1, 1) - 4 * z

    def f(u):
        a, b = u.reshape(2, n, n)
        da = k * lap(a) + b * a**2 - 4.4 * a + 1.0
        db = k * lap(b) + 3.4 * a - b * a**2
        return np.stack([da, db]).reshape(-1)

    u0 = np.stack([22 * (Y * (1 - Y)) ** 1.5 + 0.1, 27 * (X * (1 - X)) ** 1.5 + 0.1]).ravel()
    return f, u0


@pytest.mark.parametrize("mode", ["auto", "forward", "reverse"])
def test_sparse_jacobian_equals_the_dense_one(mode):
    f, u0 = brusselator(6)
    jac = gm.sparse_jacobian(f, mode=mode)
    got = jac(u0)
    assert isinstance(got, sp.csr_array) and got.shape == (72, 72)
    np.testing.assert_allclose(got.toarray(), gm.jacfwd(f)(u0), rtol=1e-13, atol=1e-9)
    assert jac.mode in ("forward", "reverse") and jac.n_colours <= 12
    # central differences of the numpy function itself
    fd = gm.divided_difference(f, u0, 1e-6, "central")
    np.testing.assert_allclose(got.toarray(), fd, rtol=1e-6, atol=1e-4)


def test_pattern_is_detected_once_per_shape():
    calls = []

    def f(x):
        calls.append(type(x).__name__)
        return x[1:] * x[:-1]

    jac = gm.sparse_jacobian(f, np.ones(5))
    jac(np.arange(5.0))
    jac(np.arange(5.0) + 1)
    assert calls.count("IndexSetArray") == 1
    jac(np.ones(7))  # a new shape: a new pattern
    assert calls.count("IndexSetArray") == 2 and jac.sparsity.shape == (6, 7)


def test_local_kind_is_detected_at_every_call():
    f = lambda x: np.where(x > 0, x**2, 0.0)  # noqa: E731
    with pytest.raises(gm.PatternNotGlobalError):
        gm.sparse_jacobian(f)(np.ones(3))
    jac = gm.sparse_jacobian(f, kind="local")
    np.testing.assert_allclose(jac(np.array([1.0, -1.0, 2.0])).toarray(), np.diag([2.0, 0, 4.0]))
    np.testing.assert_allclose(jac(np.array([-1.0, 1.0, 2.0])).toarray(), np.diag([0, 2.0, 4.0]))


def test_value_and_jacobian_share_the_sweep():
    f, u0 = brusselator(4)
    y, jac = gm.sparse_jacobian(f).value_and_jacobian(u0)
    np.testing.assert_allclose(y, f(u0))
    np.testing.assert_allclose(jac.toarray(), gm.jacfwd(f)(u0), atol=1e-9)


def test_given_sparsity_is_used_and_checked():
    f = lambda x: np.sin(x) * 2  # noqa: E731
    given = sp.eye_array(4, dtype=bool, format="csr")
    before = given.copy()
    jac = gm.sparse_jacobian(f, sparsity=given)
    np.testing.assert_allclose(jac(np.zeros(4)).toarray(), 2 * np.eye(4))
    assert (given != before).nnz == 0  # the user's matrix is untouched
    with pytest.raises(ValueError, match="sparsity= has shape"):
        gm.sparse_jacobian(f, sparsity=sp.eye_array(3, dtype=bool))(np.zeros(4))
    with pytest.raises(ValueError, match="mode"):
        gm.sparse_jacobian(f, mode="sideways")


def rosenbrock(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def test_sparse_hessian_equals_the_dense_one_with_three_colours():
    x = np.linspace(-1, 1, 30)
    hess = gm.sparse_hessian(rosenbrock, x)
    got = hess(x)
    np.testing.assert_allclose(got.toarray(), gm.hessian(rosenbrock)(x), rtol=1e-13)
    assert hess.n_colours == 3  # tridiagonal: a star colouring needs three
    fd = gm.divided_difference(gm.grad(rosenbrock), x, 1e-6, "central")
    np.testing.assert_allclose(got.toarray(), fd, rtol=1e-6, atol=1e-3)


def test_sparse_hessian_of_an_arrowhead_uses_the_star_colouring():
    f = lambda x: x[0] * np.sum(x**2) + np.sum(np.cos(x))  # noqa: E731
    x = np.linspace(0.1, 1, 12)
    hess = gm.sparse_hessian(f)
    np.testing.assert_allclose(hess(x).toarray(), gm.hessian(f)(x), rtol=1e-13, atol=1e-13)
    # a distance-2 colouring of an arrowhead needs n colours; a star colouring two
    assert hess.n_colours == 2


def test_sparse_hessian_bad_input():
    with pytest.raises(ValueError, match="scalar"):
        gm.sparse_hessian(np.sin)(np.ones(3))
    with pytest.raises(ValueError, match="scalar"):
        gm.sparse_hessian(np.sin, sparsity=np.eye(3, dtype=bool))(np.ones(3))
    with pytest.raises(ValueError, match="sparsity= has shape"):
        gm.sparse_hessian(rosenbrock, sparsity=np.eye(2, dtype=bool))(np.ones(3))
    with pytest.raises(TypeError, match="complex"):
        gm.sparse_jacobian(np.sin)(np.ones(3) + 0j)
