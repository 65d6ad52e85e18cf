"""The Dirichlet distribution, as ``scipy.stats.dirichlet``.

Points are columns: the components lie along the first axis of ``x``, which
holds either all ``K`` coordinates or the first ``K - 1`` (the last is then
``1 - sum``), as scipy's.  Parameters that are not positive, points off the
simplex (by more than scipy's 1e-9), and zero coordinates whose parameter is
below one raise ValueError, as scipy's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special as sc

from gradmix.ad import strip
from gradmix.scipy.stats._distribution import finish

__all__ = ["logpdf", "pdf"]


def _checked(x: Any, alpha: Any) -> Any:
    """``x`` with all ``K`` coordinates, after scipy's checks."""
    av = np.asarray(strip(alpha), dtype=float)
    if av.ndim != 1:
        raise ValueError(f"dirichlet: alpha must be one-dimensional, not of shape {av.shape}")
    if not np.all(av > 0):
        raise ValueError("dirichlet: every parameter in alpha must be greater than 0")
    k = av.shape[0]
    xshape = np.shape(strip(x))
    if len(xshape) == 0 or xshape[0] not in (k, k - 1):
        raise ValueError(f"dirichlet: x must hold {k} or {k - 1} coordinates along its first "
                         f"axis for {k} parameters, but x has shape {xshape}")  # fmt: skip
    if xshape[0] == k - 1:
        x = np.concatenate([x, 1 - np.sum(x, axis=0, keepdims=True)], axis=0)
    xv = np.asarray(strip(x), dtype=float)
    if np.min(xv) < 0 or np.max(xv) > 1:
        raise ValueError("dirichlet: every coordinate of x must lie in [0, 1]")
    a = np.reshape(av, (-1,) + (1,) * (xv.ndim - 1))
    if np.any((xv == 0) & (a < 1)):
        raise ValueError("dirichlet: a coordinate of x is 0 where its alpha is below 1 "
                         "(the density is infinite there)")  # fmt: skip
    if np.any(np.abs(np.sum(xv, axis=0) - 1) > 1e-9):
        raise ValueError("dirichlet: x must lie on the simplex (its coordinates sum to 1)")
    return x


def logpdf(x: Any, alpha: Any) -> Any:
    """Log density of the points ``x`` (shape (K, ...) or (K-1, ...)) on the simplex,
    differentiable in ``x`` and ``alpha``."""
    x = _checked(x, alpha)
    a = np.reshape(alpha, (-1,) + (1,) * (np.ndim(strip(x)) - 1))
    norm = np.sum(sc.gammaln(alpha)) - sc.gammaln(np.sum(alpha))
    out = np.sum(sc.xlogy(a - 1, x), axis=0) - norm
    return finish(out)


def pdf(x: Any, alpha: Any) -> Any:
    """Density."""
    return np.exp(logpdf(x, alpha))
