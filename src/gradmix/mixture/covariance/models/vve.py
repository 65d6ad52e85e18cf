"""VVE: ellipsoidal, equal orientation — Σ_k = λ_k D A_k Dᵀ."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradmix.mixture.covariance.full import FullFamily
from gradmix.mixture.covariance.mstep import (
    best_alternation,
    orientation_starts,
    orientation_step,
    remember_last,
)


class VVE(FullFamily):
    """Browne & McNicholas (2014)'s MM algorithm: given D, λ_k A_k = diag(Dᵀ W_k D)
    / n_k; given those, D takes minorise-maximise steps; alternated until the
    objective settles, from several starting orientations (the best kept)."""

    letters = "VVE"
    marker = "d"
    description = "ellipsoidal, equal orientation"
    mclust_prior = False  # mclust has no conjugate prior for this model

    def estimate(self, W: Any, nk: np.ndarray, n_features: int, previous: Any = None,
                 trace: Any = None) -> np.ndarray:  # fmt: skip
        alpha = np.linalg.eigvalsh(W)[:, -1]

        # D may be a stack of orientations (..., d, d): best_alternation steps them together
        @remember_last
        def variances(D: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            G = np.einsum("...ji,kjl,...li->...ki", D, W, D)
            return G, G / nk[:, None]

        def step(D: np.ndarray) -> np.ndarray:
            return orientation_step(W, 1.0 / variances(D)[1], D, alpha)

        def objective(D: np.ndarray) -> np.ndarray:
            G, delta = variances(D)
            return np.sum(nk[:, None] * np.log(delta) + G / delta, axis=(-2, -1))

        D = best_alternation(step, objective, orientation_starts(W, nk, previous), trace)
        return np.einsum("ij,kj,lj->kil", D, variances(D)[1], D)

    def n_parameters(self, n_components: int, n_features: int) -> int:
        return n_components * n_features + n_features * (n_features - 1) // 2
