"""The spherical storage family: one variance per component, compact shape (K,).

Diagonal's reference points, statistic handling and precisions, pooled over
the features: the statistic is Σ w r |x|² per component.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradmix.mixture.covariance.base import Coefficients, row_text
from gradmix.mixture.covariance.diagonal import DiagonalCoefficients, DiagonalFamily, prior_variance
from gradmix.mixture.covariance.kernels import squared_deviations
from gradmix.mixture.ops import is_host

__all__ = ["SphericalFamily"]


class SphericalFamily(DiagonalFamily):
    """One variance per component."""

    one_component_letters = "XII"

    def one_component_prior_added(self, scale: np.ndarray, dof: float) -> tuple[np.ndarray, float]:
        # mclust's mvnXII
        d = len(scale)
        return prior_variance(scale) / d * np.eye(d), (dof + d + 2.0) / d

    def compact_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components,)

    def component_from_covariance(self, cov: np.ndarray) -> Any:
        return float(np.mean(np.diag(cov)))

    def second_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components, 1)  # Σ r |x - m|², pooled over features

    def to_matrices(self, compact: Any, n_components: int, n_features: int) -> Any:
        return compact[:, None, None] * np.eye(n_features)

    def from_matrices(self, M: np.ndarray) -> np.ndarray:
        return M[:, 0, 0].copy()

    def scatter_from_matrices(self, M: np.ndarray) -> Any:
        return np.trace(M, axis1=1, axis2=2)

    def _well_coefficients(self, co: DiagonalCoefficients, put: Any, means: np.ndarray,
                           P: np.ndarray) -> None:  # fmt: skip
        # B = [-2 μ p; p] transposed and c = p |μ|², for each component's precision p
        p = P[:, :1]
        co.B = put(np.concatenate([-2.0 * means * p, p], axis=1).T)
        co.c = put(np.sum(means**2, axis=1) * p[:, 0])

    def features(self, xp: Any, X: Any, co: Coefficients) -> Any:
        """``[x, |x|²]``, shape (n, d + 1): the distances' features; the last column is
        also the statistic's."""
        if not len(co.well):
            return None
        if is_host(xp):
            n, d = X.shape
            F = np.empty((n, d + 1), dtype=X.dtype)
            F[:, :d] = X
            np.einsum("ij,ij->i", X, X, out=F[:, d])
            return F
        return xp.concat([X, xp.sum(X * X, axis=1)[:, None]], axis=1)

    def squares(self, F: Any, d: int) -> Any:
        return F[:, d]  # |x|², shape (n,)

    def _exact_second(self, xp: Any, X: Any, ref: Any, r: Any) -> Any:
        # a product, then d numbers summed: summing each row of d first is twice as slow
        return xp.sum(r @ squared_deviations(xp, X, ref))

    def scatter(self, nk: np.ndarray, means: np.ndarray, second: np.ndarray, ref: np.ndarray,
                centre: np.ndarray) -> np.ndarray:  # fmt: skip
        shift = np.sum((means - centre) ** 2 - (means - ref) ** 2, axis=1)
        return second[:, 0] + nk * shift

    def ridge(self, W: np.ndarray, nk: np.ndarray, reg_covar: float, d: int) -> np.ndarray:
        return W + nk * d * reg_covar

    def about_origin(self, ref: np.ndarray, sx: np.ndarray, nk: np.ndarray,
                     second: np.ndarray) -> np.ndarray:  # fmt: skip
        return second + (2 * np.sum(ref * sx, axis=1) - nk * np.sum(ref * ref, axis=1))[:, None]

    def variances(self, cov: np.ndarray) -> np.ndarray:
        return cov[:, None]

    def log_det(self, prec_chol: Any, d: int) -> Any:
        return d * np.log(prec_chol)

    def describe(self, cov: np.ndarray) -> list[str]:
        return [f"    component {k} variance: {row_text(c)}" for k, c in enumerate(cov)]
