"""EVE: ellipsoidal, equal volume and orientation — Σ_k = λ D A_k Dᵀ."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradmix.mixture.covariance.full import FullFamily
from gradmix.mixture.covariance.mstep import (
    best_alternation,
    geometric_mean,
    orientation_starts,
    orientation_step,
    remember_last,
)


class EVE(FullFamily):
    """Browne & McNicholas (2014)'s MM algorithm: given D, A_k ∝ diag(Dᵀ W_k D)
    (det 1) and λ = Σ_k |diag(Dᵀ W_k D)|^(1/d) / n; given the A_k, D takes
    minorise-maximise steps; alternated until the objective settles, from
    several starting orientations (the best kept)."""

    letters = "EVE"
    marker = "D"
    description = "ellipsoidal, equal volume and orientation"
    mclust_prior = False  # mclust has no conjugate prior for this model

    def estimate(self, W: Any, nk: np.ndarray, n_features: int, previous: Any = None,
                 trace: Any = None) -> np.ndarray:  # fmt: skip
        d, n = n_features, float(np.sum(nk))
        alpha = np.linalg.eigvalsh(W)[:, -1]

        # D may be a stack of orientations (..., d, d): best_alternation steps them together
        @remember_last
        def diagonals(D: np.ndarray) -> np.ndarray:
            return np.einsum("...ji,kjl,...li->...ki", D, W, D)

        @remember_last
        def shapes(G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            g = geometric_mean(G)
            return G / g[..., None], np.sum(g, axis=-1) / n

        def step(D: np.ndarray) -> np.ndarray:
            A, _ = shapes(diagonals(D))
            return orientation_step(W, 1.0 / A, D, alpha)

        def objective(D: np.ndarray) -> np.ndarray:
            G = diagonals(D)
            A, lam = shapes(G)
            return n * d * np.log(lam) + np.sum(G / A, axis=(-2, -1)) / lam

        D = best_alternation(step, objective, orientation_starts(W, nk, previous), trace)
        A, lam = shapes(diagonals(D))
        return np.einsum("ij,kj,lj->kil", D, lam * A, D)

    def n_parameters(self, n_components: int, n_features: int) -> int:
        return 1 + n_components * (n_features - 1) + n_features * (n_features - 1) // 2
