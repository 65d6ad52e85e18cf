"""Registering derivative rules: the public API that built-in rules and users share.

:func:`primitive` wraps a numpy function as a :class:`~gradmix.ad.tracer.Primitive`;
:func:`defjvp` and :func:`defvjp` give it forward and reverse rules.  The rules
in :mod:`gradmix.ad.rules` are registered this way, so they double as examples
of how to extend gradmix.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from gradmix.ad.tracer import JvpRule, Primitive, VjpMaker

__all__ = ["defjvp", "defvjp", "primitive"]


def primitive(fun: Callable[..., Any]) -> Primitive:
    """Wrap a plain function as a gradmix primitive (usable as a decorator).

    The function is called on plain values; its derivatives come only from the
    rules registered with :func:`defjvp` and :func:`defvjp`.

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> @gm.primitive
    ... def logistic(x):
    ...     return 1 / (1 + np.exp(-x))
    >>> gm.defvjp(logistic, lambda ans, x: lambda g: g * ans * (1 - ans))
    >>> gm.defjvp(logistic, lambda g, ans, x: g * ans * (1 - ans))
    >>> float(gm.grad(logistic)(0.0))
    0.25
    """
    if isinstance(fun, Primitive):
        return fun
    prim = Primitive(fun, getattr(fun, "__qualname__", None))
    prim.pytree_args = True
    return prim


def defvjp(prim: Primitive, *makers: VjpMaker | None, argnums: Sequence[int] | None = None) -> None:
    """Register reverse-mode rules, one maker per positional argument.

    Each ``maker(ans, *args, **kwargs)`` returns a function ``g -> cotangent``
    mapping the output cotangent ``g`` (shape of ``ans``) to the cotangent of
    that argument.  ``None`` marks an argument as non-differentiable.
    """
    _check_prim(prim, "defvjp")
    nums = range(len(makers)) if argnums is None else argnums
    for i, m in zip(nums, makers, strict=True):
        prim.vjps[i] = m


def defjvp(prim: Primitive, *rules: JvpRule | None, argnums: Sequence[int] | None = None) -> None:
    """Register forward-mode rules, one per positional argument.

    Each ``rule(g, ans, *args, **kwargs)`` returns the output tangent caused
    by the tangent ``g`` of that argument.  ``None`` marks an argument as
    non-differentiable.
    """
    _check_prim(prim, "defjvp")
    nums = range(len(rules)) if argnums is None else argnums
    for i, r in zip(nums, rules, strict=True):
        prim.jvps[i] = r


def _check_prim(prim: Any, who: str) -> None:
    if not isinstance(prim, Primitive):
        raise TypeError(f"{who} expects a function wrapped by gm.primitive, got {prim!r}")
