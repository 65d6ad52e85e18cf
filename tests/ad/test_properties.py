"""Property-based checks: AD agrees with central differences on random compositions."""

from unittest import mock

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

import gradmix as gm

UNARY = [np.sin, np.cos, np.tanh, np.exp, np.arctan, lambda x: x**2, lambda x: np.sqrt(1 + x**2),
         lambda x: np.log1p(x**2), np.sinh, lambda x: 1 / (1 + x**2)]  # fmt: skip
BINARY = [np.add, np.subtract, np.multiply, lambda a, b: a / (1 + b**2),
          lambda a, b: np.hypot(a, 1 + b**2),
          np.logaddexp, lambda a, b: np.arctan2(a, 1 + b**2)]  # fmt: skip
REDUCE = [np.sum, np.mean, lambda v: np.sum(v**2), lambda v: v @ v, np.prod,
          lambda v: np.linalg.norm(v + 3.0)]  # fmt: skip

program = st.lists(
    st.tuples(st.integers(0, len(UNARY) - 1), st.integers(0, len(BINARY) - 1), st.booleans()),
    min_size=1,
    max_size=6,
)
point = st.lists(st.floats(-1.5, 1.5), min_size=2, max_size=5).map(np.array)


def build(prog, reduce_index):
    def f(x):
        y = x
        for u, b, flip in prog:
            z = UNARY[u](y)
            y = BINARY[b](z, y[::-1] if flip else x)
        return REDUCE[reduce_index](y)

    return f


def moderate(prog, x, limit=1e4):
    """Whether every intermediate value stays below ``limit``.  Past it (sinh of an exp
    reaches 6e7), the next sin or cos oscillates faster than any difference step can
    follow, and central differences of the gradient measure noise (found: a Hessian
    entry of -1468 from every AD mode against differences of -0.03, +0.004 and -3.5
    at steps 1e-5, 1e-4 and 1e-7)."""
    y = x
    with np.errstate(all="ignore"):
        for u, b, flip in prog:
            z = UNARY[u](y)
            y = BINARY[b](z, y[::-1] if flip else x)
            if not (np.all(np.abs(z) < limit) and np.all(np.abs(y) < limit)):
                return False
    return True


# random compositions may overflow (sinh of sinh ...); such points are skipped
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@given(program, st.integers(0, len(REDUCE) - 1), point)
# found: a subnormal product (np.prod's rule divided it by each entry: 4.0 for 3.68)
@example([(0, 0, False)], 4, np.array([1.0, 5e-324]))
# found: sin of exp(exp(...)) with gradient 5e4, whose differences at h = 1e-4 span
# several of its periods (they give -10451 where smaller steps converge to AD's 50913)
@example([(6, 5, True), (6, 0, False), (3, 0, False), (3, 0, False), (0, 0, False)], 0,
         np.array([0.0, 0.4375]))  # fmt: skip
def test_random_composition_gradient(prog, r, x):
    f = build(prog, r)
    # an overflowed value has no derivative to compare: forward mode then carries
    # 0 · inf = NaN in directions that reverse mode never visits (found: f = inf; and
    # f finite, tanh of an overflowed exp, where reverse mode's other entry was 1)
    assume(np.isfinite(f(x)) and moderate(prog, x, limit=np.inf))
    g_rev = gm.grad(f)(x)
    g_fwd = gm.jacfwd(f)(x)
    # the two modes round differently; an entry that cancels to ~0 keeps an error of the
    # order of eps·|f| (found: |f| = 3e7, gradient 5e-9 against 7e-9)
    scale = 1e-13 * abs(float(f(x)))
    np.testing.assert_allclose(g_rev, g_fwd, rtol=1e-9, atol=1e-9 + scale)
    if np.all(np.isfinite(g_rev)) and np.max(np.abs(g_rev)) < 1e6 and moderate(prog, x):
        # central differences at h and h/2: their gap estimates the truncation error
        # (O(h²)), which is large where the composition oscillates fast; that estimate
        # holds only while a step moves the function by a small part of its scale, so
        # the step shrinks as the gradient grows (1e-4 up to |g| = 100)
        h = 1e-4 / max(1.0, float(np.max(np.abs(g_rev))) / 100.0)
        fd1 = gm.divided_difference(f, x, h, "central")
        fd2 = gm.divided_difference(f, x, h / 2, "central")
        bound = 2 * np.abs(fd1 - fd2) + 1e-7 * max(1.0, float(np.max(np.abs(g_rev))))
        assert np.all(np.abs(g_rev - fd2) <= bound)


