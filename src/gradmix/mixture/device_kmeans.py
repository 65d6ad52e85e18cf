"""K-means in any array-API namespace: k-means++ seeding and Lloyd iterations.

The same algorithms as the numpy path (:mod:`gradmix.mixture.kmeans`, and
scikit-learn's ``kmeans_plusplus``), drawing the same random numbers from the
same ``RandomState`` in the same order, so a fit on a GPU tensor picks the
same seeds and reaches the same centres as the fit on the numpy array.
Distances and cluster sums run on the data's device; the (k, d) centres and
the rare empty-cluster relocation run on the host.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradmix.mixture.arrays import Namespace
from gradmix.mixture.centres import move_to_far_points, new_centres
from gradmix.mixture.em import chunks

__all__ = ["assign", "kmeans_plusplus", "lloyd", "sq_distances"]


def sq_distances(ns: Namespace, X: Any, centers: Any) -> Any:
    """Squared Euclidean distances (n, k) by the GEMM identity, clipped at zero."""
    xp = ns.xp
    x2 = xp.sum(X * X, axis=1)[:, None]
    c2 = xp.sum(centers * centers, axis=1)[None, :]
    return xp.clip(x2 - 2.0 * (X @ xp.permute_dims(centers, (1, 0))) + c2, min=0.0)


def kmeans_plusplus(
    ns: Namespace, X: Any, k: int, *, sample_weight: np.ndarray, random_state: Any
) -> tuple[Any, np.ndarray]:
    """Greedy k-means++ seeding (scikit-learn's algorithm and random draws).

    Returns
    -------
    centers : array of shape (k, d), in ``X``'s namespace
    indices : ndarray of shape (k,)
    """
    xp = ns.xp
    n = X.shape[0]
    w = sample_weight
    trials = 2 + int(np.log(k))
    wd = ns.put(w, dtype=np.float64)
    indices = np.empty(k, dtype=np.int64)
    indices[0] = random_state.choice(n, p=w / w.sum())

    def dist_to(idx: np.ndarray) -> Any:  # (len(idx), n) in float64
        C = xp.take(X, ns.put(idx, dtype=np.int64), axis=0)
        return xp.permute_dims(xp.astype(sq_distances(ns, X, C), xp.float64), (1, 0))

    closest = dist_to(indices[:1])[0, :]
    pot = float(ns.get(xp.sum(closest * wd)))
    for c in range(1, k):
        rand = random_state.uniform(size=trials) * pot
        cum = xp.cumulative_sum(wd * closest)
        cand = ns.get(xp.searchsorted(cum, ns.put(rand, dtype=np.float64)))
        cand = np.clip(cand, None, n - 1).astype(np.int64)
        dist = xp.minimum(closest[None, :], dist_to(cand))
        pots = ns.get(dist @ wd)
        best = int(np.argmin(pots))
        pot = float(pots[best])
        closest = dist[best, :]
        indices[c] = cand[best]
    return xp.take(X, ns.put(indices, dtype=np.int64), axis=0), indices


def assign(ns: Namespace, X: Any, centers: Any, rows: int) -> Any:
    """Index of the nearest centre for every row, shape (n,)."""
    xp = ns.xp
    neg2c = -2.0 * xp.permute_dims(centers, (1, 0))
    c2 = xp.sum(centers * centers, axis=1)
    parts = [xp.argmin(X[sl, ...] @ neg2c + c2, axis=1) for sl in chunks(X.shape[0], rows)]
    return parts[0] if len(parts) == 1 else xp.concat(parts)


def _sums(ns: Namespace, X: Any, w: Any, labels: Any, k: int, rows: int) -> tuple[Any, Any]:
    """Σ w and Σ w x per cluster (host float64), by one-hot GEMMs chunk by chunk."""
    xp = ns.xp
    ids = xp.arange(k, device=ns.device)
    wk = np.zeros(k)
    sx = np.zeros((k, X.shape[1]))
    for sl in chunks(X.shape[0], rows):
        R = xp.astype(labels[sl, None] == ids[None, :], X.dtype) * w[sl, None]
        wk += ns.get(xp.astype(xp.sum(R, axis=0), xp.float64))
        sx += ns.get(xp.astype(xp.permute_dims(R, (1, 0)) @ X[sl, ...], xp.float64))
    return wk, sx


def _relocate_empty(
    ns: Namespace, X: Any, w: Any, centers: np.ndarray, sx: np.ndarray, wk: np.ndarray, labels: Any
) -> None:
    """Empty clusters move to the points farthest from their centres (as on the host)."""
    empty = np.flatnonzero(wk == 0)
    if len(empty) == 0:
        return
    xp = ns.xp
    C = ns.put(centers)
    dist = ns.get(xp.sum((X - xp.take(C, labels, axis=0)) ** 2, axis=1))
    if np.max(dist) == 0:
        return
    far = np.argpartition(dist, -len(empty))[: -len(empty) - 1 : -1]
    rows = ns.get(xp.take(X, ns.put(far, dtype=np.int64), axis=0)).astype(np.float64)
    wf = ns.get(xp.take(w, ns.put(far, dtype=np.int64)))
    lab = ns.get(xp.take(labels, ns.put(far, dtype=np.int64)))
    move_to_far_points(empty, rows, wf, lab, wk, sx)


def lloyd(
    ns: Namespace, X: Any, w: Any, centers: np.ndarray, max_iter: int, tol: float, rows: int
) -> tuple[Any, float, np.ndarray, int]:
    """Lloyd iterations from host ``centers``; labels (device), inertia, centres, iterations."""
    xp = ns.xp
    k = centers.shape[0]
    labels_old = None
    labels = None
    strict = False
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        labels = assign(ns, X, ns.put(centers), rows)
        wk, sx = _sums(ns, X, w, labels, k, rows)
        _relocate_empty(ns, X, w, centers, sx, wk, labels)
        centers, shift = new_centres(centers, wk, sx)
        if labels_old is not None and bool(xp.all(labels == labels_old)):
            strict = True
            break
        if shift <= tol:
            break
        labels_old = labels
    if not strict:
        labels = assign(ns, X, ns.put(centers), rows)
    C = xp.take(ns.put(centers), labels, axis=0)
    inertia = float(ns.get(xp.sum(xp.astype(w * xp.sum((X - C) ** 2, axis=1), xp.float64))))
    return labels, inertia, centers, n_iter
