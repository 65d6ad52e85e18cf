"""Shared pieces of the densities: standardising, and -inf outside the support."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradmix.ad import strip

__all__ = ["standardise", "on_support"]


def standardise(x: Any, loc: Any, scale: Any) -> Any:
    """``(x - loc) / scale``."""
    return (x - loc) / scale


def on_support(inside: Any, value: Any) -> Any:
    """``value`` where ``inside`` (a plain mask), ``-inf`` elsewhere."""
    inside = np.asarray(strip(inside), dtype=bool)
    if np.all(inside):
        return value
    return np.where(inside, value, -np.inf)


def safe(inside: Any, z: Any, fill: float) -> Any:
    """``z`` with ``fill`` outside the support, so the formula stays finite there."""
    inside = np.asarray(strip(inside), dtype=bool)
    return z if np.all(inside) else np.where(inside, z, fill)
