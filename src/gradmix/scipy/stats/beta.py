"""The beta distribution, as ``scipy.stats.beta``.

NaN for ``a <= 0``, ``b <= 0`` or ``scale <= 0``, as scipy's; the support
[0, 1] (after standardising) is closed, so ``logpdf(0, 1, 3)`` is ``log 3``.
"""

from __future__ import annotations

from typing import Any

import scipy.special as sc

from gradmix.scipy.stats._distribution import Continuous

__all__ = ["logpdf", "pdf"]

_BETA = Continuous(
    log_density=lambda z, a, b: sc.xlogy(a - 1, z) + sc.xlog1py(b - 1, -z) - sc.betaln(a, b),
    density=lambda z, a, b: z ** (a - 1) * (1 - z) ** (b - 1) / sc.beta(a, b),
    lower=0.0,
    upper=1.0,
    inner=0.5,
)


def logpdf(x: Any, a: Any, b: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Log density (``-inf`` outside [0, 1] after standardising)."""
    return _BETA.logpdf(x, (a, b), loc, scale)


def pdf(x: Any, a: Any, b: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """Density."""
    return _BETA.pdf(x, (a, b), loc, scale)
