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

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradmix.mixture.components import ComponentFamily, PassCoefficients, Radial, RowTerms
from gradmix.mixture.em import EStep, per_row
from gradmix.mixture.executors import Chunk, Executor
from gradmix.mixture.mixture_base import (
    label_kernel,
    log_max_kernel,
    proba_kernel,
    scale_kernel,
    score_kernel,
)
from gradmix.mixture.ops import impossible_as_minus_inf, logsumexp_rows, responsibilities
from gradmix.mixture.params import Params, Stats

__all__ = [
    "MISSING_KERNELS",
    "fit_route",
    "rows_of",
    "MissingModel",
    "impute_kernel",
    "missing_e_step",
    "missing_label_kernel",
    "missing_log_max_kernel",
    "missing_proba_kernel",
    "missing_scale_kernel",
    "missing_per_row",
    "missing_score_kernel",
]


def _on_host(a: Any, dtype: Any = None) -> np.ndarray:
    return np.asarray(a, dtype=np.float64 if dtype is None else dtype)


@dataclass
class _Pattern:
    """One pattern's conditional distributions, for all components at once."""

    obs: np.ndarray  # observed columns
    mis: np.ndarray  # missing columns
    U: np.ndarray  # (K, |o|, |o|) upper factors, U Uᵀ = Σ_oo⁻¹
    offset: np.ndarray  # (K,) log-weight + log|U| + the family's c_k(|o|)
    B: np.ndarray  # (K, |m|, |o|) regression of the missing on the observed
    C: np.ndarray  # (K, |m|, |m|) conditional (scale) covariances
    radial: Radial  # the family's radial coefficients for |o| dimensions (host)


class MissingModel:
    """A component family's E-step for rows with NaN, for one set of parameters.

    Wraps the family's kernels (complete rows, coefficients ``co``) and the
    parameters as float64 matrices for the incomplete rows: the marginal of
    an elliptical family over the observed coordinates is the same family
    with the observed block of the scale matrix (and, for Student-t, the same
    degrees of freedom).  It is passed to the kernels as an argument; its
    pattern cache fills as chunks meet new patterns.
    """

    def __init__(self, family: ComponentFamily, params: Params, co: PassCoefficients):
        self.family, self.params, self.co = family, params, co
        K, d = params.means.shape
        self.means = np.asarray(params.means, dtype=np.float64)
        cov = np.asarray(params.covariances, dtype=np.float64)
        self.cov = np.asarray(family.unit.to_matrices(cov, K, d), dtype=np.float64)
        self.log_weights = params.log_weight_terms()
        # filled as chunks meet new patterns (threads may both factor one: same result)
        self._patterns: dict[bytes, _Pattern] = {}

    def pattern(self, missing: np.ndarray) -> _Pattern:
        """The factored conditional distributions for rows missing ``missing`` (bool, (d,))."""
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
        rad = self.family.radial(self.params, len(obs), _on_host)
        found = _Pattern(obs, mis, U, self.log_weights + log_det + rad.log_norm, B,
                         0.5 * (C + np.swapaxes(C, 1, 2)), rad)  # fmt: skip
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


def _log_prob(X: np.ndarray, mm: MissingModel,
              rows: _Rows) -> tuple[np.ndarray, RowTerms, list[Any]]:  # fmt: skip
    """log π_k + log f_k(x_o) of every row, (n, K) (log π_k for empty rows); the complete
    rows' terms (for their statistics); each pattern's radial state (for its scales)."""
    family = mm.family
    n, K = X.shape[0], len(mm.log_weights)
    wlp = np.empty((n, K), dtype=X.dtype)
    terms = family.row_terms(np, X[rows.complete], mm.co)
    wlp[rows.complete] = terms.wlp
    states = []
    for idx, missing in rows.groups:
        p = mm.pattern(missing)
        Z = np.einsum("nko,koq->nkq", mm.deviations(X[np.ix_(idx, p.obs)], p), p.U)
        g, state = family.radial_terms(np, np.einsum("nkq,nkq->nk", Z, Z), p.radial)
        wlp[idx] = g + p.offset
        states.append(state)
    wlp[rows.empty] = mm.log_weights
    return impossible_as_minus_inf(np, wlp), terms, states


def _missing_e_step_kernel(chunk: Chunk, mm: MissingModel) -> tuple:
    X, family = chunk.X, mm.family
    K, d = mm.means.shape
    rows = _split(X)
    wlp, terms, states = _log_prob(X, mm, rows)
    resp, lpn = responsibilities(np, wlp)
    resp[rows.empty] = 0.0
    lpn[rows.empty] = 0.0
    w = np.ones(len(X)) if chunk.w is None else np.asarray(chunk.w, dtype=np.float64)
    wresp = resp * w[:, None].astype(resp.dtype)
    used = w @ ~rows.empty
    ll = w @ lpn
    # complete rows: the family's statistics
    c = rows.complete
    complete = family.row_statistics(np, X[c], wresp[c], mm.co, terms)
    # incomplete rows: conditional expectations, about the current means; the location
    # and scale statistics weighted by r·u (u the latent scale: 1 for Gaussians)
    nk_i, snk_i, shape_i = np.zeros(K), np.zeros(K), np.zeros(K)
    SD, SDD = np.zeros((K, d)), np.zeros((K, d, d))
    for (idx, missing), state in zip(rows.groups, states, strict=True):
        p = mm.pattern(missing)
        r = wresp[idx].astype(np.float64)
        ru = r
        scales = family.scales(np, state, p.radial)
        if scales is not None:
            u, log_u = scales
            ru = r * u
            assert p.radial.shape_offset is not None
            shape_i += np.sum(r * (log_u - u), axis=0) + r.sum(axis=0) * p.radial.shape_offset
        E = mm.deviations(X[np.ix_(idx, p.obs)].astype(np.float64), p)
        nk_p = r.sum(axis=0)
        SE = np.einsum("nk,nko->ko", ru, E)
        G = np.einsum("nk,nko,nkq->koq", ru, E, E)
        BG = p.B @ G
        o, m = p.obs, p.mis
        nk_i += nk_p
        snk_i += ru.sum(axis=0)
        SD[:, o] += SE
        SD[:, m] += np.einsum("kmo,ko->km", p.B, SE)
        SDD[np.ix_(np.arange(K), o, o)] += G
        SDD[np.ix_(np.arange(K), m, o)] += BG
        SDD[np.ix_(np.arange(K), o, m)] += np.swapaxes(BG, 1, 2)
        # E[τ (x_m - μ_m)(x_m - μ_m)ᵀ] = u D_m D_mᵀ + C: the conditional part unweighted
        SDD[np.ix_(np.arange(K), m, m)] += BG @ np.swapaxes(p.B, 1, 2) + nk_p[:, None, None] * p.C
    return (ll, used, *complete, nk_i, snk_i, SD, SDD, shape_i)


