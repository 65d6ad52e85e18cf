"""Trimmed k-means (Cuesta-Albertos, Gordaliza & Matrán 1997): a start that outliers do
not move.

k-means gives every row a cluster, so scattered outliers pull a centre onto
themselves and a mixture started from it (Gaussian or Student-t) keeps a
component for them.  Trimmed k-means minimises the squared distances of the
``(1 - α)`` closest rows only: each *concentration step* assigns every row to
its nearest centre, keeps the closest ``(1 - α)`` share and moves the centres
to the kept rows' means, which never increases the trimmed objective.  The
best of several seedings (K rows drawn uniformly: k-means++ would prefer the
far rows, the very outliers) is kept, as R's ``tclust::tkmeans`` does.  It
runs on the host, on a sample of rows as the hierarchical start does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["TRIM", "trimmed_kmeans"]

#: the share of rows trimmed (tclust's default is 0.05; a start can afford more)
TRIM = 0.1


def trimmed_kmeans(X: np.ndarray, n_clusters: int, weights: np.ndarray | None,
                   random_state: Any, alpha: float = TRIM, n_starts: int = 20,
                   max_iter: int = 30) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Labels of the kept rows of ``X`` by trimmed k-means.

    Parameters
    ----------
    X : ndarray, shape (n, d)
    n_clusters : int
    weights : ndarray, shape (n,), optional
        Sample weights: the trimmed share is a share of the total weight.
    random_state : numpy.random.RandomState
    alpha : float
        The share of the weight trimmed, in [0, 1).
    n_starts : int
        Seedings tried (K rows drawn uniformly each).
    max_iter : int
        Most concentration steps per seeding.

    Returns
    -------
    kept : ndarray of bool, shape (n,)
    labels : ndarray of int, shape (n,)
        Each row's nearest centre (of the best seeding).
    """
    X = np.asarray(X, dtype=np.float64)
    n = len(X)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    keep_weight = (1.0 - alpha) * np.sum(w)
    x2 = np.sum(X * X, axis=1)[:, None]
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for _ in range(n_starts):
        # uniform seeds (tclust's): k-means++ favours far points, the very outliers
        centres = X[random_state.choice(n, n_clusters, replace=False)]
        previous = None
        for _ in range(max_iter):
            # |x|² - 2 x·c + |c|² by one GEMM (rounding only moves ties between centres)
            D = x2 - 2.0 * (X @ centres.T) + np.sum(centres * centres, axis=1)
            labels = np.argmin(D, axis=1)
            dmin = D[np.arange(n), labels]
            order = np.argsort(dmin, kind="stable")
            # the closest rows up to (1 - α) of the weight (at least one row)
            cut = int(np.searchsorted(np.cumsum(w[order]), keep_weight, side="left")) + 1
            kept = np.zeros(n, dtype=bool)
            kept[order[:cut]] = True
            state = np.where(kept, labels, -1)
            if previous is not None and np.array_equal(state, previous):
                break
            previous = state
            onehot = np.zeros((n, n_clusters))
            onehot[np.flatnonzero(kept), labels[kept]] = w[kept]
            mass = onehot.sum(axis=0)
            moved = mass > 0  # a centre no kept row chose stays where it is
            centres[moved] = (onehot.T @ X)[moved] / mass[moved, None]
        objective = float(np.sum(w[kept] * dmin[kept]))
        if best is None or objective < best[0]:
            best = (objective, kept, labels)
    assert best is not None
    return best[1], best[2]
