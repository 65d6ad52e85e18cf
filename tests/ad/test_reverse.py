"""Reverse mode's scalar path and its sweep, against central differences and forward mode.

Scalar code (Python operators on float64 scalars) takes a shortcut in both
directions: operator nodes are built in one call, and the backward sweep visits
creation numbers downwards instead of sorting the graph; nodes holding an outer
transform's scalars (dual numbers, in a Hessian) take it too.  These tests
check that the shortcut computes what the general path does.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradmix as gm
from gradmix.ad import reverse
from gradmix.ad.tracer import new_level
from tests.ad.helpers import numerical_jacobian


def every_operator(v):
    """All ten scalar operators, Node with Node, with float, int and reflected."""
    a, b, c = v[0], v[1], v[2]
    s = a + b - c * a / b
    s = s + 2.0 * a - 3 / b + (1 - c) ** 2 + a**b + 2.0**c
    s = s + (a - 0.5) * (b + 1) / (c + 2.0) - b**2 * 0.25
    return s + np.sin(s) * a


@pytest.mark.parametrize("kind", ["ndarray", "list", "float32"])
def test_scalar_operators_match_central_differences(kind):
    x = np.array([1.3, 0.7, 0.4])
    arg = {"ndarray": x, "list": list(x), "float32": x.astype(np.float32)}[kind]
    value, grad = gm.value_and_grad(every_operator)(arg)
    assert value == pytest.approx(every_operator(x), rel=1e-6 if kind == "float32" else 1e-15)
    fd = numerical_jacobian(every_operator, (x,), 0)
    np.testing.assert_allclose(np.asarray(grad, dtype=float), fd,
                               rtol=1e-3 if kind == "float32" else 1e-7)  # fmt: skip


def test_scalar_path_keeps_float32_values_float32():
    value, grad = gm.value_and_grad(lambda v: v[0] * v[1] + 1.0)(np.float32([2.0, 3.0]))
    assert np.asarray(value).dtype == np.float32
    assert grad.dtype == np.float32


def test_two_python_floats_follow_numpy_not_python():
    """A node holding a Python float: division by zero is inf (numpy), not an error."""
    with new_level() as level:
        x = reverse.Node(1.0, level)
        with np.errstate(divide="ignore"):
            y = x / 0.0
        assert y.value == np.inf
        z = x**0.5 + 0.0**x  # numpy's power
        assert z.value == 1.0
        grads = reverse.backward([(z, 1.0)])
    assert grads[id(x)] == pytest.approx(0.5)


def test_shared_scalars_and_unused_intermediates():
    """Nodes made and never used lie between used ones in creation order."""

    def f(v):
        a = v[0] * v[1]
        unused = a * 3.0 + v[2]  # noqa: F841  (made, never reaches the output)
        b = a * a + v[2]
        for _ in range(5):
            unused = b * 1.5  # noqa: F841
            b = b * a - v[0]
        return b

    x = np.array([0.9, 1.1, 0.3])
    np.testing.assert_allclose(gm.grad(f)(x), numerical_jacobian(f, (x,), 0), rtol=1e-7)


def test_vector_output_of_scalars_agrees_with_forward_mode():
    """Several roots share nodes: each row of the Jacobian is one sweep."""

    def f(v):
        a = v[0] * v[1]
        return np.stack([a + v[2], a * v[2], a**2 - v[0]])

    x = np.array([0.6, -1.2, 2.0])
    np.testing.assert_allclose(gm.jacrev(f)(x), gm.jacfwd(f)(x), rtol=1e-14)
    value, pullback = gm.vjp(f, x)
    (g,) = pullback(np.array([1.0, 2.0, -1.0]))
    np.testing.assert_allclose(g, np.array([1.0, 2.0, -1.0]) @ gm.jacfwd(f)(x), rtol=1e-14)


def test_nested_scalar_transforms():
    """Scalars of two levels in one expression: the inner level's shortcut must not
    take the outer tracer for a number."""

    def outer(x):
        return gm.grad(lambda y: x * y * y + x**3 * y)(2.0)

    # d/dx (4x + x³) = 4 + 3x²
    assert gm.grad(outer)(0.7) == pytest.approx(4 + 3 * 0.7**2, rel=1e-14)
    assert gm.derivative(outer, 2)(0.7) == pytest.approx(6 * 0.7, rel=1e-12)


def test_hessian_of_scalar_code():
    """Forward over reverse: the nodes hold dual numbers, which their operators hand on."""
    x = np.array([1.3, 0.7, 0.4])
    H = gm.hessian(every_operator)(x)
    np.testing.assert_allclose(H, gm.jacfwd(gm.jacfwd(every_operator))(x), rtol=1e-12)
    np.testing.assert_allclose(H, numerical_jacobian(gm.grad(every_operator), (x,), 0),
                               rtol=1e-6, atol=1e-8)  # fmt: skip


def test_hessian_through_complex_scalars():
    """Nodes holding complex dual numbers, and a real node whose parent is complex and
    whose cotangent arrives complex: a real value's cotangent is the real part."""

    def f(v):
        z1 = v[0] + 1j * v[1]
        w = np.real(z1 * z1)
        z2 = w + 1j * v[0]
        return np.real(z2**2) + w * v[1]

    x = np.array([0.8, -0.3])
    H = gm.hessian(f)(x)
    np.testing.assert_allclose(H, gm.jacfwd(gm.jacfwd(f))(x), rtol=1e-12)
    np.testing.assert_allclose(H, numerical_jacobian(gm.grad(f), (x,), 0), rtol=1e-7,
                               atol=1e-8)  # fmt: skip


