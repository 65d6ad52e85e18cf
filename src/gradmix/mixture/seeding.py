"""k-means++ seeding, written once against the array namespace.

scikit-learn's greedy k-means++ (Arthur & Vassilvitskii 2007, with
``2 + log k`` local trials): the same formulas in the same order and the
same random draws from the same ``RandomState``, so the seeds picked on a
GPU tensor, in numpy or on a Dask sample are scikit-learn's.  Distances are
computed in float64, as scikit-learn does for float32 data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from array_api_compat import array_namespace, device

from gradmix.mixture.arrays import to_host
from gradmix.mixture.ops import clip_nonnegative, is_host, take_rows

__all__ = ["kmeans_plusplus"]


def kmeans_plusplus(X: Any, n_clusters: int, sample_weight: np.ndarray | None,
                    random_state: Any) -> np.ndarray:  # fmt: skip
    """Indices of ``n_clusters`` rows of ``X`` chosen by greedy k-means++.

    Parameters
    ----------
    X : array, shape (n, d)
        Rows in any array-API namespace (kept where they are).
    n_clusters : int
    sample_weight : ndarray, shape (n,), optional
        Host weights (default: all ones).
    random_state : numpy.random.RandomState

    Returns
    -------
    ndarray of int, shape (n_clusters,)
    """
    xp = array_namespace(X)
    n = X.shape[0]
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    X64 = X if X.dtype == xp.float64 else xp.astype(X, xp.float64)
    dev = device(X)
    wd = xp.asarray(w, device=dev)
    if is_host(xp):
        x2 = np.einsum("ij,ij->i", X64, X64)  # scikit-learn's row_norms
    else:
        x2 = xp.sum(X64 * X64, axis=1)
    trials = 2 + int(np.log(n_clusters))

    def distances(idx: np.ndarray) -> Any:
        """Squared distances (len(idx), n) by scikit-learn's formula and order."""
        C = take_rows(xp, X64, idx)
        c2 = take_rows(xp, x2, idx)
        D = -2.0 * (C @ xp.permute_dims(X64, (1, 0)))
        D += c2[:, None]
        D += x2[None, :]
        return clip_nonnegative(xp, D)

    indices = np.empty(n_clusters, dtype=np.int64)
    indices[0] = random_state.choice(n, p=w / w.sum())
    closest = distances(indices[:1])[0, :]
    pot = float(closest @ wd)
    for c in range(1, n_clusters):
        rand = random_state.uniform(size=trials) * pot
        cum = xp.cumulative_sum(wd * closest)
        cand = to_host(xp.searchsorted(cum, xp.asarray(rand, device=dev)))
        cand = np.clip(cand, None, n - 1).astype(np.int64)
        dist = xp.minimum(closest[None, :], distances(cand))
        pots = to_host(dist @ wd)
        best = int(np.argmin(pots))
        pot = float(pots[best])
        closest = dist[best, :]
        indices[c] = cand[best]
    return indices
