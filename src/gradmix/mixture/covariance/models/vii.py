"""VII: spherical, unequal volume — Σ_k = λ_k I (scikit-learn's "spherical")."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradmix.mixture.covariance.diagonal import prior_variance
from gradmix.mixture.covariance.spherical import SphericalFamily


class VII(SphericalFamily):
    """One variance per component."""

    letters = "VII"
    marker = "2"
    description = "spherical, unequal volume"

    def estimate(self, W: Any, nk: np.ndarray, n_features: int, previous: Any = None,
                 trace: Any = None) -> np.ndarray:  # fmt: skip
        return W / (n_features * nk)

    def components_prior_added(self, scale: np.ndarray, dof: float,
                               n_components: int) -> tuple[np.ndarray, float]:  # fmt: skip
        d = len(scale)
        return prior_variance(scale) / d * np.eye(d), (dof + d + 2.0) / d

    def n_parameters(self, n_components: int, n_features: int) -> int:
        return n_components
