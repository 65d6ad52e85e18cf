"""The E-step in any array-API namespace: GPU tensors, array-api-strict, ...

Mirrors the numpy E-step (:mod:`gradmix.mixture.em`) formula for formula:
the same reference points, the same one-GEMM quadratic forms and second
moments for well-conditioned components, the same exact per-component paths
for the others.  Per-row work stays in the data's namespace and on its
device; what comes back to the host is the statistics (O(K d²) numbers),
accumulated across chunks in float64 on the device.  Coefficients derived
from the parameters (precisions, log-determinants) are computed on the host
in float64 and sent once per pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from gradmix.mixture.arrays import Namespace
from gradmix.mixture.covariance import CovarianceModel
from gradmix.mixture.em import Params, Stats, chunks

__all__ = ["e_step", "log_prob", "responsibilities", "stats_from_resp", "weighted_log_prob"]

LOG_2PI = math.log(2 * math.pi)


class _Coefficients:
    """Parameter-derived arrays for one pass over the data, on the device.

    ``well``/``ill`` split the components by their reference points (zeros:
    the fast GEMM formulas; their own mean: exact differences).
    """

    def __init__(
        self, ns: Namespace, model: CovarianceModel, ref: np.ndarray, params: Params | None
    ):
        self.name = model.name
        self.ns = ns
        put = ns.put
        K, d = ref.shape
        ill = np.any(ref != 0, axis=1) if self.name != "tied" else np.zeros(K, dtype=bool)
        self.well = np.flatnonzero(~ill)
        self.ill = np.flatnonzero(ill)
        self.all_well = len(self.ill) == 0
        order = np.concatenate([self.well, self.ill])
        self.inverse = put(np.argsort(order), dtype=np.int64)
        self.well_idx = put(self.well, dtype=np.int64)
        self.ill_idx = put(self.ill, dtype=np.int64)
        self.ref_ill = put(ref[self.ill])
        self.tri = np.triu_indices(d)  # row-major: the order of the packed products
        self.iu, self.ju = (put(t, dtype=np.int64) for t in self.tri)
        if params is not None:
            self._density(model, params)

    def _density(self, model: CovarianceModel, params: Params) -> None:
        """Coefficients of the log-density (skipped when only statistics are wanted)."""
        put = self.ns.put
        means = params.means.astype(np.float64)
        pc = params.precisions_cholesky.astype(np.float64)
        d = means.shape[1]
        with np.errstate(divide="ignore"):
            log_w = np.log(params.weights.astype(np.float64))
        self.offset = put(model.log_det(pc, d) - 0.5 * d * LOG_2PI + log_w)
        w, i = self.well, self.ill
        if self.name == "full":
            lam = pc @ np.swapaxes(pc, 1, 2)
            iu, ju = self.tri
            coef = lam[:, iu, ju] * np.where(iu == ju, 1.0, 2.0)
            b = np.einsum("kij,kj->ki", lam, means)
            self.coef_t = put(coef[w].T)
            self.m2b_t = put(-2.0 * b[w].T)
            self.c = put(np.einsum("ki,ki->k", means, b)[w])
            self.U_ill = put(pc[i])
        elif self.name == "tied":
            self.U = put(pc)
            M = means @ pc
            self.m2M_t = put(-2.0 * M.T)
            self.c = put(np.sum(M * M, axis=1))
        else:
            P = pc**2 if pc.ndim == 2 else np.broadcast_to((pc**2)[:, None], means.shape)
            P = np.ascontiguousarray(P)
            if self.name == "diag":
                self.P_t = put(P[w].T)
            else:
                self.p = put(P[w, 0])
                self.m_t = put(means[w].T)
            self.m2mP_t = put((-2.0 * means * P)[w].T)
            self.c = put(np.sum(means**2 * P, axis=1)[w])
            self.P_ill = put(P[i])

    def take(self, a: Any, which: str) -> Any:
        """Columns of ``a`` (n, K) for the well- or ill-conditioned components."""
        if (which == "well" and self.all_well) or (which == "ill" and len(self.well) == 0):
            return a
        return self.ns.xp.take(a, self.well_idx if which == "well" else self.ill_idx, axis=1)


class _Chunk:
    """A chunk of centred data and the features its passes share."""

    def __init__(self, co: _Coefficients, X: Any):
        xp = co.ns.xp
        self.X = X
        self.feat: Any = None
        self.D: Any = None  # (k_ill, n, d): x - ref for the ill-conditioned components
        if len(co.well):
            if co.name == "full":
                # the packed products x_i x_j (i <= j): two gathers and a product
                # (measured on an H200 faster than building them slice by slice)
                self.feat = xp.take(X, co.iu, axis=1) * xp.take(X, co.ju, axis=1)
            elif co.name == "diag":
                self.feat = X * X
            elif co.name == "spherical":
                self.feat = xp.sum(X * X, axis=1)
        if len(co.ill) and co.name != "tied":
            self.D = X[None, :, :] - co.ref_ill[:, None, :]


def _maha(co: _Coefficients, ch: _Chunk) -> Any:
    """Squared Mahalanobis distances, shape (n, K)."""
    xp, X = co.ns.xp, ch.X
    if co.name == "tied":
        Y = X @ co.U
        return xp.sum(Y * Y, axis=1)[:, None] + Y @ co.m2M_t + co.c
    parts = []
    if len(co.well):
        if co.name == "full":
            parts.append(ch.feat @ co.coef_t + X @ co.m2b_t + co.c)
        elif co.name == "diag":
            parts.append(ch.feat @ co.P_t + X @ co.m2mP_t + co.c)
        else:
            parts.append((ch.feat[:, None] + X @ (-2.0 * co.m_t)) * co.p + co.c)
    if len(co.ill):
        D = ch.D
        if co.name == "full":
            Y = D @ co.U_ill
            q = xp.sum(Y * Y, axis=2)
        elif co.name == "diag":
            q = xp.sum(D * D * co.P_ill[:, None, :], axis=2)
        else:
            q = xp.sum(D * D, axis=2) * co.P_ill[:, :1]
        parts.append(xp.permute_dims(q, (1, 0)))
    maha = parts[0] if len(parts) == 1 else xp.take(xp.concat(parts, axis=1), co.inverse, axis=1)
    return xp.clip(maha, min=0.0)


def log_prob(co: _Coefficients, ch: _Chunk) -> Any:
    """log π_k + log N(x | μ_k, Σ_k), shape (n, K)."""
    return -0.5 * _maha(co, ch) + co.offset


def responsibilities(ns: Namespace, wlp: Any) -> tuple[Any, Any]:
    """Responsibilities (n, K) and log p(x) (n,) from weighted log-probabilities."""
    xp = ns.xp
    m = xp.max(wlp, axis=1, keepdims=True)
    m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    e = xp.exp(wlp - m)
    s = xp.sum(e, axis=1, keepdims=True)
    return e / s, xp.log(s[:, 0]) + m[:, 0]


def _second_parts(co: _Coefficients, ch: _Chunk, wresp: Any) -> list[Any]:
    """The chunk's second-moment statistic, as device arrays (assembled by :func:`_second`)."""
    xp, X = co.ns.xp, ch.X
    if co.name == "tied":
        rho = xp.sum(wresp, axis=1)
        return [xp.permute_dims(X * rho[:, None], (1, 0)) @ X]
    parts = []
    if len(co.well):
        ww = xp.permute_dims(co.take(wresp, "well"), (1, 0))
        parts.append(ww @ ch.feat)  # (k, P), (k, d) or (k,)
    if len(co.ill):
        wi = xp.permute_dims(co.take(wresp, "ill"), (1, 0))  # (k, n)
        D = ch.D
        if co.name == "full":
            parts.append(xp.permute_dims(D * wi[:, :, None], (0, 2, 1)) @ D)
        elif co.name == "diag":
            parts.append((wi[:, None, :] @ (D * D))[:, 0, :])
        else:
            parts.append(xp.sum(wi * xp.sum(D * D, axis=2), axis=1))
    return parts


