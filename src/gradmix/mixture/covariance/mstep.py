"""What the constrained M-steps share: eigen-decompositions, alternations, MM steps.

mclust's models write ``Σ_k = λ_k D_k A_k D_kᵀ`` (volume λ, shape A with
det A = 1, orientation D); the iterative M-steps (Celeux & Govaert's
alternations, Browne & McNicholas' minorise-maximise orientation steps) are
built from the helpers here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.linalg import get_lapack_funcs

__all__ = [
    "alternate",
    "best_alternation",
    "det_root",
    "geometric_mean",
    "normalise_signs",
    "orientation_starts",
    "orientation_step",
    "remember_last",
    "sorted_eigh",
]


def remember_last(f: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``f`` keeping its last argument's result: an alternation's objective and its next
    step read the same quantities of one state.  Arguments are compared by identity
    (states are new arrays, never changed in place; the one kept cannot be freed, so its
    identity is not reused)."""
    last: list[Any] = [None, None]

    def remembered(x: Any) -> Any:
        if x is not last[0]:
            last[0], last[1] = x, f(x)
        return last[1]

    return remembered


def normalise_signs(vectors: np.ndarray) -> np.ndarray:
    """Eigenvectors (columns) with their largest entry positive: a unique orientation."""
    d = vectors.shape[-2]
    largest = np.argmax(np.abs(vectors), axis=-2)[..., None, :] == np.arange(d)[:, None]
    big = np.sum(vectors * largest, axis=-2, keepdims=True)  # (take_along_axis is 3x slower)
    return vectors * np.where(big < 0, -1.0, 1.0)


def sorted_eigh(S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues in decreasing order and their eigenvectors (columns, signs fixed)."""
    values, vectors = np.linalg.eigh(S)
    return values[..., ::-1], normalise_signs(vectors[..., ::-1])


def geometric_mean(x: np.ndarray) -> np.ndarray:
    """exp(mean(log x)) over the last axis: the d-th root of a determinant."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.exp(np.log(x).sum(axis=-1) / x.shape[-1])


def det_root(S: np.ndarray) -> np.ndarray:
    """det(S)^(1/d) of symmetric positive (semi-)definite matrices, stably."""
    sign, logdet = np.linalg.slogdet(S)
    with np.errstate(over="ignore"):
        return np.where(sign > 0, np.exp(logdet / S.shape[-1]), 0.0)


# iterative M-steps stop when the objective changes by less than this (relative), or after
# this many iterations; each iteration never increases the objective, so stopping early
# still never decreases the expected complete-data log-likelihood
INNER_TOL = 1e-10
INNER_MAX_ITER = 2000


def alternate(step: Any, objective: Any, state: Any, trace: list[float] | None) -> Any:
    """Apply ``step`` (a block-coordinate or MM update) until ``objective`` settles."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        f = float(objective(state))
        if trace is not None:
            trace.append(f)
        for _ in range(INNER_MAX_ITER):
            state = step(state)
            f_new = float(objective(state))
            if trace is not None:
                trace.append(f_new)
            if not np.isfinite(f_new) or abs(f - f_new) <= INNER_TOL * (1.0 + abs(f_new)):
                break
            f = f_new
    return state


def best_alternation(step: Any, objective: Any, starts: list[np.ndarray],
                     trace: list[float] | None) -> Any:  # fmt: skip
    """:func:`alternate` from the start whose objective is lowest.

    The starts are compared where they are, without steps.  Taking five MM
    steps from every start first cost a fifth of a model search's time on
    small data, and chose the same optimum in 418 of 420 search fits on
    faithful, iris, diabetes, banknote and thyroid (one better by 3.5, one
    worse by 5.2 log-likelihood units).  The starts are evaluated together, stacked on a
    leading axis, so ``objective`` must accept a stack of states (one value
    per state).  The first start's objective bounds the result's, so with the
    current parameters first the M-step never does worse than they do.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        states = np.stack(starts)
        values = np.asarray(objective(states), dtype=np.float64)
    best = int(np.argmin(np.where(np.isfinite(values), values, np.inf)))  # the first if none is
    return alternate(step, objective, states[best], trace)


def orientation_starts(W: np.ndarray, nk: np.ndarray, previous: np.ndarray | None,
                       n_components: int = 6) -> list[np.ndarray]:  # fmt: skip
    """Orientations to start a shared-orientation M-step from.

    Its objective has several local minima (the common principal axes of
    unrelated scatters can be matched in more than one way), so the M-step
    runs from several starts and keeps the best: the current orientation
    (then the result is never worse than the current parameters), the
    principal axes of the pooled scatter and of the pooled covariances, and
    those of each of the largest components.
    """
    starts = []
    if previous is not None:
        starts.append(np.sum(previous / det_root(previous)[:, None, None], axis=0))
    starts += [np.sum(W, axis=0), np.sum(W / nk[:, None, None], axis=0)]
    starts += [W[k] for k in np.argsort(nk)[::-1][:n_components]]
    return list(sorted_eigh(np.stack(starts))[1])  # one call: LAPACK's loop, numpy's once


def orientation_step(W: np.ndarray, M: np.ndarray, D: np.ndarray,
                     alpha: np.ndarray) -> np.ndarray:  # fmt: skip
    """One minorise-maximise update of a shared orientation (Browne & McNicholas 2014).

    Lowers ``Σ_k tr(W_k D diag(M_k) Dᵀ)`` over orthogonal ``D``: twice, each time
    by the minimum of a linear majoriser of the objective (from the concavity of
    ``D ↦ tr((W_k - α_k I) D M_k Dᵀ)`` with α_k the largest eigenvalue of W_k, then
    of ``D ↦ tr(W_k D (M_k - β_k I) Dᵀ)`` with β_k = max M_k), which an SVD solves.

    Parameters
    ----------
    W : ndarray, shape (K, d, d)
    M : ndarray, shape (..., K, d)
        Positive diagonal weights.
    D : ndarray, shape (..., d, d)
        The current orientation (a stack of them, with a stack of ``M``).
    alpha : ndarray, shape (K,)
        The largest eigenvalue of each W_k.
    """
    F = np.einsum("k,...jl,...kl->...jl", alpha, D, M) - \
        np.einsum("kij,...jl,...kl->...il", W, D, M)  # fmt: skip
    D = _polar_factor(F)
    beta = M.max(axis=-1)
    return _polar_factor(np.einsum("kij,...jl,...kl->...il", W, D, beta[..., None] - M))


def _polar_factor(F: np.ndarray) -> np.ndarray:
    """``P Qᵀ`` from the SVD ``F = P S Qᵀ``: the orthogonal matrix nearest ``F``.

    One matrix goes to LAPACK's ``gesdd`` directly (numpy's ``svd`` calls the same
    routine, with 5 µs of checks around it: a third of an MM step); a stack, or a
    failure, to numpy."""
    if F.ndim == 2 and F.dtype == np.float64:
        P, _, Qt, info = _GESDD(F)
        if info == 0:
            return P @ Qt
    P, _, Qt = np.linalg.svd(F)
    return P @ Qt


(_GESDD,) = get_lapack_funcs(("gesdd",), (np.empty((1, 1)),))
