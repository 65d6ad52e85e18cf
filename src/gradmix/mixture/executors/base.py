"""What every executor offers: data operations over row chunks, nothing about mixtures.

An executor holds a data set (rows, optional sample weights) wherever it
lives: a numpy array, an array of another array-API library (GPU tensors),
or a Dask array.  It hands *kernels* — plain functions written against the
array namespace ``xp`` — chunks of centred rows, and

- :meth:`Executor.map_reduce` sums what the kernel returns over all chunks
  (tuples of arrays, added in float64, or host objects that define ``+``),
- :meth:`Executor.map_rows` assembles per-row results into an array of the
  input's kind (numpy, the same GPU library, or a lazy Dask array),
- :meth:`Executor.take` and :meth:`Executor.sample` fetch rows by index to
  the host.

The data are centred as they are read (the weighted mean subtracted, chunk
by chunk), so nothing downstream depends on where the data sit.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from array_api_compat import array_namespace, device, is_array_api_obj

from gradmix.mixture.ops import take_rows, to_float64

__all__ = ["Chunk", "Executor", "Summary", "chunk_bounds", "combine", "rows_for_budget"]

Kernel = Callable[..., Any]

DEFAULT_MAX_MEMORY = 16 * 2**20  # bytes of temporaries per chunk on the host (measured fastest)


def rows_for_budget(n_rows: int, bytes_per_row: int, budget: int | None = None) -> int:
    """Rows per chunk so that a chunk's temporaries stay within ``budget`` bytes."""
    budget = DEFAULT_MAX_MEMORY if budget is None else budget
    rows = max(int(budget // max(bytes_per_row, 1)), 256)
    return min(rows, max(n_rows, 1))


def chunk_bounds(start: int, stop: int, rows: int) -> Iterator[tuple[int, int]]:
    """Consecutive ``(start, stop)`` pairs of at most ``rows`` rows."""
    for a in range(start, stop, rows):
        yield a, min(a + rows, stop)


@dataclass
class Chunk:
    """A chunk of rows, as a kernel sees it.

    Attributes
    ----------
    xp : namespace
        The array namespace of ``X`` (array-api-compat's wrapper).
    X : array, shape (m, d)
        Centred rows.
    w : array, shape (m,), or None
        Sample weights; None when every weight is 1.
    start, stop : int
        Global indices of the chunk's rows.
    aligned : tuple of arrays
        The chunk's rows of the row-aligned inputs passed to the operation.
    """

    xp: Any
    X: Any
    w: Any
    start: int
    stop: int
    aligned: tuple[Any, ...] = ()
    prepared: Any = field(default=None, repr=False)

    def augmented(self) -> Any:
        """``[X, 1]``, shape (m, d + 1): distances and sums then take one GEMM each."""
        if self.prepared is not None:
            return self.prepared
        xp = self.xp
        return xp.concat([self.X, xp.ones((self.X.shape[0], 1), dtype=self.X.dtype,
                                          device=device(self.X))], axis=1)  # fmt: skip

    def weights(self) -> Any:
        """The sample weights, ones when all are 1."""
        if self.w is not None:
            return self.w
        xp = self.xp
        return xp.ones(self.X.shape[0], dtype=self.X.dtype, device=device(self.X))


def _to_float64(x: Any) -> Any:
    if type(x) is np.ndarray:  # the host's every pass: no namespace lookup
        return x if x.dtype == np.float64 else x.astype(np.float64)
    if isinstance(x, int | float | np.floating | np.integer):
        return float(x)
    if is_array_api_obj(x):
        return to_float64(array_namespace(x), x)
    return x


def as_sums(result: Any) -> Any:
    """A kernel's result ready to be summed: arrays of a tuple in float64."""
    if isinstance(result, tuple):
        return tuple(_to_float64(r) for r in result)
    return result


def combine(a: Any, b: Any) -> Any:
    """The sum of two kernel results: tuples element by element, objects by ``+``."""
    if isinstance(a, tuple):
        return tuple(x + y for x, y in zip(a, b, strict=True))
    return a + b


@dataclass
class Summary:
    """Per-column sums of the data (float64), and their largest magnitudes if asked for."""

    n: int
    sum_x: np.ndarray
    sum_wx: np.ndarray
    sum_w: float
    min_w: float
    finite: bool
    absmax: np.ndarray | None = None

    def __add__(self, o: Summary) -> Summary:
        absmax = None if self.absmax is None or o.absmax is None else \
            np.maximum(self.absmax, o.absmax)  # fmt: skip
        return Summary(self.n + o.n, self.sum_x + o.sum_x, self.sum_wx + o.sum_wx,
                       self.sum_w + o.sum_w, min(self.min_w, o.min_w),
                       self.finite and o.finite, absmax)  # fmt: skip

    @property
    def mean(self) -> np.ndarray:
        """The weighted mean (the unweighted one when all weights are 0)."""
        return self.sum_wx / self.sum_w if self.sum_w > 0 else self.sum_x / max(self.n, 1)


def summarise(chunk: Chunk, get: Callable[[Any], np.ndarray], absmax: bool = False) -> Summary:
    """A chunk's :class:`Summary` (a kernel over *uncentred* rows); ``absmax`` adds the
    columns' largest magnitudes (worth it where every pass is costly: Dask)."""
    xp = chunk.xp
    m, d = chunk.X.shape
    if m == 0:
        return Summary(0, np.zeros(d), np.zeros(d), 0.0, np.inf, True,
                       np.zeros(d) if absmax else None)  # fmt: skip
    X = to_float64(xp, chunk.X)
    sum_x = get(xp.sum(X, axis=0))
    # NaN and infinity make their column's sum NaN or infinite: no separate pass, unless
    # finite values overflowed the sum
    finite = bool(np.all(np.isfinite(sum_x))) or bool(xp.all(xp.isfinite(X)))
    big = get(xp.max(xp.abs(X), axis=0)) if absmax else None
    if chunk.w is None:
        return Summary(int(m), sum_x, sum_x, float(m), 1.0, finite, big)
    w = to_float64(xp, chunk.w)
    sum_w, min_w = float(get(xp.sum(w))), float(get(xp.min(w)))
    finite = finite and bool(np.isfinite(sum_w))
    return Summary(int(m), sum_x, get(w @ X), sum_w, min_w, finite, big)


@dataclass
class Observed:
    """Per-column sums over the observed (non-NaN) entries, for data with missing values."""

    sum_wx: np.ndarray  # (d,) Σ w x over observed entries
    sum_w: np.ndarray  # (d,) Σ w over observed entries
    absmax: np.ndarray  # (d,) largest observed magnitudes
    empty_rows: int  # rows with no observed entry
    finite: bool  # no infinity among the observed entries

    def __add__(self, o: Observed) -> Observed:
        return Observed(self.sum_wx + o.sum_wx, self.sum_w + o.sum_w,
                        np.maximum(self.absmax, o.absmax), self.empty_rows + o.empty_rows,
                        self.finite and o.finite)  # fmt: skip


def summarise_observed(chunk: Chunk, get: Callable[[Any], np.ndarray]) -> Observed:
    """A chunk's :class:`Observed` (a kernel over uncentred rows that may hold NaN)."""
    xp = chunk.xp
    m, d = chunk.X.shape
    if m == 0:
        return Observed(np.zeros(d), np.zeros(d), np.zeros(d), 0, True)
    X = to_float64(xp, chunk.X)
    seen = ~xp.isnan(X)
    Xz = xp.where(seen, X, xp.zeros_like(X))
    finite = bool(xp.all(xp.isfinite(Xz)))
    seen_f = xp.astype(seen, X.dtype)
    w = xp.ones((m,), dtype=X.dtype) if chunk.w is None else to_float64(xp, chunk.w)
    empty = int(get(xp.sum(xp.astype(~xp.any(seen, axis=1), xp.int64))))
    return Observed(get(w @ Xz), get(w @ seen_f), get(xp.max(xp.abs(Xz), axis=0)), empty,
                    finite)  # fmt: skip


def _resolution(dtype: Any, absmax: np.ndarray) -> np.ndarray:
    """(16 eps max|x|)²: variances below this are rounding noise of the data."""
    return (16 * np.finfo(dtype).eps * absmax) ** 2


@dataclass
class Maximum:
    """Column maxima that combine by ``+`` (a reduction's result type)."""

    values: np.ndarray

    def __add__(self, other: Maximum) -> Maximum:
        return Maximum(np.maximum(self.values, other.values))


def _absmax(chunk: Chunk, get: Callable[[Any], np.ndarray]) -> Maximum:
    xp = chunk.xp
    if chunk.X.shape[0] == 0:
        return Maximum(np.zeros(chunk.X.shape[1]))
    return Maximum(get(xp.max(xp.abs(chunk.X), axis=0)))


class Executor(ABC):
    """The data operations EM, k-means and their initialisations run on.

    Attributes
    ----------
    n, d : int
        Rows and columns.
    dtype : numpy dtype
        The data's floating dtype (float32 or float64).
    shift : ndarray, shape (d,)
        The centre subtracted from every row (float64).
    total_weight : float
    unit_weights : bool
        True when every sample weight is 1.
    """

    #: True when the rows are a numpy array in this process (what gradmix.ad differentiates)
    in_memory_numpy: bool = False
    #: True when kernels see numpy chunks (in memory, or Dask blocks)
    numpy_chunks: bool = True
    #: the data as validated (numpy, an array-API array or a Dask array)
    X: Any

    n: int
    d: int
    dtype: np.dtype
    shift: np.ndarray
    total_weight: float
    unit_weights: bool
    summary: Summary
    _var_floor: np.ndarray | None = None

    #: accept NaN entries (missing values); they stay NaN in the kernels' rows
    allow_missing: bool = False
    #: the observed entries' summary, when the data hold NaN and they are allowed
    observed: Observed | None = None

    @property
    def has_missing(self) -> bool:
        """True when the data hold missing values (NaN), which ``allow_missing`` let in."""
        return self.observed is not None

    def _set_summary(self, s: Summary, shift: np.ndarray | None) -> None:
        """Centre and total weight from the data's summary."""
        if not s.finite and self.allow_missing:
            self.observed = self.map_reduce(summarise_observed, self.to_host)
            if not self.observed.finite:
                raise ValueError("Input X contains infinity.")
            if np.any(self.observed.sum_w <= 0):
                j = int(np.flatnonzero(self.observed.sum_w <= 0)[0])
                raise ValueError(f"Input X has no observed value in column {j}")
            s.sum_wx = self.observed.sum_wx / self.observed.sum_w * s.sum_w
            s.finite, s.absmax = True, self.observed.absmax
        if not s.finite:
            raise ValueError("Input X contains NaN or infinity.")
        if s.min_w < 0:
            raise ValueError("Negative values in data passed to `sample_weight`")
        self.summary = s
        self.total_weight = s.sum_w
        self.shift = np.asarray(s.mean if shift is None else shift, dtype=np.float64)
        if s.absmax is not None:
            self._var_floor = _resolution(self.dtype, s.absmax)

    @property
    def var_floor(self) -> np.ndarray:
        """Variances (per feature) too small to tell from zero at the data's resolution:
        (16 eps max|x|)², from one more pass when first asked."""
        if self._var_floor is None:
            absmax = self.map_reduce(_absmax, self.to_host).values + np.abs(self.shift)
            self._var_floor = _resolution(self.dtype, absmax)
        return self._var_floor

    @abstractmethod
    def map_reduce(self, kernel: Kernel, *args: Any, aligned: Sequence[Any] = (),
                   keep_rows: Any = False) -> Any:  # fmt: skip
        """The sum over all chunks of ``kernel(chunk, *args)``, on the host.

        With ``keep_rows`` (the dtype of per-row results, e.g. ``np.int32``)
        the kernel returns ``(sums, rows)``, and the
        result is ``(total, rows of all chunks)`` where the executor can keep
        per-row results from the same pass (numpy and array-API arrays), or
        ``(total, None)`` where it cannot (Dask: ask :meth:`map_rows`).

        An argument with a ``for_rows(start, stop)`` method is replaced by what
        that returns for the rows a worker handles (a Dask block), so that
        per-chunk data need not travel to every worker.
        """

    @abstractmethod
    def map_rows(self, kernel: Kernel, *args: Any, cols: int | None = None, dtype: Any = None,
                 aligned: Sequence[Any] = ()) -> Any:  # fmt: skip
        """Per-row results ``kernel(chunk, *args)`` (shape (m,) or (m, cols)) of all rows,
        as an array of the input's kind (lazy for Dask).  ``dtype`` is a numpy dtype
        (default: the data's)."""

    @abstractmethod
    def take(self, indices: np.ndarray) -> np.ndarray:
        """The centred rows at ``indices``, in that order, as a host array."""

    @abstractmethod
    def weights_at(self, indices: np.ndarray) -> np.ndarray:
        """The sample weights at ``indices`` (host)."""

    @abstractmethod
    def put(self, a: Any, dtype: Any = None) -> Any:
        """A host array as an argument for kernels (on the data's device, in ``dtype``,
        default the data's)."""

    @abstractmethod
    def output(self, a: np.ndarray) -> Any:
        """A host array as a result for the user: in the input's namespace and device."""

    @abstractmethod
    def to_host(self, a: Any) -> np.ndarray:
        """Per-row results of :meth:`map_rows` (or ``keep_rows``) as a numpy array."""

    @abstractmethod
    def bounds(self) -> list[tuple[int, int]]:
        """The ``(start, stop)`` of every chunk kernels are called on, in row order."""

    @abstractmethod
    def gather(self, per_row: Any, indices: np.ndarray) -> np.ndarray:
        """Entries ``indices`` of a per-row array (from :meth:`map_rows`), on the host."""

    @abstractmethod
    def top(self, values: Any, m: int) -> np.ndarray:
        """Indices of the ``m`` largest entries of a per-row array (scikit-learn's order:
        ``argpartition(v, -m)[:-m-1:-1]`` for data in memory)."""

    @abstractmethod
    def seeding_data(self, random_state: Any,
                     at_least: int) -> tuple[Any, np.ndarray, np.ndarray | None]:  # fmt: skip
        """Rows to seed centres on (k-means++), their weights (host) and, when they are a
        sample (of at least ``at_least`` rows), their global indices (None: all rows)."""

    def fill_missing(self, values: Any) -> Any:
        """The data with each NaN entry replaced by ``values`` (a host (d,) vector, or
        per-row results of :meth:`map_rows` of the data's shape), in the data's kind;
        observed entries stay exactly as they are."""
        xp = array_namespace(self.X)
        if isinstance(values, np.ndarray) and values.ndim == 1:
            values = xp.asarray(values.astype(self.X.dtype), device=device(self.X))
        return xp.where(xp.isnan(self.X), values, self.X)

    def one_thread(self) -> AbstractContextManager[None]:
        """A context in which passes run their chunks on one thread, for kernels that do
        too little per row for threads to pay (k-means' over a few thousand rows); a
        no-op where passes are not shared between this process's threads."""
        return contextlib.nullcontext()

    def subset(self, indices: np.ndarray) -> Any:
        """The uncentred rows at ``indices`` (host integers), in the data's kind."""
        return take_rows(array_namespace(self.X), self.X, indices)

    def all_weights(self) -> np.ndarray:
        """Every sample weight, as a host array."""
        return self.weights_at(np.arange(self.n))
