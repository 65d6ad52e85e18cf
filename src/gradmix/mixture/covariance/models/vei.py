"""VEI: diagonal, varying volume, equal shape — Σ_k = λ_k A."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradmix.mixture.covariance.diagonal import DiagonalFamily, prior_variance
from gradmix.mixture.covariance.mstep import alternate, geometric_mean


class VEI(DiagonalFamily):
    """Celeux & Govaert (1995)'s iterative M-step: A ∝ Σ_k W_k / λ_k (det 1), then
    λ_k = tr(W_k A⁻¹) / (d n_k), alternated until the objective settles."""

    letters = "VEI"
    marker = "P"
    description = "diagonal, varying volume, equal shape"

    def estimate(self, W: Any, nk: np.ndarray, n_features: int, previous: Any = None,
                 trace: Any = None) -> np.ndarray:  # fmt: skip
        d = n_features
        if previous is not None:
            lam = geometric_mean(np.asarray(previous, dtype=np.float64))
        else:
            lam = np.sum(W, axis=1) / (d * nk)
        A = np.ones(d)

        def step(state: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
            lam, _ = state
            A = np.sum(W / lam[:, None], axis=0)
            A = A / geometric_mean(A)
            return np.sum(W / A, axis=1) / (d * nk), A

        def objective(state: tuple[np.ndarray, np.ndarray]) -> float:
            lam, A = state
            return float(np.sum(nk * d * np.log(lam)) + np.sum(W / A / lam[:, None]))

        lam, A = alternate(step, objective, (lam, A), trace)
        return lam[:, None] * A

    def components_prior_added(self, scale: np.ndarray, dof: float,
                               n_components: int) -> tuple[np.ndarray, float]:  # fmt: skip
        d = len(scale)
        return prior_variance(scale) * np.eye(d), (dof + 3.0) / d

    def n_parameters(self, n_components: int, n_features: int) -> int:
        return n_components + n_features - 1
