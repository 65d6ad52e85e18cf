"""Dask arrays: EM over blocks, statistics tree-summed, the M-step on the client.

Each block of rows contributes its :class:`~gradmix.mixture.em.Stats` (the
numpy E-step on that block, wherever a worker holds it); the blocks' Stats
are summed pairwise in a fixed binary tree, so the result does not depend on
where or in which order blocks ran, and only O(K d²) numbers travel per
block.  The M-step runs on the client with the numpy code.  Nothing needs the
whole data set in one place: the initialisations that look at data points
(k-means++, k-means) seed on a random sample of rows.

Data are persisted on a distributed cluster's workers when they take less
than half of its memory; otherwise, and with Dask's local schedulers, every
pass streams them from their source (a file, a lazy computation), so a data
set larger than memory is fit in memory bounded by a few blocks.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradmix.mixture.covariance import CovarianceModel
from gradmix.mixture.em import (
    Params,
    Stats,
    _accumulate,
    _empty_stats,
    chunks,
    e_step,
    stats_from_resp,
    weighted_log_prob,
)

__all__ = ["DaskData", "SAMPLE_ROWS", "is_dask", "lazy_weighted_log_prob", "tree_sum"]

# rows of the random sample that k-means++ seeds on (at least 50 per component)
SAMPLE_ROWS = 20_000


def is_dask(X: Any) -> bool:
    """True for a ``dask.array.Array`` (without importing dask otherwise)."""
    from array_api_compat import is_dask_array

    return bool(is_dask_array(X))


def tree_sum(parts: list[Any]) -> Any:
    """Delayed pairwise sum in a fixed binary tree (deterministic, log-depth)."""
    from dask import delayed

    while len(parts) > 1:
        pairs = [delayed(operator.add)(a, b) for a, b in zip(parts[::2], parts[1::2], strict=False)]
        parts = pairs + ([parts[-1]] if len(parts) % 2 else [])
    return parts[0]


def compute(x: Any) -> Any:
    """Compute on the active scheduler (a distributed Client if one exists)."""
    import dask

    return dask.compute(x)[0]


def _cluster_memory() -> float | None:
    """Total worker memory of the active distributed client, or None without one."""
    try:
        from distributed import default_client

        client = default_client()
    except (ImportError, ValueError):
        return None
    workers = client.scheduler_info()["workers"].values()
    return float(sum(w.get("memory_limit", 0) or 0 for w in workers)) or None


@dataclass
class _Summary:
    """One pass's per-column facts about the data (all in float64)."""

    n: int
    sum_x: np.ndarray
    sum_x2: np.ndarray
    sum_wx: np.ndarray
    sum_w: float
    absmax: np.ndarray
    min_w: float
    finite: bool

    def __add__(self, o: _Summary) -> _Summary:
        return _Summary(self.n + o.n, self.sum_x + o.sum_x, self.sum_x2 + o.sum_x2,
                        self.sum_wx + o.sum_wx, self.sum_w + o.sum_w,
                        np.maximum(self.absmax, o.absmax), min(self.min_w, o.min_w),
                        self.finite and o.finite)  # fmt: skip


def _summarise(Xb: np.ndarray, wb: np.ndarray | None) -> _Summary:
    X64 = np.asarray(Xb, dtype=np.float64)
    w = np.ones(len(X64)) if wb is None else np.asarray(wb, dtype=np.float64)
    finite = bool(np.all(np.isfinite(X64))) and bool(np.all(np.isfinite(w)))
    return _Summary(len(X64), X64.sum(axis=0), (X64 * X64).sum(axis=0), w @ X64, float(w.sum()),
                    np.max(np.abs(X64), axis=0, initial=0.0), float(np.min(w, initial=np.inf)),
                    finite)  # fmt: skip


def _centred(Xb: np.ndarray, shift: np.ndarray) -> np.ndarray:
    return np.asarray(Xb - shift.astype(Xb.dtype))


def _unit(wb: np.ndarray | None, n: int, dtype: Any) -> np.ndarray:
    return np.ones(n, dtype=dtype) if wb is None else np.asarray(wb, dtype=dtype)


def _block_e_step(
    Xb: np.ndarray, wb: Any, shift: np.ndarray, model: CovarianceModel, params: Params, rows: int
) -> Stats:
    X = _centred(Xb, shift)
    return e_step(model, X, _unit(wb, len(X), X.dtype), params, rows, n_threads=1)


