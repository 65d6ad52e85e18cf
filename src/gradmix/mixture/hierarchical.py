"""Model-based agglomerative hierarchical clustering: mclust's default start for EM.

Starting from single points, the two groups whose merger lowers the
classification likelihood least are merged, until one group remains
(Banfield & Raftery 1993; Fraley 1998).  Duplicated rows start apart, as in
mclust (its ``hc`` does not pass its ``dupPartition`` on), and ties go as in
mclust's ``hcVVV``: to the pair that comes last in its order of groups.  Both
decide the tree on data with repeated values.  The criterion is
mclust's for the unconstrained (VVV) model, regularised so that it is
defined for groups smaller than the dimension: a group of n points with
scatter W contributes

    n · log( det(W / n) + β (tr W + α) / n )      (only the trace term for n <= d)

with α = tr(W_total) / (N d) and β = 1.  As mclust does by default (its
``hcUse = "SVD"``), the rows are first standardised and rotated to scaled
principal components, which makes the tree independent of the features'
units; ``"VARS"`` agglomerates the variables as they are and ``"STD"`` the
standardised ones (:data:`HC_USE`), which can find another partition.  The
cost is quadratic in the rows, so a sample of at most :data:`MAX_ROWS` rows is
agglomerated; cutting the tree at K groups gives the initial classification.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np

__all__ = ["HC_USE", "MAX_ROWS", "agglomerate", "cut", "hierarchical_labels", "hc_transform",
           "svd_transform"]  # fmt: skip

#: mclust's ``hcUse`` transformations of the rows before agglomeration
HC_USE = ("SVD", "VARS", "STD")

#: rows agglomerated at most (mclust's ``subset`` option)
MAX_ROWS = 2000

_CACHE: OrderedDict[str, np.ndarray] = OrderedDict()  # trees of recent samples
_CACHE_SIZE = 8


def svd_transform(X: np.ndarray) -> np.ndarray:
    """Standardised rows rotated to principal axes and scaled: ``Z V S^(-1/2)``.

    mclust's "SVD" transformation; columns without spread are dropped.
    """
    X = np.asarray(X, dtype=np.float64)
    Z = X - X.mean(axis=0)
    sd = Z.std(axis=0, ddof=1) if len(Z) > 1 else np.ones(Z.shape[1])
    keep = sd > 0
    Z = Z[:, keep] / sd[keep]
    if Z.shape[1] == 0:
        return Z
    _, s, vt = np.linalg.svd(Z, full_matrices=False)
    positive = s > s[0] * 1e-12
    return (Z @ vt[positive].T) / np.sqrt(s[positive])


def hc_transform(X: np.ndarray, use: str = "SVD") -> np.ndarray:
    """The rows as mclust's ``hcUse`` sees them: "SVD" (scaled principal components),
    "VARS" (the variables themselves) or "STD" (each variable standardised)."""
    X = np.asarray(X, dtype=np.float64)
    if use == "SVD":
        return svd_transform(X)
    if use == "VARS":
        return X
    if use == "STD":
        Z = X - X.mean(axis=0)
        sd = Z.std(axis=0, ddof=1) if len(Z) > 1 else np.ones(Z.shape[1])
        return Z[:, sd > 0] / sd[sd > 0]
    raise ValueError(f"hc_use must be one of {HC_USE}, got {use!r}")


class _Groups:
    """Sizes, means, scatter matrices and criterion terms of the current groups."""

    def __init__(self, X: np.ndarray, alpha: float, beta: float):
        m, d = X.shape
        self.d = d
        self.alpha, self.beta = alpha, beta
        self.n = np.ones(m)
        self.mean = X.astype(np.float64)
        self.W = np.zeros((m, d, d))
        self.T = np.zeros(m)
        self.term = self._terms(self.n, self.W, self.T)

    def _terms(self, n: np.ndarray, W: np.ndarray, T: np.ndarray) -> np.ndarray:
        """n · log(det(W/n) + β (tr W + α)/n), with only the trace term for n <= d."""
        ridge = self.beta * (T + self.alpha) / n
        out = n * np.log(ridge)
        big = n > self.d
        if np.any(big):
            sign, logdet = np.linalg.slogdet(W[big] / n[big, None, None])
            det = np.where(sign > 0, np.exp(logdet), 0.0)
            out[big] = n[big] * np.log(det + ridge[big])
        return out

    def merged(self, i: int, js: np.ndarray) -> tuple[np.ndarray, ...]:
        """Size, mean, scatter, trace and term of group ``i`` merged with each of ``js``."""
        ni, nj = self.n[i], self.n[js]
        n = ni + nj
        delta = self.mean[js] - self.mean[i]
        c = ni * nj / n
        T = self.T[i] + self.T[js] + c * np.einsum("kd,kd->k", delta, delta)
        W = np.zeros((len(js), self.d, self.d))
        big = n > self.d
        if np.any(big):
            db = delta[big]
            W[big] = self.W[i] + self.W[js[big]] + c[big, None, None] * db[:, :, None] * db[:, None]
        mean = (ni * self.mean[i] + nj[:, None] * self.mean[js]) / n[:, None]
        return n, mean, W, T, self._terms(n, W, T)

    def costs(self, i: int, js: np.ndarray) -> np.ndarray:
        """Loss of classification likelihood when ``i`` merges with each of ``js``."""
        return self.merged(i, js)[-1] - self.term[i] - self.term[js]

    def merge(self, i: int, j: int) -> None:
        n, mean, W, T, term = self.merged(i, np.array([j]))
        if n[0] <= self.d:  # the scatter is needed once a group outgrows the dimension
            delta = self.mean[j] - self.mean[i]
            W[0] = self.W[i] + self.W[j] + (self.n[i] * self.n[j] / n[0]) * np.outer(delta, delta)
        self.n[i], self.mean[i], self.W[i], self.T[i], self.term[i] = n[0], mean[0], W[0], T[0], \
            term[0]  # fmt: skip


def agglomerate(X: np.ndarray, alpha: float = 1.0, beta: float = 1.0) -> np.ndarray:
    """The merge tree of model-based agglomeration of the rows of ``X``.

    Parameters
    ----------
    X : ndarray, shape (n, d)
        Rows (already transformed, see :func:`svd_transform`).
    alpha, beta : float
        mclust's regularisation (``alpha`` is relative to the data's spread).

    Returns
    -------
    merges : ndarray of int, shape (n - 1, 2)
        Pairs of groups ``(i, j)`` in the order merged: group ``j`` joins group
        ``i``.  A group is named by one of its rows (each row starts as its
        own group), see :func:`cut`.
    """
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    centred = X - X.mean(axis=0)
    alpha = max(alpha * float(np.sum(centred**2)) / (n * max(d, 1)), np.finfo(float).eps)
    groups = _Groups(X, alpha, beta)
    cost = np.full((n, n), np.inf)
    for i in range(n - 1):
        js = np.arange(i + 1, n)
        cost[i, js] = cost[js, i] = groups.costs(i, js)
    best = np.argmin(cost, axis=1)
    best_cost = cost[np.arange(n), best]
    active = np.ones(n, dtype=bool)
    order = _Order(n)
    merges = np.empty((max(n - 1, 0), 2), dtype=np.int64)
    for step in range(n - 1):
        i, j = order.last_tied_pair(cost, best_cost)
        merges[step] = i, j
        groups.merge(i, j)
        order.merge(i, j)
        active[j] = False
        cost[j, :] = cost[:, j] = np.inf
        best_cost[j] = np.inf
        others = np.flatnonzero(active)
        others = others[others != i]
        if len(others):
            cost[i, others] = cost[others, i] = groups.costs(i, others)
        stale = others[(best[others] == i) | (best[others] == j)]
        if len(stale):
            best[stale] = np.argmin(cost[stale], axis=1)
            best_cost[stale] = cost[stale, best[stale]]
        fresh = others[cost[others, i] < best_cost[others]]
        best[fresh] = i
        best_cost[fresh] = cost[fresh, i]
        if len(others):
            best[i] = others[np.argmin(cost[i, others])]
            best_cost[i] = cost[i, best[i]]
        else:
            best_cost[i] = np.inf
    return merges


class _Order:
    """mclust's order of the groups, which decides ties (rows repeated in the data
    tie exactly): its ``hcVVV`` merges the tied pair that comes last, and the
    group in the last place moves to the place a merger frees."""

    def __init__(self, n: int):
        self.place = np.arange(n)  # group -> place
        self.group = np.arange(n)  # place -> group
        self.last = n - 1

    def last_tied_pair(self, cost: np.ndarray, best_cost: np.ndarray) -> tuple[int, int]:
        """The cheapest pair ``(i, j)``, ``i`` in the earlier place; of tied pairs
        the one whose later place, then earlier place, comes last."""
        low = best_cost.min()
        tied = np.flatnonzero(best_cost == low)
        # every tied group has a tied partner, so the last pair holds the last tied group
        later = tied[np.argmax(self.place[tied])]
        partners = tied[cost[later, tied] == low]
        earlier = partners[np.argmax(self.place[partners])]
        return int(earlier), int(later)

    def merge(self, i: int, j: int) -> None:
        """``j`` joined ``i``: the last group takes ``j``'s place."""
        freed, moved = self.place[j], self.group[self.last]
        self.place[moved], self.group[freed] = freed, moved
        self.last -= 1


