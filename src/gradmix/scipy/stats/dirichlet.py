"""The Dirichlet distribution, as ``scipy.stats.dirichlet``."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special as sc

__all__ = ["logpdf", "pdf"]


def logpdf(x: Any, alpha: Any) -> Any:
    """Log density of points ``x`` on the simplex; components along the first axis of
    ``x`` (as scipy's), differentiable in ``x`` and ``alpha``."""
    a = np.reshape(alpha, (-1,) + (1,) * (np.ndim(x) - 1))
    norm = np.sum(sc.gammaln(alpha)) - sc.gammaln(np.sum(alpha))
    return np.sum(sc.xlogy(a - 1, x), axis=0) - norm


def pdf(x: Any, alpha: Any) -> Any:
    """Density."""
    return np.exp(logpdf(x, alpha))
