"""autograd's helpers: hessian_vector_product, flatten_func, fixed_point; user containers."""

import dataclasses

import numpy as np
import pytest

import gradmix as gm


def test_hessian_vector_product_is_the_hessian_times_v():
    f = lambda x, c: np.sum(np.sin(x) * x**2) * c  # noqa: E731
    x, v = np.array([0.3, -1.2, 2.0]), np.array([1.0, 2.0, -0.5])
    got = gm.hessian_vector_product(f)(x, 3.0, v)
    np.testing.assert_allclose(got, gm.hessian(f)(x, 3.0) @ v, rtol=1e-12)
    fd = gm.divided_difference(lambda y: gm.grad(f)(y, 3.0) @ v, x, 1e-6, "central")
    np.testing.assert_allclose(got, fd, rtol=1e-6)


def test_flatten_func_round_trips_and_differentiates():
    params = {"w": np.arange(6.0).reshape(2, 3), "b": (np.ones(2), 0.5)}

    def loss(p, scale):
        return scale * (np.sum(p["w"] ** 2) + np.sum(p["b"][0]) * p["b"][1])

    flat_loss, unflatten, v = gm.flatten_func(loss, params)
    assert v.shape == (9,)
    np.testing.assert_allclose(flat_loss(v, 2.0), loss(params, 2.0))
    g = unflatten(gm.grad(flat_loss)(v, 2.0))
    np.testing.assert_allclose(g["w"], 4 * params["w"])
    np.testing.assert_allclose(g["b"][0], np.full(2, 1.0))


def newton_sqrt(a):
    return lambda x: 0.5 * (x + a / x)


def dist(x, y):
    return np.max(np.abs(x - y))


def test_fixed_point_derivative_is_the_implicit_one():
    sqrt = lambda a: gm.fixed_point(newton_sqrt, a, 1.0, dist, 1e-13)  # noqa: E731
    for a in (0.5, 2.0, 9.0):
        assert abs(sqrt(a) - np.sqrt(a)) < 1e-12
        assert abs(gm.grad(sqrt)(a) - 0.5 / np.sqrt(a)) < 1e-10
        _, t = gm.jvp(sqrt, (a,), (1.0,))
        assert abs(t - 0.5 / np.sqrt(a)) < 1e-10


def test_second_derivative_through_a_fixed_point():
    descent = lambda a: lambda x: x - 0.05 * (x**2 - a)  # noqa: E731
    sqrt = lambda a: gm.fixed_point(descent, a, 10.0, dist, 1e-13)  # noqa: E731
    assert abs(gm.grad(gm.grad(sqrt))(2.0) - (-0.25 * 2.0**-1.5)) < 1e-9


def test_fixed_point_of_a_linear_contraction_against_the_closed_form():
    rng = np.random.default_rng(0)
    A = 0.4 * rng.standard_normal((4, 4)) / 2  # noqa: N806
    b = rng.standard_normal(4)
    c = rng.standard_normal(4)

    def solution(params):
        return gm.fixed_point(lambda p: lambda x: p[0] @ x + p[1], params, np.zeros(4), dist,
                              1e-14)  # fmt: skip

    def objective(params):
        return c @ solution(params)

    gA, gb = gm.grad(objective)((A, b))  # noqa: N806
    # x* = (I - A)⁻¹ b: d(cᵀx*)/db = (I - A)⁻ᵀ c, d/dA = w x*ᵀ with w = (I - A)⁻ᵀ c
    x_star = np.linalg.solve(np.eye(4) - A, b)
    w = np.linalg.solve((np.eye(4) - A).T, c)
    np.testing.assert_allclose(gb, w, rtol=1e-10)
    np.testing.assert_allclose(gA, np.outer(w, x_star), rtol=1e-9, atol=1e-12)


def test_fixed_point_that_does_not_converge_is_an_error():
    with pytest.raises(RuntimeError, match="did not converge"):
        gm.fixed_point(lambda a: lambda x: 2 * x + a, 1.0, 1.0, dist, 1e-8, maxiter=50)
    with pytest.raises(ValueError, match="maxiter"):
        gm.fixed_point(newton_sqrt, 2.0, 1.0, dist, 1e-8, maxiter=0)


