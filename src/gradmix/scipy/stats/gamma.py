"""The gamma distribution, as ``scipy.stats.gamma`` (shape ``a``).

NaN for ``a <= 0`` or ``scale <= 0``, as scipy's; the support ``x >= loc`` is
closed, so ``logpdf(loc, 1)`` is 0 and ``logpdf(loc, 0.5)`` is ``inf``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special as sc

from gradmix.scipy.stats._distribution import Continuous

__all__ = ["logpdf", "pdf", "cdf"]

_GAMMA = Continuous(
    log_density=lambda z, a: sc.xlogy(a - 1, z) - z - sc.gammaln(a),
    density=lambda z, a: z ** (a - 1) * np.exp(-z) / sc.gamma(a),
    cdf=lambda z, a: sc.gammainc(a, z),
    lower=0.0,
    inner=1.0,
)


def logpdf(x: Any, a: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Log density (``-inf`` for ``x < loc``)."""
    return _GAMMA.logpdf(x, (a,), loc, scale)


def pdf(x: Any, a: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Density."""
    return _GAMMA.pdf(x, (a,), loc, scale)


def cdf(x: Any, a: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Distribution function (differentiable in ``x``, ``loc`` and ``scale``; scipy's
    ``gammainc`` has no derivative rule in ``a``)."""
    return _GAMMA.tail("cdf", x, (a,), loc, scale)
