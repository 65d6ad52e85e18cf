"""The multivariate normal distribution, as ``scipy.stats.multivariate_normal``."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradmix.ad import NoDerivativeRuleError, solve_triangular, strip

__all__ = ["logpdf", "pdf"]


def logpdf(x: Any, mean: Any = None, cov: Any = 1.0, allow_singular: bool = False) -> Any:
    """Log density of rows of ``x`` (shape (..., d) or (d,)), differentiable in ``x``,
    ``mean`` and ``cov`` (through its Cholesky factor, which reads the lower
    triangle of ``cov``).  The result is squeezed as scipy's."""
    if allow_singular:
        raise NoDerivativeRuleError(
            "gradmix has no derivative rule for multivariate_normal.logpdf with "
            "allow_singular=True: it needs a positive definite cov"
        )
    d = np.shape(strip(x))[-1] if np.ndim(strip(x)) else 1
    mean = np.zeros(d) if mean is None else mean
    if np.ndim(strip(cov)) < 2:
        cov = np.eye(d) * cov
    chol = np.linalg.cholesky(cov)
    centred = np.reshape(x - mean, (-1, d))
    z = solve_triangular(chol, np.transpose(centred), lower=True)
    maha = np.sum(z**2, axis=0)
    logdet = 2 * np.sum(np.log(np.diagonal(chol)))
    out = -0.5 * (d * np.log(2 * np.pi) + logdet + maha)
    return np.reshape(out, np.shape(strip(x))[:-1]) if np.ndim(strip(x)) > 1 else out[0]


def pdf(x: Any, mean: Any = None, cov: Any = 1.0, allow_singular: bool = False) -> Any:
    """Density."""
    return np.exp(logpdf(x, mean, cov, allow_singular))
