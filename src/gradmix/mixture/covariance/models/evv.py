"""EVV: ellipsoidal, equal volume — Σ_k = λ C_k, det C_k = 1."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradmix.mixture.covariance.full import FullFamily
from gradmix.mixture.covariance.mstep import det_root


class EVV(FullFamily):
    """Closed form (Celeux & Govaert 1995): C_k = W_k / |W_k|^(1/d),
    λ = Σ_k |W_k|^(1/d) / n."""

    letters = "EVV"
    marker = "v"
    description = "ellipsoidal, equal volume"
    mclust_prior = False  # mclust has no conjugate prior for this model

    def estimate(self, W: Any, nk: np.ndarray, n_features: int, previous: Any = None,
                 trace: Any = None) -> np.ndarray:  # fmt: skip
        g = det_root(W)
        with np.errstate(divide="ignore", invalid="ignore"):
            return W * (np.sum(g) / np.sum(nk) / g)[:, None, None]

    def n_parameters(self, n_components: int, n_features: int) -> int:
        return 1 + n_components * (n_features * (n_features + 1) // 2 - 1)
