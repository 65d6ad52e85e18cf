"""The one EM loop: E-step to sufficient statistics, M-step from them.

The E-step walks the data in chunks of bounded size and returns
:class:`Stats` — Σ r, Σ r x, the covariance model's second moment and the
summed log-likelihood — never all responsibilities at once.  Statistics of
chunks (or of Dask blocks, or of mini-batches) simply add.  The M-step is the
covariance model's closed form.  The same driver runs Gaussian mixtures and,
with hard assignments, k-means.

All data are *centred* (a reference point subtracted) before they get here;
the estimators own that shift.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from gradmix.mixture.covariance import CovarianceModel, ill_defined_error

__all__ = [
    "Params",
    "Stats",
    "chunks",
    "chunk_rows",
    "e_step",
    "m_step",
    "responsibilities",
    "weighted_log_prob",
]

DEFAULT_MAX_MEMORY = 64 * 2**20  # bytes of temporaries per chunk


N_THREADS = (
    len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
)


_CONTROLLER: ThreadpoolController | None = None


def single_threaded_blas() -> Any:
    """A context limiting BLAS to one thread (the library scan is done once, then reused)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


def _log_tiny(dtype: Any) -> float:
    """A log-responsibility below which exp() would be subnormal (1e8 above the limit)."""
    return float(np.log(np.finfo(dtype).tiny)) + 18.0


