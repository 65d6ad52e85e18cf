"""What the storage families' kernels share: the fast/exact split and its bookkeeping.

Kernels take their statistic about the global centre (one GEMM for all
components) when a component is well-conditioned, and about the component's
own mean (exactly, one component at a time) when its mean lies more than
~100 standard deviations away or it shrank onto a point: rounding then
loses nothing however far a component sits.

Every storage family's fast distances are one product of per-row features
and per-component coefficients (:class:`ProductDistances`).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np
from array_api_compat import device

from gradmix.mixture.covariance.base import Coefficients, CovarianceModel
from gradmix.mixture.ops import clip_nonnegative, is_host

__all__ = [
    "CONDITION_LIMIT",
    "ProductDistances",
    "merge_columns",
    "product",
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


def merge_columns(xp: Any, co: Coefficients, fast: Any, exact: Any) -> Any:
    """(n, K) columns: the fast ones (all K, computed for every component: one GEMM, no
    gather; None when no component is well-conditioned) with the ill-conditioned
    components' replaced by the exact ones (None when there are none)."""
    if exact is None:
        return fast
    if fast is None:
        return exact
    if is_host(xp):
        fast[:, co.ill] = exact
        return fast
    return xp.take(xp.concat([fast, exact], axis=1), co.sel, axis=1)


def product(xp: Any, A: Any, B: Any) -> Any:
    """``A @ B`` for A (n, q) and B (q, K): shape (n, K).

    On the host the result is laid out with each component's column contiguous (Fortran
    order, from the transposed product): the responsibilities' maxima and sums over the
    components then run across contiguous columns, three times faster than along rows of
    64 numbers.
    """
    if is_host(xp):
        return (B.T @ A.T).T
    return A @ B


def squared_deviations(xp: Any, X: Any, centre: Any) -> Any:
    """(x - c)² entry by entry (squared in place on numpy: one temporary)."""
    D = X - centre
    if is_host(xp):
        return np.square(D, out=D)
    return D * D


class ProductDistances(CovarianceModel):
    """A storage family whose fast distances are one GEMM: ``δ = F @ co.B + co.c`` for
    its :meth:`features` ``F``, with the ill-conditioned components' distances exact."""

    @abstractmethod
    def exact_distances(self, xp: Any, X: Any, co: Coefficients) -> Any:
        """The ill-conditioned components' distances from differences, shape
        (n, len(co.ill))."""

    def mahalanobis(self, xp: Any, X: Any, co: Coefficients, F: Any) -> Any:
        return clip_nonnegative(xp, self._distances(xp, X, co, F, 1.0, None))

    def scaled_mahalanobis(self, xp: Any, X: Any, co: Coefficients, F: Any, scale: float,
                           offset: Any) -> Any:  # fmt: skip
        return self._distances(xp, X, co, F, scale, offset)

    def _distances(self, xp: Any, X: Any, co: Coefficients, F: Any, scale: float,
                   offset: Any) -> Any:  # fmt: skip
        """``scale · δ + offset`` (δ where ``offset`` is None): the fast columns by one
        product with the scale and offset folded in, the exact ones clipped at 0."""
        fast = exact = None
        if len(co.well):
            if offset is None:
                fast = product(xp, F, co.B)
                fast += co.c
            else:
                fast = product(xp, F, co.B * scale)
                fast += co.c * scale + offset
        if len(co.ill):
            exact = self.exact_distances(xp, X, co)
            if offset is not None:
                exact = clip_nonnegative(xp, exact)
                exact *= scale
                exact += offset[co.ill] if is_host(xp) else \
                    xp.take(offset, xp.asarray(co.ill, device=device(offset)))  # fmt: skip
        return merge_columns(xp, co, fast, exact)
