"""gm.primitive / gm.defvjp / gm.defjvp: user functions with their own rules."""

import numpy as np
import pytest

import gradmix as gm
from tests.ad.helpers import assert_derivatives


@gm.primitive
def logistic(x):
    return 1 / (1 + np.exp(-x))


gm.defvjp(logistic, lambda ans, x: lambda g: g * ans * (1 - ans))
gm.defjvp(logistic, lambda g, ans, x: g * ans * (1 - ans))


@gm.primitive
def scaled_norm(x, s):
    return s * np.sqrt(np.sum(x * x))


gm.defvjp(
    scaled_norm,
    lambda ans, x, s: lambda g: g * s * x / np.sqrt(np.sum(x * x)),
    lambda ans, x, s: lambda g: g * ans / s,
)
gm.defjvp(
    scaled_norm,
    lambda g, ans, x, s: s * np.sum(x * g) / np.sqrt(np.sum(x * x)),
    lambda g, ans, x, s: g * ans / s,
)


def test_decorated_primitive_both_modes():
    x = np.linspace(-2, 2, 5)
    assert_derivatives(logistic, x)


def test_rules_are_differentiable_again():
    # the rules use numpy calls, so second derivatives come for free
    x = 0.3
    s = logistic(x)
    assert gm.derivative(logistic, 2)(x) == pytest.approx(s * (1 - s) * (1 - 2 * s), rel=1e-12)
    h = gm.hessian(lambda v: np.sum(logistic(v)))(np.array([0.3, -1.0]))
    assert h[0, 0] == pytest.approx(s * (1 - s) * (1 - 2 * s), rel=1e-12)


def test_two_argument_rules_and_batched_fallback():
    x, s = np.array([1.0, 2.0, 2.0]), 1.5
    assert_derivatives(scaled_norm, x, s)
    # jacfwd batches tangents; a user rule written for one direction is called per direction
    np.testing.assert_allclose(gm.jacfwd(scaled_norm)(x, s), s * x / 3.0)


def test_partial_rules_mark_nondifferentiable_arguments():
    f = gm.primitive(lambda x, k: x * k)
    gm.defvjp(f, lambda ans, x, k: lambda g: g * k, None)
    assert gm.grad(lambda x: f(x, 3.0))(2.0) == 3.0
    with pytest.raises(gm.NoDerivativeRuleError, match="argument 1"):
        gm.grad(lambda k: f(2.0, k))(3.0)


def test_defvjp_rejects_plain_functions():
    with pytest.raises(TypeError, match="gm.primitive"):
        gm.defvjp(np.sin, lambda ans, x: lambda g: g)


# traced values inside container arguments ---------------------------------------
@gm.primitive
def scaled_product(pair):
    a, b = pair
    return 3.0 * a * b


# deliberately not the body's derivative (3b, 3a): the rule must win, never the body
gm.defvjp(scaled_product, lambda ans, pair: lambda g: (g * 100.0, g * 200.0))
gm.defjvp(scaled_product, lambda g, ans, pair: 100.0 * g[0] + 200.0 * g[1])


def test_rule_applies_to_traced_values_inside_a_tuple():
    assert gm.grad(lambda x: scaled_product((x, 2.0)))(1.5) == 100.0
    assert gm.grad(lambda x: scaled_product((x, x)))(1.5) == 300.0
    assert gm.grad(lambda y: scaled_product([1.0, y]))(1.5) == 200.0
    assert gm.derivative(lambda x: scaled_product((x, 2.0)))(1.5) == 100.0
    np.testing.assert_array_equal(
        gm.jacfwd(lambda v: scaled_product((v[0], v[1])))(np.array([1.0, 2.0])), [100.0, 200.0]
    )


def test_rule_applies_inside_a_dict_and_cotangents_follow_its_structure():
    @gm.primitive
    def weighted(x, params):
        return np.sum(x * params["w"]) + params["b"]

    gm.defvjp(
        weighted,
        lambda ans, x, params: lambda g: g * params["w"],
        lambda ans, x, params: lambda g: {"b": g, "w": g * x},
    )
    x, w = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    f = lambda w, b: weighted(x, {"w": w, "b": b})  # noqa: E731
    gw, gb = gm.grad(f, argnums=(0, 1))(w, 0.3)
    np.testing.assert_array_equal(gw, x)
    assert gb == 1.0


def test_traced_keyword_argument_of_a_primitive_is_an_error():
    with pytest.raises(TypeError, match="by keyword .*pair.*positionally"):
        gm.grad(lambda x: scaled_product(pair=(x, 1.0)))(1.0)
