"""The gamma distribution, as ``scipy.stats.gamma`` (shape ``a``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special as sc

from gradmix.ad import strip
from gradmix.scipy.stats._support import on_support, safe, standardise

__all__ = ["logpdf", "pdf", "cdf"]


def logpdf(x: Any, a: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Log density (``-inf`` for ``x <= loc``)."""
    z = standardise(x, loc, scale)
    inside = strip(z) > 0
    z = safe(inside, z, 1.0)
    return on_support(inside, sc.xlogy(a - 1, z) - z - sc.gammaln(a) - np.log(scale))


def pdf(x: Any, a: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Density."""
    return np.exp(logpdf(x, a, loc, scale))


def cdf(x: Any, a: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Distribution function (differentiable in ``x``, ``loc`` and ``scale``)."""
    z = standardise(x, loc, scale)
    return sc.gammainc(a, np.maximum(z, 0.0))
