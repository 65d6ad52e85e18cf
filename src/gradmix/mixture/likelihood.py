"""The mixture log-likelihood as a differentiable function of free parameters.

EM never needs the likelihood's derivatives; everything else does: standard
errors (the observed information), Newton refinement after EM, and fitting by
gradient ascent.  This module writes the log-likelihood in plain numpy over an
unconstrained parameter vector θ, so that :mod:`gradmix.ad` differentiates it
exactly:

- weights: K - 1 logits (the last fixed at 0), ``w = softmax([logits, 0])`` —
  the sum-to-one constraint is built in, so the information matrix is not
  singular along it;
- means: the K·d entries;
- covariances, through scikit-learn's precision Cholesky factor ``U``
  (``U Uᵀ = Σ⁻¹``): for full and tied the upper triangle of ``U`` row by row
  with the log of its diagonal; for diag and spherical ``log U`` (= -log σ).

The same free parameters for all four covariance types, so ``pack`` and
``unpack`` are bijections onto the valid parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradmix.ad import hessian_blocks, logsumexp

__all__ = ["Parameterisation"]

LOG_2PI = math.log(2 * math.pi)


@dataclass(frozen=True)
class Parameterisation:
    """Free parameters of a K-component mixture with the given covariance type.

    Parameters
    ----------
    covariance_type : {"full", "tied", "diag", "spherical"}
    n_components : int
    n_features : int
    """

    covariance_type: str
    n_components: int
    n_features: int

    # layout ----------------------------------------------------------------------
    @property
    def n_cov(self) -> int:
        """Free covariance parameters."""
        K, d = self.n_components, self.n_features
        tri = d * (d + 1) // 2
        return {"full": K * tri, "tied": tri, "diag": K * d, "spherical": K}[self.covariance_type]

    @property
    def size(self) -> int:
        """Length of θ."""
        K, d = self.n_components, self.n_features
        return K - 1 + K * d + self.n_cov

    def _tri(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Upper-triangle indices (row by row) and which of them are diagonal."""
        iu, ju = np.triu_indices(self.n_features)
        return iu, ju, iu == ju

    # θ <-> parameters ------------------------------------------------------------
    def pack(
        self, weights: np.ndarray, means: np.ndarray, precisions_cholesky: np.ndarray
    ) -> np.ndarray:
        """θ from scikit-learn-shaped parameters (float64, shape (size,)).

        Raises
        ------
        ValueError
            If a weight is zero (its logit would be infinite).
        """
        weights = np.asarray(weights, dtype=np.float64)
        if np.any(weights <= 0):
            raise ValueError("a component has zero weight: it has no free logit")
        logits = np.log(weights[:-1]) - np.log(weights[-1])
        U = np.asarray(precisions_cholesky, dtype=np.float64)
        if self.covariance_type in ("full", "tied"):
            iu, ju, diag = self._tri()
            cov = U[..., iu, ju].copy()
            if np.any(cov[..., diag] <= 0):
                raise ValueError("precision Cholesky factors must have a positive diagonal")
            cov[..., diag] = np.log(cov[..., diag])
        else:
            cov = np.log(U)
        return np.concatenate([logits, np.ravel(means), np.ravel(cov)]).astype(np.float64)

    def unpack(self, theta: Any) -> tuple[Any, Any, Any]:
        """``(log_weights, means, precisions_cholesky)`` from θ, in plain numpy.

        Differentiable by :mod:`gradmix.ad`; shapes as scikit-learn's
        (``precisions_cholesky``: (K, d, d), (d, d), (K, d) or (K,)).
        """
        K, d = self.n_components, self.n_features
        logits = np.concatenate([theta[: K - 1], np.zeros(1)])
        log_w = logits - logsumexp(logits)
        means = np.reshape(theta[K - 1 : K - 1 + K * d], (K, d))
        rest = theta[K - 1 + K * d :]
        if self.covariance_type in ("full", "tied"):
            iu, ju, diag = self._tri()
            v = np.reshape(rest, (-1, len(iu)))
            # exp on the diagonal only; off-diagonal entries never pass through exp
            v = np.where(diag, np.exp(np.where(diag, v, 0.0)), v)
            scatter = np.zeros((len(iu), d * d))
            scatter[np.arange(len(iu)), iu * d + ju] = 1.0
            U = np.reshape(v @ scatter, (-1, d, d))
            return log_w, means, (U if self.covariance_type == "full" else U[0])
        return log_w, means, np.exp(rest if self.covariance_type == "spherical" else
                                    np.reshape(rest, (K, d)))  # fmt: skip

    def natural(self, theta: Any) -> Any:
        """``[weights, means, covariances]`` flattened: the delta method's map from θ."""
        log_w, means, U = self.unpack(theta)
        if self.covariance_type in ("full", "tied"):
            cov = np.linalg.inv(U @ np.swapaxes(U, -1, -2))
        else:
            cov = 1.0 / (U * U)
        return np.concatenate([np.exp(log_w), np.ravel(means), np.ravel(cov)])

    def split(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """``natural``'s flat vector (or per-entry values) as named, shaped arrays."""
        K, d = self.n_components, self.n_features
        shape = {"full": (K, d, d), "tied": (d, d), "diag": (K, d), "spherical": (K,)}
        return {
            "weights": flat[:K],
            "means": flat[K : K + K * d].reshape(K, d),
            "covariances": flat[K + K * d :].reshape(shape[self.covariance_type]),
        }

    # the likelihood -----------------------------------------------------------------
    def log_prob(self, theta: Any, X: np.ndarray) -> Any:
        """log π_k + log N(x_i | μ_k, Σ_k), shape (n, K)."""
        d = self.n_features
        log_w, means, U = self.unpack(theta)
        diff = X[:, None, :] - means[None, :, :]  # (n, K, d)
        ct = self.covariance_type
        if ct == "full":
            z = np.einsum("nkd,kde->nke", diff, U)
            log_det = np.sum(np.log(np.diagonal(U, axis1=1, axis2=2)), axis=1)
        elif ct == "tied":
            z = np.einsum("nkd,de->nke", diff, U)
            log_det = np.sum(np.log(np.diagonal(U)))
        elif ct == "diag":
            z = diff * U[None, :, :]
            log_det = np.sum(np.log(U), axis=1)
        else:
            z = diff * U[None, :, None]
            log_det = d * np.log(U)
        maha = np.sum(z * z, axis=2)
        return -0.5 * maha + (log_det - 0.5 * d * LOG_2PI) + log_w

    def log_likelihood(self, theta: Any, X: np.ndarray, sample_weight: Any = None) -> Any:
        """Σᵢ wᵢ log p(xᵢ | θ): the mixture's total log-likelihood."""
        per_row = logsumexp(self.log_prob(theta, X), axis=1)
        return np.sum(per_row) if sample_weight is None else np.sum(sample_weight * per_row)

    def hessian(self, theta: np.ndarray, X: np.ndarray, sample_weight: Any = None) -> np.ndarray:
        """The exact Hessian of :meth:`log_likelihood`, shape (size, size).

        Forward-over-reverse AD, the directions in batches that keep the
        traced (n, K, d) intermediates near 2·10⁷ numbers each.
        """
        n = X.shape[0]
        per_dir = max(n * self.n_components * self.n_features, 1)
        batch = max(1, min(self.size, int(2e7 // per_dir)))
        H = hessian_blocks(lambda t: self.log_likelihood(t, X, sample_weight), theta, batch)
        return 0.5 * (H + H.T)
