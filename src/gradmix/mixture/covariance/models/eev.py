"""EEV: ellipsoidal, equal volume and shape — Σ_k = λ D_k A D_kᵀ."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradmix.mixture.covariance.full import FullFamily
from gradmix.mixture.covariance.mstep import sorted_eigh


class EEV(FullFamily):
    """Closed form (Celeux & Govaert 1995): with W_k = L_k Ω_k L_kᵀ (eigenvalues in
    decreasing order), D_k = L_k and λ A = Σ_k Ω_k / n."""

    letters = "EEV"
    marker = "p"
    description = "ellipsoidal, equal volume and equal shape"

    def estimate(self, W: Any, nk: np.ndarray, n_features: int, previous: Any = None,
                 trace: Any = None) -> np.ndarray:  # fmt: skip
        omega, L = sorted_eigh(W)
        shared = np.sum(omega, axis=0) / np.sum(nk)
        return np.einsum("kij,j,klj->kil", L, shared, L)

    def components_prior_added(self, scale: np.ndarray, dof: float,
                               n_components: int) -> tuple[np.ndarray, float]:  # fmt: skip
        # mclust counts the prior once, not once per component
        return scale, (dof + len(scale) + 2.0) / n_components

    def n_parameters(self, n_components: int, n_features: int) -> int:
        return 1 + (n_features - 1) + n_components * n_features * (n_features - 1) // 2
