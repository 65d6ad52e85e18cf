"""The lecture's worked example: the dual program for f(x1, x2) = x1·x2 + sin(x1)."""

import numpy as np
import pytest

import gradmix as gm

X1, X2 = 1.5, 2.0


def test_dual_program_for_df_dx2():
    w1, w2 = gm.Dual(X1, 0.0), gm.Dual(X2, 1.0)
    w3 = w1 * w2
    w4 = np.sin(w1)
    w5 = w3 + w4
    # the lecture: w3' = w1' w2 + w1 w2' = x1, w4' = cos(w1) w1' = 0, w5' = x1
    assert [float(w.tangent) for w in (w1, w2, w3, w4, w5)] == [0.0, 1.0, X1, 0.0, X1]
    assert float(w5.primal) == pytest.approx(X1 * X2 + np.sin(X1), abs=1e-15)


def test_more_dual_components_give_the_gradient():
    # x1 + ẋ1 d1 and x2 + ẋ2 d2 with d_i d_j = 0: one sweep, both partials
    x1, x2 = gm.Dual(X1, [1.0, 0.0]), gm.Dual(X2, [0.0, 1.0])
    y = x1 * x2 + np.sin(x1)
    np.testing.assert_allclose(y.tangent, [X2 + np.cos(X1), X1], rtol=1e-15)


def test_reverse_mode_gradient():
    g = gm.grad(lambda a, b: a * b + np.sin(a), argnums=(0, 1))(X1, X2)
    np.testing.assert_allclose(g, [X2 + np.cos(X1), X1], rtol=1e-15)


def test_dual_arithmetic_rules_of_the_lecture():
    x, y = gm.Dual(3.0, 2.0), gm.Dual(5.0, 7.0)
    assert float((x + y).tangent) == 9.0
    assert float((x * y).tangent) == 3.0 * 7.0 + 2.0 * 5.0
    assert float((-x).tangent) == -2.0
    assert float((1 / x).tangent) == pytest.approx(-2.0 / 9.0)
    assert float(np.exp(x).tangent) == pytest.approx(np.exp(3.0) * 2.0)
    assert float(np.log(x).tangent) == pytest.approx(2.0 / 3.0)
    assert float(np.sqrt(x).tangent) == pytest.approx(2.0 / (2 * np.sqrt(3.0)))
    assert float(np.cos(x).tangent) == pytest.approx(-np.sin(3.0) * 2.0)


def test_polynomial_over_duals_gives_its_derivative():
    p = [2.0, -1.0, 0.5, 3.0]  # p0 + p1 x + p2 x^2 + p3 x^3
    x = gm.Dual(1.3, 1.0)
    y = sum(c * x**k for k, c in enumerate(p))
    dp = sum(k * c * 1.3 ** (k - 1) for k, c in enumerate(p) if k)
    assert float(y.tangent) == pytest.approx(dp, rel=1e-14)


def test_dual_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="tangent shape"):
        gm.Dual(np.ones(3), np.ones(2))
