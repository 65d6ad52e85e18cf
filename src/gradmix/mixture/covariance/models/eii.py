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

    def components_prior_added(self, scale: np.ndarray, dof: float,
                               n_components: int) -> tuple[np.ndarray, float]:  # fmt: skip
        d = len(scale)
        # mclust's EII step leaves out the prior's scale (its E, one feature, keeps it)
        P = scale / n_components if d == 1 else np.zeros((d, d))
        return P, (dof + n_components * d + 2.0) / (d * n_components)

    def n_parameters(self, n_components: int, n_features: int) -> int:
        return 1