@dataclass
class Params:
    """Mixture parameters in centred coordinates."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray | None
    precisions_cholesky: np.ndarray

    def copy(self) -> Params:
        return Params(
            self.weights.copy(),
            self.means.copy(),
            None if self.covariances is None else self.covariances.copy(),
            self.precisions_cholesky.copy(),
        )


@dataclass
class Stats:
    """Sufficient statistics of (weighted) data under given responsibilities."""

    nk: np.ndarray  # (K,) Σ w r
    sx: np.ndarray  # (K, d) Σ w r x
    second: np.ndarray  # the covariance model's second moment, taken about `ref`
    ref: np.ndarray  # (K, d) reference points of `second` (the E-step's means)
    weight: float = 0.0  # Σ w
    log_lik: float = 0.0  # Σ w log p(x)

    def __add__(self, other: Stats) -> Stats:
        """Statistics of the union of two disjoint pieces of data (same reference)."""
        return Stats(
            self.nk + other.nk,
            self.sx + other.sx,
            self.second + other.second,
            self.ref,
            self.weight + other.weight,
            self.log_lik + other.log_lik,
        )


def chunk_rows(n_samples: int, bytes_per_row: int, max_memory: int | None = None) -> int:
    """Rows per chunk so that the chunk's temporaries stay within ``max_memory`` bytes."""
    budget = DEFAULT_MAX_MEMORY if max_memory is None else max_memory
    rows = max(int(budget // max(bytes_per_row, 1)), 256)
    return min(rows, max(n_samples, 1))


def centred(X: np.ndarray, sl: slice, shift: np.ndarray | None) -> np.ndarray:
    """Rows ``sl`` of ``X``, minus ``shift`` when given (a chunk-sized copy only)."""
    return X[sl] if shift is None else X[sl] - shift.astype(X.dtype)


def chunks(n_samples: int, rows: int) -> Iterator[slice]:
    """Consecutive row slices of at most ``rows`` rows."""
    for start in range(0, n_samples, rows):
        yield slice(start, min(start + rows, n_samples))


def weighted_log_prob(
    model: CovarianceModel, X: np.ndarray, params: Params, features: Any = None
) -> np.ndarray:
    """log π_k + log N(x | μ_k, Σ_k), shape (n, K).

    ``features`` are the model's per-chunk features if already computed (the
    E-step shares them with the statistics); otherwise they are computed here
    when some component can use them.
    """
    if features is None:
        features = fast_features(
            model, X, model.reference(params.means, params.precisions_cholesky)
        )
    with np.errstate(divide="ignore"):
        log_w = np.log(params.weights)
    out = model.log_prob(X, params.means, params.precisions_cholesky, features)
    out += log_w.astype(out.dtype)
    return out


def fast_features(model: CovarianceModel, X: np.ndarray, ref: np.ndarray) -> Any:
    """The model's shared per-chunk features, unless no component is well-conditioned."""
    return None if np.all(np.any(ref != 0, axis=1)) else model.features(X)


def _empty_stats(model: CovarianceModel, K: int, d: int, ref: np.ndarray) -> Stats:
    return Stats(np.zeros(K), np.zeros((K, d)), np.zeros(model.second_moment_shape(K, d)), ref)


def _accumulate(
    stats: Stats, model: CovarianceModel, X: np.ndarray, wresp: np.ndarray, features: Any = None
) -> None:
    stats.nk += wresp.sum(axis=0)
    stats.sx += wresp.T @ X
    model.accumulate(stats.second, X, wresp, stats.ref.astype(X.dtype), features)


def responsibilities(wlp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Responsibilities and log p(x) from log π_k + log N(x | k), in place.

    One exponential per entry (scipy's logsumexp followed by ``exp`` would
    take two): ``e = exp(wlp - max)``, ``s = Σ e``, ``r = e / s``,
    ``log p = log s + max``.  ``wlp`` is overwritten with ``r``.

    Returns
    -------
    resp : ndarray, shape (n, K)
    log_prob_norm : ndarray, shape (n,)
    """
    m = np.max(wlp, axis=1, keepdims=True)
    m[~np.isfinite(m)] = 0.0
    np.subtract(wlp, m, out=wlp)
    # responsibilities below ~1e-300 become exact zeros rather than subnormal numbers,
    # which would slow every later GEMM over them many times (and change no sum)
    wlp[wlp < _log_tiny(wlp.dtype)] = -np.inf
    with np.errstate(under="ignore"):
        np.exp(wlp, out=wlp)
    s = np.sum(wlp, axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        wlp /= s
        lpn = np.log(s[:, 0]) + m[:, 0]
    return wlp, lpn


def e_step(
    model: CovarianceModel,
    X: np.ndarray,
    w: np.ndarray,
    params: Params,
    rows: int,
    n_threads: int | None = None,
    shift: np.ndarray | None = None,
) -> Stats:
    """One pass over ``X``: statistics for the M-step and the log-likelihood.

    Parameters
    ----------
    model : CovarianceModel
    X : ndarray, shape (n, d)
        Centred data, or data that ``shift`` centres.
    w : ndarray, shape (n,)
        Sample weights.
    params : Params
        Current parameters (centred); their means are the statistics' reference.
    rows : int
        Chunk size.
    n_threads : int, optional
        Threads for the chunks (default: one per core; Dask blocks pass 1,
        their scheduler already runs blocks in parallel).
    shift : ndarray, shape (d,), optional
        Subtracted from each chunk as it is read (no centred copy of ``X``).

    Returns
    -------
    Stats
        Accumulated in float64 whatever the data's dtype.
    """
    n, d = X.shape
    unit = bool(np.all(w == 1))  # the common case: no weights to multiply in
    ref = model.reference(params.means, params.precisions_cholesky)
    slices = list(chunks(n, rows))

    def part(group: list[slice]) -> Stats:
        stats = _empty_stats(model, params.means.shape[0], d, ref)
        for sl in group:
            Xc, wc = centred(X, sl, shift), w[sl]
            feats = fast_features(model, Xc, ref)
            resp, lpn = responsibilities(weighted_log_prob(model, Xc, params, feats))
            stats.log_lik += float(wc @ lpn)
            _accumulate(stats, model, Xc, resp if unit else resp * wc[:, None], feats)
        return stats

    jobs = min(N_THREADS if n_threads is None else n_threads, len(slices))
    if jobs > 1:
        # chunks in parallel threads (numpy and BLAS release the GIL), BLAS itself
        # single-threaded meanwhile; the parts are summed in a fixed order, so the
        # result does not depend on scheduling
        groups = [slices[i::jobs] for i in range(jobs)]
        with single_threaded_blas(), ThreadPoolExecutor(jobs) as pool:
            parts = list(pool.map(part, groups))
        total = parts[0]
        for p in parts[1:]:
            total = total + p
    else:
        total = part(slices)
    total.weight = float(w.sum())
    return total


def stats_from_resp(
    model: CovarianceModel,
    X: np.ndarray,
    w: np.ndarray,
    resp: np.ndarray | Callable[[slice], np.ndarray],
    rows: int,
    shift: np.ndarray | None = None,
) -> Stats:
    """Statistics for given responsibilities (the initialisation's M-step).

    Two passes: the means first, then the second moments about them, since no
    earlier means exist to serve as reference.  ``resp`` is the (n, K) array,
    or a function giving the rows of a slice (called twice per slice, with
    equal results), so that no (n, K) array need exist; ``shift`` as in
    :func:`e_step`.
    """
    n, d = X.shape
    unit = bool(np.all(w == 1))
    rows_of = resp if callable(resp) else resp.__getitem__

    def weighted(sl: slice) -> np.ndarray:  # chunk by chunk: no second (n, K) array
        r = rows_of(sl)
        return r if unit else r * w[sl, None]

    nk: Any = 0.0
    sx: Any = 0.0
    for sl in chunks(n, rows):
        wr = weighted(sl)
        nk = nk + wr.sum(axis=0).astype(np.float64)
        sx = sx + (wr.T @ centred(X, sl, shift)).astype(np.float64)
    K = len(nk)
    ref = sx / (nk + 10 * np.finfo(X.dtype).eps)[:, None]
    stats = _empty_stats(model, K, d, ref)
    for sl in chunks(n, rows):
        _accumulate(stats, model, centred(X, sl, shift), weighted(sl))
    stats.weight = float(w.sum())
    return stats


def check_variances(model: CovarianceModel, cov: np.ndarray, var_floor: Any) -> None:
    """Raise scikit-learn's ill-defined-covariance error for collapsed components.

    ``var_floor`` (per feature) is the smallest variance the data's floating
    point resolution can express; anything at or below it is a component
    that collapsed onto a point, whatever rounding made of its zero.
    """
    if np.any(model.variances(cov) <= var_floor):
        raise ill_defined_error(cov.dtype)


def m_step(
    model: CovarianceModel,
    stats: Stats,
    reg_covar: float,
    dtype: Any,
    normalise_by_total: bool = False,
    frozen: Params | None = None,
    freeze: frozenset[str] = frozenset(),
    var_floor: Any = 0.0,
) -> Params:
    """Closed-form parameters from the statistics (scikit-learn's conventions).

    ``nk`` gets ``10·eps`` added, as in scikit-learn, so empty components do
    not divide by zero.  Weights are ``nk / Σ nk`` after an EM iteration and
    ``nk / Σ w`` for the initial M-step (``normalise_by_total``).  Parameters
    named in ``freeze`` keep their values from ``frozen``; the remaining ones
    are the M-step's maximisers given them.
    """
    eps = 10 * np.finfo(dtype).eps
    nk = stats.nk + eps
    means = stats.sx / nk[:, None]
    centre = means
    if "means" in freeze and frozen is not None:
        centre = frozen.means.astype(np.float64)
    weights = nk / (stats.weight if normalise_by_total else np.sum(nk))
    if "weights" in freeze and frozen is not None:
        weights = frozen.weights
    if "covariances" in freeze and frozen is not None:
        cov, prec_chol = frozen.covariances, frozen.precisions_cholesky
    else:
        cov = model.covariances(nk, means, stats.second, reg_covar, stats.ref, centre)
        cov = cov.astype(dtype)
        check_variances(model, cov, var_floor)
        prec_chol = model.precision_cholesky(cov)
    return Params(weights.astype(dtype), centre.astype(dtype), cov, prec_chol.astype(dtype))
