"""The Poisson distribution, as ``scipy.stats.poisson`` (differentiable in ``mu``).

NaN for ``mu < 0`` or NaN counts, as scipy's; ``-inf`` off the non-negative
integers.  ``mu = 0`` is the point mass at 0, whose log probability has the
one-sided derivative ``-1`` in ``mu``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special as sc

from gradmix.scipy.stats._distribution import finish, masked, plain

__all__ = ["logpmf", "pmf"]


def _formula(k: Any, mu: Any) -> Any:
    return sc.xlogy(k, mu) - sc.gammaln(k + 1) - mu


def _logpmf(k: Any, mu: Any, loc: Any, drop: np.ndarray | None = None) -> Any:
    """Log probability, with the entries in ``drop`` filled (constants) as well."""
    with np.errstate(all="ignore"):
        kv, muv = np.broadcast_arrays(plain(k) - plain(loc), plain(mu))
        valid = muv >= 0
        inside = valid & (kv >= 0) & (kv == np.floor(kv))
        fill = np.where(inside, _formula(kv, muv), -np.inf)
    fill = np.where(valid & ~np.isnan(kv), fill, np.nan)
    keep = inside & np.isfinite(kv) & np.isfinite(muv)
    if drop is not None:
        keep = keep & ~drop
    return finish(np.where(keep, _formula(np.where(keep, kv, 0.0), masked(keep, mu, 1.0)), fill))


def logpmf(k: Any, mu: Any, loc: Any = 0.0) -> Any:
    """Log probability of the counts ``k`` (``-inf`` off the non-negative integers)."""
    return _logpmf(k, mu, loc)


def pmf(k: Any, mu: Any, loc: Any = 0.0) -> Any:
    """Probability of the counts ``k``; at ``mu = 0`` written as ``mu**k e^-mu / k!``, so
    its derivative in ``mu`` is the one-sided limit (1 for ``k = 1``), not ``0 * inf``."""
    kv, muv = np.broadcast_arrays(plain(k) - plain(loc), plain(mu))
    at_zero = (muv == 0) & (kv >= 1) & (kv == np.floor(kv)) & np.isfinite(kv)
    out = np.exp(_logpmf(k, mu, loc, drop=at_zero))
    if not np.any(at_zero):
        return out
    ks = np.where(at_zero, kv, 1.0)
    direct = masked(at_zero, mu, 1.0) ** ks * np.exp(-masked(at_zero, mu, 1.0)) / sc.gamma(ks + 1)
    return finish(np.where(at_zero, direct, out))
