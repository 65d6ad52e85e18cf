"""The one EM loop: an E-step to sufficient statistics, the model's M-step from them.

The E-step is a kernel the executor maps over row chunks (numpy chunks in
threads, GPU chunks, Dask blocks): each chunk's log-densities,
responsibilities and statistics — Σ w r, Σ w r x, the covariance family's
second moment, Σ w log p(x) — are summed, never all responsibilities at once.
The M-step is the covariance model's estimate from those sums, in float64 on
the host.  The same loop serves every covariance model and every kind of
data, and k-means is its hard-assignment limit (:mod:`.lloyd`).

All parameters here are *centred*: the executor subtracts its centre from
every row, and the estimators add it back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from array_api_compat import device

from gradmix.mixture.covariance import ill_defined_error
from gradmix.mixture.executors import Chunk, Executor
from gradmix.mixture.executors.host import HostExecutor, single_threaded_blas
from gradmix.mixture.ops import responsibilities

__all__ = [
    "Params",
    "Stats",
    "check_variances",
    "e_step",
    "iterate",
    "m_step",
    "per_row",
    "run_em",
    "stats_from_labels",
    "stats_from_source",
    "weighted_log_prob",
]


@dataclass
class Params:
    """Mixture parameters in centred coordinates, covariances in the model's compact form."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray | None
    precisions_cholesky: np.ndarray
    #: per-component terms that replace log(weights) in the E-step (variational
    #: inference's expected log-weights and Wishart corrections), when given
    log_weights: np.ndarray | None = None

    def copy(self) -> Params:
        return Params(
            self.weights.copy(),
            self.means.copy(),
            None if self.covariances is None else self.covariances.copy(),
            self.precisions_cholesky.copy(),
            None if self.log_weights is None else self.log_weights.copy(),
        )

    def log_weight_terms(self) -> np.ndarray:
        """log π_k, or the terms given in its place, float64 (log 0 = -inf)."""
        if self.log_weights is not None:
            return np.asarray(self.log_weights, dtype=np.float64)
        with np.errstate(divide="ignore"):
            return np.log(np.asarray(self.weights, dtype=np.float64))


@dataclass
class Stats:
    """Sufficient statistics of (weighted) data under given responsibilities."""

    nk: np.ndarray  # (K,) Σ w r
    sx: np.ndarray  # (K, d) Σ w r x
    second: np.ndarray  # the covariance family's second moment, taken about `ref`
    ref: np.ndarray  # (K, d) reference points of `second`
    weight: float = 0.0  # Σ w
    log_lik: float = 0.0  # Σ w log p(x)


# ------------------------------------------------------------------------------ kernels
def _weighted(chunk: Chunk, resp: Any) -> Any:
    return resp if chunk.w is None else resp * chunk.w[:, None]


def _e_step_kernel(chunk: Chunk, model: Any, co: Any) -> tuple:
    xp, X = chunk.xp, chunk.X
    F = model.features(xp, X, co)
    resp, lpn = responsibilities(xp, model.log_prob(xp, X, co, F))
    ll = xp.sum(lpn) if chunk.w is None else chunk.w @ lpn
    wresp = _weighted(chunk, resp)
    return (xp.sum(wresp, axis=0), xp.permute_dims(wresp, (1, 0)) @ X,
            *model.second_parts(xp, X, wresp, co, F), ll)  # fmt: skip


def _weighted_log_prob_kernel(chunk: Chunk, model: Any, co: Any) -> Any:
    return model.log_prob(chunk.xp, chunk.X, co, model.features(chunk.xp, chunk.X, co))


def e_step(ex: Executor, model: Any, params: Params) -> Stats:
    """One pass over the data: statistics for the M-step and the log-likelihood.

    The statistics are taken about the model's reference points for
    ``params`` (the global centre, or a component's own mean where the fast
    formula would lose digits) and accumulated in float64 whatever the
    data's dtype.
    """
    ref = model.reference(params.means, params.precisions_cholesky)
    co = model.coefficients(params, ref, ex.put)
    nk, sx, *second, ll = ex.map_reduce(_e_step_kernel, model, co)
    return Stats(nk, sx, model.assemble(tuple(second), co), ref, ex.total_weight, float(ll))


