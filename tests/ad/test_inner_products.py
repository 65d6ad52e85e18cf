"""gm.compile's sums of products as inner products (gradmix.ad.inner_products): the
values against f itself and eager mode, the gradients against eager mode and central
differences, and which sums are rewritten."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradmix as gm
from gradmix.ad.rules import linalg, reductions


def _counts(vg):
    """(inner products, sums over every axis, row-by-row inner products, sums over the
    last axis) in the compiled program's graph."""
    nodes = vg.graph.nodes
    inner = sum(n.prim is linalg.matmul_p and np.ndim(n.value) == 0 for n in nodes)
    whole = sum(n.prim is reductions.sum_p and np.size(n.value) == 1 for n in nodes)
    rows = sum(n.prim is linalg.einsum_p for n in nodes)
    last = sum(n.prim is reductions.sum_p and np.size(n.value) > 1
               and n.kwargs["axes"] == (np.ndim(n.args[0].value) - 1,) for n in nodes)  # fmt: skip
    return inner, whole, rows, last


def _check(f, x, differences=True):
    vg = gm.compile(f, x)
    value, grad = vg(x)
    ref_value, ref_grad = gm.value_and_grad(f)(x)
    assert value == pytest.approx(float(f(x)), rel=1e-13)
    assert value == pytest.approx(float(ref_value), rel=1e-13)
    # (to rounding: an entry that is a difference of larger terms keeps their error)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-13, atol=1e-15 * np.max(np.abs(grad)))
    if differences:
        # (central differences' rounding: about eps·|f| / h)
        fd = gm.divided_difference(f, x, 1e-6, "central")
        np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8 * max(1.0, abs(value)))
    return vg


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def test_rosenbrocks_sum_is_two_inner_products():
    x = np.random.default_rng(0).normal(size=2000)
    vg = _check(rosen, x, differences=False)
    assert _counts(vg) == (2, 0, 0, 0)
    assert "@" in vg.source and "np.sum" not in vg.source
    # the closed form of the gradient
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1 - x[:-1])
    g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
    np.testing.assert_allclose(vg(x)[1], g, rtol=1e-12, atol=1e-12)
    # another point of the same shape: the program, not the example's numbers
    y = x[::-1] * 0.5
    np.testing.assert_allclose(vg(y)[0], rosen(y), rtol=1e-13)


W = np.linspace(0.5, 2.0, 300).reshape(20, 15)

CENTRES = np.linspace(-1.0, 1.0, 4 * 15).reshape(4, 1, 15)

# (function, what _counts finds) for x of shape (20, 15)
FORMS = {
    "products": (lambda x: np.sum(np.sin(x) * np.cos(x)), (1, 0, 0, 0)),
    "scaled difference": (
        lambda x: np.sum(3.0 * x**2 - np.square(np.sin(x)) / 1.0),
        (2, 0, 0, 0),
    ),
    "negated": (lambda x: np.sum(-(np.exp(x) * x)), (1, 0, 0, 0)),
    "a mean": (lambda x: np.mean(np.sin(x) ** 2), (1, 0, 0, 0)),
    "with a plain term": (lambda x: np.sum(x * x + np.exp(x)), (1, 1, 0, 0)),
    # three factors: the first two multiplied, then a dot
    "weights": (lambda x: np.sum(W * np.tanh(x) ** 2), (1, 0, 0, 0)),
    "scaled factors": (lambda x: np.sum(W * (2.0 * W) * np.sin(x) ** 2 * 3.0), (1, 0, 0, 0)),
    # (the gradient reads the first two factors' product: it is one factor)
    "a product read again": (lambda x: np.sum((2.0 * np.sin(x)) * (x * 3.0) * x), (1, 0, 0, 0)),
    # a broadcast factor, operands not laid out in order: einsum
    "broadcast": (lambda x: np.sum(x * x[0]), (0, 0, 1, 0)),
    "transposed": (lambda x: np.sum(x.T * np.sin(x).T), (0, 0, 1, 0)),
    # over the last axis, row by row: a rewritten sum inside another
    "rows": (lambda x: np.sum(np.sum(x * x, axis=1) ** 3), (0, 1, 1, 0)),
    "rows kept": (
        lambda x: np.sum(np.exp(-np.sum(np.sin(x) ** 2 - x, axis=-1, keepdims=True)) * x),
        (0, 0, 2, 2),
    ),
    "distances": (
        lambda x: np.sum(np.min(np.sum((x - CENTRES) ** 2, axis=-1), axis=0)),
        (0, 1, 1, 0),
    ),
    "broadcast rows": (
        lambda x: np.sum(np.cos(np.sum(x[:, None, :] * CENTRES[:, 0] * x[:, None, :], axis=-1))),
        (0, 1, 1, 0),
    ),
    # not rewritten: no product, rows too short for einsum (a product with ones, as
    # numpy's sums of short rows), a sum over the first axis
    "no product": (lambda x: np.sum(np.exp(x) + x), (0, 1, 0, 0)),
    "short rows": (
        lambda x: np.sum(np.sum(np.reshape(x, (-1, 5)) ** 2, axis=1) ** 3),
        (0, 1, 0, 1),
    ),
    "columns": (lambda x: np.sum(np.sum(x * x, axis=0) ** 3), (0, 1, 0, 0)),
}


