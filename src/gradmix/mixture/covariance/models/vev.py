"""VEV: ellipsoidal, equal shape — Σ_k = λ_k D_k A D_kᵀ."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradmix.mixture.covariance.full import FullFamily
from gradmix.mixture.covariance.mstep import alternate, det_root, geometric_mean, sorted_eigh


class VEV(FullFamily):
    """Celeux & Govaert (1995)'s iterative M-step: D_k are the eigenvectors of W_k
    (eigenvalues Ω_k decreasing, matched to a decreasing A); A ∝ Σ_k Ω_k / λ_k
    (det 1) and λ_k = tr(Ω_k A⁻¹) / (d n_k) alternate."""

    letters = "VEV"
    marker = "h"
    description = "ellipsoidal, equal shape"

    def estimate(self, W: Any, nk: np.ndarray, n_features: int, previous: Any = None,
                 trace: Any = None) -> np.ndarray:  # fmt: skip
        d = n_features
        omega, L = sorted_eigh(W)
        omega = np.maximum(omega, 0.0)
        if previous is not None:
            lam = det_root(np.asarray(previous, dtype=np.float64))
        else:
            lam = np.sum(omega, axis=1) / (d * nk)

        def step(state: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
            lam, _ = state
            A = np.sum(omega / lam[:, None], axis=0)
            A = A / geometric_mean(A)
            return np.sum(omega / A, axis=1) / (d * nk), A

        def objective(state: tuple[np.ndarray, np.ndarray]) -> float:
            lam, A = state
            return float(np.sum(nk * d * np.log(lam)) + np.sum(omega / A / lam[:, None]))

        lam, A = alternate(step, objective, (lam, np.ones(d)), trace)
        return np.einsum("kij,kj,klj->kil", L, lam[:, None] * A, L)

    def components_prior_added(self, scale: np.ndarray, dof: float,
                               n_components: int) -> tuple[np.ndarray, float]:  # fmt: skip
        # mclust's VEV step adds the scale without the prior's degrees of freedom
        return scale, 0.0

    def n_parameters(self, n_components: int, n_features: int) -> int:
        return n_components + (n_features - 1) + n_components * n_features * (n_features - 1) // 2