STEPS = {
    "+": lambda s, t: s + t,
    "-": lambda s, t: s - t,
    "*": lambda s, t: s * t,
    "/": lambda s, t: s / t,
    "r-": lambda s, t: 1.5 - s,
    "r/": lambda s, t: 2.0 / (s * s + 1),
    "**2": lambda s, t: s**2,
    "c*": lambda s, t: 0.5 * s,
}


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0.2, 2.0), min_size=3, max_size=3),
    st.lists(st.sampled_from(sorted(STEPS)), min_size=1, max_size=12),
)
def test_random_scalar_chains_match_forward_mode(x0, ops):
    def f(v):
        s = v[0]
        for k, op in enumerate(ops):
            s = STEPS[op](s, v[(k + 1) % 3])
        return s

    x = np.array(x0)
    np.testing.assert_allclose(gm.grad(f)(x), gm.jacfwd(f)(x), rtol=1e-12, atol=1e-14)


def test_reading_entries_leaves_no_reference_cycle():
    """A node and the entry nodes read from it by an integer index (``a[0]``) refer to
    each other while the function is traced; afterwards nothing is left for Python's
    cycle collector (before, the cycle kept that node and every node before it, with
    their arrays, alive until the collector next ran)."""

    def lse_columns(z):
        a = np.max(z, axis=0, keepdims=True)
        return np.sum(a[0] + np.log(np.sum(np.exp(z - a), axis=0)))

    z = np.random.default_rng(0).normal(size=(50, 4))
    gm.value_and_grad(lse_columns)(z)  # (imports and caches of a first call)
    gc.collect()
    gc.disable()
    try:
        value, grad = gm.value_and_grad(lse_columns)(z)
        rows = gm.jacobian(lambda v: np.stack([v[0] * v[1], v[2]]))(np.arange(3.0))
        assert gc.collect() == 0
    finally:
        gc.enable()
    np.testing.assert_allclose(grad, gm.divided_difference(lse_columns, z, 1e-6, "central"),
                               rtol=1e-6, atol=1e-9)  # fmt: skip
    np.testing.assert_array_equal(rows, [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "f, closed_form",
    [
        (lambda x: np.sum(100.0 * x**2), lambda x: 200.0 * x),
        (lambda x: np.sum((1.0 - x) ** 2), lambda x: -2.0 * (1.0 - x)),
        (lambda x: np.sum(np.float32(3.0) * x) - np.sum(x * np.array(2.0)), lambda x: 0 * x + 1.0),
        (lambda x: np.mean(-(x**2)) * 4.0, lambda x: -8.0 * x / x.size),
        (lambda x: np.nansum(3.0 * x), lambda x: np.where(np.isnan(x), 0.0, 3.0)),
    ],
)
def test_scaled_reduction_cotangents_give_writable_gradients_of_their_own(f, closed_form, dtype):
    """A reduction's cotangent is compact (the reduced shape) through scalings and
    negations: the gradient is still the closed form's, in the argument's dtype,
    writable, and no two calls share memory."""
    x = np.linspace(-1.0, 2.0, 12).astype(dtype).reshape(3, 4)
    if "nansum" in f.__code__.co_names:
        x[1, 2] = np.nan
    g = gm.grad(f)(x)
    assert g.dtype == dtype and g.flags.writeable and g.shape == x.shape
    np.testing.assert_allclose(g, closed_form(x.astype(np.float64)), rtol=1e-6)
    again = gm.grad(f)(x)
    g += 1.0
    np.testing.assert_allclose(again, closed_form(x.astype(np.float64)), rtol=1e-6)
