"""Nested tuples, lists and dicts of arrays ("pytrees"), flattened to leaves and back."""

from __future__ import annotations

from typing import Any

__all__ = ["flatten", "unflatten"]

# a tree definition: ("leaf",) | ("tuple" or "list", [children])
#                    | ("dict", keys, [children]) | ("none",)
TreeDef = tuple[Any, ...]


def flatten(tree: Any) -> tuple[list[Any], TreeDef]:
    """Leaves of ``tree`` in a fixed order (dict keys sorted), and its structure."""
    leaves: list[Any] = []
    return leaves, _flatten(tree, leaves)


def _flatten(tree: Any, leaves: list[Any]) -> TreeDef:
    if isinstance(tree, tuple | list) and not hasattr(tree, "_fields"):
        return (type(tree).__name__, [_flatten(t, leaves) for t in tree])
    if isinstance(tree, dict):
        keys = sorted(tree, key=repr)
        return ("dict", keys, [_flatten(tree[k], leaves) for k in keys])
    if tree is None:
        return ("none",)
    leaves.append(tree)
    return ("leaf",)


def unflatten(treedef: TreeDef, leaves: list[Any]) -> Any:
    """Rebuild the structure ``treedef`` from ``leaves``."""
    it = iter(leaves)
    out = _unflatten(treedef, it)
    return out


def _unflatten(td: TreeDef, it: Any) -> Any:
    kind = td[0]
    if kind == "leaf":
        return next(it)
    if kind == "none":
        return None
    if kind == "dict":
        return {k: _unflatten(c, it) for k, c in zip(td[1], td[2], strict=True)}
    children = [_unflatten(c, it) for c in td[1]]
    return tuple(children) if kind == "tuple" else children
