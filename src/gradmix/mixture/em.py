"""The one EM loop: an E-step to sufficient statistics, the model's M-step from them.

The E-step is a kernel the executor maps over row chunks (numpy chunks in
threads, GPU chunks, Dask blocks): each chunk's log-densities (the component
family's, on the covariance unit's distances), responsibilities (with a
uniform noise component where there is one) and statistics — Σ w r,
Σ w r x, the covariance unit's second moment, Σ w log p(x), and what the
family adds (Student-t: the latent scales' weights) — are summed, never all
responsibilities at once.  The M-step is the covariance unit's estimate from
those sums, then the family's own step, in float64 on the host
(:mod:`.maximisation`).  The same loop serves every covariance model, both
component families and every kind of data, and k-means is its
hard-assignment limit (:mod:`.lloyd`).

All parameters here are *centred*: the executor subtracts its centre from
every row, and the estimators add it back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from array_api_compat import device

from gradmix.mixture.acceleration import MixtureCoordinates, run_squarem
from gradmix.mixture.components import ComponentFamily, PassCoefficients
from gradmix.mixture.conjugate_prior import ConjugatePrior
from gradmix.mixture.covariance import FULL, Coefficients, CovarianceModel
from gradmix.mixture.executors import Chunk, Executor
from gradmix.mixture.executors.host import HostExecutor, single_threaded_blas
from gradmix.mixture.maximisation import m_step
from gradmix.mixture.ops import responsibilities_with
from gradmix.mixture.params import Params, Stats

__all__ = [
    "EMSettings",
    "EStep",
    "em_step",
    "OneHot",
    "data_moments",
    "e_step",
    "iterate",
    "per_row",
    "run_em",
    "stats_from_labels",
    "stats_from_source",
    "weighted_log_prob",
]


# ------------------------------------------------------------------------------ kernels
def _weighted(chunk: Chunk, resp: Any) -> Any:
    return resp if chunk.w is None else resp * chunk.w[:, None]


def _row_sum(chunk: Chunk, values: Any) -> Any:
    return chunk.xp.sum(values) if chunk.w is None else chunk.w @ values


def _e_step_kernel(chunk: Chunk, family: ComponentFamily, co: PassCoefficients) -> tuple:
    xp, X = chunk.xp, chunk.X
    rows = family.row_terms(xp, X, co)
    resp, lpn, noise = responsibilities_with(xp, rows.wlp, co.noise)
    noise_sum = 0.0 if noise is None else _row_sum(chunk, noise)
    return (_row_sum(chunk, lpn), noise_sum,
            *family.row_statistics(xp, X, _weighted(chunk, resp), co, rows))  # fmt: skip


def _weighted_log_prob_kernel(chunk: Chunk, family: ComponentFamily, co: PassCoefficients) -> Any:
    return family.log_prob(chunk.xp, chunk.X, co)


def e_step(ex: Executor, family: ComponentFamily, params: Params) -> Stats:
    """One pass over the data: statistics for the M-step and the log-likelihood.

    The statistics are taken about the covariance unit's reference points
    for ``params`` (the global centre, or a component's own mean where the
    fast formula would lose digits) and accumulated in float64 whatever the
    data's dtype.
    """
    co = family.coefficients(params, ex.put)
    ll, noise, *sums = ex.map_reduce(_e_step_kernel, family, co)
    stats = family.collect(tuple(sums), co)
    stats.weight, stats.log_lik = ex.total_weight, float(ll)
    stats.noise = None if co.noise is None else float(noise)
    return stats


def per_row(ex: Executor, family: ComponentFamily, params: Params, kernel: Callable[..., Any],
            cols: int | None = None, dtype: Any = None) -> Any:  # fmt: skip
    """``kernel(chunk, family, coefficients)`` of every row for ``params``, in the data's kind."""
    return ex.map_rows(kernel, family, family.coefficients(params, ex.put), cols=cols,
                       dtype=dtype)  # fmt: skip


def weighted_log_prob(ex: Executor, family: ComponentFamily, params: Params) -> Any:
    """log π_k + log f_k(x) of every row, shape (n, K), in the data's kind."""
    return per_row(ex, family, params, _weighted_log_prob_kernel, cols=len(params.weights))


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


def _second_kernel(chunk: Chunk, source: Callable[..., Any], K: int, unit: CovarianceModel,
                   co: Coefficients) -> tuple:  # fmt: skip
    xp = chunk.xp
    wr = _weighted(chunk, source(chunk, K))
    return unit.second_parts(xp, chunk.X, wr, co, unit.features(xp, chunk.X, co))


def stats_from_source(ex: Executor, unit: CovarianceModel, source: Callable[..., Any], K: int,
                      aligned: tuple[Any, ...] = ()) -> Stats:  # fmt: skip
    """Statistics for responsibilities given per chunk by ``source(chunk, K)``.

    Two passes: the means first, then the second moments about them (no
    earlier means exist to serve as reference), so no (n, K) array exists.
    """
    nk, sx = ex.map_reduce(_first_kernel, source, K, aligned=aligned)
    ref = sx / (nk + 10 * np.finfo(ex.dtype).eps)[:, None]
    co = unit.coefficients(ref, ex.put)
    parts = ex.map_reduce(_second_kernel, source, K, unit, co, aligned=aligned)
    return Stats(nk, sx, unit.assemble(tuple(parts), co), ref, ex.total_weight)


