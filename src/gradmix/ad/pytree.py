"""Nested tuples, lists and dicts of arrays ("pytrees"), flattened to leaves and back."""

from __future__ import annotations

from typing import Any

__all__ = ["flatten", "unflatten"]

# a tree definition (hashable): ("leaf",) | ("tuple" or "list", children)
#                               | ("dict", keys, children) | ("none",)
TreeDef = tuple[Any, ...]


def flatten(tree: Any) -> tuple[list[Any], TreeDef]:
    """Leaves of ``tree`` in a fixed order (dict keys sorted), and its structure."""
    leaves: list[Any] = []
    return leaves, _flatten(tree, leaves)


_LEAF = ("leaf",)
_CONTAINERS = (tuple, list, dict, type(None))


def _flatten(tree: Any, leaves: list[Any]) -> TreeDef:
    t = type(tree)
    if t is tuple or t is list or (isinstance(tree, tuple | list) and not hasattr(tree, "_fields")):
        if all(type(c) not in _CONTAINERS for c in tree):  # flat sequence of leaves: fast path
            leaves.extend(tree)
            return (t.__name__ if t in (tuple, list) else type(tree).__name__, (_LEAF,) * len(tree))
        return (type(tree).__name__, tuple(_flatten(c, leaves) for c in tree))
    if isinstance(tree, dict):
        keys = tuple(sorted(tree, key=repr))
        return ("dict", keys, tuple(_flatten(tree[k], leaves) for k in keys))
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
