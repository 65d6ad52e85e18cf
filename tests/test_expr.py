"""The command line's formulas: every whitelisted function evaluates as numpy (or scipy)
does and differentiates as central differences of it say; ``pi`` is the number."""

import math

import pytest
import scipy.special

import gradmix as gm
from gradmix.expr import CONSTANTS, FUNCTIONS, ExpressionError, evaluate, parse, variables

#: a point inside every function's domain (arccosh needs x >= 1: its argument is 1 + x)
X = 0.37


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_each_function_has_its_value_and_derivative(name):
    arg = "1 + x" if name == "arccosh" else "x"
    tree = parse(f"{name}({arg}) * x")
    assert variables(tree) == ["x"]
    f = FUNCTIONS[name]
    reference = (lambda x: f(1 + x) * x) if name == "arccosh" else (lambda x: f(x) * x)
    assert evaluate(tree, {"x": X}) == pytest.approx(reference(X), rel=1e-15)
    h = 1e-6
    numerical = (reference(X + h) - reference(X - h)) / (2 * h)
    assert gm.grad(lambda x: evaluate(tree, {"x": x}))(X) == pytest.approx(numerical, rel=1e-7)


def test_erf_is_scipys_and_pi_is_a_constant():
    assert FUNCTIONS["erf"](X) == scipy.special.erf(X)
    tree = parse("pi * x**2")
    assert variables(tree) == ["x"] and CONSTANTS == {"pi": math.pi}
    assert evaluate(tree, {"x": 2.0}) == pytest.approx(4 * math.pi, rel=1e-15)
    with pytest.raises(ExpressionError, match="write x\\*\\*2"):
        parse("x^2")
