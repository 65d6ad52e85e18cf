"""What the storage families' kernels share: the fast/exact split and its bookkeeping.

Kernels take their statistic about the global centre (one GEMM for all
components) when a component is well-conditioned, and about the component's
own mean (exactly, one component at a time) when its mean lies more than
~100 standard deviations away or it shrank onto a point: rounding then
loses nothing however far a component sits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradmix.mixture.covariance.base import Coefficients
from gradmix.mixture.ops import clip_nonnegative, is_host

__all__ = [
    "CONDITION_LIMIT",
    "merge_columns",
    "products",
    "reference_if_needed",
    "split_components",
    "squared_deviations",
]

CONDITION_LIMIT = 1e4  # eps * 1e4 ~ 2e-12: the fast statistic's worst relative error


def reference_if_needed(means: np.ndarray, whitened_sq_norm: np.ndarray) -> np.ndarray:
    """Per component: its mean where the fast statistic would lose digits, else zeros."""
    ill = whitened_sq_norm >= CONDITION_LIMIT
    if not ill.any():  # the usual case: one check instead of a selection
        return np.zeros(means.shape)
    return np.where(ill[:, None], means, 0.0).astype(np.float64)


def split_components(ref: np.ndarray, put: Any) -> dict[str, Any]:
    """The fields of :class:`Coefficients`: components split into well-conditioned ones
    (fast GEMMs) and ill-conditioned ones (exact), from their reference points."""
    K, d = ref.shape
    if not ref.any():  # every component well-conditioned (the usual case)
        every = np.arange(K)
        return {"K": K, "d": d, "well": every, "ill": every[:0], "sel": put(every, np.int64),
                "ref_ill": []}  # fmt: skip
    ill = np.any(ref != 0, axis=1)
    ill_idx = np.flatnonzero(ill)
    # column k of [fast (K columns), exact (one per ill component)]: k, or K + its place
    sel = np.arange(K)
    sel[ill_idx] = K + np.arange(len(ill_idx))
    return {"K": K, "d": d, "well": np.flatnonzero(~ill), "ill": ill_idx,
            "sel": put(sel, np.int64), "ref_ill": [put(ref[k]) for k in ill_idx]}  # fmt: skip


def merge_columns(xp: Any, co: Coefficients, parts: list[Any]) -> Any:
    """(n, K) non-negative distances from the fast columns (all K, computed for every
    component: one GEMM, no gather) with the ill-conditioned components' columns replaced
    by the exact ones."""
    if len(parts) == 1:
        merged = parts[0]
    elif len(co.well) == 0:
        merged = parts[-1]
    elif is_host(xp):
        merged = parts[0]
        merged[:, co.ill] = parts[1]
    else:
        merged = xp.take(xp.concat(parts, axis=1), co.sel, axis=1)
    return clip_nonnegative(xp, merged)


def products(xp: Any, terms: list[tuple[Any, Any]]) -> Any:
    """Σ A @ B over pairs of A (n, m) and B (m, K): shape (n, K).

    On the host the result is laid out with each component's column contiguous (Fortran
    order, from the transposed products): the responsibilities' maxima and sums over the
    components then run across contiguous columns, three times faster than along rows of
    64 numbers.
    """
    if is_host(xp):
        out = terms[0][1].T @ terms[0][0].T
        for A, B in terms[1:]:
            out += B.T @ A.T
        return out.T
    out = terms[0][0] @ terms[0][1]
    for A, B in terms[1:]:
        out += A @ B
    return out


def squared_deviations(xp: Any, X: Any, centre: Any) -> Any:
    """(x - c)² entry by entry (squared in place on numpy: one temporary)."""
    D = X - centre
    if is_host(xp):
        return np.square(D, out=D)
    return D * D
