"""Student's t distribution, as ``scipy.stats.t``.

NaN for ``df <= 0`` or ``scale <= 0``, as scipy's; ``df = inf`` is the normal
distribution, and large ``df`` approach it smoothly (the log normalising
constant is an asymptotic series there, not a difference of ``gammaln``
values that cancel).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special as sc

from gradmix.ad import strip
from gradmix.scipy.stats._distribution import Continuous

__all__ = ["logpdf", "pdf", "cdf"]

_HALF_LOG_2PI = 0.5 * np.log(2 * np.pi)
# from df = 50 on, the series below is exact to rounding (its next term is < 1e-16)
_SERIES_FROM = 50.0


def _log_normaliser(df: Any) -> Any:
    """``log Γ((df+1)/2) - log Γ(df/2) - log(df π)/2``.

    For large ``df`` the two ``gammaln`` values are huge and cancel; there the
    expansion ``log Γ(ν+1/2) - log Γ(ν) = log(ν)/2 - 1/(8ν) + 1/(192ν³)
    - 1/(640ν⁵) + 17/(14336ν⁷) + O(ν⁻⁹)`` with ``ν = df/2`` is used instead,
    in which the logs cancel exactly.
    """
    large = np.asarray(strip(df)) >= _SERIES_FROM
    small = np.where(large, 1.0, df)
    direct = sc.gammaln((small + 1) / 2) - sc.gammaln(small / 2) - 0.5 * np.log(small * np.pi)
    u = 2 / np.where(large, df, 2 * _SERIES_FROM)  # 1/ν; 0 at df = inf
    u2 = u * u
    series = -_HALF_LOG_2PI + u * (-1 / 8 + u2 * (1 / 192 + u2 * (-1 / 640 + u2 * 17 / 14336)))
    return np.where(large, series, direct)


def _kernel(z: Any, df: Any) -> Any:
    """``-(df + 1)/2 log(1 + z²/df)``.

    For small ``u = z²/df`` it is the series ``-(z²/2)(1 + 1/df)(1 - u/2 + u²/3 - u³/4
    + u⁴/5)`` (next term below 2e-16 for ``u < 1e-3``), whose derivative in ``df``
    does not cancel: differentiating the log form subtracts two terms of size ``u``
    to leave one of size ``u²``.  ``df = inf`` is the normal's ``-z²/2``.
    """
    dfv = np.asarray(strip(df), dtype=float)
    infinite = np.isinf(dfv)
    with np.errstate(all="ignore"):
        small = ~infinite & (np.asarray(strip(z), dtype=float) ** 2 / dfv < 1e-3)
    d = np.where(infinite, 1.0, df)
    u = z**2 / d
    series = -(z**2 / 2) * (1 + 1 / d) * (1 + u * (-1 / 2 + u * (1 / 3 + u * (-1 / 4 + u / 5))))
    direct = -(d + 1) / 2 * np.log1p(np.where(small, 0.0, u))
    return np.where(infinite, -0.5 * z**2, np.where(small, series, direct))


def _log_density(z: Any, df: Any) -> Any:
    return _log_normaliser(df) + _kernel(z, df)


_T = Continuous(log_density=_log_density, cdf=lambda z, df: sc.stdtr(df, z))


def logpdf(x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Log density, differentiable in ``x``, ``df``, ``loc`` and ``scale``."""
    return _T.logpdf(x, (df,), loc, scale)


def pdf(x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Density."""
    return _T.pdf(x, (df,), loc, scale)


def cdf(x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Distribution function (differentiable in ``x``, ``loc`` and ``scale``; scipy's
    ``stdtr`` has no derivative rule in ``df``)."""
    return _T.tail("cdf", x, (df,), loc, scale)
