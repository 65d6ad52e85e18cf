"""VVI: diagonal, varying volume and shape — Σ_k = λ_k A_k (scikit-learn's "diag")."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradmix.mixture.covariance.diagonal import DiagonalFamily, prior_variance


class VVI(DiagonalFamily):
    """A diagonal covariance per component."""

    letters = "VVI"
    marker = "1"
    description = "diagonal, varying volume and shape"

    def estimate(self, W: Any, nk: np.ndarray, n_features: int, previous: Any = None,
                 trace: Any = None) -> np.ndarray:  # fmt: skip
        return W / nk[:, None]

    def components_prior_added(self, scale: np.ndarray, dof: float,
                               n_components: int) -> tuple[np.ndarray, float]:  # fmt: skip
        return prior_variance(scale) * np.eye(len(scale)), dof + 3.0

    def n_parameters(self, n_components: int, n_features: int) -> int:
        return n_components * n_features