def cut(X: np.ndarray, merges: np.ndarray, n_groups: int) -> np.ndarray:
    """Labels 0..n_groups-1 of the rows of ``X`` when the tree is cut at ``n_groups``."""
    X = np.asarray(X, dtype=np.float64)
    distinct = len(np.unique(X, axis=0))
    if n_groups > distinct:
        raise ValueError(f"the data have {distinct} distinct rows, fewer than {n_groups} "
                         f"components")  # fmt: skip
    parent = np.arange(len(X))
    for i, j in merges[: len(X) - n_groups]:
        parent[parent == j] = i
    _, labels = np.unique(parent, return_inverse=True)
    return np.asarray(labels).reshape(-1)


def hierarchical_labels(X: np.ndarray, n_groups: int, use: str = "SVD") -> np.ndarray:
    """mclust's initial classification of the rows of ``X`` into ``n_groups`` groups.

    The tree of the rows (transformed as ``use`` says, see :func:`hc_transform`)
    is cached, so that fitting many models to the same rows agglomerates them once.
    """
    Z = hc_transform(X, use)
    key = hashlib.sha1(np.ascontiguousarray(Z).tobytes() + str(Z.shape).encode()).hexdigest()
    merges = _CACHE.get(key)
    if merges is None:
        merges = agglomerate(Z)
        _CACHE[key] = merges
        if len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    else:
        _CACHE.move_to_end(key)
    return cut(Z, merges, n_groups)
