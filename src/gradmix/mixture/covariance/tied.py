"""The tied storage family: one covariance matrix shared by all components, compact (d, d).

Its statistic is pooled over the components (Σ_n (Σ_k w r_nk) x_n x_nᵀ, one
GEMM), and all distances come from one whitening of the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gradmix.mixture.covariance.base import Coefficients, CovarianceModel, row_text
from gradmix.mixture.covariance.full import FullFamily
from gradmix.mixture.covariance.kernels import split_components
from gradmix.mixture.ops import is_host

__all__ = ["TiedCoefficients", "TiedFamily"]


@dataclass
class TiedCoefficients(Coefficients):
    """The shared precision factor ``U``; ``B = [-2 M; 1]`` transposed and ``c = |M|²``
    for the whitened means M."""

    U: Any = None


class TiedFamily(FullFamily):
    """One full covariance shared by all components (its precisions are Full's, pooled)."""

    pooled = True

    def temporaries_per_row(self, n_components: int, n_features: int) -> int:
        # no packed products and no exact per-component path
        return CovarianceModel.temporaries_per_row(self, n_components, n_features)

    def component_shape(self, n_features: int) -> tuple[int, ...]:
        return (n_features, n_features)

    def compact_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_features, n_features)

    def second_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_features, n_features)

    def to_matrices(self, compact: Any, n_components: int, n_features: int) -> Any:
        return np.ones((n_components, 1, 1)) * compact

    def from_matrices(self, M: np.ndarray) -> np.ndarray:
        return M[0]

    def scatter_from_matrices(self, M: np.ndarray) -> Any:
        return M.sum(axis=0)

    def reference(self, means: np.ndarray, prec_chol: np.ndarray) -> np.ndarray:
        return np.zeros_like(means, dtype=np.float64)  # pooled about the centre

    def coefficients(self, ref: np.ndarray, put: Any, means: np.ndarray | None = None,
                     prec_chol: np.ndarray | None = None) -> Coefficients:  # fmt: skip
        co = TiedCoefficients(**split_components(np.zeros_like(ref), put))
        if means is None or prec_chol is None:
            return co
        U = np.asarray(prec_chol, dtype=np.float64)
        M = np.asarray(means, dtype=np.float64) @ U
        co.U = put(U)
        co.B = put(np.concatenate([-2.0 * M, np.ones((len(M), 1))], axis=1).T)
        co.c = put(np.sum(M * M, axis=1))
        return co

    def features(self, xp: Any, X: Any, co: Coefficients) -> Any:
        """``[y, |y|²]`` for the whitened rows y = Uᵀx, shape (n, d + 1): |y - m|² =
        |y|² - 2 y·m + |m|² is one GEMM against them (None without a precision)."""
        assert isinstance(co, TiedCoefficients)
        if co.U is None:
            return None
        if is_host(xp):  # built transposed, (d + 1, n): y = Uᵀx by one GEMM into its rows
            n, d = X.shape
            FT = np.empty((d + 1, n), dtype=X.dtype)
            YT = np.matmul(co.U.T, X.T, out=FT[:d])
            np.einsum("ji,ji->i", YT, YT, out=FT[d])
            return FT.T
        Y = X @ co.U
        return xp.concat([Y, xp.sum(Y * Y, axis=1)[:, None]], axis=1)

    def second_parts(self, xp: Any, X: Any, weights: Any, co: Coefficients, F: Any) -> tuple:
        # pooled over components: Σ_n (Σ_k w_nk) x_n x_nᵀ, one GEMM
        rho = xp.sum(weights, axis=1)
        return (xp.permute_dims(X * rho[:, None], (1, 0)) @ X,)

    def assemble(self, parts: tuple, co: Coefficients) -> np.ndarray:
        return np.asarray(parts[0], dtype=np.float64)

    def scatter(self, nk: np.ndarray, means: np.ndarray, second: np.ndarray, ref: np.ndarray,
                centre: np.ndarray) -> np.ndarray:  # fmt: skip
        b = means - centre
        W = second - (nk[:, None] * means).T @ means + (nk[:, None] * b).T @ b
        return 0.5 * (W + W.T)

    def ridge(self, W: np.ndarray, nk: np.ndarray, reg_covar: float, d: int) -> np.ndarray:
        W = W.copy()
        W[np.diag_indices_from(W)] += np.sum(nk) * reg_covar
        return W

    def about_origin(self, ref: np.ndarray, sx: np.ndarray, nk: np.ndarray,
                     second: np.ndarray) -> np.ndarray:  # fmt: skip
        return second  # pooled about the origin already

    def variances(self, cov: np.ndarray) -> np.ndarray:
        return np.diag(cov)

    def log_det(self, prec_chol: Any, d: int) -> Any:
        return np.sum(np.log(np.diagonal(prec_chol)))

    def describe(self, cov: np.ndarray) -> list[str]:
        if cov.shape[0] == 1:
            return [f"    shared: {row_text(cov)}"]
        return ["    shared:"] + [f"      {row_text(r)}" for r in cov]
