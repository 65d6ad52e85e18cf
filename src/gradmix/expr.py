"""Safe formulas for the command line: parsed with ``ast``, evaluated by gradmix.

A formula may use numbers, named variables, ``pi``, ``+ - * / **``, unary minus,
parentheses and the functions in :data:`FUNCTIONS`.  Anything else
(attributes, subscripts, other names or calls, keywords, lambdas, strings,
comparisons) is rejected before anything is evaluated.  Nothing is passed to
``eval`` or ``exec``: :func:`evaluate` walks the checked tree itself, so the
formula can be fed gradmix's tracers and differentiated.

Limits (stated in ``gradmix diff --help``): at most :data:`MAX_LENGTH`
characters, nesting at most :data:`MAX_DEPTH` levels deep (a long sum or
product is one level per term), numbers that are finite floats.  Text is
NFKC-normalised first, as Python normalises identifiers (``µ`` is ``μ``).
Checking and evaluating never recurse, so no formula can exhaust the stack.
"""

from __future__ import annotations

import ast
import math
import unicodedata
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.special import erf

__all__ = ["CONSTANTS", "FUNCTIONS", "MAX_DEPTH", "MAX_LENGTH", "ExpressionError", "evaluate",
           "normalise", "parse", "variables"]  # fmt: skip

FUNCTIONS = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "exp": np.exp, "log": np.log,
    "sqrt": np.sqrt, "tanh": np.tanh, "arcsin": np.arcsin, "arccos": np.arccos,
    "arctan": np.arctan, "abs": np.abs, "sinh": np.sinh, "cosh": np.cosh,
    "arcsinh": np.arcsinh, "arccosh": np.arccosh, "arctanh": np.arctanh, "log10": np.log10,
    "log2": np.log2, "log1p": np.log1p, "expm1": np.expm1, "cbrt": np.cbrt, "erf": erf,
}  # fmt: skip
#: named numbers a formula may use (not variables: ``--at`` cannot set them)
CONSTANTS = {"pi": math.pi}
_BINARY = {
    ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.true_divide,
    ast.Pow: np.power,
}  # fmt: skip
_UNARY = {ast.USub: np.negative, ast.UAdd: np.positive}
MAX_LENGTH = 2000
MAX_DEPTH = 100


class ExpressionError(ValueError):
    """The formula is malformed or uses something outside the whitelist."""


def normalise(text: str) -> str:
    """NFKC normal form, the one Python gives identifiers."""
    return unicodedata.normalize("NFKC", text)


def parse(text: str) -> ast.Expression:
    """Parse and check ``text``; raise :class:`ExpressionError` on anything not allowed."""
    text = normalise(text)
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse the expression: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError(f"the expression nests deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise ExpressionError(f"cannot parse the expression: {exc}") from None
    _check(tree.body, text)
    return tree


def _children(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Call):
        return list(node.args)
    return []


def _check(root: ast.AST, text: str) -> None:
    """Every node on the whitelist, nesting within :data:`MAX_DEPTH` (no recursion)."""
    stack: list[tuple[ast.AST, int, type | None]] = [(root, 1, None)]
    while stack:
        node, depth, parent_op = stack.pop()
        # a chain of one associative operator (a + b + c, a * b * c) is one level
        op = type(node.op) if isinstance(node, ast.BinOp) else None
        level = depth if op is not None and op is parent_op and op in (ast.Add, ast.Mult) \
            else depth + 1  # fmt: skip
        if level > MAX_DEPTH:
            raise ExpressionError(f"the expression nests deeper than {MAX_DEPTH} levels")
        _check_node(node, text)
        stack += [(child, level, op) for child in _children(node)]


def _check_node(node: ast.AST, text: str) -> None:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise ExpressionError(f"only numbers are allowed as constants, not {node.value!r}")
        try:
            ok = math.isfinite(float(node.value))
        except OverflowError:
            ok = False
        if not ok:
            digits = ast.get_source_segment(text, node) or str(node.value)
            shown = digits if len(digits) <= 20 else digits[:12] + "…"
            raise ExpressionError(f"the number {shown} is too large for a float "
                                  "(at most about 1.8e308)")  # fmt: skip
    elif isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise ExpressionError(f"{node.id} is a function: call it, as in {node.id}(x)")
    elif isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.BitXor):  # (a power in most other notations)
            raise ExpressionError("^ is not a power here: write x**2, as in Python")
        if type(node.op) not in _BINARY:
            raise ExpressionError(f"operator {type(node.op).__name__} is not allowed")
    elif isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            raise ExpressionError(f"operator {type(node.op).__name__} is not allowed")
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            what = node.func.id if isinstance(node.func, ast.Name) else type(node.func).__name__
            raise ExpressionError(
                f"unknown function {what!r}; allowed: {', '.join(sorted(FUNCTIONS))}"
            )
        if node.keywords or len(node.args) != 1:
            raise ExpressionError(f"{node.func.id} takes exactly one argument")
    else:
        raise ExpressionError(f"{type(node).__name__} is not allowed in an expression")


def variables(tree: ast.Expression) -> list[str]:
    """The variable names a checked formula uses, in order of first appearance."""
    names: list[str] = []
    stack: list[ast.AST] = [tree.body]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and node.id not in names and node.id not in CONSTANTS:
            names.append(node.id)
        stack += reversed(_children(node))
    return names


def evaluate(tree: ast.Expression, env: Mapping[str, Any]) -> Any:
    """Evaluate a checked formula with variable values from ``env`` (tracers welcome).

    Iterative post-order: the depth of the formula never meets Python's
    recursion limit.
    """
    values: list[Any] = []
    stack: list[tuple[ast.AST, bool]] = [(tree.body, False)]
    while stack:
        node, ready = stack.pop()
        if not ready:
            stack.append((node, True))
            stack += [(child, False) for child in reversed(_children(node))]
            continue
        if isinstance(node, ast.Constant):
            number: Any = node.value  # _check admitted numbers only
            values.append(float(number))
        elif isinstance(node, ast.Name) and node.id in CONSTANTS:
            values.append(CONSTANTS[node.id])
        elif isinstance(node, ast.Name):
            if node.id not in env:
                raise ExpressionError(f"no value given for variable {node.id!r}")
            values.append(env[node.id])
        elif isinstance(node, ast.BinOp):
            right, left = values.pop(), values.pop()
            values.append(_BINARY[type(node.op)](left, right))
        elif isinstance(node, ast.UnaryOp):
            values.append(_UNARY[type(node.op)](values.pop()))
        elif isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            values.append(FUNCTIONS[node.func.id](values.pop()))
        else:  # pragma: no cover - _check admitted nothing else
            raise ExpressionError(f"{type(node).__name__} is not allowed")
    return values[0]
