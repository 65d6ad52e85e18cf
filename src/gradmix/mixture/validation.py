"""Checks of user-given starting values and priors, with scikit-learn's messages."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils import check_array

from gradmix.mixture.arrays import is_foreign, to_host

__all__ = ["check_means", "check_shape", "check_weights", "host_values"]


def host_values(estimator: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """The estimator's parameters ``names``, with arrays of other libraries (GPU tensors)
    brought to the host; other values as given."""
    values = {}
    for name in names:
        value = getattr(estimator, name)
        values[name] = to_host(value) if is_foreign(value) else value
    return values


def check_shape(param: np.ndarray, param_shape: tuple[int, ...], name: str) -> None:
    """scikit-learn's error for a parameter of the wrong shape."""
    if param.shape != param_shape:
        raise ValueError(
            f"The parameter '{name}' should have the shape of {param_shape}, but got {param.shape}"
        )


def check_weights(weights: Any, n_components: int) -> np.ndarray:
    """``weights_init``: (K,), in [0, 1], summing to one."""
    weights = check_array(weights, dtype=[np.float64, np.float32], ensure_2d=False)
    check_shape(weights, (n_components,), "weights")
    if (weights < 0.0).any() or (weights > 1.0).any():
        raise ValueError(
            "The parameter 'weights' should be in the range "
            f"[0, 1], but got min value {np.min(weights):.5f}, max value {np.max(weights):.5f}"
        )
    atol = 1e-6 if weights.dtype == np.float32 else 1e-8
    if not abs(1.0 - float(np.sum(weights))) <= atol:  # (np.allclose's rule for a scalar)
        raise ValueError(
            "The parameter 'weights' should be normalized, but got sum(weights) = "
            f"{np.sum(weights):.5f}"
        )
    return weights


def check_means(means: Any, n_components: int, n_features: int) -> np.ndarray:
    """``means_init``: (K, d)."""
    means = check_array(means, dtype=[np.float64, np.float32], ensure_2d=False)
    check_shape(means, (n_components, n_features), "means")
    return means