@pytest.mark.parametrize("name", FORMS)
def test_sums_of_products_are_inner_products_where_nothing_else_reads_them(name):
    f, counts = FORMS[name]
    x = np.random.default_rng(1).normal(size=(20, 15)) * 0.5
    vg = _check(f, x)
    assert _counts(vg) == counts


def test_a_product_read_elsewhere_is_summed_as_it_is():
    """The square is also returned: the program computes it anyway, and summing it is
    one pass, where an inner product would read its operand twice."""

    def f(x):
        s = np.sin(x) ** 2
        return np.sum(s), s

    x = np.linspace(-2.0, 2.0, 50)
    vg = gm.compile(f, x, has_aux=True)
    (value, aux), grad = vg(x)
    assert value == pytest.approx(np.sum(np.sin(x) ** 2), rel=1e-14)
    np.testing.assert_array_equal(aux, np.sin(x) ** 2)
    np.testing.assert_allclose(grad, 2 * np.sin(x) * np.cos(x), rtol=1e-14)
    assert _counts(vg) == (0, 1, 0, 0)


def test_float32_sums_stay_numpys():
    """BLAS's lanes keep running float32 sums with two to three times numpy's rounding."""
    x = np.linspace(-1.0, 1.0, 1000, dtype=np.float32)
    vg = gm.compile(lambda v: np.sum(v * v), x)
    value, grad = vg(x)
    assert value.dtype == np.float32 and value == np.sum(x * x)
    assert _counts(vg) == (0, 1, 0, 0)


def test_a_gradients_own_sums_become_inner_products():
    """The derivative of Σ (θ·t - y)² by a scalar θ is Σ 2(θ·t - y)·t: a sum of the
    reverse sweep's (over the broadcast θ, keeping its dimensions), rewritten too."""
    t = np.linspace(0.0, 3.0, 500)
    y = np.sin(t)

    def f(p):
        return np.sum((p[0] * t - y) ** 2) + np.sum(p * p)

    p = np.array([0.4, -1.0])
    vg = _check(f, p)
    r = p[0] * t - y
    np.testing.assert_allclose(vg(p)[1], [2 * np.dot(r, t) + 2 * p[0], 2 * p[1]], rtol=1e-13)
    assert _counts(vg) == (3, 0, 0, 0)


# random sums of products: terms c · u(x) · v(x) (or a plain u(x)), combined by + and -,
# summed over every axis or over the last
FACTORS = [np.sin, np.cos, np.exp, lambda v: v, lambda v: v * 0.5 - 1.0, np.arctan]


@given(
    st.lists(
        st.tuples(st.integers(0, len(FACTORS) - 1), st.integers(-1, len(FACTORS) - 1),
                  st.sampled_from([1.0, -1.0, 2.5, -0.3]), st.booleans()),
        min_size=1, max_size=4,
    ),
    st.sampled_from([None, -1]),
    st.sampled_from([(7,), (3, 12), (2, 3, 14)]),
)  # fmt: skip
def test_random_sums_of_products_equal_eager_mode(terms, axis, shape):
    def f(x):
        total = 0.0
        for k, (u, v, c, square) in enumerate(terms):
            a = FACTORS[u](x)
            t = a**2 if square else a if v < 0 else a * FACTORS[v](x)
            total = total + c * t if k % 2 == 0 else total - c * t
        s = np.sum(total, axis=axis)
        return np.sum(np.sin(s)) if axis is not None else s

    x = np.linspace(-1.2, 1.3, int(np.prod(shape))).reshape(shape)
    vg = gm.compile(f, x)
    y = np.cos(3.0 * x)  # another point
    value, grad = vg(y)
    ref_value, ref_grad = gm.value_and_grad(f)(y)
    assert value == pytest.approx(float(f(y)), rel=1e-12, abs=1e-12)
    assert value == pytest.approx(float(ref_value), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-11, atol=1e-12 * (1 + np.max(np.abs(grad))))
