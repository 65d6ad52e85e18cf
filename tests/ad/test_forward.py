"""Forward mode's scalar path: dual numbers built by their own operators, one per entry.

Scalar code (Python operators on float64 scalars) takes a shortcut: the primal
by Python's operator, the tangent by the primitive's JVP rules, in one call.
These tests check that it computes what the general path does.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradmix as gm
from tests.ad.helpers import numerical_jacobian
from tests.ad.test_reverse import STEPS, every_operator


@pytest.mark.parametrize("kind", ["ndarray", "list", "float32"])
def test_scalar_operators_match_central_differences(kind):
    x = np.array([1.3, 0.7, 0.4])
    v = np.array([0.3, -1.1, 0.8])
    arg = {"ndarray": x, "list": list(x), "float32": x.astype(np.float32)}[kind]
    tan = {"ndarray": v, "list": list(v), "float32": v.astype(np.float32)}[kind]
    value, jv = gm.jvp(every_operator, (arg,), (tan,))
    assert value == pytest.approx(every_operator(x), rel=1e-6 if kind == "float32" else 1e-15)
    expected = numerical_jacobian(every_operator, (x,), 0) @ v
    assert float(jv) == pytest.approx(expected, rel=1e-3 if kind == "float32" else 1e-7)


def test_batched_tangents_give_the_jacobian():
    """jacfwd pushes every direction at once: the tangents carry a batch axis."""

    def f(v):
        a = v[0] * v[1]
        return np.stack([a + v[2], 2.0 / a - v[2] ** 2, every_operator(v)])

    x = np.array([0.6, -1.2, 2.0])
    np.testing.assert_allclose(gm.jacfwd(f)(x), gm.jacrev(f)(x), rtol=1e-13)


def test_dual_numbers_by_hand_and_mixed_directions():
    x1, x2 = gm.Dual(1.5, 0.0), gm.Dual(2.0, 1.0)
    w = x1 * x2 + 3 - x2 / x1 + x1**2
    assert float(w.primal) == pytest.approx(1.5 * 2.0 + 3 - 2.0 / 1.5 + 2.25)
    assert float(w.tangent) == pytest.approx(1.5 - 1 / 1.5)  # ∂w/∂x2
    batched = gm.Dual(1.0, np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="different numbers of directions"):
        batched * x2


def test_entries_read_twice_are_one_dual_number():
    seen = []

    def f(x):
        seen.append(x[1] is x[1])
        return x[0] * x[1] + x[1]

    _, jv = gm.jvp(f, (np.array([2.0, 3.0]),), (np.array([1.0, 1.0]),))
    assert seen == [True] and jv == pytest.approx(3.0 + 2.0 + 1.0)


def test_higher_derivatives_of_scalar_code():
    """Dual numbers of dual numbers: the inner level's shortcut must not take the outer
    dual number for a number."""

    def f(x):
        return x**3 - 2.0 * x + 1 / x

    for order, expected in ((1, 3 * 0.7**2 - 2 - 1 / 0.7**2), (2, 6 * 0.7 + 2 / 0.7**3),
                            (3, 6.0 - 6 / 0.7**4)):  # fmt: skip
        assert gm.derivative(f, order)(0.7) == pytest.approx(expected, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0.2, 2.0), min_size=3, max_size=3),
    st.lists(st.sampled_from(sorted(STEPS)), min_size=1, max_size=12),
    st.lists(st.floats(-1.0, 1.0), min_size=3, max_size=3),
)
def test_random_scalar_chains_match_reverse_mode(x0, ops, v0):
    def f(v):
        s = v[0]
        for k, op in enumerate(ops):
            s = STEPS[op](s, v[(k + 1) % 3])
        return s

    x, v = np.array(x0), np.array(v0)
    _, jv = gm.jvp(f, (x,), (v,))
    assert float(jv) == pytest.approx(float(gm.grad(f)(x) @ v), rel=1e-12, abs=1e-13)


def test_outer_tracers_and_containers_still_go_through_bind():
    """The general path calls the primitive itself only where nothing is left for an
    outer transform: nested levels and stacked scalars agree with reverse mode."""

    def f(x):
        y = np.stack([x[0] * x[1], np.sin(x[1]), np.maximum(x[0], 0.5)])
        return np.sum(y**2)

    x = np.array([0.7, 1.3])
    np.testing.assert_allclose(gm.hessian(f)(x), gm.jacrev(gm.grad(f))(x), rtol=1e-12)
    np.testing.assert_allclose(gm.jacfwd(gm.jacfwd(f))(x), gm.hessian(f)(x), rtol=1e-12)