def stats_from_labels(unit: CovarianceModel, X: np.ndarray, w: np.ndarray, labels: np.ndarray,
                      K: int, total_weight: float) -> Stats:  # fmt: skip
    """Statistics of a few host rows (picked points, a sample) with hard labels.

    ``total_weight`` is the whole data set's, so the initial weights are the
    labelled rows' share of it.
    """
    rows = HostExecutor(X, w, max(len(X), 1), np.zeros(X.shape[1]), n_threads=1,
                        summarise_data=False, one_pass=True)  # fmt: skip
    rows.total_weight = total_weight
    return stats_from_source(rows, unit, OneHot(), K, aligned=(labels,))


class _Everyone:
    """Responsibility one for every row, one component: statistics of the whole data."""

    def __call__(self, chunk: Chunk, K: int) -> Any:
        xp = chunk.xp
        return xp.ones((chunk.X.shape[0], 1), dtype=chunk.X.dtype, device=device(chunk.X))


def data_moments(ex: Executor) -> tuple[np.ndarray, np.ndarray]:
    """The (weighted) mean of the data, centred, shape (d,), and their sample
    covariance, (d, d), with ``n - 1`` in the denominator (numpy's ``cov``;
    integer weights count as repeated rows).

    Raises
    ------
    ValueError
        When the weights sum to at most 1 (the covariance is undefined).
    """
    stats = stats_from_source(ex, FULL, _Everyone(), 1)
    nk = stats.nk
    if float(nk[0]) <= 1.0:
        raise ValueError(
            "the sample weights sum to at most 1: the data's covariance (the default "
            "covariance_prior) is undefined; pass covariance_prior"
        )
    mean = stats.sx / nk[:, None]
    cov = FULL.scatter(nk, mean, stats.second, stats.ref, mean)[0] / (float(nk[0]) - 1.0)
    return mean[0], cov


# ------------------------------------------------------------------------------ the loop
@dataclass
class EMSettings:
    """What one run of EM iterations needs besides the data and the start."""

    reg_covar: float
    tol: float
    max_iter: int
    freeze: frozenset[str] = frozenset()
    on_iteration: Callable[[int, float, float], None] | None = None  # (n_iter, bound, change)
    prior: ConjugatePrior | None = None  # the posterior mode (MAP) instead of the MLE
    # mclust's criterion, |ΔL| / (1 + |L|) for the total L = total_weight × the mean
    total_weight: float | None = None
    acceleration: str | None = None  # "squarem" (gradmix.mixture.acceleration) or plain EM

    def converged(self, previous: float, bound: float) -> bool:
        """Whether a step from a point whose objective was ``previous`` to one whose
        objective is ``bound`` is below the tolerance."""
        change = abs(bound - previous)
        if self.total_weight is not None:
            change *= self.total_weight / (1.0 + self.total_weight * abs(bound))
        return change < self.tol


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
            if settings.converged(previous_bound, lower_bound):
                return state, trajectory, True
    return state, trajectory, False


#: an E-step: the statistics of the data under parameters (e_step, or missing values')
EStep = Callable[[Executor, ComponentFamily, Params], Stats]


def em_step(
    ex: Executor,
    family: ComponentFamily,
    params: Params,
    settings: EMSettings,
    start: Params | None = None,
    estep: EStep = e_step,
) -> tuple[Params, Stats]:
    """One EM iteration from ``params``: the E-step's statistics and the new parameters
    (the covariance unit's M-step, then the family's step for its shape parameters)."""
    stats = estep(ex, family, params)
    previous = None if params.covariances is None else \
        np.asarray(params.covariances, dtype=np.float64)  # fmt: skip
    new = m_step(family.unit, stats, settings.reg_covar, ex.dtype, frozen=start,
                 freeze=settings.freeze, var_floor=ex.var_floor, previous=previous,
                 prior=settings.prior)  # fmt: skip
    family.shape_step(stats, params, new)
    new.noise_log_density = params.noise_log_density
    return new, stats


def run_em(ex: Executor, family: ComponentFamily, params: Params, settings: EMSettings,
           lower_bound: float = -np.inf, estep: EStep = e_step,
           ) -> tuple[Params, list[float], bool]:  # fmt: skip
    """EM iterations from ``params`` until the mean log-likelihood changes by less than tol.

    ``estep`` is :func:`e_step` or another pass with its signature (missing values).

    Returns
    -------
    params : Params
    trajectory : list of float
        The mean log-likelihood after every iteration (of the parameters the
        iteration started from, as scikit-learn reports it); with a prior, the
        mean of log-likelihood plus log prior, which EM increases.
    converged : bool
    """
    start = params.copy()

    prior = settings.prior

    def step(params: Params) -> tuple[Params, float]:
        new, stats = em_step(ex, family, params, settings, start, estep)
        objective = stats.log_lik
        if prior is not None:
            cov = params.covariances
            if cov is None:  # a start from given precisions
                cov = family.unit.covariances_from_cholesky(
                    np.asarray(params.precisions_cholesky, np.float64)
                )
            objective += prior.log_density(family.unit, np.asarray(params.means, np.float64),
                                           cov)  # fmt: skip
        return new, objective / stats.weight

    if settings.acceleration == "squarem":
        coordinates = MixtureCoordinates(family, ex.total_weight, settings.reg_covar)
        return run_squarem(step, params, settings, coordinates, lower_bound)
    return iterate(step, params, settings, lower_bound)
