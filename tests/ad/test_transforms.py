"""Transforms: conventions (argnums, has_aux, pytrees, dtypes), nesting, Hessians."""

import numpy as np
import pytest

import gradmix as gm


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosen_hessian(x):
    n = len(x)
    h = np.zeros((n, n))
    for i in range(n - 1):
        h[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        h[i, i + 1] = h[i + 1, i] = -400 * x[i]
        h[i + 1, i + 1] += 200
    return h


def test_perturbation_confusion():
    # d/dx [x · d/dy (x + y)] = 1, not 2
    d = gm.derivative(lambda x: x * gm.derivative(lambda y: x + y)(1.0))(1.0)
    assert d == 1.0
    g = gm.grad(lambda x: x * gm.grad(lambda y: x * y)(2.0))(3.0)
    assert g == pytest.approx(6.0)  # d/dx [x · x] = 2x


def test_nesting_three_deep():
    f = lambda x: np.sin(x) * x**3  # noqa: E731
    third = gm.derivative(f, 3)(0.7)
    x = 0.7
    exact = -np.cos(x) * x**3 - 9 * np.sin(x) * x**2 + 18 * np.cos(x) * x + 6 * np.sin(x)
    assert third == pytest.approx(exact, rel=1e-12)
    mixed = gm.grad(gm.grad(gm.grad(lambda x: np.exp(2 * x))))(0.3)
    assert mixed == pytest.approx(8 * np.exp(0.6), rel=1e-13)


def test_hessian_rosenbrock_closed_form():
    x = np.array([1.2, 0.8, -0.5, 1.1, 0.3])
    np.testing.assert_allclose(gm.hessian(rosen)(x), rosen_hessian(x), rtol=1e-12)


def test_hessian_of_quadratic_and_logdet():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(4, 4))
    A = A + A.T
    np.testing.assert_allclose(gm.hessian(lambda x: 0.5 * x @ A @ x)(np.ones(4)), A, atol=1e-13)
    S = np.eye(3) + 0.1 * np.ones((3, 3))
    # d²/dS² log det S [E, F] = -tr(S⁻¹ E S⁻¹ F)
    H = gm.hessian(lambda M: np.linalg.slogdet(M)[1])(S)
    Si = np.linalg.inv(S)
    np.testing.assert_allclose(H, -np.einsum("jk,li->ijkl", Si, Si), atol=1e-12)


def test_hvp_matches_hessian():
    x = np.array([1.2, 0.8, -0.5, 1.1])
    v = np.array([0.3, -1.0, 2.0, 0.5])
    np.testing.assert_allclose(gm.hvp(rosen, x, v), rosen_hessian(x) @ v, rtol=1e-12)


def test_jvp_batched_directions_equal_jacobian():
    f = lambda x: np.array([x[0] * x[1], np.sin(x[2]), np.sum(x**2)])  # noqa: E731
    x = np.array([1.0, 2.0, 3.0])
    _, t = gm.jvp(f, (x,), (np.eye(3),))
    np.testing.assert_allclose(t.T, gm.jacrev(f)(x), rtol=1e-14)


def test_argnums_and_has_aux():
    f = lambda a, b, c: (np.sum(a * b) + c, "aux")  # noqa: E731
    (val, aux), (ga, gc) = gm.value_and_grad(f, argnums=(0, 2), has_aux=True)(
        np.ones(2), np.array([2.0, 3.0]), 1.0
    )
    assert aux == "aux" and val == 6.0
    np.testing.assert_array_equal(ga, [2.0, 3.0])
    assert gc == 1.0
    g, aux = gm.grad(f, argnums=1, has_aux=True)(np.ones(2), np.ones(2), 0.0)
    np.testing.assert_array_equal(g, [1.0, 1.0])
    with pytest.raises(ValueError, match="argnums"):
        gm.grad(lambda a: a, argnums=3)(1.0)


def test_pytrees_in_and_out():
    params = {"w": np.array([1.0, 2.0]), "b": 0.5, "layers": [np.ones(2), (2.0,)]}

    def loss(p):
        return np.sum(p["w"] ** 2) * p["b"] + np.sum(p["layers"][0]) * p["layers"][1][0]

    g = gm.grad(loss)(params)
    assert set(g) == {"w", "b", "layers"}
    np.testing.assert_allclose(g["w"], [1.0, 2.0])
    assert g["b"] == 5.0
    np.testing.assert_allclose(g["layers"][0], [2.0, 2.0])
    assert g["layers"][1][0] == 2.0
    out, t = gm.jvp(lambda p: {"s": p["b"] * 2}, (params,), ({**params, "b": 1.0},))
    assert out["s"] == 1.0 and t["s"] == 2.0
    J = gm.jacfwd(lambda a, b: {"y": a * b}, argnums=(0, 1))(np.ones(2), np.full(2, 3.0))
    np.testing.assert_allclose(J["y"][0], 3 * np.eye(2))


