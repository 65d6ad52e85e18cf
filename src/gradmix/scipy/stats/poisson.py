"""The Poisson distribution, as ``scipy.stats.poisson`` (differentiable in ``mu``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special as sc

from gradmix.ad import strip
from gradmix.scipy.stats._support import on_support

__all__ = ["logpmf", "pmf"]


def logpmf(k: Any, mu: Any, loc: Any = 0.0) -> Any:
    """Log probability of the counts ``k`` (``-inf`` off the non-negative integers)."""
    k = np.asarray(strip(k), dtype=float) - strip(loc)
    inside = (k >= 0) & (k == np.floor(k))
    kk = np.where(inside, k, 0.0)
    return on_support(inside, sc.xlogy(kk, mu) - sc.gammaln(kk + 1) - mu)


def pmf(k: Any, mu: Any, loc: Any = 0.0) -> Any:
    """Probability of the counts ``k``."""
    return np.exp(logpmf(k, mu, loc))
