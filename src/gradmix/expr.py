"""Safe formulas for the command line: parsed with ``ast``, evaluated by gradmix.

A formula may use numbers, named variables, ``+ - * / **``, unary minus,
parentheses and the functions in :data:`FUNCTIONS`.  Anything else
(attributes, subscripts, other names or calls, keywords, lambdas, strings,
comparisons) is rejected before anything is evaluated.  Nothing is passed to
``eval`` or ``exec``: :func:`evaluate` walks the checked tree itself, so the
formula can be fed gradmix's tracers and differentiated.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["FUNCTIONS", "ExpressionError", "parse", "evaluate", "variables"]

FUNCTIONS = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "exp": np.exp, "log": np.log,
    "sqrt": np.sqrt, "tanh": np.tanh, "arcsin": np.arcsin, "arccos": np.arccos,
    "arctan": np.arctan, "abs": np.abs,
}  # fmt: skip
_BINARY = {
    ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.true_divide,
    ast.Pow: np.power,
}  # fmt: skip
_UNARY = {ast.USub: np.negative, ast.UAdd: np.positive}
MAX_LENGTH = 2000


class ExpressionError(ValueError):
    """The formula is malformed or uses something outside the whitelist."""


def parse(text: str) -> ast.Expression:
    """Parse and check ``text``; raise :class:`ExpressionError` on anything not allowed."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse the expression: {exc.msg}") from None
    _check(tree.body)
    return tree


def _check(node: ast.AST) -> None:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise ExpressionError(f"only numbers are allowed as constants, not {node.value!r}")
    elif isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise ExpressionError(f"{node.id} is a function: call it, as in {node.id}(x)")
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise ExpressionError(f"operator {type(node.op).__name__} is not allowed")
        _check(node.left)
        _check(node.right)
    elif isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            raise ExpressionError(f"operator {type(node.op).__name__} is not allowed")
        _check(node.operand)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            what = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            raise ExpressionError(
                f"unknown function {what!r}; allowed: {', '.join(sorted(FUNCTIONS))}"
            )
        if node.keywords or len(node.args) != 1:
            raise ExpressionError(f"{node.func.id} takes exactly one argument")
        _check(node.args[0])
    else:
        raise ExpressionError(f"{type(node).__name__} is not allowed in an expression")


def variables(tree: ast.Expression) -> list[str]:
    """The variable names a checked formula uses, in order of first appearance."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in names and node.id not in FUNCTIONS:
            names.append(node.id)
    return names


def evaluate(tree: ast.Expression, env: Mapping[str, Any]) -> Any:
    """Evaluate a checked formula with variable values from ``env`` (tracers welcome)."""

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            value: Any = node.value  # a number: _check admitted nothing else
            return float(value)
        if isinstance(node, ast.Name):
            if node.id not in env:
                raise ExpressionError(f"no value given for variable {node.id!r}")
            return env[node.id]
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](ev(node.operand))
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            return FUNCTIONS[node.func.id](ev(node.args[0]))
        raise ExpressionError(f"{type(node).__name__} is not allowed")  # pragma: no cover

    return ev(tree.body)
