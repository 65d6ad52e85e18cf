"""The beta distribution, as ``scipy.stats.beta``."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special as sc

from gradmix.ad import strip
from gradmix.scipy.stats._support import on_support, safe, standardise

__all__ = ["logpdf", "pdf"]


def logpdf(x: Any, a: Any, b: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Log density (``-inf`` outside (0, 1) after standardising)."""
    z = standardise(x, loc, scale)
    zv = strip(z)
    inside = (zv > 0) & (zv < 1)
    z = safe(inside, z, 0.5)
    value = sc.xlogy(a - 1, z) + sc.xlog1py(b - 1, -z) - sc.betaln(a, b) - np.log(scale)
    return on_support(inside, value)


def pdf(x: Any, a: Any, b: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Density."""
    return np.exp(logpdf(x, a, b, loc, scale))
