"""The multivariate normal distribution, as ``scipy.stats.multivariate_normal``.

The dimension and the reading of ``x`` follow scipy's: the dimension is the
size of ``mean`` (or of a 2-D ``cov`` when ``mean`` is None, else 1); a scalar
``cov`` is a multiple of the identity and a 1-D ``cov`` a diagonal; a 1-D ``x``
is ``n`` one-dimensional points when the dimension is 1 and one point
otherwise; the result is squeezed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradmix.ad import NoDerivativeRuleError, solve_triangular, strip
from gradmix.scipy.stats._distribution import finish

__all__ = ["logpdf", "pdf"]


def _parameters(mean: Any, cov: Any) -> tuple[int, Any, Any]:
    """The dimension, ``mean`` as a vector and ``cov`` as a matrix (scipy's rules)."""
    cv = np.asarray(strip(cov))
    if mean is None:
        dim = cv.shape[0] if cv.ndim >= 2 else 1
        mean = np.zeros(dim)
    else:
        dim = int(np.size(strip(mean)))
        mean = np.reshape(mean, (-1,)) if np.ndim(strip(mean)) != 1 else mean
    if dim == 1:
        cov = np.reshape(cov, (1, 1)) if cv.size == 1 else cov
    if np.ndim(strip(cov)) == 0:
        cov = cov * np.eye(dim)
    elif np.ndim(strip(cov)) == 1:
        cov = cov * np.eye(np.shape(strip(cov))[0])  # diag, traceable
    shape = np.shape(strip(cov))
    if len(shape) != 2 or shape != (dim, dim):
        raise ValueError(f"multivariate_normal: cov of shape {np.shape(cv)} does not fit "
                         f"a mean of length {dim}")  # fmt: skip
    return dim, mean, cov


def logpdf(x: Any, mean: Any = None, cov: Any = 1.0, allow_singular: bool = False) -> Any:
    """Log density of the points ``x`` (the last axis holds the coordinates; see the
    module docstring for 0-d and 1-D ``x``), differentiable in ``x``, ``mean`` and
    ``cov`` (through its Cholesky factor, which reads the lower triangle of ``cov``).
    The result is squeezed as scipy's: a scalar for one point."""
    if allow_singular:
        raise NoDerivativeRuleError(
            "gradmix has no derivative rule for multivariate_normal.logpdf with "
            "allow_singular=True: it needs a positive definite cov"
        )
    dim, mean, cov = _parameters(mean, cov)
    xshape = np.shape(strip(x))
    if len(xshape) == 0:
        xshape = (1,)
    elif len(xshape) == 1:
        xshape = (xshape[0], 1) if dim == 1 else (1, xshape[0])
    if xshape[-1] != dim:
        raise ValueError(f"multivariate_normal: points of {xshape[-1]} coordinates for a "
                         f"distribution in {dim} dimensions")  # fmt: skip
    chol = np.linalg.cholesky(cov)
    centred = np.reshape(x, xshape) - mean
    z = solve_triangular(chol, np.transpose(np.reshape(centred, (-1, dim))), lower=True)
    maha = np.sum(z**2, axis=0)
    logdet = 2 * np.sum(np.log(np.diagonal(chol)))
    out = np.reshape(-0.5 * (dim * np.log(2 * np.pi) + logdet + maha), xshape[:-1])
    squeezed = tuple(n for n in xshape[:-1] if n != 1)
    return finish(np.reshape(out, squeezed))


def pdf(x: Any, mean: Any = None, cov: Any = 1.0, allow_singular: bool = False) -> Any:
    """Density."""
    return np.exp(logpdf(x, mean, cov, allow_singular))
