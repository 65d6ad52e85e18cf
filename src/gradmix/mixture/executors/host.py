"""Numpy data on this machine: chunks in parallel threads, one per core.

numpy and BLAS release the GIL, so the chunks of a pass run in as many
threads as there are cores, with BLAS limited to one thread meanwhile
(threadpoolctl).  Each thread takes the next chunk not yet taken, so a thread
that another process slows leaves more of the pass to the others; the chunks'
results are added in chunk order, as they arrive, so results do not depend
on scheduling (nor on the number of threads).  Rows are
centred chunk by chunk as they are read: no centred copy of the data exists,
unless the caller asks for the augmented layout ``[X - shift, 1]`` (k-means
keeps one so that every pass is copy-free), or the data are a single chunk
(small data, where the copies cost more than the arithmetic: the centred rows
and the augmented layout are then kept, at most a chunk's size each).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import array_api_compat.numpy as xnp
import numpy as np
from threadpoolctl import ThreadpoolController

from gradmix.mixture.executors.base import (
    Chunk,
    Executor,
    Kernel,
    as_sums,
    chunk_bounds,
    combine,
    summarise,
)

__all__ = ["HostExecutor", "N_THREADS", "single_threaded_blas"]

N_THREADS = (
    len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
)

MIN_ROWS = 4096  # chunks are not split below this for the sake of threads

_CONTROLLER: ThreadpoolController | None = None


def single_threaded_blas() -> Any:
    """A context limiting BLAS to one thread (the library scan is done once, then reused)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """One pool of worker threads for every pass (starting threads per pass cost ~0.5 ms
    each, a tenth of a k-means fit).  Kernels never start passes themselves, so no
    worker waits on another."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(N_THREADS, thread_name_prefix="gradmix")
        return _POOL


def _identity(a: Any) -> Any:
    return a


def _written(i: int, result: None) -> None:
    """``take`` for work that writes its rows in place and returns nothing."""


class HostExecutor(Executor):
    """Numpy rows (and weights) held in this process.

    Parameters
    ----------
    X : ndarray, shape (n, d)
        Validated floating data (float32 or float64).
    w : ndarray, shape (n,), optional
        Sample weights in ``X``'s dtype; None for all ones.
    rows : int
        Rows per chunk.
    shift : ndarray, shape (d,), optional
        The centre; by default the weighted mean, from a summary pass.
    n_threads : int, optional
        Threads per pass (default one per core; Dask blocks pass 1).
    augmented : bool
        Keep ``[X - shift, 1]`` as the working copy (chunks are views of it).
    offset : int
        Global index of the first row (a Dask block's position).
    summarise : bool
        Run the summary pass (False for a Dask block, whose summary is global).
    one_pass : bool
        The executor serves a single pass (a Dask block's, a few picked rows'):
        nothing is kept for later passes.
    """

    xp = xnp
    in_memory_numpy = True

    def __init__(self, X: np.ndarray, w: np.ndarray | None, rows: int,
                 shift: np.ndarray | None = None, n_threads: int | None = None,
                 augmented: bool = False, offset: int = 0,
                 summarise_data: bool = True, allow_missing: bool = False,
                 one_pass: bool = False) -> None:  # fmt: skip
        self.allow_missing = allow_missing
        self.n, self.d = (int(s) for s in X.shape)
        self.dtype = np.dtype(X.dtype)
        self.offset = offset
        self.threads = N_THREADS if n_threads is None else n_threads
        # every core takes part in a pass over more than a few thousand rows, and the
        # chunks are as many as a multiple of the threads: no thread waits for another
        rows = max(1, min(int(rows), max(-(-self.n // self.threads), MIN_ROWS)))
        count = -(-self.n // rows)
        if count > 1 and self.threads > 1:
            count = -(-count // self.threads) * self.threads
            rows = max(1, -(-self.n // count))
        self.rows = rows
        self.unit_weights = w is None or bool(np.all(w == 1))
        self.w = None if self.unit_weights else w
        self.X = X
        self.Xa: np.ndarray | None = None
        self._shift_dtype: np.ndarray | None = None
        self._centred: np.ndarray | None = None
        if summarise_data:
            self._set_summary(self.map_reduce(summarise, _identity), shift)
        else:
            assert shift is not None
            self.shift = np.asarray(shift, dtype=np.float64)
        self._shift_dtype = self.shift.astype(self.dtype)
        if self.n <= self.rows and not one_pass:
            # one chunk: its rows centred once for every pass (each pass would copy them
            # again), and [X - shift, 1] beside them for k-means' GEMMs (a k-means start
            # made it afresh in every pass): small data, where the copies cost more than
            # the arithmetic between them
            self._centred = X - self._shift_dtype
            self._centred.flags.writeable = False  # kernels and seeding read them only
            augmented = True
        if augmented:
            self.Xa = np.empty((self.n, self.d + 1), dtype=self.dtype)
            self._in_threads(self._fill_augmented, _written)
            self.Xa.flags.writeable = False

    def _fill_augmented(self, a: int, b: int) -> None:
        """``[X - shift, 1]`` into the rows of ``Xa``, by threads: writing fresh pages
        costs as much as the subtraction."""
        assert self.Xa is not None and self._shift_dtype is not None
        np.subtract(self.X[a:b], self._shift_dtype, out=self.Xa[a:b, :-1])
        self.Xa[a:b, -1] = 1.0

    # chunks ---------------------------------------------------------------------------
    def bounds(self) -> list[tuple[int, int]]:
        return [(a + self.offset, b + self.offset) for a, b in chunk_bounds(0, self.n, self.rows)]

    def _chunk(self, a: int, b: int, aligned: Sequence[Any]) -> Chunk:
        w = None if self.w is None else self.w[a:b]
        rows = tuple(r[a:b] for r in aligned)
        if self._centred is not None:
            prepared = None if self.Xa is None else self.Xa[a:b]
            return Chunk(xnp, self._centred[a:b], w, a + self.offset, b + self.offset, rows,
                         prepared)  # fmt: skip
        if self.Xa is not None:
            Xa = self.Xa[a:b]
            return Chunk(xnp, Xa[:, :-1], w, a + self.offset, b + self.offset, rows, Xa)
        X = self.X[a:b] if self._shift_dtype is None else self.X[a:b] - self._shift_dtype
        return Chunk(xnp, X, w, a + self.offset, b + self.offset, rows)

    @functools.cached_property
    def _local_bounds(self) -> list[tuple[int, int]]:
        """The chunks' rows in this executor's own numbering (once: a pass over small
        data otherwise spent a tenth of its time here)."""
        return list(chunk_bounds(0, self.n, self.rows))

    def _in_threads(self, work: Callable[[int, int], Any],
                    take: Callable[[int, Any], None]) -> None:  # fmt: skip
        """``take(i, work(a, b))`` for every chunk ``i`` of rows ``a:b``, called in chunk
        order (under a lock when threads run the chunks: each thread takes the next chunk
        no thread has, and a result waits only for those of the chunks before it)."""
        local = self._local_bounds
        jobs = min(self.threads, len(local))
        if jobs <= 1:
            for i, (a, b) in enumerate(local):
                take(i, work(a, b))
            return
        lock = threading.Lock()
        pending: dict[int, Any] = {}
        taken = itertools.count()  # next() on it is atomic: one chunk to one thread
        passed = 0  # the chunks handed to take

        def thread() -> None:
            nonlocal passed
            for i in taken:
                if i >= len(local):
                    return
                result = work(*local[i])
                with lock:
                    pending[i] = result
                    while passed in pending:
                        take(passed, pending.pop(passed))
                        passed += 1

        with single_threaded_blas():
            for future in [_pool().submit(thread) for _ in range(jobs)]:
                future.result()

    @contextlib.contextmanager
    def one_thread(self) -> Iterator[None]:
        threads, self.threads = self.threads, 1
        try:
            with single_threaded_blas():  # (BLAS's threads would meet at every small product)
                yield
        finally:
            self.threads = threads

    # operations -----------------------------------------------------------------------
    def map_reduce(self, kernel: Kernel, *args: Any, aligned: Sequence[Any] = (),
                   keep_rows: Any = False) -> Any:  # fmt: skip
        rows_out = None if not keep_rows else np.empty(self.n, dtype=keep_rows)
        total: Any = None  # (no rows: None)

        def work(a: int, b: int) -> Any:
            result = kernel(self._chunk(a, b, aligned), *args)
            if rows_out is not None:
                result, rows_out[a:b] = result
            return as_sums(result)

        def take(i: int, result: Any) -> None:
            nonlocal total
            total = result if i == 0 else combine(total, result)

        self._in_threads(work, take)
        return (total, rows_out) if keep_rows else total

    def map_rows(self, kernel: Kernel, *args: Any, cols: int | None = None, dtype: Any = None,
                 aligned: Sequence[Any] = ()) -> Any:  # fmt: skip
        shape = (self.n,) if cols is None else (self.n, cols)
        out = np.empty(shape, dtype=self.dtype if dtype is None else dtype)

        def work(a: int, b: int) -> None:
            out[a:b] = kernel(self._chunk(a, b, aligned), *args)

        self._in_threads(work, _written)
        return out

    def take(self, indices: np.ndarray) -> np.ndarray:
        idx = np.asarray(indices, dtype=np.intp) - self.offset
        if self._centred is not None:
            return self._centred[idx]
        if self.Xa is not None:
            return self.Xa[idx, :-1].copy()
        return self.X[idx] - self._shift_dtype

    def weights_at(self, indices: np.ndarray) -> np.ndarray:
        idx = np.asarray(indices, dtype=np.intp) - self.offset
        return np.ones(len(idx), dtype=self.dtype) if self.w is None else self.w[idx].copy()

    def put(self, a: Any, dtype: Any = None) -> Any:
        return np.asarray(a, dtype=self.dtype if dtype is None else dtype)

    def output(self, a: np.ndarray) -> Any:
        return a

    def to_host(self, a: Any) -> np.ndarray:
        return np.asarray(a)

    def gather(self, per_row: Any, indices: np.ndarray) -> np.ndarray:
        return np.asarray(per_row)[np.asarray(indices, dtype=np.intp)]

    def top(self, values: Any, m: int) -> np.ndarray:
        return np.argpartition(values, -m)[: -m - 1 : -1]

    def seeding_data(self, random_state: Any, at_least: int) -> tuple[Any, np.ndarray, None]:
        rows = self._centred
        if rows is None:
            rows = self.Xa[:, :-1] if self.Xa is not None else self.X - self._shift_dtype
        return rows, self.all_weights(), None