@given(program, point)
def test_random_composition_hessian_symmetric_and_matches(prog, x):
    f = build(prog, 2)
    h = gm.hessian(f)(x)
    if np.all(np.isfinite(h)) and np.max(np.abs(h)) < 1e6 and moderate(prog, x):
        np.testing.assert_allclose(h, h.T, rtol=1e-8, atol=1e-8)
        # as for the gradient: the divided difference's own error, estimated from two
        # steps, bounds the distance (steep compositions defeat a fixed tolerance)
        fd1 = gm.divided_difference(gm.grad(f), x, 1e-5, "central")
        fd2 = gm.divided_difference(gm.grad(f), x, 5e-6, "central")
        bound = 2 * np.abs(fd1 - fd2) + 1e-4 * max(1.0, float(np.max(np.abs(h))))
        assert np.all(np.abs(h - fd2) <= bound)


@given(point, point)
def test_vjp_is_the_adjoint_of_jvp(x, v):
    # <u, J v> == <Jᵀ u, v> for random u, v: the two modes describe one linear map
    n = min(len(x), len(v))
    x, v = x[:n], v[:n]
    f = lambda y: np.sin(y) * np.cumsum(y) + np.roll(y, 1) ** 2  # noqa: E731
    u = np.cos(np.arange(n) + 1.0)
    _, jv = gm.jvp(f, (x,), (v,))
    _, pullback = gm.vjp(f, x)
    (ju,) = pullback(u)
    assert np.dot(u, jv) == pytest.approx(np.dot(ju, v), rel=1e-10, abs=1e-12)


# orderings inside a composition: gm.compile records them as operations of the program
ORDERINGS = [np.sort, lambda v: v[np.argsort(v)[::-1]], lambda v: v * v[np.argmax(v)],
             lambda v: np.take_along_axis(v, np.argsort(np.cos(v)), 0),
             lambda v: v * np.median(v)]  # fmt: skip


@given(program, st.lists(st.integers(0, len(ORDERINGS) - 1), min_size=1, max_size=3), point,
       st.randoms(use_true_random=False))  # fmt: skip
def test_compiled_orderings_are_recomputed_at_every_point(prog, orders, x, rnd):
    base = build(prog, 2)

    def f(v):
        for k in orders:
            v = ORDERINGS[k](np.sin(3.0 * v) + v)
        return base(v)

    other = np.array([rnd.uniform(-1.5, 1.5) for _ in x])  # another order, same shape
    assume(np.isfinite(f(x)) and np.isfinite(f(other)))
    vg = gm.compile(f, x)
    value, g = vg(other)
    assert value == pytest.approx(float(f(other)), rel=1e-12)
    np.testing.assert_allclose(g, gm.grad(f)(other), rtol=1e-9, atol=1e-9)


# scalar code at the edges of its functions' domains: the compiled program (Python
# floats and math.*) must give eager mode's numbers, inf and nan included
SINGULAR = [np.log, np.sqrt, lambda t: 1.0 / t, lambda t: t**0.5, np.exp, np.arcsin,
            lambda t: t**3, np.tanh, lambda t: t**-1.5]  # fmt: skip
edge = st.lists(st.sampled_from([0.0, -0.0, -1.0, 0.5, 2.0, 1e3, -0.5, 1e-300, 800.0]),
                min_size=3, max_size=3)  # fmt: skip


@given(st.lists(st.tuples(st.integers(0, len(SINGULAR) - 1), st.integers(0, 2)), min_size=1,
                max_size=5), edge)  # fmt: skip
# (tanh near 1, where math.tanh and numpy's differ by a unit: a derivative from the value,
# 1 - tanh², amplified that to 2e-12)
@example(prog=[(8, 1), (6, 0), (0, 0), (7, 0)], at=[0.5, 2.0, 0.0])
def test_compiled_scalar_code_agrees_with_eager_mode_at_the_edges(prog, at):
    def f(x):
        s = x[0]
        for u, j in prog:
            s = SINGULAR[u](s) + x[j]
        return s

    vc = gm.compile(f, np.array([0.3, 0.6, 0.9]))
    with np.errstate(all="ignore"):
        value, grad = vc(np.array(at))
        ref_value, ref_grad = gm.value_and_grad(f)(np.array(at))
    assert not np.iscomplexobj(value) and not np.iscomplexobj(grad)
    np.testing.assert_allclose(value, ref_value, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, equal_nan=True)


