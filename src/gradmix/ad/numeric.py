"""Divided differences: the numerical derivatives AD is checked against."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["divided_difference", "check_grad"]


def divided_difference(f: Callable[[Any], Any], x: Any, h: float = 1e-6,
                       scheme: str = "central") -> Any:  # fmt: skip
    """Approximate the derivative of ``f`` at ``x`` by a divided difference.

    Parameters
    ----------
    f : callable
        Function of one argument (scalar or array), returning a scalar or array.
    x : float or ndarray, shape S
        Point.
    h : float
        Step.
    scheme : {"forward", "central"}
        ``(f(x+h) - f(x)) / h`` (error O(h)) or ``(f(x+h) - f(x-h)) / 2h`` (O(h²)).

    Returns
    -------
    float or ndarray, shape f(x).shape + S
        The derivative (scalar x) or the Jacobian (array x), column by column.

    Examples
    --------
    >>> import gradmix as gm
    >>> round(gm.divided_difference(lambda x: x**3, 1.0, 0.1, "forward"), 10)
    3.31
    """
    if scheme not in ("forward", "central"):
        raise ValueError(f"scheme must be 'forward' or 'central', got {scheme!r}")
    if not h > 0:
        raise ValueError(f"the step h must be positive, got {h!r}")
    xa = np.asarray(x, dtype=np.result_type(x, 1.0))

    def diff(e: Any) -> Any:
        if scheme == "forward":
            return (np.asarray(f(xa + e)) - np.asarray(f(xa))) / h
        return (np.asarray(f(xa + e)) - np.asarray(f(xa - e))) / (2 * h)

    if xa.ndim == 0:
        out = diff(h)
        return out[()] if out.ndim == 0 else out
    cols = []
    for k in range(xa.size):
        e = np.zeros(xa.size, dtype=xa.dtype)
        e[k] = h
        cols.append(diff(e.reshape(xa.shape)))
    jac = np.stack(cols, axis=-1)
    return jac.reshape(jac.shape[:-1] + xa.shape)


def check_grad(f: Callable[[Any], Any], x: Any, h: float | None = None) -> float:
    """Largest error of gradmix's gradient against central differences.

    The step defaults to ``eps**(1/3) * max(1, |x|_max)``, which balances the
    truncation error (O(h²)) against rounding (O(eps/h)).  The error is
    ``max|ad - fd| / max(|fd|_max, |ad|_max, 1)``: relative for gradients
    larger than one, absolute below (where central differences themselves
    carry an absolute error of about 1e-10).  Of order 1e-10 for a correct
    gradient of a smooth function in float64.

    Parameters
    ----------
    f : callable
        Scalar function of one array argument.
    x : float or ndarray
        Point.
    h : float, optional
        Step for the differences.
    """
    from gradmix.ad.transforms import grad

    xa = np.asarray(x, dtype=np.result_type(x, 1.0))
    if h is None:
        h = float(np.finfo(xa.dtype).eps ** (1 / 3) * max(1.0, float(np.max(np.abs(xa)))))
    ad = np.asarray(grad(f)(xa))
    fd = np.asarray(divided_difference(f, xa, h, "central"))
    scale = max(float(np.max(np.abs(fd))), float(np.max(np.abs(ad))), 1.0)
    return float(np.max(np.abs(ad - fd)) / scale)
