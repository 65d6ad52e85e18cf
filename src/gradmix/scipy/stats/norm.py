"""The normal distribution, as ``scipy.stats.norm``."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special as sc

from gradmix.scipy.stats._support import standardise

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf"]

_HALF_LOG_2PI = 0.5 * np.log(2 * np.pi)


def logpdf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Log density."""
    z = standardise(x, loc, scale)
    return -0.5 * z**2 - np.log(scale) - _HALF_LOG_2PI


def pdf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Density."""
    return np.exp(logpdf(x, loc, scale))


def cdf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Distribution function."""
    return sc.ndtr(standardise(x, loc, scale))


def logcdf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Log of the distribution function (accurate far in the left tail)."""
    return sc.log_ndtr(standardise(x, loc, scale))


def sf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Survival function ``1 - cdf``."""
    return sc.ndtr(-standardise(x, loc, scale))


def logsf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Log of the survival function."""
    return sc.log_ndtr(-standardise(x, loc, scale))


def ppf(q: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Quantile function."""
    return loc + scale * sc.ndtri(q)
