"""EVI: diagonal, equal volume, varying shape — Σ_k = λ A_k."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradmix.mixture.covariance.diagonal import DiagonalFamily, prior_variance
from gradmix.mixture.covariance.mstep import geometric_mean


class EVI(DiagonalFamily):
    """Closed form (Celeux & Govaert 1995): A_k = diag(W_k) / |diag(W_k)|^(1/d),
    λ = Σ_k |diag(W_k)|^(1/d) / n."""

    letters = "EVI"
    marker = "X"
    description = "diagonal, equal volume, varying shape"

    def estimate(self, W: Any, nk: np.ndarray, n_features: int, previous: Any = None,
                 trace: Any = None) -> np.ndarray:  # fmt: skip
        g = geometric_mean(W)
        with np.errstate(divide="ignore", invalid="ignore"):
            return W * (np.sum(g) / np.sum(nk) / g)[:, None]

    def components_prior_added(self, scale: np.ndarray, dof: float,
                               n_components: int) -> tuple[np.ndarray, float]:  # fmt: skip
        # mclust counts the prior once, not once per component
        return prior_variance(scale) * np.eye(len(scale)), (dof + 2.0) / n_components

    def n_parameters(self, n_components: int, n_features: int) -> int:
        return 1 + n_components * (n_features - 1)
