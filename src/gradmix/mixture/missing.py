"""EM with missing values (Ghahramani & Jordan 1994), on the executor seam.

Under missing-at-random a row's observed coordinates ``o`` carry all there
is: its E-step uses the marginal density N(x_o | μ_ko, Σ_koo), and its
M-step statistics are the conditional expectations given x_o under each
component,

    E[x_m] = μ_km + B_k (x_o - μ_ko),   B_k = Σ_kmo Σ_koo⁻¹,
    Cov[x_m] = C_k = Σ_kmm - B_k Σ_kom,

so with D = x̂ - μ_k (D_o = x_o - μ_ko, D_m = B_k D_o) the row adds r·D to
Σ r x and r·(D Dᵀ + C_k) to the second moment about μ_k.  A chunk groups its
incomplete rows by their pattern of missing entries, and each pattern's
conditional Gaussians are factored once per E-step (cached across chunks);
complete rows take the covariance family's ordinary kernels, so data
without NaN give exactly the ordinary fit.  The statistics end in the
family's own form (full, pooled, diagonal or trace), so every covariance
model's M-step applies unchanged.  Rows with no observed entry carry no
information and are left out of the fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gradmix.mixture.covariance.base import LOG_2PI
from gradmix.mixture.em import Params, Stats
from gradmix.mixture.executors import Chunk, Executor
from gradmix.mixture.executors.dask import is_dask
from gradmix.mixture.ops import impossible_as_minus_inf, logsumexp_rows, responsibilities

__all__ = [
    "MissingModel",
    "filled_with_centre",
    "impute_kernel",
    "missing_e_step",
    "missing_label_kernel",
    "missing_log_max_kernel",
    "missing_proba_kernel",
    "missing_per_row",
    "missing_score_kernel",
]


@dataclass
class _Pattern:
    """One pattern's conditional Gaussians, for all components at once."""

    obs: np.ndarray  # observed columns
    mis: np.ndarray  # missing columns
    U: np.ndarray  # (K, |o|, |o|) upper factors, U Uᵀ = Σ_oo⁻¹
    offset: np.ndarray  # (K,) log-weight + log|U| - |o|/2 log 2π
    B: np.ndarray  # (K, |m|, |o|) regression of the missing on the observed
    C: np.ndarray  # (K, |m|, |m|) conditional covariances


class MissingModel:
    """A covariance model's E-step for rows with NaN, for one set of parameters.

    Wraps the family's kernels (complete rows, coefficients ``co``) and the
    parameters as float64 matrices for the incomplete rows.  It is passed to
    the kernels as an argument; its pattern cache fills as chunks meet new
    patterns.
    """

    def __init__(self, model: Any, params: Params, co: Any):
        self.model, self.co = model, co
        K, d = params.means.shape
        self.means = np.asarray(params.means, dtype=np.float64)
        cov = np.asarray(params.covariances, dtype=np.float64)
        self.cov = np.asarray(model.to_matrices(cov, K, d), dtype=np.float64)
        self.log_weights = params.log_weight_terms()
        # filled as chunks meet new patterns (threads may both factor one: same result)
        self._patterns: dict[bytes, _Pattern] = {}

    def pattern(self, missing: np.ndarray) -> _Pattern:
        """The factored conditional Gaussians for rows missing ``missing`` (bool, (d,))."""
        key = missing.tobytes()
        found = self._patterns.get(key)
        if found is not None:
            return found
        obs, mis = np.flatnonzero(~missing), np.flatnonzero(missing)
        S = self.cov
        Soo = S[:, obs][:, :, obs]
        Som = S[:, obs][:, :, mis]
        L = np.linalg.cholesky(Soo)
        eye = np.broadcast_to(np.eye(len(obs)), Soo.shape)
        Linv = np.linalg.solve(L, eye)
        U = np.swapaxes(Linv, 1, 2)
        log_det = -np.sum(np.log(np.diagonal(L, axis1=1, axis2=2)), axis=1)
        # B = Σ_mo Σ_oo⁻¹ = (Σ_oo⁻¹ Σ_om)ᵀ, through the factor
        B = np.swapaxes(U @ (Linv @ Som), 1, 2)
        C = S[:, mis][:, :, mis] - B @ Som
        found = _Pattern(obs, mis, U, self.log_weights + log_det - 0.5 * len(obs) * LOG_2PI,
                         B, 0.5 * (C + np.swapaxes(C, 1, 2)))  # fmt: skip
        self._patterns[key] = found
        return found

    def deviations(self, Y: np.ndarray, p: _Pattern) -> np.ndarray:
        """x_o - μ_ko for every row and component, shape (n_p, K, |o|)."""
        return Y[:, None, :] - self.means[:, p.obs][None]