def per_row(ex: Executor, model: Any, params: Params, kernel: Callable[..., Any],
            cols: int | None = None, dtype: Any = None) -> Any:  # fmt: skip
    """``kernel(chunk, model, coefficients)`` of every row for ``params``, in the data's kind."""
    co = model.coefficients(params, model.reference(params.means, params.precisions_cholesky),
                            ex.put)  # fmt: skip
    return ex.map_rows(kernel, model, co, cols=cols, dtype=dtype)


def weighted_log_prob(ex: Executor, model: Any, params: Params) -> Any:
    """log π_k + log N(x | μ_k, Σ_k) of every row, shape (n, K), in the data's kind."""
    return per_row(ex, model, params, _weighted_log_prob_kernel, cols=len(params.weights))


# -------------------------------------------------------- statistics of given responsibilities
class OneHot:
    """Responsibilities from row-aligned labels (the first aligned input)."""

    def __call__(self, chunk: Chunk, K: int) -> Any:
        xp = chunk.xp
        ids = xp.arange(K, device=device(chunk.X))
        labels = xp.astype(chunk.aligned[0], ids.dtype)
        return xp.astype(labels[:, None] == ids[None, :], chunk.X.dtype)


def _first_kernel(chunk: Chunk, source: Callable[..., Any], K: int) -> tuple:
    xp = chunk.xp
    wr = _weighted(chunk, source(chunk, K))
    return xp.sum(wr, axis=0), xp.permute_dims(wr, (1, 0)) @ chunk.X


def _second_kernel(chunk: Chunk, source: Callable[..., Any], K: int, model: Any, co: Any) -> tuple:
    xp = chunk.xp
    wr = _weighted(chunk, source(chunk, K))
    return model.second_parts(xp, chunk.X, wr, co, model.features(xp, chunk.X, co))


def stats_from_source(ex: Executor, model: Any, source: Callable[..., Any], K: int,
                      aligned: tuple[Any, ...] = ()) -> Stats:  # fmt: skip
    """Statistics for responsibilities given per chunk by ``source(chunk, K)``.

    Two passes: the means first, then the second moments about them (no
    earlier means exist to serve as reference), so no (n, K) array exists.
    """
    nk, sx = ex.map_reduce(_first_kernel, source, K, aligned=aligned)
    ref = sx / (nk + 10 * np.finfo(ex.dtype).eps)[:, None]
    co = model.coefficients(None, ref, ex.put)
    parts = ex.map_reduce(_second_kernel, source, K, model, co, aligned=aligned)
    return Stats(nk, sx, model.assemble(tuple(parts), co), ref, ex.total_weight)


def stats_from_labels(model: Any, X: np.ndarray, w: np.ndarray, labels: np.ndarray, K: int,
                      total_weight: float) -> Stats:  # fmt: skip
    """Statistics of a few host rows (picked points, a sample) with hard labels.

    ``total_weight`` is the whole data set's, so the initial weights are the
    labelled rows' share of it.
    """
    rows = HostExecutor(X, w, max(len(X), 1), np.zeros(X.shape[1]), n_threads=1,
                        summarise_data=False)  # fmt: skip
    rows.total_weight = total_weight
    return stats_from_source(rows, model, OneHot(), K, aligned=(labels,))


# ------------------------------------------------------------------------------ M-step
def check_variances(model: Any, cov: Any, var_floor: Any) -> None:
    """Raise scikit-learn's ill-defined-covariance error for collapsed components.

    ``var_floor`` (per feature) is the smallest variance the data's floating
    point resolution can express; anything at or below it is a component
    that collapsed onto a point, whatever rounding made of its zero.
    """
    if not np.all(np.isfinite(cov)) or np.any(model.variances(cov) <= var_floor):
        raise ill_defined_error(cov.dtype)


