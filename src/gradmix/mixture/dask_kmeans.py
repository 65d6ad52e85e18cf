"""K-means on Dask arrays: Lloyd's iterations over blocks, sums tree-reduced.

The same iteration as :func:`gradmix.mixture.kmeans.lloyd`: every block
assigns its rows to the nearest centre and returns Σ w and Σ w x per
cluster; the sums are tree-reduced and the new centres computed on the
client.  Empty clusters move to the points farthest from their centres, as
scikit-learn does, found as each block's farthest candidates merged.
Convergence is the centre shift (at most ``tol``); a pass with unchanged
labels leaves the centres exactly where they were, so that case is included.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradmix.mixture.centres import move_to_far_points, new_centres
from gradmix.mixture.dask_data import DaskData, _delayed, _unit, compute, tree_sum
from gradmix.mixture.kmeans import _assign, augment

__all__ = ["assign_lazy", "distances_lazy", "inertia", "lloyd"]


def _block_sums(Xb: np.ndarray, wb: Any, shift: np.ndarray, centers: np.ndarray,
                rows: int) -> np.ndarray:  # fmt: skip
    Xa = augment(Xb - shift.astype(Xb.dtype))
    w = _unit(wb, len(Xa), Xa.dtype)
    _, wk, sx = _assign(Xa, centers, rows, w, n_threads=1)
    return np.concatenate([wk, sx.ravel()])


def _block_far(Xb: np.ndarray, offset: int, shift: np.ndarray, centers: np.ndarray, rows: int,
               m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """The block's ``m`` rows farthest from their centre: distances, global indices, labels."""
    X = Xb - shift.astype(Xb.dtype)
    labels = _assign(augment(X), centers, rows, n_threads=1)[0]
    dist = ((X - centers[labels]) ** 2).sum(axis=1)
    top = np.argsort(dist)[::-1][:m]
    return dist[top], top + offset, labels[top]


def _relocate_empty(data: DaskData, centers: np.ndarray, wk: np.ndarray, sx: np.ndarray,
                    rows: int) -> None:  # fmt: skip
    empty = np.flatnonzero(wk == 0)
    if len(empty) == 0:
        return
    m = len(empty)
    offsets = np.concatenate([[0], np.cumsum(data.X.chunks[0])[:-1]])
    parts = compute([_delayed(_block_far)(b, int(o), data.shift, centers, rows, m)
                     for (b, _), o in zip(data._blocks(), offsets, strict=True)])  # fmt: skip
    dist = np.concatenate([p[0] for p in parts])
    if len(dist) == 0 or np.max(dist) == 0:
        return
    idx = np.concatenate([p[1] for p in parts])
    lab = np.concatenate([p[2] for p in parts])
    top = np.argsort(dist, kind="stable")[::-1][:m]
    x = data.rows_at(idx[top]).astype(np.float64) - data.shift
    wf = data.weights_at(idx[top]).astype(np.float64)
    move_to_far_points(empty, x, wf, lab[top], wk, sx)


def lloyd(data: DaskData, centers: np.ndarray, max_iter: int, tol: float,
          rows: int) -> tuple[np.ndarray, int]:  # fmt: skip
    """Lloyd iterations over the blocks from centred ``centers``; (centres, iterations)."""
    k, d = centers.shape
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        flat = compute(tree_sum([_delayed(_block_sums)(b, wb, data.shift, centers, rows)
                                 for b, wb in data._blocks()]))  # fmt: skip
        wk, sx = flat[:k].copy(), flat[k:].reshape(k, d).copy()
        _relocate_empty(data, centers, wk, sx, rows)
        centers, shift = new_centres(centers, wk, sx)
        if shift <= tol:
            break
    return centers, n_iter


def _block_labels(Xb: np.ndarray, shift: np.ndarray, centers: np.ndarray, rows: int) -> np.ndarray:
    return _assign(augment(Xb - shift.astype(Xb.dtype)), centers, rows, n_threads=1)[0]


def _block_inertia(Xb: np.ndarray, wb: Any, shift: np.ndarray, centers: np.ndarray,
                   rows: int) -> float:  # fmt: skip
    X = Xb - shift.astype(Xb.dtype)
    labels = _assign(augment(X), centers, rows, n_threads=1)[0]
    w = _unit(wb, len(X), np.float64)
    return float(np.sum(w * ((X - centers[labels]) ** 2).sum(axis=1)))


def assign_lazy(X: Any, shift: np.ndarray, centers: np.ndarray, rows: int) -> Any:
    """Nearest-centre labels of a Dask array, lazily (centres centred by ``shift``)."""
    X = X.rechunk({1: -1})
    return X.map_blocks(_block_labels, shift, centers, rows, dtype=np.int32, drop_axis=1)


def _block_distances(Xb: np.ndarray, shift: np.ndarray, centers: np.ndarray) -> np.ndarray:
    X = Xb - shift.astype(Xb.dtype)
    D = (X * X).sum(axis=1)[:, None] - 2 * X @ centers.T + (centers * centers).sum(axis=1)
    return np.sqrt(np.maximum(D, 0))


def distances_lazy(X: Any, shift: np.ndarray, centers: np.ndarray) -> Any:
    """Euclidean distances to every centre, lazily, shape (n, k)."""
    X = X.rechunk({1: -1})
    return X.map_blocks(_block_distances, shift, centers, dtype=X.dtype,
                        chunks=(X.chunks[0], (centers.shape[0],)))  # fmt: skip


def inertia(data: DaskData, centers: np.ndarray, rows: int) -> float:
    """Σ w |x - nearest centre|² over the blocks."""
    return float(compute(tree_sum([_delayed(_block_inertia)(b, wb, data.shift, centers, rows)
                                   for b, wb in data._blocks()])))  # fmt: skip
