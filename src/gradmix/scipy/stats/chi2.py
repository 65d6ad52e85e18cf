"""The chi-squared distribution, as ``scipy.stats.chi2``.

NaN for ``df <= 0`` or ``scale <= 0``, as scipy's; the support ``x >= loc`` is
closed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special as sc

from gradmix.scipy.stats._distribution import Continuous

__all__ = ["logpdf", "pdf", "cdf"]

_LOG2 = np.log(2.0)

_CHI2 = Continuous(
    log_density=lambda z, df: sc.xlogy(df / 2 - 1, z) - z / 2 - sc.gammaln(df / 2) - _LOG2 * df / 2,
    density=lambda z, df: (z / 2) ** (df / 2 - 1) * np.exp(-z / 2) / (2 * sc.gamma(df / 2)),
    cdf=lambda z, df: sc.gammainc(df / 2, z / 2),
    lower=0.0,
    inner=1.0,
)


def logpdf(x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Log density."""
    return _CHI2.logpdf(x, (df,), loc, scale)


def pdf(x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Density."""
    return _CHI2.pdf(x, (df,), loc, scale)


def cdf(x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Distribution function (differentiable in ``x``, ``loc`` and ``scale``)."""
    return _CHI2.tail("cdf", x, (df,), loc, scale)