def _second(
    co: _Coefficients, model: CovarianceModel, parts: list[np.ndarray], K: int, d: int
) -> np.ndarray:
    """The host second-moment array from the accumulated parts."""
    out = np.zeros(model.second_moment_shape(K, d))
    if co.name == "tied":
        out[...] = parts[0]
        return out
    it = iter(parts)
    if len(co.well):
        p = next(it)
        if co.name == "full":
            iu, ju = co.tri
            S = np.empty((len(co.well), d, d))
            S[:, iu, ju] = p
            S[:, ju, iu] = p
            out[co.well] = S
        else:
            out[co.well] = p.reshape(len(co.well), -1)
    if len(co.ill):
        out[co.ill] = next(it).reshape((len(co.ill),) + out.shape[1:])
    return out


def _pass(
    ns: Namespace,
    model: CovarianceModel,
    X: Any,
    w: Any,
    K: int,
    ref: np.ndarray,
    params: Params | None,
    rows: int,
    resp_of: Callable[[_Coefficients, _Chunk, slice], tuple[Any, Any]],
) -> Stats:
    """One pass: responsibilities per chunk from ``resp_of``, statistics summed in float64."""
    xp = ns.xp
    n, d = X.shape
    unit = bool(xp.all(w == 1))
    co = _Coefficients(ns, model, ref, params)
    acc: list[Any] | None = None
    for sl in chunks(n, rows):
        ch = _Chunk(co, X[sl, ...])
        resp, lpn = resp_of(co, ch, sl)
        wresp = resp if unit else resp * w[sl, None]
        terms = [xp.sum(wresp, axis=0), xp.permute_dims(wresp, (1, 0)) @ ch.X]
        terms += _second_parts(co, ch, wresp)
        terms.append(xp.sum(lpn * w[sl]) if lpn is not None else xp.sum(w[sl]))
        terms = [xp.astype(t, xp.float64) for t in terms]
        acc = terms if acc is None else [a + t for a, t in zip(acc, terms, strict=True)]
    assert acc is not None
    host = [ns.get(a) for a in acc]
    return Stats(
        nk=host[0],
        sx=host[1],
        second=_second(co, model, host[2:-1], K, d),
        ref=ref,
        weight=float(ns.get(xp.sum(xp.astype(w, xp.float64)))),
        log_lik=float(host[-1]),  # meaningless (Σ w) when only statistics were asked for
    )


