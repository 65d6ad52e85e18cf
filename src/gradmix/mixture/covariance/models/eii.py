"""EII: spherical, equal volume — Σ_k = λ I."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradmix.mixture.covariance.spherical import SphericalFamily


class EII(SphericalFamily):
    """One variance for every feature and component (k-means' model)."""

    letters = "EII"
    marker = "^"
    description = "spherical, equal volume"

    def estimate(self, W: Any, nk: np.ndarray, n_features: int, previous: Any = None,
                 trace: Any = None) -> np.ndarray:  # fmt: skip
        return np.full(len(nk), np.sum(W) / (n_features * np.sum(nk)))

    def n_parameters(self, n_components: int, n_features: int) -> int:
        return 1