def test_float32_stays_float32():
    x = np.linspace(0, 1, 5, dtype=np.float32)
    assert gm.grad(lambda x: np.sum(np.exp(x) * 2.0))(x).dtype == np.float32
    assert gm.jacfwd(np.sin)(x).dtype == np.float32
    assert gm.jacrev(np.sin)(x).dtype == np.float32


def test_integer_input_is_differentiated_as_float():
    g = gm.grad(lambda x: np.sum(x**2))(np.array([1, 2, 3]))
    np.testing.assert_array_equal(g, [2.0, 4.0, 6.0])
    assert g.dtype == np.float64


def test_constant_function_has_zero_derivative():
    assert gm.grad(lambda x: 3.0)(1.0) == 0.0
    np.testing.assert_array_equal(gm.jacfwd(lambda x: np.ones(2))(np.ones(3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(gm.jacrev(lambda x: np.ones(2))(np.ones(3)), np.zeros((2, 3)))


def test_the_way_people_write_numpy():
    def F(v):
        return np.array([v[0] ** 2 + v[1] ** 2 - 4, np.exp(v[0]) + v[1] - 1])

    v = np.array([1.0, -1.5])
    J = np.array([[2 * v[0], 2 * v[1]], [np.exp(v[0]), 1.0]])
    np.testing.assert_allclose(gm.jacfwd(F)(v), J, rtol=1e-15)
    np.testing.assert_allclose(gm.jacrev(F)(v), J, rtol=1e-15)
    assert gm.grad(lambda x: np.mean([x[0], x[1] ** 2]))(v)[1] == pytest.approx(-1.5)
    g = gm.grad(lambda x: np.sum(np.concatenate([x, [1.0]]) ** 2))(v)
    np.testing.assert_allclose(g, 2 * v)

    # array-like attributes and methods
    def f(x):
        assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and x.dtype == np.float64
        y = x.T.reshape(3, 2).astype(np.float64).sum(axis=0) + x.mean() + x.max()
        return y.sum() + x.ravel()[0] + x.prod() * 0 + x.std()

    x = np.arange(6.0).reshape(2, 3)
    assert gm.check_grad(f, x) < 1e-7


def test_python_control_flow_in_eager_mode():
    def f(x):
        total = 0.0
        while x < 10:
            x = x * 2
            total = total + x
        return total if x > 12 else -total

    assert gm.grad(f)(1.5) == pytest.approx(-(2 + 4 + 8))
    assert gm.grad(f)(3.5) == pytest.approx(2 + 4)


def test_kink_conventions():
    assert gm.grad(abs)(0.0) == 0.0
    assert gm.grad(lambda x: np.maximum(x, 0.0))(0.0) == 0.5
    np.testing.assert_allclose(gm.grad(np.max)(np.array([1.0, 3.0, 3.0])), [0, 0.5, 0.5])
    assert gm.grad(lambda x: np.clip(x, 0.0, 1.0))(1.0) == 1.0
    with np.errstate(divide="ignore"):
        assert gm.grad(lambda x: np.sqrt(x))(0.0) == np.inf


def test_row_extremes_share_ties_only_in_their_rows():
    # row 0 has a three-way tie for its minimum, row 1 none: only row 0 shares
    x = np.array([[2.0, 1.0, 1.0, 1.0], [4.0, 3.0, 0.5, 7.0]])
    w = np.array([1.0, 10.0])

    def f(x):
        return w @ np.min(x, axis=1) ** 2

    expected = np.array([[0, 2 / 3, 2 / 3, 2 / 3], [0, 0, 10.0, 0]])
    np.testing.assert_allclose(gm.grad(f)(x), expected)
    np.testing.assert_allclose(gm.jacfwd(f)(x), expected)
    # second order, forward over reverse: H·1 of the squared minima
    hv = gm.hvp(f, x, np.ones_like(x))
    np.testing.assert_allclose(hv, [[0, 2 / 3, 2 / 3, 2 / 3], [0, 0, 20.0, 0]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_an_empty_output_has_an_empty_jacobian(dtype):
    # (jacrev stacked no rows: "need at least one array to stack")
    x = np.ones((2, 3), dtype)
    for f in (lambda v: v[v > 5], lambda v: (v[:0] * 2, np.sum(v**2))):
        rev, fwd = gm.jacrev(f)(x), gm.jacfwd(f)(x)
        for r, w in zip(*(t if isinstance(t, tuple) else (t,) for t in (rev, fwd)), strict=True):
            assert r.shape == w.shape and r.dtype == w.dtype == dtype
            np.testing.assert_array_equal(r, w)
    assert gm.jacrev(lambda v: v[:0])(x).shape == (0, 3, 2, 3)


def test_jacobian_is_jacrev():
    assert gm.jacobian is gm.jacrev


def test_check_grad_and_divided_difference():
    assert gm.divided_difference(lambda x: x**3, 1.0, 0.1, "forward") == pytest.approx(3.31)
    assert gm.divided_difference(lambda x: x**3, 1.0, 0.1, "central") == pytest.approx(3.01)
    assert gm.check_grad(rosen, np.array([1.2, 0.8, 0.5])) < 1e-8
    wrong = gm.primitive(lambda x: x**2)
    gm.defvjp(wrong, lambda ans, x: lambda g: g * 3 * x)
    assert gm.check_grad(lambda x: np.sum(wrong(x)), np.array([1.0, 2.0])) > 0.1


BROADCASTS = {
    "scalar_plus_vector": lambda a, b: np.sum(np.sum(a) + b),
    "sum_axis_plus_mean": lambda a, b: np.sum(a.sum(axis=0) + b.mean()),
    "outer_sum": lambda a, b: np.sum(a[:, None] + b[None, :]),
    "outer_product": lambda a, b: np.sum(a[:, None] * b[None, :] ** 2),
    "mean_times_vector": lambda a, b: np.sum(np.mean(a) * b * np.sum(b)),
    "keepdims_chain": lambda a, b: np.sum(np.sum(a[:, None] * b, axis=0, keepdims=True) - b),
    "nested_sums": lambda a, b: np.sum(np.sum(a) * np.ones(5) + np.sum(b) * a.sum()),
    "where_broadcast": lambda a, b: np.sum(np.where(b > 0, np.sum(a), b)),
}


@pytest.mark.parametrize("name", sorted(BROADCASTS))
def test_reverse_mode_through_broadcasts(name):
    """Cotangents may stay compact in reverse mode; every broadcast must still count."""
    f = BROADCASTS[name]
    a, b = np.array([0.5, -1.0, 2.0]), np.array([1.5, -0.3, 0.7, 2.2])
    if name == "sum_axis_plus_mean":
        a = np.arange(6.0).reshape(2, 3) + 0.5
    g_rev = gm.grad(f, argnums=(0, 1))(a, b)
    g_fwd = gm.jacfwd(f, argnums=(0, 1))(a, b)
    for r, fw in zip(g_rev, g_fwd, strict=True):
        np.testing.assert_allclose(r, fw, rtol=1e-12, atol=1e-12)
    assert gm.check_grad(lambda a_: f(a_, b), a) < 1e-8
    assert gm.check_grad(lambda b_: f(a, b_), b) < 1e-8


def test_argnum_is_an_alias_of_argnums():
    f = lambda a, b: a * np.sin(b)  # noqa: E731
    assert gm.grad(f, argnum=1)(2.0, 0.5) == gm.grad(f, argnums=1)(2.0, 0.5)
    assert gm.value_and_grad(f, argnum=0)(2.0, 0.5)[1] == np.sin(0.5)
    np.testing.assert_allclose(gm.jacobian(f, argnum=1)(2.0, np.array([0.5])), [[2 * np.cos(0.5)]])
    np.testing.assert_allclose(gm.hessian(f, argnum=1)(2.0, 0.5), -2 * np.sin(0.5))
    with pytest.raises(TypeError, match="not both"):
        gm.grad(f, 1, argnum=1)


def test_check_grads_both_modes_and_orders():
    x = np.array([0.3, 1.2, -0.5])
    assert gm.check_grads(lambda x: np.sin(x) * x, (x,), order=3) is None
    # autograd's spelling: curried, modes as a list
    A = np.full((2, 3), 0.3)
    gm.check_grads(lambda a, b: np.tanh(a @ b), modes=["fwd", "rev"], order=2)(A, x)


def test_check_grads_catches_wrong_rules():
    x = np.array([0.3, 1.2, -0.5])

    wrong_jvp = gm.primitive(lambda x: x**3)
    gm.defvjp(wrong_jvp, lambda ans, x: lambda g: g * 3 * x**2)
    gm.defjvp(wrong_jvp, lambda g, ans, x: g * 3 * x)
    with pytest.raises(AssertionError, match="forward mode .* order 1"):
        gm.check_grads(wrong_jvp, (x,), order=1)
    gm.check_grads(wrong_jvp, (x,), order=1, modes=["rev"])  # the VJP is right

    # right at first order, but the rule reads plain values: its own derivative is lost
    frozen = gm.primitive(lambda x: x**3)
    gm.defvjp(frozen, lambda ans, x: lambda g: g * 3 * np.asarray(getattr(x, "value", x)) ** 2)
    gm.defjvp(frozen, lambda g, ans, x: g * 3 * np.asarray(getattr(x, "value", x)) ** 2)
    gm.check_grads(frozen, (x,), order=1)
    with pytest.raises(AssertionError, match="order 2"):
        gm.check_grads(frozen, (x,), order=2)


# elementwise_grad and ravel_pytree --------------------------------------------------------
def test_elementwise_grad_is_the_derivative_at_every_entry():
    x = np.linspace(-2.0, 2.0, 9).reshape(3, 3)
    f = lambda x: np.tanh(x) * np.exp(-(x**2))  # noqa: E731
    ref = np.array([gm.divided_difference(f, v, 1e-6, "central") for v in x.ravel()])
    np.testing.assert_allclose(gm.elementwise_grad(f)(x), ref.reshape(3, 3), rtol=1e-8)
    # two arguments, autograd's argnum spelling
    g = gm.elementwise_grad(lambda a, b: a * np.sin(b), argnum=1)(x, x + 1)
    np.testing.assert_allclose(g, x * np.cos(x + 1), rtol=1e-14)
    # a mixing function: still the gradient of the sum of outputs
    np.testing.assert_allclose(gm.elementwise_grad(np.cumsum)(np.ones(4)), [4, 3, 2, 1])
    with pytest.raises(TypeError, match="real-valued"):
        gm.elementwise_grad(lambda x: x * 1j)(x)


def test_ravel_pytree_round_trip_dtypes_and_derivatives():
    tree = {"w": np.arange(6.0).reshape(2, 3), "b": 0.5, "layers": [np.ones(2), 3.0]}
    flat, unravel = gm.ravel_pytree(tree)
    assert flat.shape == (10,) and flat.dtype == np.float64
    back = unravel(flat)
    np.testing.assert_array_equal(back["w"], tree["w"])
    assert back["layers"][1] == 3.0
    mixed, unravel_mixed = gm.ravel_pytree((np.float32(0.5), np.ones(2)))
    assert mixed.dtype == np.float64 and unravel_mixed(mixed)[0].dtype == np.float32
    with pytest.raises(ValueError, match=r"shape \(10,\)"):
        unravel(np.ones(9))

    # differentiating through unravel equals differentiating the tree directly
    def loss(t):
        return np.sum(np.sin(t["w"]) * t["b"]) + np.sum(t["layers"][0] ** 2) * t["layers"][1]

    g_flat = gm.grad(lambda v: loss(unravel(v)))(flat)
    g_tree = gm.grad(loss)(tree)
    np.testing.assert_allclose(g_flat, gm.ravel_pytree(g_tree)[0], rtol=1e-6)
    num = gm.divided_difference(lambda v: loss(unravel(v)), flat, 1e-6, "central")
    np.testing.assert_allclose(g_flat, num, rtol=1e-6, atol=1e-8)
    # integer leaves become floats; an empty tree gives an empty vector
    assert gm.ravel_pytree([np.arange(3)])[0].dtype == np.float64
    empty, unravel_empty = gm.ravel_pytree(())
    assert empty.shape == (0,) and unravel_empty(empty) == ()


def test_derivatives_are_never_the_callers_own_arrays():
    """The identity's tangent is the tangent given, and its cotangent the cotangent
    given: both come back as new arrays, so changing them in place leaves the caller's
    (a view, through a reshape, too)."""
    x, v, u = np.arange(3.0), np.ones(3), np.array([1.0, 2.0, 3.0])
    _, t = gm.jvp(lambda z: z, (x,), (v,))
    (g,) = gm.vjp(lambda z: z, x)[1](u)
    (h,) = gm.vjp(lambda z: z.reshape(3, 1), x)[1](u.reshape(3, 1))
    for out, given in ((t, v), (g, u), (h, u)):
        np.testing.assert_array_equal(out, given)
        out += 10.0
    np.testing.assert_array_equal(v, np.ones(3))
    np.testing.assert_array_equal(u, [1.0, 2.0, 3.0])
