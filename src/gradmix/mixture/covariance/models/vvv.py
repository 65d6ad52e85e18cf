"""VVV: ellipsoidal, varying volume, shape and orientation (scikit-learn's "full")."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradmix.mixture.covariance.full import FullFamily


class VVV(FullFamily):
    """A full covariance per component."""

    letters = "VVV"
    marker = "<"
    description = "ellipsoidal, varying volume, shape, and orientation"

    def estimate(self, W: Any, nk: np.ndarray, n_features: int, previous: Any = None,
                 trace: Any = None) -> np.ndarray:  # fmt: skip
        return W / nk[:, None, None]

    def n_parameters(self, n_components: int, n_features: int) -> int:
        return n_components * n_features * (n_features + 1) // 2
