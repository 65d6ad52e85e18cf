"""The chi-squared distribution, as ``scipy.stats.chi2``: a gamma with shape df/2, scale 2."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradmix.scipy.stats import gamma

__all__ = ["logpdf", "pdf", "cdf"]


def logpdf(x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Log density."""
    return gamma.logpdf(x, df / 2, loc, 2 * scale)


def pdf(x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Density."""
    return np.exp(logpdf(x, df, loc, scale))


def cdf(x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Distribution function."""
    return gamma.cdf(x, df / 2, loc, 2 * scale)