def _block_first(Xb: np.ndarray, wb: Any, shift: np.ndarray, resp: np.ndarray) -> np.ndarray:
    """Σ w r and Σ w r x of a block, flattened into one float64 vector (sums add)."""
    X = _centred(Xb, shift)
    r = resp * _unit(wb, len(X), X.dtype)[:, None]
    return np.concatenate([r.sum(axis=0), (r.T @ X).ravel()]).astype(np.float64)


def _block_second(
    Xb: np.ndarray, wb: Any, shift: np.ndarray, resp: np.ndarray, model: CovarianceModel,
    ref: np.ndarray,
) -> np.ndarray:  # fmt: skip
    X = _centred(Xb, shift)
    r = resp * _unit(wb, len(X), X.dtype)[:, None]
    stats = _empty_stats(model, resp.shape[1], X.shape[1], ref)
    _accumulate(stats, model, X, r)
    return stats.second


def _one_hot(labels: np.ndarray, K: int, dtype: Any) -> np.ndarray:
    return (np.asarray(labels)[:, None] == np.arange(K)[None, :]).astype(dtype)


def _random_resp(seed: int, n: int, K: int, dtype: Any) -> np.ndarray:
    r = np.random.RandomState(seed).uniform(size=(n, K)).astype(dtype)
    return r / r.sum(axis=1)[:, None]


def _block_wlp(Xb: np.ndarray, shift: np.ndarray, model: CovarianceModel, p: Params,
               rows: int) -> np.ndarray:  # fmt: skip
    X = _centred(Xb, shift)
    out = np.empty((X.shape[0], p.means.shape[0]), dtype=X.dtype)
    for sl in chunks(X.shape[0], rows):
        out[sl] = weighted_log_prob(model, X[sl], p)
    return out


