"""EEE: ellipsoidal, equal volume, shape and orientation — Σ_k = Σ (scikit-learn's "tied")."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradmix.mixture.covariance.tied import TiedFamily


class EEE(TiedFamily):
    """One full covariance shared by all components."""

    letters = "EEE"
    marker = "s"
    description = "ellipsoidal, equal volume, shape, and orientation"

    def estimate(self, W: Any, nk: np.ndarray, n_features: int, previous: Any = None,
                 trace: Any = None) -> np.ndarray:  # fmt: skip
        return W / np.sum(nk)

    def components_prior_added(self, scale: np.ndarray, dof: float,
                               n_components: int) -> tuple[np.ndarray, float]:  # fmt: skip
        d = len(scale)
        return scale / n_components, (dof + d + n_components + 1.0) / n_components

    def n_parameters(self, n_components: int, n_features: int) -> int:
        return n_features * (n_features + 1) // 2
