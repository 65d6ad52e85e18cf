"""Summing a cotangent back over the axes broadcasting added: shared by the rules and
reverse mode (it knows no tracers: ``np.sum`` and ``np.reshape`` dispatch)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["shape_of", "sum_to_shape"]


def shape_of(x: Any) -> tuple[int, ...]:
    """``np.shape`` without dispatch overhead (scalars have shape ())."""
    if type(x) is float:
        return ()
    s = getattr(x, "shape", None)
    return s if s is not None else np.shape(x)


def sum_to_shape(x: Any, shape: tuple[int, ...], full: tuple[int, ...] | None = None) -> Any:
    """Sum ``x`` over the axes that broadcasting added or stretched beyond ``shape``.

    ``x`` may be *compact*: it stands for ``broadcast_to(x, full)``.  An axis
    stored with length 1 but standing for length n is then multiplied by n
    instead of summed.  The result is broadcastable to ``shape`` and may stay
    compact itself.
    """
    xs = shape_of(x)
    full = xs if full is None else full
    if xs == shape and full == shape:
        return x
    nd = len(full)
    if len(xs) < nd:
        x = np.reshape(x, (1,) * (nd - len(xs)) + xs)
        xs = np.shape(x)
    target = (1,) * (nd - len(shape)) + tuple(shape)
    axes, factor = [], 1
    for i in range(nd):
        if target[i] == 1 and full[i] != 1:
            if xs[i] == 1:
                factor *= full[i]
            else:
                axes.append(i)
    if axes:
        x = np.sum(x, axis=tuple(axes), keepdims=True)
    if factor != 1:
        x = x * factor
    lead = nd - len(shape)
    return np.reshape(x, np.shape(x)[lead:]) if lead else x
