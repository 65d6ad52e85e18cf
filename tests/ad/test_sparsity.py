"""Sparsity patterns by index-set tracing, against the dense Jacobian's nonzeros."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import assume, given
from hypothesis import strategies as st

import gradmix as gm
from gradmix.ad.sparsity import PROBE_LIMIT


def nonzeros(f, x):
    """The Jacobian's nonzeros from central differences of the numpy function itself."""
    jac = np.atleast_2d(gm.divided_difference(f, x, 1e-6, "central"))
    jac = jac.reshape(-1, x.size)
    return np.abs(jac) > 1e-7


def points(n, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(0.2, 1.5, n) for _ in range(k)]


CASES = {
    "stencil": lambda x: x[2:] - 2 * x[1:-1] + x[:-2] + np.sin(x[1:-1]),
    "roll": lambda x: np.roll(x, 1) * x - np.exp(np.roll(x, -2)),
    "reshape-sum": lambda x: np.sum(x.reshape(2, -1) ** 2, axis=0),
    "transpose": lambda x: (x.reshape(2, -1).T * np.arange(1.0, 3.0)).ravel(),
    "broadcast": lambda x: (x[:3, None] * x[None, 3:]).ravel(),
    "concatenate": lambda x: np.concatenate([x[:2] ** 2, np.array([1.0]), np.cos(x[4:])]),
    "scatter": lambda x: np.bincount([0, 1, 1, 0, 2, 2], weights=x),
    "matmul-constant": lambda x: np.triu(np.ones((6, 6))) @ x,
    "matmul-traced": lambda x: (x[:4].reshape(2, 2) @ x[2:].reshape(2, 2)).ravel(),
    "inv": lambda x: np.linalg.inv(x[:4].reshape(2, 2) + 3 * np.eye(2)).ravel(),
    "cumsum": lambda x: np.cumsum(x) * x,
    "pad-diff": lambda x: np.diff(np.pad(x, 1)),
    "einsum": lambda x: np.einsum("i,j->ij", x[:2], x[2:]).ravel(),
    "tile-flip": lambda x: np.tile(np.flip(x[:3]), 2) * x,
    "triangle": lambda x: np.tril(x[:4].reshape(2, 2)).ravel(),
    "reductions": lambda x: np.array([np.prod(x[:3]), np.mean(x[3:]), np.sum(x[::2])]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_global_pattern_is_exactly_the_nonzeros_at_generic_points(name):
    f = CASES[name]
    x = points(6)[0]
    pattern = gm.jacobian_sparsity(f, x)
    assert isinstance(pattern, sp.csr_array) and pattern.dtype == bool
    union = np.logical_or.reduce([nonzeros(f, p) for p in points(6)])
    np.testing.assert_array_equal(pattern.toarray(), union)


def test_pattern_of_a_constant_output_is_empty():
    p = gm.jacobian_sparsity(lambda x: np.ones(3), np.ones(4))
    assert p.shape == (3, 4) and p.nnz == 0


def test_value_dependent_branch_needs_kind_local_and_names_the_operation():
    f = lambda x: np.where(x > 1, x**2, -x[::-1])  # noqa: E731
    with pytest.raises(gm.PatternNotGlobalError, match=r"np\.greater.*kind='local'"):
        gm.jacobian_sparsity(f, np.arange(4.0))
    x = np.array([0.5, 2.0, 3.0, 0.1])
    local = gm.jacobian_sparsity(f, x, kind="local").toarray()
    np.testing.assert_array_equal(local, nonzeros(f, x))


def test_python_if_on_a_value_is_refused_globally():
    def f(x):
        return x * 2 if x[0] > 0 else x

    with pytest.raises(gm.PatternNotGlobalError, match="kind='local'"):
        gm.jacobian_sparsity(f, np.ones(3))
    assert gm.jacobian_sparsity(f, np.ones(3), kind="local").nnz == 3


def test_local_rules_keep_the_branch_taken():
    x = np.array([-1.0, 0.5, 2.0, 3.0])
    cases = [
        lambda x: np.maximum(x, x[::-1]),
        lambda x: np.clip(x, 0.0, 2.5),
        lambda x: np.max(x.reshape(2, 2), axis=1),
        lambda x: 2 * np.minimum(x, 1.0) + np.abs(x),
    ]
    for f in cases:
        local = gm.jacobian_sparsity(f, x, kind="local").toarray()
        np.testing.assert_array_equal(local, nonzeros(f, x))
        glob = gm.jacobian_sparsity(f, x).toarray()
        assert np.all(glob >= local)


def test_sorting_is_value_dependent():
    with pytest.raises(gm.PatternNotGlobalError):
        gm.jacobian_sparsity(np.sort, np.array([3.0, 1.0, 2.0]))
    local = gm.jacobian_sparsity(np.sort, np.array([3.0, 1.0, 2.0]), kind="local").toarray()
    np.testing.assert_array_equal(local, [[0, 1, 0], [0, 0, 1], [1, 0, 0]])


def test_a_primitive_larger_than_the_probe_limit_is_dense_not_wrong():
    n = int(np.sqrt(PROBE_LIMIT)) + 10
    a = np.eye(n) + 0.1
    p = gm.jacobian_sparsity(lambda x: np.linalg.solve(a, x), np.ones(n))
    assert p.nnz == n * n


def test_user_primitive_gets_a_pattern_from_its_rules_and_from_defsparsity():
    @gm.primitive
    def shift_square(x):
        return np.concatenate([x[1:] ** 2, [0.0]])

    gm.defjvp(shift_square, lambda g, ans, x: np.concatenate([2 * x[1:] * g[1:], [0.0]]))
    x = np.arange(1.0, 5.0)
    expected = np.eye(4, k=1, dtype=bool)
    np.testing.assert_array_equal(gm.jacobian_sparsity(shift_square, x).toarray(), expected)

    calls = []

    def rule(pats, ans, x, *, local):
        calls.append(local)
        return sp.csr_array(pats[0][np.r_[1:4, 0]])  # deliberately coarser: row 4 keeps x0

    gm.defsparsity(shift_square, rule)
    got = gm.jacobian_sparsity(shift_square, x).toarray()
    assert calls == [False] and got[3, 0] and got[0, 1]


def test_no_derivative_rule_is_an_error():
    @gm.primitive
    def opaque(x):
        return x * 2

    with pytest.raises(gm.NoDerivativeRuleError, match="opaque"):
        gm.jacobian_sparsity(opaque, np.ones(3))


def test_bad_arguments():
    with pytest.raises(ValueError, match="kind"):
        gm.jacobian_sparsity(np.sin, np.ones(2), kind="everywhere")
    with pytest.raises(ValueError, match="scalar"):
        gm.hessian_sparsity(np.sin, np.ones(2))


def rosenbrock(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


HESSIAN_CASES = {
    "rosenbrock": rosenbrock,
    "arrowhead": lambda x: np.sum(x[0] * x**2) + np.sum(np.exp(x[1:])),
    "separable": lambda x: np.sum(np.sin(x) * x),
    "chain": lambda x: np.sum((x[1:] * x[:-1]) ** 2) + x[0] * x[-1],
    "linear-part": lambda x: np.sum(np.arange(6.0) * x) + np.sum(x[:2] ** 3),
}


@pytest.mark.parametrize("name", sorted(HESSIAN_CASES))
def test_hessian_pattern_is_exactly_the_nonzeros(name):
    f = HESSIAN_CASES[name]
    pattern = gm.hessian_sparsity(f, np.ones(6)).toarray()
    union = np.zeros((6, 6), bool)
    for p in points(6):
        h = gm.divided_difference(gm.grad(f), p, 1e-6, "central")
        union |= np.abs(h) > 1e-6
    np.testing.assert_array_equal(pattern, union)


UNARY = [np.sin, np.exp, lambda v: v**2, np.tanh, lambda v: 1 / (1 + v**2)]
MOVES = [lambda v: v, lambda v: v[::-1], lambda v: np.roll(v, 1), lambda v: np.cumsum(v),
         lambda v: np.concatenate([v[1:], v[:1] * 2])]  # fmt: skip


@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 4), st.booleans()), min_size=1, max_size=5
    ),  # fmt: skip
    st.integers(3, 7),
)
def test_random_compositions_pattern_contains_every_nonzero(prog, n):
    def f(x):
        y = x
        for u, m, mix in prog:
            z = UNARY[u](MOVES[m](y))
            y = z * y if mix else z + x
        return y

    x = points(n, 1, seed=n)[0]
    pattern = gm.jacobian_sparsity(f, x).toarray()
    with np.errstate(all="ignore"):
        jac = np.asarray(gm.jacfwd(f)(x))
    assume(np.all(np.isfinite(jac)))  # exp of exp ... overflows: nothing to compare
    assert np.all(pattern[jac != 0])
    sj = gm.sparse_jacobian(f)(x).toarray()
    np.testing.assert_allclose(sj, jac, rtol=1e-12, atol=1e-12 * np.max(np.abs(jac)))
