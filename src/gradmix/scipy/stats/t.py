"""Student's t distribution, as ``scipy.stats.t``."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special as sc

from gradmix.scipy.stats._support import standardise

__all__ = ["logpdf", "pdf", "cdf"]


def logpdf(x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Log density, differentiable in ``x``, ``df``, ``loc`` and ``scale``."""
    z = standardise(x, loc, scale)
    return (sc.gammaln((df + 1) / 2) - sc.gammaln(df / 2) - 0.5 * np.log(df * np.pi)
            - np.log(scale) - (df + 1) / 2 * np.log1p(z**2 / df))  # fmt: skip


def pdf(x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Density."""
    return np.exp(logpdf(x, df, loc, scale))


def cdf(x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Distribution function (differentiable in ``x``, ``loc`` and ``scale``)."""
    return sc.stdtr(df, standardise(x, loc, scale))