@dataclasses.dataclass
class Layer:
    weight: np.ndarray
    bias: np.ndarray
    name: str = "layer"


gm.register_pytree_node(
    Layer, lambda l: ((l.weight, l.bias), l.name), lambda name, kids: Layer(*kids, name=name)
)


def test_gradient_with_respect_to_a_registered_container():
    layer = Layer(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, -0.5]), "first")
    x = np.array([1.0, -1.0])

    def loss(p, x):
        return np.sum(np.tanh(p.weight @ x + p.bias) ** 2)

    g = gm.grad(loss)(layer, x)
    assert isinstance(g, Layer) and g.name == "first"
    flat, unravel = gm.ravel_pytree(layer)
    fd = gm.divided_difference(lambda v: loss(unravel(v), x), flat, 1e-6, "central")
    np.testing.assert_allclose(gm.ravel_pytree(g)[0], fd, rtol=1e-6)
    # forward mode and nested containers see the same structure
    jac = gm.jacfwd(loss)(layer, x)
    np.testing.assert_allclose(jac.weight, g.weight, rtol=1e-12)
    nested = gm.grad(lambda ps: loss(ps[0], x) + loss(ps[1], x))([layer, layer])
    np.testing.assert_allclose(nested[1].bias, g.bias)


def test_register_pytree_node_bad_input():
    with pytest.raises(TypeError, match="class"):
        gm.register_pytree_node("Layer", lambda l: ((), None), lambda a, k: None)
    with pytest.raises(ValueError, match="built-in"):
        gm.register_pytree_node(dict, lambda l: ((), None), lambda a, k: None)


class KernelFunction:
    """f(x) = Σ αᵢ k(xᵢ, x): a vector in a reproducing kernel Hilbert space."""

    def __init__(self, alphas=None):
        self.alphas = dict(alphas or {})

    def __add__(self, other):
        out = dict(self.alphas)
        for x, a in other.alphas.items():
            out[x] = out.get(x, 0.0) + a
        return KernelFunction(out)

    def __mul__(self, c):
        return KernelFunction({x: c * a for x, a in self.alphas.items()})


def kernel(x1, x2):
    return np.exp(-((x1 - x2) ** 2))


gm.register_vector_space(KernelFunction, lambda like: KernelFunction())


@gm.primitive
def evaluate(f, x):
    return sum((a * kernel(x, xr) for xr, a in f.alphas.items()), 0.0)


# d f(x) / d f = k(x, ·): the representer of evaluation
gm.defvjp(evaluate, lambda ans, f, x: lambda g: KernelFunction({x: g}))


def test_gradient_in_a_function_space_reproduces_the_representer_theorem():
    xs, ys = [0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 2.0]

    def logprob(f):
        return -sum((evaluate(f, x) - y) ** 2 for x, y in zip(xs, ys, strict=True))

    g = gm.grad(logprob)(KernelFunction())
    # at f = 0 the gradient is Σ 2 yᵢ k(xᵢ, ·)
    assert g.alphas == {x: 2 * y for x, y in zip(xs, ys, strict=True)}
    f = KernelFunction()
    for _ in range(300):
        f = f + gm.grad(logprob)(f) * 0.05
    fitted = np.array([evaluate(f, x) for x in xs])
    # the minimiser interpolates: K α = y
    K = kernel(np.array(xs)[:, None], np.array(xs)[None, :])  # noqa: N806
    alpha = np.array([f.alphas[x] for x in xs])
    np.testing.assert_allclose(fitted, K @ alpha)
    np.testing.assert_allclose(fitted, ys, atol=0.05)
    # a vector the output ignores gets the space's zero
    unused = gm.grad(lambda f, c: c * 2.0, argnums=(0, 1))(KernelFunction({0.0: 1.0}), 1.0)
    assert isinstance(unused[0], KernelFunction) and unused[0].alphas == {}
    with pytest.raises(TypeError, match="forward mode needs arrays"):
        gm.jvp(logprob, (KernelFunction(),), (KernelFunction(),))
