"""The diagonal storage family: a diagonal covariance per component, compact shape (K, d).

Distances of the well-conditioned components are one GEMM against the rows'
features ``[x², x]``; the statistic is Σ w r x² per component (one GEMM).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradmix.mixture.covariance.base import Coefficients, ill_defined_error, row_text
from gradmix.mixture.covariance.kernels import (
    ProductDistances,
    reference_if_needed,
    split_components,
    squared_deviations,
)
from gradmix.mixture.ops import is_host

__all__ = ["DiagonalCoefficients", "DiagonalFamily", "precision_squares"]


def precision_squares(prec_chol: np.ndarray, d: int) -> np.ndarray:
    """Per-feature precisions (K, d) from diagonal or spherical precision factors."""
    P = np.asarray(prec_chol, dtype=np.float64) ** 2
    return P if P.ndim == 2 else np.repeat(P[:, None], d, axis=1)  # a GEMV's own vectors


@dataclass
class DiagonalCoefficients(Coefficients):
    """The fast path's ``B = [P; -2 μ P]`` transposed and ``c = Σ μ² P`` (per-feature
    precisions P); (mean, precisions) of each ill-conditioned component for the exact
    one."""

    exact: list[tuple[Any, Any]] = field(default_factory=list)


def prior_variance(scale: np.ndarray) -> float:
    """The scalar of an inverse-gamma prior's scale ``s I``: ``tr(Λ_P) / d``."""
    return float(np.trace(scale)) / len(scale)