def missing_e_step(ex: Executor, family: ComponentFamily, params: Params) -> Stats:
    """:func:`~gradmix.mixture.em.e_step` for data with NaN entries.

    The log-likelihood is that of the observed entries; ``Stats.weight`` counts
    only rows with at least one observed entry.
    """
    co = family.coefficients(params, ex.put)
    mm = MissingModel(family, params, co)
    ll, used, *parts = ex.map_reduce(_missing_e_step_kernel, mm)
    parts, (nk_i, snk_i, SD, SDD, shape_i) = parts[:-5], parts[-5:]
    stats = family.collect(tuple(parts), co)
    unit, ref = family.unit, co.ref
    K, d = mm.means.shape
    # move the incomplete rows' moments from the means to the reference points
    a = mm.means - ref
    outer = a[:, :, None] * SD[:, None, :]
    S = SDD + outer + np.swapaxes(outer, 1, 2) + snk_i[:, None, None] * (a[:, :, None] * a[:, None])
    stats.second = stats.second + np.reshape(unit.scatter_from_matrices(S), unit.second_shape(K, d))
    stats.sx = stats.sx + snk_i[:, None] * mm.means + SD
    stats.nk = stats.nk + nk_i
    if stats.scale_nk is not None and stats.shape_stat is not None:
        stats.scale_nk = stats.scale_nk + snk_i
        stats.shape_stat = stats.shape_stat + shape_i
    stats.weight, stats.log_lik = float(used), float(ll)
    return stats


# ------------------------------------------------------------------------- prediction
def missing_per_row(ex: Executor, family: ComponentFamily, params: Params, kernel: Any,
                    cols: int | None = None, dtype: Any = None) -> Any:  # fmt: skip
    """:func:`~gradmix.mixture.em.per_row` for rows that may hold NaN: ``kernel(chunk, mm)``."""
    mm = MissingModel(family, params, family.coefficients(params, ex.put))
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


def missing_scale_kernel(chunk: Chunk, mm: MissingModel) -> Any:
    """Σ_k r_k E[τ | x_o, k] of each row given its observed entries, (n,)."""
    X, family = chunk.X, mm.family
    rows = _split(X)
    wlp, terms, states = _log_prob(X, mm, rows)
    resp = responsibilities(np, wlp)[0].astype(np.float64)
    u = np.ones_like(resp)
    complete = family.scales(np, terms.radial, mm.co.radial)
    if complete is not None:
        u[rows.complete] = complete[0]
        for (idx, missing), state in zip(rows.groups, states, strict=True):
            scales = family.scales(np, state, mm.pattern(missing).radial)
            assert scales is not None
            u[idx] = scales[0]
    return np.sum(resp * u, axis=1)


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


#: the prediction kernels' counterparts for rows with missing entries
MISSING_KERNELS = {label_kernel: missing_label_kernel, proba_kernel: missing_proba_kernel,
                   score_kernel: missing_score_kernel, scale_kernel: missing_scale_kernel,
                   log_max_kernel: missing_log_max_kernel}  # fmt: skip


def fit_route(ex: Executor, restart: Callable[[Any], Executor], options: dict[str, bool],
              ) -> tuple[Executor, EStep]:  # fmt: skip
    """How a fit runs on data with NaN: the executor its start is drawn on (the data with
    NaN as the column centres, made by ``restart``) and the E-step.

    ``options`` names the fit's options that need complete data (True where set).

    Raises
    ------
    ValueError
        If any of ``options`` is set.
    """
    refused = [name for name, on in options.items() if on]
    if refused:
        raise ValueError(f"missing='em' fits by EM: {' and '.join(refused)} need data without "
                         "missing values")  # fmt: skip
    assert ex.observed is not None
    if ex.observed.empty_rows:
        warnings.warn(f"{ex.observed.empty_rows} rows have no observed value and are left out "
                      "of the fit", UserWarning, stacklevel=5)  # fmt: skip
    return restart(ex.fill_missing(ex.shift)), missing_e_step


def rows_of(ex: Executor, family: ComponentFamily, params: Params, kernel: Any,
            cols: int | None, dtype: Any, missing: bool) -> Any:  # fmt: skip
    """:func:`~gradmix.mixture.em.per_row` of a prediction kernel, with its missing-value
    counterpart where rows may hold NaN (``missing``) and the chunks are numpy's."""
    if missing and ex.numpy_chunks:
        return missing_per_row(ex, family, params, MISSING_KERNELS[kernel], cols, dtype)
    return per_row(ex, family, params, kernel, cols, dtype)
