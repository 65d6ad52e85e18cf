"""A fitted Gaussian mixture as a density estimate: mclust's ``densityMclust`` use.

For one-dimensional mixtures the distribution function and its inverse
(``cdf``, ``quantile``); in any dimension the density levels that enclose
given probabilities (``hdr_levels``), found as mclust's ``hdrlevels`` finds
them: the quantiles of the density at a large sample from the mixture.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from scipy.special import ndtr

__all__ = ["FittedDensity", "cdf", "hdr_levels", "quantile"]


class FittedDensity(Protocol):
    """What the functions here read from a fitted mixture."""

    weights_: Any
    means_: Any

    def score_samples(self, X: Any) -> Any:
        """Log-density of each row."""

    def sample(self, n_samples: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Rows drawn from the mixture, and their components."""


def _one_dimensional(model: FittedDensity) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights, means and standard deviations of a fitted 1-D mixture (host arrays)."""
    means = np.asarray(model.means_, dtype=np.float64)
    if means.ndim != 2 or means.shape[1] != 1:
        raise ValueError(
            f"cdf and quantile are for one-dimensional mixtures; this one has "
            f"{means.shape[-1]} features"
        )
    if getattr(model, "noise_weight_", None) is not None:
        raise ValueError("cdf and quantile of a mixture with a noise component are not defined "
                         "beyond the noise region's box")  # fmt: skip
    variances = np.asarray(model.covariances_, dtype=np.float64)  # type: ignore[attr-defined]
    sd = np.sqrt(np.broadcast_to(variances.reshape(-1), (means.shape[0],)))
    return np.asarray(model.weights_, dtype=np.float64), means[:, 0], sd


def cdf(model: FittedDensity, x: Any) -> np.ndarray:
    """P(X <= x) under a fitted one-dimensional Gaussian mixture.

    Parameters
    ----------
    model : fitted GaussianMixture with one feature
    x : array_like, any shape

    Returns
    -------
    ndarray, shape of ``x``
    """
    w, mu, sd = _one_dimensional(model)
    x = np.asarray(x, dtype=np.float64)
    if np.any(np.isnan(x)):
        raise ValueError("x contains NaN")
    return np.sum(w * ndtr((x[..., None] - mu) / sd), axis=-1)


def quantile(model: FittedDensity, p: Any, *, tol: float = 1e-12) -> np.ndarray:
    """The inverse of :func:`cdf`: x with P(X <= x) = p, by bisection to ``tol``.

    Parameters
    ----------
    model : fitted GaussianMixture with one feature
    p : array_like in [0, 1], any shape
    tol : float
        Absolute tolerance on x, relative to the mixture's spread.

    Returns
    -------
    ndarray, shape of ``p`` (-inf at 0, +inf at 1)
    """
    w, mu, sd = _one_dimensional(model)
    p = np.asarray(p, dtype=np.float64)
    if np.any(np.isnan(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("probabilities must lie in [0, 1]")
    # every quantile in (0, 1) lies within 40 standard deviations of some component
    lo = np.full(p.shape, np.min(mu - 40 * sd))
    hi = np.full(p.shape, np.max(mu + 40 * sd))
    scale = float(hi.flat[0] - lo.flat[0]) if p.size else 1.0
    for _ in range(200):  # bounded: halves the bracket to tol in ~100 steps
        mid = 0.5 * (lo + hi)
        below = cdf(model, mid) < p
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        if np.all(hi - lo <= tol * scale):
            break
    out = 0.5 * (lo + hi)
    return np.where(p == 0, -np.inf, np.where(p == 1, np.inf, out))


def hdr_levels(model: FittedDensity, probs: Any, *, n_samples: int = 100_000,
               random_state: Any = None) -> np.ndarray:  # fmt: skip
    """Density levels whose upper sets hold the given probabilities (highest density regions).

    The region {x : f(x) >= level} has probability ``prob``.  As mclust's
    ``hdrlevels``: the (1 - prob) quantiles of the density at ``n_samples``
    rows drawn from the mixture (Hyndman 1996).

    Parameters
    ----------
    model : fitted mixture (any dimension)
    probs : array_like in (0, 1)
    n_samples : int
    random_state : int or None
        Seeds the sample (the model's own generator is left alone).

    Returns
    -------
    ndarray, shape of ``probs``
    """
    probs = np.asarray(probs, dtype=np.float64)
    if np.any(np.isnan(probs)) or np.any((probs <= 0) | (probs >= 1)):
        raise ValueError("probabilities must lie strictly between 0 and 1")
    if n_samples < 1:
        raise ValueError(f"n_samples must be positive, got {n_samples}")
    saved = getattr(model, "random_state", None)
    try:
        model.random_state = random_state  # type: ignore[attr-defined]
        rows, _ = model.sample(n_samples)
    finally:
        model.random_state = saved  # type: ignore[attr-defined]
    density = np.exp(np.asarray(model.score_samples(rows), dtype=np.float64))
    return np.quantile(density, 1 - probs)
