"""Nested tuples (named ones too), lists and dicts of arrays ("pytrees"), flattened to leaves
and back.

Users add their own containers with :func:`register_pytree_node` (JAX's
spelling), and their own vector types, whose values are leaves that reverse
mode adds with ``+``, with :func:`register_vector_space` (autograd's VSpace).
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

__all__ = [
    "flatten", "register_pytree_node", "register_vector_space", "unflatten",
    "vector_space_zeros", "split_aux",
]  # fmt: skip

# a tree definition (hashable when every node's aux data is): ("leaf",)
#   | ("tuple" or "list", children) | ("dict" or "ordereddict", keys, children) | ("none",)
#   | ("namedtuple", class, children) | ("node", class, aux data, children)
TreeDef = tuple[Any, ...]

_NODES: dict[
    type, tuple[Callable[[Any], tuple[Iterable[Any], Any]], Callable[[Any, list[Any]], Any]]
] = {}
_VECTOR_SPACES: dict[type, Callable[[Any], Any]] = {}


def register_pytree_node(cls: type, flatten_fn: Callable[[Any], tuple[Iterable[Any], Any]],
                         unflatten_fn: Callable[[Any, list[Any]], Any]) -> None:  # fmt: skip
    """Make instances of ``cls`` containers that every transform looks into.

    Parameters
    ----------
    cls : type
        The container class (a dataclass of arrays, a model's parameters, ...).
    flatten_fn : callable
        ``flatten_fn(obj) -> (children, aux)``: the values to differentiate (arrays
        or further containers) and whatever else rebuilds ``obj`` (hashable; it
        must compare equal between objects of the same structure).
    unflatten_fn : callable
        ``unflatten_fn(aux, children) -> obj``.

    Examples
    --------
    >>> import dataclasses, numpy as np, gradmix as gm
    >>> @dataclasses.dataclass
    ... class Line:
    ...     slope: np.ndarray
    ...     intercept: float
    >>> gm.register_pytree_node(Line, lambda p: ((p.slope, p.intercept), None),
    ...                         lambda aux, kids: Line(*kids))
    >>> g = gm.grad(lambda p: np.sum((p.slope * 2.0 + p.intercept) ** 2))(Line(np.ones(2), 0.5))
    >>> g
    Line(slope=array([10., 10.]), intercept=np.float64(10.0))
    """
    if not isinstance(cls, type):
        raise TypeError(f"register_pytree_node expects a class, got {cls!r}")
    if cls in (tuple, list, dict, type(None)):
        raise ValueError(f"{cls.__name__} is a built-in container already")
    _NODES[cls] = (flatten_fn, unflatten_fn)
    _LEAFY.clear()


def register_vector_space(cls: type, zeros: Callable[[Any], Any]) -> None:
    """Let reverse mode differentiate with respect to values of ``cls`` (whole, as leaves).

    Gradients with respect to such a value are values of ``cls`` too: user
    primitives return them from their VJPs (:func:`gradmix.defvjp`), and reverse
    mode adds them with ``+``.  This is for objects that are vectors but not
    arrays of a fixed shape, such as a function in a reproducing kernel Hilbert
    space whose expansion grows with every gradient step.  Forward mode needs
    arrays, and refuses them.

    Parameters
    ----------
    cls : type
        The vector type; it must support ``a + b``.
    zeros : callable
        ``zeros(like) -> the zero vector of like's space``: the gradient when
        the value does not affect the output.
    """
    if not isinstance(cls, type):
        raise TypeError(f"register_vector_space expects a class, got {cls!r}")
    _VECTOR_SPACES[cls] = zeros


def vector_space_zeros(x: Any) -> Any | None:
    """The zero vector of a registered vector type's space (None: ``x`` is not one)."""
    zeros = _VECTOR_SPACES.get(type(x))
    return None if zeros is None else zeros(x)


def flatten(tree: Any) -> tuple[list[Any], TreeDef]:
    """Leaves of ``tree`` in a fixed order (dict keys sorted), and its structure."""
    leaves: list[Any] = []
    return leaves, _flatten(tree, leaves)


_LEAF = ("leaf",)
#: whether values of a type are leaves (not tuples, lists, dicts of any subclass, None or
#: registered containers), by type: cleared when a container is registered
_LEAFY: dict[type, bool] = {}


def _leaf_type(t: type) -> bool:
    leafy = _LEAFY[t] = not (issubclass(t, tuple | list | dict) or t is type(None)
                             or t in _NODES)  # fmt: skip
    return leafy


def _flatten(tree: Any, leaves: list[Any]) -> TreeDef:
    t = type(tree)
    node = _NODES.get(t)
    if node is not None:
        children, aux = node[0](tree)
        return ("node", t, aux, tuple(_flatten(c, leaves) for c in children))
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):  # a namedtuple: its own type back
        return ("namedtuple", t, tuple(_flatten(c, leaves) for c in tree))
    if t is tuple or t is list or isinstance(tree, tuple | list):
        if all(_LEAFY.get(type(c)) or _leaf_type(type(c)) for c in tree):
            # a flat sequence of leaves: the fast path
            leaves.extend(tree)
            return (t.__name__ if t in (tuple, list) else type(tree).__name__, (_LEAF,) * len(tree))
        return (type(tree).__name__, tuple(_flatten(c, leaves) for c in tree))
    if t is OrderedDict:  # (its order is part of it: kept, and the type)
        keys = tuple(tree)
        return ("ordereddict", keys, tuple(_flatten(tree[k], leaves) for k in keys))
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
    if kind == "ordereddict":
        return OrderedDict((k, _unflatten(c, it)) for k, c in zip(td[1], td[2], strict=True))
    if kind == "node":
        return _NODES[td[1]][1](td[2], [_unflatten(c, it) for c in td[3]])
    if kind == "namedtuple":
        return td[1](*(_unflatten(c, it) for c in td[2]))
    kids = td[1]
    if kids.count(_LEAF) == len(kids):  # a flat sequence of leaves: the fast path
        children = list(itertools.islice(it, len(kids)))
    else:
        children = [_unflatten(c, it) for c in kids]
    return tuple(children) if kind == "tuple" else children


def split_aux(out: Any, has_aux: bool) -> tuple[Any, Any]:
    """``(output, aux)`` from a function's result: the pair it returned with
    ``has_aux=True``, else ``(out, None)``."""
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple | list) and len(out) == 2):
        raise TypeError("with has_aux=True the function must return a pair (output, aux)")
    return out[0], out[1]
