"""VEE: ellipsoidal, equal shape and orientation — Σ_k = λ_k C, det C = 1."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradmix.mixture.covariance.full import FullFamily
from gradmix.mixture.covariance.mstep import alternate, det_root


class VEE(FullFamily):
    """Celeux & Govaert (1995)'s iterative M-step: C ∝ Σ_k W_k / λ_k (det 1), then
    λ_k = tr(W_k C⁻¹) / (d n_k), alternated until the objective settles."""

    letters = "VEE"
    marker = "*"
    description = "ellipsoidal, equal shape and orientation"
    mclust_prior = False  # mclust has no conjugate prior for this model

    def estimate(self, W: Any, nk: np.ndarray, n_features: int, previous: Any = None,
                 trace: Any = None) -> np.ndarray:  # fmt: skip
        d = n_features
        if previous is not None:
            lam = det_root(np.asarray(previous, dtype=np.float64))
        else:
            lam = np.trace(W, axis1=1, axis2=2) / (d * nk)

        def step(state: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
            lam, _ = state
            S = np.sum(W / lam[:, None, None], axis=0)
            C_inv = np.linalg.inv(S / det_root(S))
            return np.einsum("kij,ji->k", W, C_inv) / (d * nk), C_inv

        def objective(state: tuple[np.ndarray, np.ndarray]) -> float:
            lam, C_inv = state
            return float(np.sum(nk * d * np.log(lam))
                         + np.sum(np.einsum("kij,ji->k", W, C_inv) / lam))  # fmt: skip

        lam, C_inv = alternate(step, objective, (lam, np.eye(d)), trace)
        C = np.linalg.inv(C_inv)
        return lam[:, None, None] * (0.5 * (C + C.T))

    def n_parameters(self, n_components: int, n_features: int) -> int:
        return n_components + n_features * (n_features + 1) // 2 - 1