class DaskData:
    """A Dask array as the EM loop's data (see :mod:`gradmix.mixture.data`)."""

    def __init__(self, X: Any, sample_weight: Any, rows: int):
        import dask.array as da

        if X.ndim != 2:
            raise ValueError(f"Expected 2D array, got {X.ndim}D array instead")
        if not np.issubdtype(X.dtype, np.floating):
            if not np.issubdtype(X.dtype, np.number):
                raise ValueError(f"X must hold real numbers, got dtype {X.dtype}")
            X = X.astype(np.float64)
        if any(np.isnan(c) for c in X.chunks[0]):
            X = X.compute_chunk_sizes()
        X = X.rechunk({1: -1})  # blocks of whole rows
        w = None
        if sample_weight is not None:
            w = sample_weight if is_dask(sample_weight) else da.from_array(
                np.asarray(sample_weight, dtype=np.float64), chunks=X.chunks[0]
            )  # fmt: skip
            if w.shape != (X.shape[0],):
                raise ValueError(f"sample_weight.shape == {w.shape}, expected {(X.shape[0],)}!")
            w = w.rechunk((X.chunks[0],))
        memory = _cluster_memory()
        self.persisted = memory is not None and X.nbytes < 0.5 * memory
        if self.persisted:
            X = X.persist()
            w = None if w is None else w.persist()
        self.X, self.w = X, w
        self.n, self.d = (int(s) for s in X.shape)
        self.dtype = np.dtype(X.dtype)
        self.rows = rows
        s = compute(tree_sum([_delayed(_summarise)(b, wb) for b, wb in self._blocks()]))
        if not s.finite:
            raise ValueError("Input X contains NaN or infinity.")
        if s.min_w < 0:
            raise ValueError("Negative values in data passed to `sample_weight`")
        self.summary = s
        self.weight = s.sum_w
        self.shift = s.sum_wx / s.sum_w if s.sum_w > 0 else s.sum_x / s.n
        self.var_floor = (16 * np.finfo(self.dtype).eps * s.absmax) ** 2

    def _blocks(self) -> list[tuple[Any, Any]]:
        xb = list(self.X.to_delayed().ravel())
        wb = [None] * len(xb) if self.w is None else list(self.w.to_delayed().ravel())
        return list(zip(xb, wb, strict=True))

    # the EM loop's interface ---------------------------------------------------------
    def e_step(self, model: CovarianceModel, params: Params) -> Stats:
        parts = [_delayed(_block_e_step)(b, wb, self.shift, model, params, self.rows)
                 for b, wb in self._blocks()]  # fmt: skip
        return compute(tree_sum(parts))

    def rows_at(self, indices: np.ndarray) -> np.ndarray:
        """The (uncentred) rows at ``indices``, in that order, as numpy."""
        order = np.argsort(indices)
        got = np.asarray(compute(self.X[np.asarray(indices)[order]]))
        out = np.empty_like(got)
        out[order] = got
        return out

    def weights_at(self, indices: np.ndarray) -> np.ndarray:
        if self.w is None:
            return np.ones(len(indices), dtype=self.dtype)
        order = np.argsort(indices)
        got = np.asarray(compute(self.w[np.asarray(indices)[order]]))
        out = np.empty_like(got)
        out[order] = got
        return out.astype(self.dtype)

    def sample(self, random_state: Any, size: int = SAMPLE_ROWS) -> tuple[np.ndarray, np.ndarray]:
        """A uniform random sample of rows (centred) and their indices."""
        idx = np.sort(random_state.choice(self.n, min(self.n, size), replace=False))
        return self.rows_at(idx) - self.shift.astype(self.dtype), idx

    def initial_stats(
        self, model: CovarianceModel, init_params: str, K: int, random_state: Any
    ) -> Stats:
        if init_params in ("random_from_data", "k-means++"):
            if init_params == "random_from_data":
                idx = random_state.choice(self.n, size=K, replace=False)
            else:  # k-means++ on a sample: the whole data never gather in one place
                from sklearn.cluster import kmeans_plusplus

                sample, sidx = self.sample(random_state, max(SAMPLE_ROWS, 50 * K))
                idx = sidx[kmeans_plusplus(sample, K, random_state=random_state)[1]]
            points = self.rows_at(idx) - self.shift.astype(self.dtype)
            stats = stats_from_resp(model, points, self.weights_at(idx),
                                    np.eye(K, dtype=self.dtype), K)  # fmt: skip
            stats.weight = self.weight
            return stats
        if init_params == "kmeans":
            from gradmix.mixture.kmeans import KMeans

            km = KMeans(n_clusters=K, n_init=1, random_state=random_state)
            labels = km.fit(self.X, sample_weight=self.w).labels_
            resp = [_delayed(_one_hot)(lb, K, self.dtype) for lb in labels.to_delayed().ravel()]
        else:  # random: each block its own seeded stream
            seeds = random_state.randint(np.iinfo(np.int32).max, size=len(self.X.chunks[0]))
            resp = [_delayed(_random_resp)(int(s), int(nb), K, self.dtype)
                    for s, nb in zip(seeds, self.X.chunks[0], strict=True)]  # fmt: skip
        blocks = self._blocks()
        first = [_delayed(_block_first)(b, wb, self.shift, r)
                 for (b, wb), r in zip(blocks, resp, strict=True)]  # fmt: skip
        flat = compute(tree_sum(first))
        nk, sx = flat[:K], flat[K:].reshape(K, self.d)
        ref = sx / (nk + 10 * np.finfo(self.dtype).eps)[:, None]
        second = [_delayed(_block_second)(b, wb, self.shift, r, model, ref)
                  for (b, wb), r in zip(blocks, resp, strict=True)]  # fmt: skip
        return Stats(nk, sx, compute(tree_sum(second)), ref, self.weight)

    def labels(self, model: CovarianceModel, params: Params) -> Any:
        return self.weighted_log_prob(model, params).argmax(axis=1)

    def weighted_log_prob(self, model: CovarianceModel, params: Params) -> Any:
        """log π_k + log N(x | k) as a lazy Dask array, shape (n, K)."""
        return lazy_weighted_log_prob(self.X, self.shift, model, params, self.rows)


def lazy_weighted_log_prob(
    X: Any, shift: np.ndarray, model: CovarianceModel, params: Params, rows: int
) -> Any:
    """log π_k + log N(x | k) of a Dask array (rows by blocks), lazily, shape (n, K).

    ``params`` are centred by ``shift``.
    """
    X = X.rechunk({1: -1})
    K = params.means.shape[0]
    return X.map_blocks(_block_wlp, shift, model, params, rows, dtype=X.dtype,
                        chunks=(X.chunks[0], (K,)))  # fmt: skip


def _delayed(f: Any) -> Any:
    from dask import delayed

    return delayed(f, pure=True)