# views that outlive the array they look into: a compiled program writes results into
# the memory of dead arrays (here at any size), never into one a live view still reads
VIEWS = [lambda v: v, lambda v: v[::-1], lambda v: v.reshape(-1, 1)[:, 0],
         lambda v: np.transpose(v[None, :])[:, 0], lambda v: np.broadcast_to(v, (2, v.size))[1],
         lambda v: v[1:] * v[:-1] @ np.ones(v.size - 1) + v]  # fmt: skip
with_views = st.lists(
    st.tuples(st.integers(0, len(UNARY) - 1), st.integers(0, len(BINARY) - 1),
              st.integers(0, 9), st.integers(0, len(VIEWS) - 1)),
    min_size=1, max_size=8,
)  # fmt: skip


@given(with_views, point, st.randoms(use_true_random=False))
def test_compiled_programs_writing_into_dead_arrays_agree_with_eager_mode(prog, x, rnd):
    def f(v):
        values = [v]
        for u, b, back, view in prog:
            seen = VIEWS[view](values[-1 - back % len(values)])  # a view of an earlier value
            values.append(BINARY[b](UNARY[u](values[-1]), seen))
        # a maximum's tie share is added into the other cotangent's memory (where=)
        return np.sum(values[-1] ** 2) + np.sum(np.sin(seen)) + np.max(values[-1])

    other = np.array([rnd.uniform(-1.5, 1.5) for _ in x])
    assume(moderate([(0, 0, False)], other) and np.isfinite(f(x)) and np.isfinite(f(other)))
    emit = gm.ad.emit
    with mock.patch.object(emit, "RELEASE_ABOVE_BYTES", 0), \
            mock.patch.object(emit, "WRITE_INTO_BYTES", 0):  # fmt: skip
        vg = gm.compile(f, x)
    given_point = other.copy()
    value, g = vg(given_point)
    np.testing.assert_array_equal(given_point, other)  # the input is never written
    ref_value, ref_g = gm.value_and_grad(f)(other)
    assert value == pytest.approx(ref_value, rel=1e-12)
    np.testing.assert_allclose(g, ref_g, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(vg(other)[1], g)  # and no call changes the next one


# log-sum-exps of matrices with ties: the maximum's share placed on its entries and
# added into the other cotangent in place, the softmax's sum taken from the forward
# sum, scalings joined, all with the thresholds at 0 (every array qualifies)
matrix = st.tuples(st.integers(2, 4), st.integers(2, 4)).flatmap(
    lambda shape: st.lists(st.sampled_from([-1.0, -0.5, 0.0, 0.5, 1.0, 1.5]),
                           min_size=shape[0] * shape[1], max_size=shape[0] * shape[1])
    .map(lambda v, shape=shape: np.array(v).reshape(shape))
)  # fmt: skip


@given(matrix, st.sampled_from([0, 1, None]), st.booleans(), st.integers(0, 2))
def test_compiled_log_sum_exps_with_ties_agree_with_eager_mode(M, axis, keepdims, c_kind):
    c = [2.0, np.linspace(0.5, 1.5, M.shape[1]), np.linspace(1.0, 2.0, M.shape[0])[:, None]][c_kind]

    def f(x):
        m = np.max(x, axis=axis, keepdims=True)
        e = np.exp(x - m)
        s = np.sum(e, axis=axis, keepdims=keepdims)
        scaled = np.sum(c * e, axis=axis, keepdims=keepdims)
        return np.sum((np.log(s) + np.min(x)) ** 2) + np.sum(scaled * 0.5) * 4.0 + np.sum(m)

    emit = gm.ad.emit
    with mock.patch.object(emit, "RELEASE_ABOVE_BYTES", 0), \
            mock.patch.object(emit, "WRITE_INTO_BYTES", 0):  # fmt: skip
        vg = gm.compile(f, M)
    for point in (M, M[::-1].copy() * 0.9):
        given_point = point.copy()
        value, g = vg(given_point)
        np.testing.assert_array_equal(given_point, point)
        ref_value, ref_g = gm.value_and_grad(f)(point)
        assert value == pytest.approx(ref_value, rel=1e-12)
        np.testing.assert_allclose(g, ref_g, rtol=1e-10, atol=1e-12)
