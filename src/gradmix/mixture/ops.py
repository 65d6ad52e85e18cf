"""Array operations written once against an array namespace ``xp``.

Kernels call these instead of numpy so that the same mathematics runs on
numpy arrays, on GPU tensors and inside Dask blocks.  Where numpy can do the
same thing in place (no temporary of the chunk's size), the numpy branch
does; that is an optimisation, never different arithmetic.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from array_api_compat import device, is_numpy_namespace

__all__ = [
    "clip_nonnegative",
    "impossible_as_minus_inf",
    "is_host",
    "log_tiny",
    "logsumexp_rows",
    "responsibilities",
    "responsibilities_with",
    "take_rows",
    "to_float64",
]


def is_host(xp: Any) -> bool:
    """True for numpy (or array-api-compat's numpy wrapper)."""
    return bool(is_numpy_namespace(xp))


def take_rows(xp: Any, X: Any, indices: Any) -> Any:
    """The rows of ``X`` at ``indices`` (host integers), in ``X``'s namespace.

    On numpy by indexing: ``np.take`` copies a strided array whole before it gathers
    (three rows of a (200 000, 33) array's first 32 columns: 8 ms against 1 µs).
    """
    if is_host(xp):
        return X[np.asarray(indices)]
    return xp.take(X, xp.asarray(indices, device=device(X)), axis=0)


def to_float64(xp: Any, a: Any) -> Any:
    """``a`` as float64 in its own namespace (a no-op when it already is)."""
    return a if a.dtype == xp.float64 else xp.astype(a, xp.float64)


def clip_nonnegative(xp: Any, a: Any) -> Any:
    """``max(a, 0)``, in place on numpy (NaN stays NaN).

    Elsewhere ``maximum`` against a 0-d zero: one elementwise kernel on any
    device, where array-api-compat's generic ``clip`` (CuPy's) assigns through
    a boolean mask, which costs extra passes and, on a GPU, a synchronisation.
    """
    if is_host(xp):
        return np.maximum(a, 0, out=a)
    return xp.maximum(a, xp.zeros((), dtype=a.dtype, device=device(a)))


@functools.cache
def log_tiny(dtype: Any) -> float:
    """A log-responsibility below which exp() would be subnormal (1e8 above the limit)."""
    return float(np.log(np.finfo(dtype).tiny)) + 18.0


def impossible_as_minus_inf(xp: Any, wlp: Any) -> Any:
    """Log-densities with NaN entries set to -inf (cheap when there are none).

    The data are finite, so a NaN can only come from a quadratic form that
    overflowed (inf - inf, for a point ~1e160 away): the point is infinitely
    unlikely under that component.
    """
    return _nan_free_max(xp, wlp)[0]


def _nan_free_max(xp: Any, wlp: Any) -> tuple[Any, Any, bool]:
    """``wlp`` with NaN entries as -inf (see :func:`impossible_as_minus_inf`), its row
    maxima, shape (n, 1), 0 where a row has no finite entry (its log-sum is then -inf),
    and whether every row's maximum is finite (known on the host; False elsewhere).

    One pass for the maxima (a row maximum costs as much as an exponential here): NaN
    propagates through them, so they also tell whether any entry needs fixing.
    """
    m = xp.max(wlp, axis=1, keepdims=True)
    if is_host(xp):
        if np.isfinite(m).all():  # the usual case, in one check
            return wlp, m, True
        bad = np.isnan(m[:, 0])
        if bad.any():
            rows = wlp[bad]
            rows[np.isnan(rows)] = -np.inf
            wlp[bad] = rows
            m[bad] = np.max(rows, axis=1, keepdims=True)
    elif bool(xp.any(xp.isnan(m))):
        wlp = xp.where(xp.isnan(wlp), xp.asarray(-np.inf, dtype=wlp.dtype), wlp)
        m = xp.max(wlp, axis=1, keepdims=True)
    return wlp, xp.where(xp.isfinite(m), m, xp.zeros_like(m)), False


def responsibilities(xp: Any, wlp: Any) -> tuple[Any, Any]:
    """Responsibilities and log p(x) from log π_k + log N(x | k).

    One exponential per entry: ``e = exp(wlp - max)``, ``r = e / Σ e``,
    ``log p = log Σ e + max``.  On numpy ``wlp`` is overwritten with ``r``,
    and entries below ~1e-300 become exact zeros rather than subnormal numbers
    (which slow every later GEMM over them many times, and change no sum).

    Parameters
    ----------
    wlp : array, shape (n, K)

    Returns
    -------
    resp : array, shape (n, K)
    log_prob_norm : array, shape (n,)
    """
    resp, lpn, _ = responsibilities_with(xp, wlp, None)
    return resp, lpn


def responsibilities_with(xp: Any, wlp: Any, extra: float | None) -> tuple[Any, Any, Any]:
    """:func:`responsibilities` with one more component whose weighted log-density is the
    same constant ``extra`` for every row (a uniform noise component), without forming
    its column.

    Returns
    -------
    resp : array, shape (n, K)
    log_prob_norm : array, shape (n,)
    extra_resp : array, shape (n,), or None when ``extra`` is None
    """
    wlp, m, finite = _nan_free_max(xp, wlp)
    if extra is not None:
        m = xp.maximum(m, xp.asarray(extra, dtype=m.dtype, device=device(m)))
    if is_host(xp):
        np.subtract(wlp, m, out=wlp)
        # exp() of arguments that underflow takes a slow path (several times the cost of
        # a normal one), and so does a masked assignment: where some entries are that
        # small, clamp, exponentiate, then zero the clamped entries by a branchless product
        lowest = log_tiny(wlp.dtype)
        if wlp.min() < lowest:
            np.maximum(wlp, lowest, out=wlp)
            np.exp(wlp, out=wlp)
            wlp *= wlp > np.exp(wlp.dtype.type(lowest))
        else:
            np.exp(wlp, out=wlp)
        s = np.sum(wlp, axis=1, keepdims=True)
        if finite and extra is None:
            # every row's largest entry is exp(0) = 1, so 1 <= s <= K and nothing below
            # can divide by zero or underflow: no error state to set (it costs 3 µs); one
            # division per row and a product per entry, 40 % quicker than a division each
            wlp *= 1.0 / s
            return wlp, np.log(s[:, 0]) + m[:, 0], None
        e_extra = None
        with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
            if extra is not None:
                e_extra = np.exp(extra - m)
                s += e_extra
            wlp /= s
            lpn = np.log(s[:, 0]) + m[:, 0]
            extra_resp = None if e_extra is None else (e_extra / s)[:, 0]
        return wlp, lpn, extra_resp
    e = xp.exp(wlp - m)
    s = xp.sum(e, axis=1, keepdims=True)
    extra_resp = None
    if extra is not None:
        e_extra = xp.exp(xp.asarray(extra, dtype=m.dtype, device=device(m)) - m)
        s = s + e_extra
        extra_resp = (e_extra / s)[:, 0]
    return e / s, xp.log(s[:, 0]) + m[:, 0], extra_resp


def logsumexp_rows(xp: Any, a: Any) -> Any:
    """``log Σ_k exp(a_ik)`` per row, shape (n,); ``-inf`` for rows of ``-inf``."""
    a, m, _ = _nan_free_max(xp, a)
    with np.errstate(divide="ignore", under="ignore"):
        return xp.log(xp.sum(xp.exp(a - m), axis=1)) + m[:, 0]