def m_step(
    model: Any,
    stats: Stats,
    reg_covar: float,
    dtype: Any,
    *,
    normalise_by_total: bool = False,
    frozen: Params | None = None,
    freeze: frozenset[str] = frozenset(),
    var_floor: Any = 0.0,
    previous: np.ndarray | None = None,
    covariances: bool = True,
) -> Params:
    """Parameters from the statistics (scikit-learn's conventions).

    ``nk`` gets ``10·eps`` added, as in scikit-learn, so empty components do
    not divide by zero.  Weights are ``nk / Σ nk`` after an EM iteration and
    ``nk / Σ w`` for the initial M-step (``normalise_by_total``).  The
    covariances are the model's estimate from the scatter about the means
    with ``n_k·reg_covar`` added to its diagonal (for scikit-learn's four
    models: ``reg_covar`` on the covariances' diagonal).  Parameters named in
    ``freeze`` keep their values from ``frozen``; the others maximise the
    expected complete-data log-likelihood given them.  ``previous``
    covariances are where iterative M-steps start; ``covariances=False``
    skips them (given by the user).
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
    elif not covariances:
        cov, prec_chol = None, np.empty(0)
    else:
        d = means.shape[1]
        W = model.ridge(model.scatter(nk, means, stats.second, stats.ref, centre), nk, reg_covar, d)
        cov = model.estimate(W, nk, d, previous).astype(dtype)
        check_variances(model, cov, var_floor)
        prec_chol = model.precision_cholesky(cov)
    return Params(weights.astype(dtype), centre.astype(dtype), cov,
                  np.asarray(prec_chol).astype(dtype))  # fmt: skip


# ------------------------------------------------------------------------------ the loop
@dataclass
class EMSettings:
    """What one run of EM iterations needs besides the data and the start."""

    reg_covar: float
    tol: float
    max_iter: int
    freeze: frozenset[str] = frozenset()
    on_iteration: Callable[[int, float, float], None] | None = None  # (n_iter, bound, change)


def iterate(step: Callable[[Any], tuple[Any, float]], state: Any, settings: EMSettings,
            lower_bound: float = -np.inf) -> tuple[Any, list[float], bool]:  # fmt: skip
    """``state, bound = step(state)`` until the bound changes by less than ``settings.tol``.

    Returns the last state, the bounds of every iteration and whether they converged
    (scikit-learn's loop, shared by EM and variational inference).
    """
    trajectory: list[float] = []
    # BLAS stays single-threaded between passes too: the M-step's small products gain
    # nothing from threads, and OpenBLAS's threads, once woken, spin for a while and
    # take the cores from the next pass's workers (measured: +20-30 ms per tied pass)
    with single_threaded_blas():
        for n_iter in range(1, settings.max_iter + 1):
            previous_bound = lower_bound
            state, lower_bound = step(state)
            trajectory.append(lower_bound)
            if settings.on_iteration is not None:
                settings.on_iteration(n_iter, lower_bound, lower_bound - previous_bound)
            if abs(lower_bound - previous_bound) < settings.tol:
                return state, trajectory, True
    return state, trajectory, False


def run_em(ex: Executor, model: Any, params: Params, settings: EMSettings,
           lower_bound: float = -np.inf,
           estep: Callable[[Executor, Any, Params], Stats] = e_step,
           ) -> tuple[Params, list[float], bool]:  # fmt: skip
    """EM iterations from ``params`` until the mean log-likelihood changes by less than tol.

    ``estep`` is :func:`e_step` or another pass with its signature (missing values).

    Returns
    -------
    params : Params
    trajectory : list of float
        The mean log-likelihood after every iteration (of the parameters the
        iteration started from, as scikit-learn reports it).
    converged : bool
    """
    start = params.copy()

    def step(params: Params) -> tuple[Params, float]:
        stats = estep(ex, model, params)
        previous = None if params.covariances is None else \
            np.asarray(params.covariances, dtype=np.float64)  # fmt: skip
        params = m_step(
            model,
            stats,
            settings.reg_covar,
            ex.dtype,
            frozen=start,
            freeze=settings.freeze,
            var_floor=ex.var_floor,
            previous=previous,
        )
        return params, stats.log_lik / stats.weight

    return iterate(step, params, settings, lower_bound)
