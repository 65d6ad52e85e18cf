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
- covariances: the covariance model's own free parameters (its
  ``free_size``), through scikit-learn's precision Cholesky factor ``U``
  (``U Uᵀ = Σ⁻¹``): log-volumes, and log-shapes or unit-determinant
  triangles, shared where the model makes them equal.

``pack`` and ``unpack`` are bijections onto the model's valid parameters, and
the number of free parameters is the model's parameter count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradmix.ad import hessian_blocks, logsumexp
from gradmix.mixture.covariance import MODELS, get_model

__all__ = ["Parameterisation", "supported_models"]


def supported_models() -> list[str]:
    """Names of the covariance models with a free parameterisation."""
    return [name for name, m in MODELS.items() if m.has_free_parameters]


@dataclass(frozen=True)
class Parameterisation:
    """Free parameters of a K-component mixture with the given covariance type.

    Parameters
    ----------
    covariance_type : str
        Any name ``GaussianMixture`` takes whose model has a free
        parameterisation (:func:`supported_models`).
    n_components : int
    n_features : int

    Raises
    ------
    ValueError
        For a model without one (those with a shared shape under varying
        orientations, or the converse: EVE, VVE, EEV, VEV).
    """

    covariance_type: str
    n_components: int
    n_features: int
    model: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        model = get_model(self.covariance_type)
        if not model.has_free_parameters:
            raise ValueError(
                f"covariance_type={self.covariance_type!r} constrains orientations (a shared "
                "shape under varying orientations, or the converse) in a way gradmix has no "
                "free parameterisation for; standard errors, refine='newton' and "
                f"solver='gradient' support {', '.join(supported_models())}"
            )
        object.__setattr__(self, "model", model)

    # layout ----------------------------------------------------------------------
    @property
    def n_cov(self) -> int:
        """Free covariance parameters."""
        return int(self.model.free_size(self.n_components, self.n_features))

    @property
    def size(self) -> int:
        """Length of θ."""
        K, d = self.n_components, self.n_features
        return K - 1 + K * d + self.n_cov

    # θ <-> parameters ------------------------------------------------------------
    def pack(
        self, weights: np.ndarray, means: np.ndarray, precisions_cholesky: np.ndarray
    ) -> np.ndarray:
        """θ from compact parameters (float64, shape (size,)).

        Raises
        ------
        ValueError
            If a weight is zero (its logit would be infinite) or a precision
            factor's diagonal is not positive.
        """
        weights = np.asarray(weights, dtype=np.float64)
        if np.any(weights <= 0):
            raise ValueError("a component has zero weight: it has no free logit")
        U = np.asarray(precisions_cholesky, dtype=np.float64)
        if np.any(self.model.variances(U) <= 0):  # the factors' diagonals
            raise ValueError("precision Cholesky factors must have a positive diagonal")
        logits = np.log(weights[:-1]) - np.log(weights[-1])
        cov = self.model.pack_free(U)
        return np.concatenate([logits, np.ravel(means), cov]).astype(np.float64)

    def unpack(self, theta: Any) -> tuple[Any, Any, Any]:
        """``(log_weights, means, precisions_cholesky)`` from θ, in plain numpy.

        Differentiable by :mod:`gradmix.ad`; the precision factors are compact
        (scikit-learn's shapes for the model's family).
        """
        K, d = self.n_components, self.n_features
        logits = np.concatenate([theta[: K - 1], np.zeros(1)])
        log_w = logits - logsumexp(logits)
        means = np.reshape(theta[K - 1 : K - 1 + K * d], (K, d))
        U = self.model.unpack_free(theta[K - 1 + K * d :], K, d)
        return log_w, means, U

    def natural(self, theta: Any) -> Any:
        """``[weights, means, covariances]`` flattened (covariances in the fitted
        attribute's layout): the delta method's map from θ."""
        log_w, means, U = self.unpack(theta)
        cov = self.model.public(self.model.ad_covariances(U), self.n_components, self.n_features)
        return np.concatenate([np.exp(log_w), np.ravel(means), np.ravel(cov)])

    def split(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """``natural``'s flat vector (or per-entry values) as named, shaped arrays."""
        K, d = self.n_components, self.n_features
        return {
            "weights": flat[:K],
            "means": flat[K : K + K * d].reshape(K, d),
            "covariances": flat[K + K * d :].reshape(self.model.public_shape(K, d)),
        }

    # the likelihood -----------------------------------------------------------------
    def log_prob(self, theta: Any, X: np.ndarray) -> Any:
        """log π_k + log N(x_i | μ_k, Σ_k), shape (n, K)."""
        log_w, means, U = self.unpack(theta)
        return self.model.ad_log_prob(X, means, U) + log_w

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
