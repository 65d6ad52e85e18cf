"""Shared checks: AD Jacobians against central differences and against each other."""

from __future__ import annotations

from typing import Any

import numpy as np

import gradmix as gm


def numerical_jacobian(f: Any, args: tuple[Any, ...], i: int, h: float = 1e-6) -> np.ndarray:
    """Central-difference Jacobian of f with respect to argument i."""

    def fi(x: Any) -> Any:
        full = list(args)
        full[i] = x
        return f(*full)

    x = np.asarray(args[i], dtype=float)
    step = h * max(1.0, float(np.max(np.abs(x)))) if x.size else h
    return np.asarray(gm.divided_difference(fi, x, step, "central"))


def assert_derivatives(f: Any, *args: Any, rtol: float = 1e-6, atol: float = 1e-7) -> None:
    """jacfwd == jacrev == central differences for every argument of f."""
    nums = tuple(range(len(args)))
    jf = gm.jacfwd(f, argnums=nums)(*args)
    jr = gm.jacrev(f, argnums=nums)(*args)
    for i in nums:
        num = numerical_jacobian(f, args, i)
        np.testing.assert_allclose(jf[i], jr[i], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(jf[i], num, rtol=rtol, atol=atol)
