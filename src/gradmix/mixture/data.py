"""The data an estimator fits, wherever they live.

``GaussianMixture`` runs one EM loop over an object of this module: it asks
for initial statistics, for an E-step's statistics under given parameters and
for labels; the M-step and everything else run on the host.  ``HostData``
serves numpy arrays (threaded chunks, :mod:`gradmix.mixture.em`);
``DeviceData`` serves any other array-API array in its own namespace and on
its own device (:mod:`gradmix.mixture.device_em`).  Both centre the data
(subtract the weighted mean) so that results do not depend on where the data
sit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.cluster import kmeans_plusplus

from gradmix.mixture import device_em, device_kmeans
from gradmix.mixture.arrays import Namespace
from gradmix.mixture.covariance import CovarianceModel
from gradmix.mixture.em import (
    Params,
    Stats,
    centred,
    chunks,
    e_step,
    stats_from_resp,
    weighted_log_prob,
)

__all__ = ["DeviceData", "HostData"]


def _var_floor(absmax: np.ndarray, dtype: Any) -> np.ndarray:
    """Variances this small cannot be told from zero at the data's resolution."""
    return (16 * np.finfo(dtype).eps * absmax.astype(np.float64)) ** 2


class HostData:
    """Numpy data: chunks in parallel threads on this machine's cores."""

    def __init__(self, X: np.ndarray, w: np.ndarray, rows: int, shift: np.ndarray | None = None):
        self.n, self.d = X.shape
        self.dtype = X.dtype
        self.w = w
        if shift is None:  # the weighted mean, unless the caller fixes the centre
            shift = np.average(X, axis=0, weights=w) if w.sum() > 0 else X.mean(axis=0)
        self.shift = shift
        self.X = X  # uncentred: each chunk is centred as it is read (no copy of the data)
        self.rows = rows
        self.var_floor = _var_floor(np.max(np.abs(X), axis=0), X.dtype)

    def e_step(self, model: CovarianceModel, params: Params) -> Stats:
        return e_step(model, self.X, self.w, params, self.rows, shift=self.shift)

    def centred(self) -> np.ndarray:
        """A centred copy of the data (for the few users that need it whole)."""
        return self.X - self.shift.astype(self.dtype)

    def initial_stats(
        self, model: CovarianceModel, init_params: str, K: int, random_state: Any
    ) -> Stats:
        """The initialisation's statistics, never holding (n, K) responsibilities."""
        n, X, dtype = self.n, self.X, self.X.dtype
        if init_params in ("random_from_data", "k-means++"):
            if init_params == "random_from_data":
                idx = random_state.choice(n, size=K, replace=False)
            else:
                idx = kmeans_plusplus(self.centred(), K, random_state=random_state)[1]
            # one point per component: the statistics of those K rows alone
            points = X[idx] - self.shift.astype(dtype)
            stats = stats_from_resp(model, points, self.w[idx], np.eye(K, dtype=dtype), K)
            stats.weight = float(self.w.sum())
            return stats
        if init_params == "kmeans":
            from gradmix.mixture.kmeans import KMeans

            km = KMeans(n_clusters=K, n_init=1, random_state=random_state)
            labels = km.fit(X, sample_weight=self.w).labels_

            def resp(sl: slice) -> np.ndarray:
                return (labels[sl, None] == np.arange(K)).astype(dtype)

        else:  # random: drawn chunk by chunk, the same stream as one (n, K) draw
            state = random_state.get_state()

            def resp(sl: slice) -> np.ndarray:
                if sl.start == 0:  # each pass starts the stream afresh
                    random_state.set_state(state)
                r = np.asarray(random_state.uniform(size=(sl.stop - sl.start, K)), dtype=dtype)
                return r / r.sum(axis=1)[:, None]

        return stats_from_resp(model, X, self.w, resp, self.rows, shift=self.shift)

    def labels(self, model: CovarianceModel, params: Params) -> np.ndarray:
        labels = np.empty(self.n, dtype=np.intp)
        for sl in chunks(self.n, self.rows):
            Xc = centred(self.X, sl, self.shift)
            labels[sl] = np.argmax(weighted_log_prob(model, Xc, params), axis=1)
        return labels


class DeviceData:
    """Array-API data (e.g. CUDA tensors): per-row work in their namespace and device."""

    def __init__(self, ns: Namespace, X: Any, w: Any, rows: int):
        xp = ns.xp
        self.ns = ns
        self.n, self.d = X.shape
        self.dtype = ns.np_dtype
        self.w = w
        total = float(ns.get(xp.sum(xp.astype(w, xp.float64))))
        X64 = xp.astype(X, xp.float64)
        if total > 0:
            shift = xp.sum(X64 * xp.astype(w, xp.float64)[:, None], axis=0) / total
        else:
            shift = xp.mean(X64, axis=0)
        self.shift = ns.get(shift)
        self.X = X - ns.put(self.shift)
        self.rows = rows
        self.var_floor = _var_floor(ns.get(xp.max(xp.abs(X), axis=0)), self.dtype)

    def e_step(self, model: CovarianceModel, params: Params) -> Stats:
        return device_em.e_step(self.ns, model, self.X, self.w, params, self.rows)

    def initial_stats(
        self, model: CovarianceModel, init_params: str, K: int, random_state: Any
    ) -> Stats:
        ns, xp, n = self.ns, self.ns.xp, self.n
        ids = xp.arange(K, device=ns.device)
        if init_params == "kmeans":
            from gradmix.mixture.kmeans import KMeans

            km = KMeans(n_clusters=K, n_init=1, random_state=random_state)
            labels = km.fit(self.X, sample_weight=self.w).labels_

            def resp(sl: slice) -> Any:
                return xp.astype(labels[sl, None] == ids[None, :], self.X.dtype)

        elif init_params == "random":
            # drawn chunk by chunk: the same stream as one (n, K) draw, never all on the host
            parts = [ns.put(random_state.uniform(size=(sl.stop - sl.start, K))) for sl in
                     chunks(n, self.rows)]  # fmt: skip
            R = parts[0] if len(parts) == 1 else xp.concat(parts, axis=0)
            R = R / xp.sum(R, axis=1, keepdims=True)

            def resp(sl: slice) -> Any:
                return R[sl, ...]

        else:
            if init_params == "random_from_data":
                indices = random_state.choice(n, size=K, replace=False)
            else:  # k-means++
                indices = device_kmeans.kmeans_plusplus(
                    ns, self.X, K, sample_weight=np.ones(n), random_state=random_state
                )[1]
            picked = ns.put(indices, dtype=np.int64)

            def resp(sl: slice) -> Any:
                rows = xp.arange(sl.start, sl.stop, device=ns.device)
                return xp.astype(rows[:, None] == picked[None, :], self.X.dtype)

        return device_em.stats_from_resp(ns, model, self.X, self.w, resp, K, self.rows)

    def labels(self, model: CovarianceModel, params: Params) -> Any:
        wlp = device_em.weighted_log_prob(self.ns, model, self.X, params, self.rows)
        return self.ns.xp.argmax(wlp, axis=1)