@dataclass
class _Rows:
    """A chunk's rows split by completeness, and its incomplete rows' patterns."""

    complete: np.ndarray  # bool (n,)
    groups: list[tuple[np.ndarray, np.ndarray]]  # (row indices, missing mask) per pattern
    empty: np.ndarray  # bool (n,): no observed entry


def _split(X: np.ndarray) -> _Rows:
    missing = np.isnan(X)
    incomplete = missing.any(axis=1)
    empty = missing.all(axis=1)
    rows = np.flatnonzero(incomplete & ~empty)
    groups = []
    if len(rows):
        patterns, inverse = np.unique(missing[rows], axis=0, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        bounds = np.searchsorted(inverse[order], np.arange(len(patterns) + 1))
        groups = [(rows[order[bounds[j] : bounds[j + 1]]], patterns[j])
                  for j in range(len(patterns))]  # fmt: skip
    return _Rows(~incomplete, groups, empty)


def _log_prob(X: np.ndarray, mm: MissingModel, rows: _Rows) -> tuple[np.ndarray, Any]:
    """log π_k + log N(x_o | k) of every row, (n, K) (log π_k for empty rows), and the
    complete rows' features (the family's, for their statistics)."""
    model, co = mm.model, mm.co
    n, K = X.shape[0], len(mm.log_weights)
    wlp = np.empty((n, K), dtype=X.dtype)
    F = None
    if rows.complete.any():
        Xc = X[rows.complete]
        F = model.features(np, Xc, co)
        wlp[rows.complete] = model.log_prob(np, Xc, co, F)
    for idx, missing in rows.groups:
        p = mm.pattern(missing)
        Z = np.einsum("nko,koq->nkq", mm.deviations(X[np.ix_(idx, p.obs)], p), p.U)
        wlp[idx] = -0.5 * np.einsum("nkq,nkq->nk", Z, Z) + p.offset
    wlp[rows.empty] = mm.log_weights
    return impossible_as_minus_inf(np, wlp), F


def _missing_e_step_kernel(chunk: Chunk, mm: MissingModel) -> tuple:
    X, model, co = chunk.X, mm.model, mm.co
    K, d = mm.means.shape
    rows = _split(X)
    wlp, F = _log_prob(X, mm, rows)
    resp, lpn = responsibilities(np, wlp)
    resp[rows.empty] = 0.0
    lpn[rows.empty] = 0.0
    w = np.ones(len(X)) if chunk.w is None else np.asarray(chunk.w, dtype=np.float64)
    wresp = resp * w[:, None].astype(resp.dtype)
    used = w @ ~rows.empty
    ll = w @ lpn
    # complete rows: the family's statistics
    c = rows.complete
    Xc, rc = X[c], wresp[c]
    if F is None:
        F = model.features(np, Xc, co)
    second = model.second_parts(np, Xc, rc, co, F)
    # incomplete rows: conditional expectations, about the current means
    nk_i, SD, SDD = np.zeros(K), np.zeros((K, d)), np.zeros((K, d, d))
    for idx, missing in rows.groups:
        p = mm.pattern(missing)
        r = wresp[idx].astype(np.float64)
        E = mm.deviations(X[np.ix_(idx, p.obs)].astype(np.float64), p)
        nk_p = r.sum(axis=0)
        SE = np.einsum("nk,nko->ko", r, E)
        G = np.einsum("nk,nko,nkq->koq", r, E, E)
        BG = p.B @ G
        o, m = p.obs, p.mis
        nk_i += nk_p
        SD[:, o] += SE
        SD[:, m] += np.einsum("kmo,ko->km", p.B, SE)
        SDD[np.ix_(np.arange(K), o, o)] += G
        SDD[np.ix_(np.arange(K), m, o)] += BG
        SDD[np.ix_(np.arange(K), o, m)] += np.swapaxes(BG, 1, 2)
        SDD[np.ix_(np.arange(K), m, m)] += BG @ np.swapaxes(p.B, 1, 2) + nk_p[:, None, None] * p.C
    return (rc.sum(axis=0), rc.T @ Xc, *second, ll, used, nk_i, SD, SDD)


def missing_e_step(ex: Executor, model: Any, params: Params) -> Stats:
    """:func:`~gradmix.mixture.em.e_step` for data with NaN entries.

    The log-likelihood is that of the observed entries; ``Stats.weight`` counts
    only rows with at least one observed entry.
    """
    ref = model.reference(params.means, params.precisions_cholesky)
    co = model.coefficients(params, ref, ex.put)
    mm = MissingModel(model, params, co)
    nk_c, sx_c, *parts = ex.map_reduce(_missing_e_step_kernel, mm)
    parts, (ll, used, nk_i, SD, SDD) = parts[:-5], parts[-5:]
    K, d = mm.means.shape
    # move the incomplete rows' moments from the means to the reference points
    a = mm.means - ref
    outer = a[:, :, None] * SD[:, None, :]
    S = SDD + outer + np.swapaxes(outer, 1, 2) + nk_i[:, None, None] * (a[:, :, None] * a[:, None])
    incomplete = np.reshape(model.scatter_from_matrices(S), model.second_shape(K, d))
    second = model.assemble(tuple(parts), co) + incomplete
    sx = sx_c + nk_i[:, None] * mm.means + SD
    return Stats(nk_c + nk_i, sx, second, ref, float(used), float(ll))


# ------------------------------------------------------------------------- prediction
def missing_per_row(ex: Executor, model: Any, params: Params, kernel: Any,
                    cols: int | None = None, dtype: Any = None) -> Any:  # fmt: skip
    """:func:`~gradmix.mixture.em.per_row` for rows that may hold NaN: ``kernel(chunk, mm)``."""
    ref = model.reference(params.means, params.precisions_cholesky)
    mm = MissingModel(model, params, model.coefficients(params, ref, ex.put))
    return ex.map_rows(kernel, mm, cols=cols, dtype=dtype)


def _rows_log_prob(chunk: Chunk, mm: MissingModel) -> np.ndarray:
    return _log_prob(chunk.X, mm, _split(chunk.X))[0]


def missing_label_kernel(chunk: Chunk, mm: MissingModel) -> Any:
    """The most probable component from each row's observed entries, (n,)."""
    return np.argmax(_rows_log_prob(chunk, mm), axis=1)


def missing_score_kernel(chunk: Chunk, mm: MissingModel) -> Any:
    """log p(x_o) of each row (0 for a row with nothing observed), (n,)."""
    return logsumexp_rows(np, _rows_log_prob(chunk, mm))


def missing_log_max_kernel(chunk: Chunk, mm: MissingModel) -> Any:
    """log max_k r_ik given each row's observed entries, (n,)."""
    wlp = _rows_log_prob(chunk, mm)
    return np.max(wlp, axis=1) - logsumexp_rows(np, wlp)


def missing_proba_kernel(chunk: Chunk, mm: MissingModel) -> Any:
    """Responsibilities given each row's observed entries, (n, K)."""
    return responsibilities(np, _rows_log_prob(chunk, mm))[0]


def impute_kernel(chunk: Chunk, mm: MissingModel) -> Any:
    """Rows with their missing entries replaced by E[x_m | x_o] under the mixture (centred)."""
    X = chunk.X
    rows = _split(X)
    resp = responsibilities(np, _log_prob(X, mm, rows)[0])[0].astype(np.float64)
    out = np.array(X, dtype=np.float64)
    for idx, missing in rows.groups:
        p = mm.pattern(missing)
        E = mm.deviations(X[np.ix_(idx, p.obs)].astype(np.float64), p)
        # Σ_k r_k (μ_km + B_k (x_o - μ_ko))
        cond = mm.means[:, p.mis][None] + np.einsum("kmo,nko->nkm", p.B, E)
        out[np.ix_(idx, p.mis)] = np.einsum("nk,nkm->nm", resp[idx], cond)
    if rows.empty.any():
        out[rows.empty] = resp[rows.empty] @ mm.means
    return out.astype(X.dtype)


def filled_with_centre(X: Any, centre: np.ndarray) -> Any:
    """``X`` with NaN entries replaced by the column centres (a start for EM), numpy or Dask."""
    if is_dask(X):
        import dask.array as da

        return da.where(da.isnan(X), centre.astype(X.dtype), X)
    return np.where(np.isnan(X), centre.astype(X.dtype), X)
