"""EEI: diagonal, equal volume and shape — Σ_k = λ A."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradmix.mixture.covariance.diagonal import DiagonalFamily, prior_variance


class EEI(DiagonalFamily):
    """One diagonal covariance shared by all components."""

    letters = "EEI"
    marker = "o"
    description = "diagonal, equal volume and shape"

    def estimate(self, W: Any, nk: np.ndarray, n_features: int, previous: Any = None,
                 trace: Any = None) -> np.ndarray:  # fmt: skip
        pooled = np.sum(W, axis=0) / np.sum(nk)
        return np.broadcast_to(pooled, W.shape).copy()

    def components_prior_added(self, scale: np.ndarray, dof: float,
                               n_components: int) -> tuple[np.ndarray, float]:  # fmt: skip
        # mclust counts the prior once, not once per component
        eye = np.eye(len(scale))
        return prior_variance(scale) / n_components * eye, (dof + 2.0) / n_components

    def n_parameters(self, n_components: int, n_features: int) -> int:
        return n_features