def e_step(
    ns: Namespace, model: CovarianceModel, X: Any, w: Any, params: Params, rows: int
) -> Stats:
    """One E-step over centred ``X`` in namespace ``ns`` (see :func:`.em.e_step`)."""
    ref = model.reference(params.means, params.precisions_cholesky)

    def resp_of(co: _Coefficients, ch: _Chunk, sl: slice) -> tuple[Any, Any]:
        return responsibilities(ns, log_prob(co, ch))

    return _pass(ns, model, X, w, params.means.shape[0], ref, params, rows, resp_of)


def stats_from_resp(
    ns: Namespace,
    model: CovarianceModel,
    X: Any,
    w: Any,
    resp: Callable[[slice], Any],
    K: int,
    rows: int,
) -> Stats:
    """Statistics for given responsibilities (``resp(slice)`` gives a chunk's rows).

    Two passes, as on the host: the means first, then second moments about them.
    """
    xp = ns.xp
    n, d = X.shape
    nk = np.zeros(K)
    sx = np.zeros((K, d))
    for sl in chunks(n, rows):
        r = resp(sl) * w[sl, None]
        nk += ns.get(xp.astype(xp.sum(r, axis=0), xp.float64))
        sx += ns.get(xp.astype(xp.permute_dims(r, (1, 0)) @ X[sl, ...], xp.float64))
    # second moments about the means (all components exact), as the host path does
    ref = sx / (nk + 10 * np.finfo(ns.np_dtype).eps)[:, None]

    def resp_of(co: _Coefficients, ch: _Chunk, sl: slice) -> tuple[Any, Any]:
        return resp(sl), None

    return _pass(ns, model, X, w, K, ref, None, rows, resp_of)


def weighted_log_prob(
    ns: Namespace, model: CovarianceModel, X: Any, params: Params, rows: int
) -> Any:
    """log π_k + log N(x | μ_k, Σ_k) for centred ``X``, shape (n, K), in ``X``'s namespace."""
    co = _Coefficients(ns, model, model.reference(params.means, params.precisions_cholesky), params)
    parts = [log_prob(co, _Chunk(co, X[sl, ...])) for sl in chunks(X.shape[0], rows)]
    return parts[0] if len(parts) == 1 else ns.xp.concat(parts, axis=0)
