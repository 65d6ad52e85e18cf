"""The normal distribution, as ``scipy.stats.norm``.

Values follow scipy's conventions at the edges: NaN for ``scale <= 0`` or NaN
input, the limits at ``x = ±inf`` (see :mod:`gradmix.scipy.stats`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special as sc

from gradmix.scipy.stats._distribution import Continuous

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf"]

_HALF_LOG_2PI = 0.5 * np.log(2 * np.pi)

_NORM = Continuous(
    log_density=lambda z: -0.5 * z**2 - _HALF_LOG_2PI,
    cdf=sc.ndtr,
    logcdf=sc.log_ndtr,
    sf=lambda z: sc.ndtr(-z),
    logsf=lambda z: sc.log_ndtr(-z),
    ppf=sc.ndtri,
)


def logpdf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Log density."""
    return _NORM.logpdf(x, (), loc, scale)


def pdf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Density."""
    return _NORM.pdf(x, (), loc, scale)


def cdf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Distribution function."""
    return _NORM.tail("cdf", x, (), loc, scale)


def logcdf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Log of the distribution function (accurate far in the left tail)."""
    return _NORM.tail("logcdf", x, (), loc, scale)


def sf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Survival function ``1 - cdf``."""
    return _NORM.tail("sf", x, (), loc, scale)


def logsf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Log of the survival function."""
    return _NORM.tail("logsf", x, (), loc, scale)


def ppf(q: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Quantile function (``-inf`` and ``inf`` at 0 and 1, NaN outside [0, 1])."""
    return _NORM.quantile(q, (), loc, scale)
