"""Lloyd's M-step, shared by the numpy, array-API and Dask k-means.

Wherever the E-step ran, it hands over Σ w and Σ w x per cluster (float64,
on the host); these two functions finish the iteration the same way.
"""

from __future__ import annotations

import numpy as np

__all__ = ["move_to_far_points", "new_centres"]


def move_to_far_points(
    empty: np.ndarray,
    points: np.ndarray,
    weights: np.ndarray,
    old_ids: np.ndarray,
    wk: np.ndarray,
    sx: np.ndarray,
) -> None:
    """Empty cluster ``empty[i]`` takes ``points[i]`` from cluster ``old_ids[i]`` (in place).

    scikit-learn's rule: the points are those farthest from their centres.
    """
    for new_id, x, w, old_id in zip(empty, points, weights, old_ids, strict=True):
        sx[old_id] -= x * w
        sx[new_id] = x * w
        wk[new_id] = w
        wk[old_id] -= w


def new_centres(centers: np.ndarray, wk: np.ndarray, sx: np.ndarray) -> tuple[np.ndarray, float]:
    """Cluster means (empty clusters keep their centre) and the squared centre shift."""
    new = centers.copy()
    nonempty = wk > 0
    new[nonempty] = (sx[nonempty] / wk[nonempty, None]).astype(centers.dtype)
    return new, float(((new - centers) ** 2).sum())
