"""Dask arrays: kernels over blocks, results tree-summed, on a cluster or out of core.

Each block of rows is handed to a :class:`~.host.HostExecutor` (one thread:
the scheduler already runs blocks in parallel) wherever a worker holds it;
the blocks' results are summed pairwise in a fixed binary tree, so the total
does not depend on where or in which order blocks ran, and only the sums
travel.  Per-row results are lazy Dask arrays.

Data are persisted on a distributed cluster's workers when they take less
than half of its memory; otherwise, and with Dask's local schedulers, every
pass streams them from their source (a file, a lazy computation), so a data
set larger than memory is worked on in memory bounded by a few blocks.  A
killed worker's blocks are recomputed by the scheduler from their lineage.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from gradmix.mixture.executors.base import (
    Executor,
    Kernel,
    as_sums,
    chunk_bounds,
    combine,
    summarise,
)
from gradmix.mixture.executors.host import HostExecutor

__all__ = ["DaskExecutor", "SAMPLE_ROWS", "compute", "is_dask", "tree_sum"]

# rows of the random sample that centres are seeded on (k-means++) and hierarchical
# agglomeration starts from
SAMPLE_ROWS = 20_000


def is_dask(X: Any) -> bool:
    """True for a ``dask.array.Array`` (without importing dask otherwise)."""
    from array_api_compat import is_dask_array

    return bool(is_dask_array(X))


def delayed(f: Any) -> Any:
    """``dask.delayed(f, pure=True)``: equal arguments share one task."""
    from dask import delayed as dask_delayed

    return dask_delayed(f, pure=True)


def tree_sum(parts: list[Any]) -> Any:
    """Delayed pairwise :func:`~.base.combine` in a fixed binary tree (log depth)."""
    while len(parts) > 1:
        pairs = [delayed(combine)(a, b) for a, b in zip(parts[::2], parts[1::2], strict=False)]
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


def _for_rows(args: tuple[Any, ...], start: int, stop: int) -> tuple[Any, ...]:
    """Arguments cut down to what the rows [start, stop) need (see ``map_reduce``)."""
    return tuple(a.for_rows(start, stop) if hasattr(a, "for_rows") else a for a in args)


def _block(Xb: np.ndarray, wb: Any, offset: int, shift: np.ndarray | None,
           rows: int) -> HostExecutor:  # fmt: skip
    X = np.asarray(Xb)
    w = None if wb is None else np.asarray(wb, dtype=X.dtype).reshape(-1)
    if shift is None:  # the summary pass reads the rows as they are
        shift = np.zeros(X.shape[1])
    return HostExecutor(X, w, rows, shift, n_threads=1, offset=offset, summarise_data=False,
                        one_pass=True)  # fmt: skip


def _block_reduce(Xb: np.ndarray, wb: Any, offset: int, shift: np.ndarray | None, rows: int,
                  kernel: Kernel, args: tuple[Any, ...], keep_rows: Any,
                  *aligned: Any) -> Any:  # fmt: skip
    ex = _block(Xb, wb, offset, shift, rows)
    out = ex.map_reduce(
        kernel, *args, aligned=tuple(np.asarray(a) for a in aligned), keep_rows=keep_rows
    )
    return out[0] if keep_rows else out


def _block_rows(Xb: np.ndarray, *extra: Any, n_aligned: int, has_w: bool, shift: np.ndarray,
                rows: int, kernel: Kernel, args: tuple[Any, ...], cols: int | None,
                out_dtype: Any, block_info: Any = None) -> np.ndarray:  # fmt: skip
    offset = int(block_info[0]["array-location"][0][0]) if block_info else 0
    wb = extra[0] if has_w else None
    aligned = tuple(np.asarray(a)[:, 0] for a in extra[int(has_w) :])
    assert len(aligned) == n_aligned
    ex = _block(Xb, wb, offset, shift, rows)
    return ex.map_rows(kernel, *args, cols=cols, dtype=out_dtype, aligned=aligned)


class DaskExecutor(Executor):
    """A Dask array (and optional Dask or numpy sample weights) as blocks of rows.

    Parameters
    ----------
    X : dask.array.Array, shape (n, d)
    sample_weight : array, shape (n,), optional
    rows : int
        Rows per chunk within a block.
    shift : ndarray, shape (d,), optional
        The centre; by default the weighted mean, from a summary pass.
    summarise_data : bool
        Run the summary pass (lazy predictions skip it).
    """

    def __init__(self, X: Any, sample_weight: Any, rows: int,
                 shift: np.ndarray | None = None, summarise_data: bool = True,
                 allow_missing: bool = False) -> None:  # fmt: skip
        import dask.array as da

        self.allow_missing = allow_missing
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
        self.rows = max(int(rows), 1)
        self.unit_weights = w is None
        self._shift: np.ndarray | None = None
        if summarise_data:
            self._set_summary(self.map_reduce(summarise, np.asarray, True), shift)
        else:
            assert shift is not None
            self.shift = np.asarray(shift, dtype=np.float64)
        self._shift = self.shift

    def _blocks(self) -> list[tuple[Any, Any, int, int]]:
        """(delayed rows, delayed weights or None, offset, size) of every non-empty block."""
        xb = list(self.X.to_delayed().ravel())
        wb = [None] * len(xb) if self.w is None else list(self.w.to_delayed().ravel())
        sizes = [int(s) for s in self.X.chunks[0]]
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int)
        return [(x, w, int(o), s) for x, w, o, s in
                zip(xb, wb, offsets, sizes, strict=True) if s > 0]  # fmt: skip

    def _aligned_blocks(self, aligned: Sequence[Any]) -> list[list[Any]]:
        """Per block, its rows of each row-aligned input (Dask or numpy)."""
        import dask.array as da

        per_input = []
        for a in aligned:
            a = a if is_dask(a) else da.from_array(np.asarray(a), chunks=self.X.chunks[0])
            a = a.rechunk((self.X.chunks[0],) + a.chunks[1:])
            blocks = list(a.to_delayed().ravel())
            per_input.append([b for b, size in zip(blocks, self.X.chunks[0], strict=True)
                              if size > 0])  # fmt: skip
        return [list(t) for t in zip(*per_input, strict=True)] if per_input else \
            [[] for _ in self._blocks()]  # fmt: skip

    def bounds(self) -> list[tuple[int, int]]:
        return [b for _, _, offset, size in self._blocks()
                for b in chunk_bounds(offset, offset + size, self.rows)]  # fmt: skip

    def map_reduce(self, kernel: Kernel, *args: Any, aligned: Sequence[Any] = (),
                   keep_rows: Any = False) -> Any:  # fmt: skip
        parts = [delayed(_block_reduce)(xb, wb, offset, self._shift, self.rows, kernel,
                                        _for_rows(args, offset, offset + size), keep_rows, *ab)
                 for (xb, wb, offset, size), ab in zip(self._blocks(),
                                                       self._aligned_blocks(aligned),
                                                       strict=True)]  # fmt: skip
        total = as_sums(compute(tree_sum(parts)))
        return (total, None) if keep_rows else total

    def map_rows(self, kernel: Kernel, *args: Any, cols: int | None = None, dtype: Any = None,
                 aligned: Sequence[Any] = ()) -> Any:  # fmt: skip
        import dask.array as da

        dtype = self.dtype if dtype is None else np.dtype(dtype)
        extra = [] if self.w is None else [self.w[:, None]]
        for a in aligned:
            a = a if is_dask(a) else da.from_array(np.asarray(a), chunks=self.X.chunks[0])
            extra.append(a.rechunk((self.X.chunks[0],))[:, None])
        kw: dict[str, Any] = dict(n_aligned=len(aligned), has_w=self.w is not None,
                                  shift=self.shift, rows=self.rows, kernel=kernel, args=args,
                                  cols=cols, out_dtype=dtype)  # fmt: skip
        if cols is None:
            return da.map_blocks(_block_rows, self.X, *extra, dtype=dtype, drop_axis=1, **kw)
        return da.map_blocks(_block_rows, self.X, *extra, dtype=dtype,
                             chunks=(self.X.chunks[0], (cols,)), **kw)  # fmt: skip

    def _gather(self, arr: Any, indices: np.ndarray) -> np.ndarray:
        indices = np.asarray(indices, dtype=np.intp)
        order = np.argsort(indices)
        got = np.asarray(compute(arr[indices[order]]))
        out = np.empty_like(got)
        out[order] = got
        return out

    def take(self, indices: np.ndarray) -> np.ndarray:
        return (self._gather(self.X, indices) - self.shift).astype(self.dtype)

    def weights_at(self, indices: np.ndarray) -> np.ndarray:
        if self.w is None:
            return np.ones(len(indices), dtype=self.dtype)
        return self._gather(self.w, indices).astype(self.dtype)

    def all_weights(self) -> np.ndarray:
        if self.w is None:
            return np.ones(self.n, dtype=self.dtype)
        return np.asarray(compute(self.w), dtype=self.dtype)

    def put(self, a: Any, dtype: Any = None) -> Any:
        return np.asarray(a, dtype=self.dtype if dtype is None else dtype)

    def output(self, a: np.ndarray) -> Any:
        return a

    def to_host(self, a: Any) -> np.ndarray:
        return np.asarray(compute(a)) if is_dask(a) else np.asarray(a)

    def gather(self, per_row: Any, indices: np.ndarray) -> np.ndarray:
        return self._gather(per_row, indices)

    def top(self, values: Any, m: int) -> np.ndarray:
        import dask.array as da

        return np.asarray(compute(da.argtopk(values, m)))

    def seeding_data(self, random_state: Any, at_least: int) -> tuple[Any, np.ndarray, np.ndarray]:
        size = min(self.n, max(SAMPLE_ROWS, at_least))  # the whole data never gather in one place
        idx = np.sort(random_state.choice(self.n, size, replace=False))
        return self.take(idx), self.weights_at(idx), idx