class DiagonalFamily(ProductDistances):
    """A diagonal covariance per component."""

    one_component_letters = "XXI"

    prior_scalar_scale = True

    def one_component_prior_added(self, scale: np.ndarray, dof: float) -> tuple[np.ndarray, float]:
        # mclust's mvnXXI
        return prior_variance(scale) * np.eye(len(scale)), dof + 3.0

    def component_from_covariance(self, cov: np.ndarray) -> Any:
        return np.diag(cov).copy()

    def compact_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components, n_features)

    def second_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components, n_features)

    def to_matrices(self, compact: Any, n_components: int, n_features: int) -> Any:
        return compact[:, :, None] * np.eye(n_features)

    def from_matrices(self, M: np.ndarray) -> np.ndarray:
        return np.diagonal(M, axis1=1, axis2=2).copy()

    def scatter_from_matrices(self, M: np.ndarray) -> Any:
        return self.from_matrices(M)

    def reference(self, means: np.ndarray, prec_chol: np.ndarray) -> np.ndarray:
        P = precision_squares(prec_chol, means.shape[1])
        return reference_if_needed(means, np.max(means**2 * P, axis=1))

    def coefficients(self, ref: np.ndarray, put: Any, means: np.ndarray | None = None,
                     prec_chol: np.ndarray | None = None) -> DiagonalCoefficients:  # fmt: skip
        co = DiagonalCoefficients(**split_components(ref, put))
        if means is None or prec_chol is None:
            return co
        means = np.asarray(means, dtype=np.float64)
        P = precision_squares(prec_chol, co.d)
        self._well_coefficients(co, put, means, P)  # every component's (see FullFamily)
        co.exact = [(put(means[k]), put(P[k])) for k in co.ill]
        return co

    def _well_coefficients(self, co: DiagonalCoefficients, put: Any, means: np.ndarray,
                           P: np.ndarray) -> None:  # fmt: skip
        co.B = put(np.concatenate([P, -2.0 * means * P], axis=1).T)
        co.c = put(np.sum(means**2 * P, axis=1))

    def features(self, xp: Any, X: Any, co: Coefficients) -> Any:
        """``[x², x]``, shape (n, 2d): the distances' features; the squares are also
        the statistic's."""
        if not len(co.well):
            return None
        if is_host(xp):
            # built transposed, (2d, n), as the full family's: the squares are one
            # contiguous product (a strided product of few columns costs three times as
            # much), and the GEMM reads the rows as they lie
            n, d = X.shape
            FT = np.empty((2 * d, n), dtype=X.dtype)
            FT[d:] = X.T
            np.multiply(FT[d:], FT[d:], out=FT[:d])
            return FT.T
        return xp.concat([X * X, X], axis=1)

    def squares(self, F: Any, d: int) -> Any:
        """The statistic's squares among the :meth:`features`: x², shape (n, d)."""
        return F[:, :d]

    def exact_distances(self, xp: Any, X: Any, co: Coefficients) -> Any:
        assert isinstance(co, DiagonalCoefficients)
        return xp.stack([squared_deviations(xp, X, mu) @ P for mu, P in co.exact], axis=1)

    def _exact_second(self, xp: Any, X: Any, ref: Any, r: Any) -> Any:
        return r @ squared_deviations(xp, X, ref)

    def second_parts(self, xp: Any, X: Any, weights: Any, co: Coefficients, F: Any) -> tuple:
        parts: list[Any] = []
        if len(co.well):
            parts.append(xp.permute_dims(weights, (1, 0)) @ self.squares(F, co.d))
        if len(co.ill):
            parts.append(xp.stack([self._exact_second(xp, X, co.ref_ill[j], weights[:, int(k)])
                                   for j, k in enumerate(co.ill)]))  # fmt: skip
        return tuple(parts)

    def assemble(self, parts: tuple, co: Coefficients) -> np.ndarray:
        second = np.zeros(self.second_shape(co.K, co.d))
        it = iter(parts)
        if len(co.well):
            second[co.well] = np.reshape(next(it), (co.K, -1))[co.well]
        if len(co.ill):
            second[co.ill] = np.reshape(next(it), (len(co.ill), -1))
        return second

    def scatter(self, nk: np.ndarray, means: np.ndarray, second: np.ndarray, ref: np.ndarray,
                centre: np.ndarray) -> np.ndarray:  # fmt: skip
        return second - nk[:, None] * (means - ref) ** 2 + nk[:, None] * (means - centre) ** 2

    def ridge(self, W: np.ndarray, nk: np.ndarray, reg_covar: float, d: int) -> np.ndarray:
        return W + nk[:, None] * reg_covar

    def about_origin(self, ref: np.ndarray, sx: np.ndarray, nk: np.ndarray,
                     second: np.ndarray) -> np.ndarray:  # fmt: skip
        return second + 2 * ref * sx - nk[:, None] * ref * ref

    def precision_cholesky(self, cov: np.ndarray) -> np.ndarray:
        if np.any(cov <= 0.0) or not np.all(np.isfinite(cov)):
            raise ill_defined_error(cov.dtype)
        return 1.0 / np.sqrt(cov)

    def precisions(self, prec_chol: np.ndarray) -> np.ndarray:
        return prec_chol**2

    def cholesky_from_precisions(self, precisions: np.ndarray) -> np.ndarray:
        return np.sqrt(precisions)

    def covariances_from_cholesky(self, prec_chol: np.ndarray) -> np.ndarray:
        return 1.0 / prec_chol**2

    def variances(self, cov: np.ndarray) -> np.ndarray:
        return cov

    def log_det(self, prec_chol: Any, d: int) -> Any:
        return np.sum(np.log(prec_chol), axis=1)

    def factor_defect(self, prec_chol: np.ndarray) -> str | None:
        return None  # diagonal factors as (K, d, d) matrices are triangular anyway

    def _check_compact_precisions(self, precisions: np.ndarray) -> np.ndarray | None:
        if np.any(precisions <= 0.0):
            raise ValueError(f"'{self.name} precision' should be positive")
        return precisions

    def sample(self, rng: Any, means: np.ndarray, cov: np.ndarray, counts: np.ndarray,
               scales: list[np.ndarray] | None = None) -> np.ndarray:  # fmt: skip
        d = means.shape[1]
        sd = np.sqrt(self.variances(cov)) * np.ones((len(means), d))
        draws = [m + rng.standard_normal(size=(int(s), d)) * c
                 for m, c, s in zip(means, sd, counts, strict=True)]  # fmt: skip
        if scales is not None:
            draws = [m + (x - m) / np.sqrt(t)[:, None]
                     for m, x, t in zip(means, draws, scales, strict=True)]  # fmt: skip
        return np.vstack(draws)

    def describe(self, cov: np.ndarray) -> list[str]:
        return [f"    component {k} variances: {row_text(c)}" for k, c in enumerate(cov)]
