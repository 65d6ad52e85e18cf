"""The full storage family: a covariance matrix per component, compact shape (K, d, d).

Its kernels use the packed products x_i x_j (i <= j) of each row, with the
row itself, so that the quadratic forms of all well-conditioned components
and the second moments are one GEMM each.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.linalg as sla

from gradmix.mixture.covariance.base import Coefficients, ill_defined_error, row_text
from gradmix.mixture.covariance.kernels import (
    ProductDistances,
    reference_if_needed,
    split_components,
)
from gradmix.mixture.ops import is_host

__all__ = ["FullCoefficients", "FullFamily", "chol_upper_of_inverse", "upper_from_precision"]


def chol_upper_of_inverse(cov: np.ndarray) -> np.ndarray:
    """``U = L⁻ᵀ`` for ``Σ = L Lᵀ``: upper triangular with ``U Uᵀ = Σ⁻¹``."""
    try:
        L = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError as exc:
        raise ill_defined_error(cov.dtype) from exc
    # LAPACK's triangular solve against the identity, as scikit-learn's solve_triangular
    # does, called directly: scipy's checks cost 30 µs a component, most of an M-step's
    # time on small data
    trtrs, eye = _triangular_solver(L.dtype, cov.shape[-1])
    out = np.empty_like(L)
    for Lk, Uk in zip(L.reshape((-1,) + L.shape[-2:]), out.reshape((-1,) + L.shape[-2:]),
                      strict=True):  # fmt: skip
        inv, info = trtrs(Lk, eye, lower=1)
        if info != 0:  # a zero on the diagonal: Cholesky succeeded, but only just
            raise ill_defined_error(cov.dtype)
        Uk[...] = inv.T
    return out


@functools.cache
def _triangular_solver(dtype: np.dtype, d: int) -> tuple[Any, np.ndarray]:
    """LAPACK's ``trtrs`` for ``dtype`` and the d x d identity (read-only), looked up once."""
    eye = np.eye(d, dtype=dtype)
    eye.flags.writeable = False
    (trtrs,) = sla.get_lapack_funcs(("trtrs",), (eye,))
    return trtrs, eye


def upper_from_precision(prec: np.ndarray) -> np.ndarray:
    """Upper ``U`` with ``U Uᵀ = Λ`` (the flip trick, as scikit-learn does)."""
    flip = prec[..., ::-1, ::-1]
    return np.linalg.cholesky(flip)[..., ::-1, ::-1]


@functools.cache
def _upper_triangle(d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row and column indices of the upper triangle (i <= j) of a d x d matrix, and the
    factor of each packed product x_i x_j in a quadratic form (1 on the diagonal, 2
    off it); read-only, computed once per d (np.triu_indices costs 11 µs, a twentieth
    of an E-step on small data)."""
    iu, ju = np.triu_indices(d)
    doubled = np.where(iu == ju, 1.0, 2.0)
    for a in (iu, ju, doubled):
        a.flags.writeable = False
    return iu, ju, doubled


@dataclass
class FullCoefficients(Coefficients):
    """The full family's arrays for one pass.

    ``iu, ju`` index the packed products; ``B`` and ``c`` give every
    component's quadratic form from them and the row; ``blocks`` the exact
    forms of the ill-conditioned components, a few components per GEMM.
    """

    tri: tuple[np.ndarray, np.ndarray] = (np.empty(0, int), np.empty(0, int))
    iu: Any = None
    ju: Any = None
    blocks: list[tuple[Any, Any, int]] = field(default_factory=list)


class FullFamily(ProductDistances):
    """A full covariance per component."""

    def temporaries_per_row(self, n_components: int, n_features: int) -> int:
        # the features, the exact path's (n, k·d) blocks, the (n, K) densities
        d = n_features
        return n_components * d + d * (d + 1) // 2 + d + 4 * n_components

    # layouts -----------------------------------------------------------------------
    def compact_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components, n_features, n_features)

    def to_matrices(self, compact: Any, n_components: int, n_features: int) -> Any:
        return compact

    def from_matrices(self, M: np.ndarray) -> np.ndarray:
        return M

    def scatter_from_matrices(self, M: np.ndarray) -> Any:
        return M

    def second_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components, n_features, n_features)

    # the E-step's kernels ----------------------------------------------------------
    def reference(self, means: np.ndarray, prec_chol: np.ndarray) -> np.ndarray:
        z = (means[:, None, :] @ prec_chol)[:, 0]
        return reference_if_needed(means, np.sum(z * z, axis=1))

    def coefficients(self, ref: np.ndarray, put: Any, means: np.ndarray | None = None,
                     prec_chol: np.ndarray | None = None) -> Coefficients:  # fmt: skip
        co = FullCoefficients(**split_components(ref, put))
        iu, ju, doubled = _upper_triangle(co.d)
        co.tri = (iu, ju)
        co.iu, co.ju = put(iu, np.int64), put(ju, np.int64)
        if means is None or prec_chol is None:
            return co
        U = np.asarray(prec_chol, dtype=np.float64)
        means = np.asarray(means, dtype=np.float64)
        lam = U @ np.swapaxes(U, 1, 2)
        coef = lam[:, iu, ju] * doubled
        b = (lam @ means[:, :, None])[:, :, 0]
        # every component's fast coefficients (the ill-conditioned ones' columns are
        # replaced by exact values: computing them costs less than gathering the others)
        co.B = put(np.concatenate([coef, -2.0 * b], axis=1).T)
        co.c = put(np.sum(means * b, axis=1))
        # exact quadratic forms for the others, by GEMMs over blocks of components
        # (the blocks bound the (n, k·d) temporaries)
        step = max(1, 256 // co.d)
        for s in range(0, len(co.ill), step):
            ks = co.ill[s : s + step]
            Ub = np.transpose(U[ks], (1, 0, 2)).reshape(co.d, len(ks) * co.d)
            mu_u = np.einsum("kd,kde->ke", means[ks], U[ks]).reshape(-1)
            co.blocks.append((put(Ub), put(mu_u), len(ks)))
        return co

    def features(self, xp: Any, X: Any, co: Coefficients) -> Any:
        """The packed products x_i x_j (i <= j) and the row, shape (n, P + d) with
        P = d(d+1)/2: (x-μ)ᵀΛ(x-μ) = xᵀΛx - 2xᵀΛμ + μᵀΛμ is one GEMM against them, and
        the products are also the statistic's."""
        assert isinstance(co, FullCoefficients)
        if len(co.well) == 0:
            return None
        if is_host(xp):
            # built transposed, (P + d, n): every row of the triangle is one contiguous
            # product, and the GEMMs read the transposed view as it lies
            n, d = X.shape
            P = d * (d + 1) // 2
            out = np.empty((P + d, n), dtype=X.dtype)
            xt = out[P:]
            xt[...] = X.T
            off = 0
            for i in range(d):
                np.multiply(xt[i], xt[i:], out=out[off : off + d - i])
                off += d - i
            return out.T
        # two gathers and a product: on an H200 faster than slice-by-slice products
        return xp.concat([xp.take(X, co.iu, axis=1) * xp.take(X, co.ju, axis=1), X], axis=1)

    def exact_distances(self, xp: Any, X: Any, co: Coefficients) -> Any:
        assert isinstance(co, FullCoefficients)
        exact = []
        for Ub, mu_u, kb in co.blocks:
            Y = X @ Ub - mu_u
            exact.append(xp.sum(xp.reshape(Y * Y, (X.shape[0], kb, co.d)), axis=2))
        return exact[0] if len(exact) == 1 else xp.concat(exact, axis=1)

    def second_parts(self, xp: Any, X: Any, weights: Any, co: Coefficients, F: Any) -> tuple:
        parts: list[Any] = []
        if len(co.well):
            P = co.d * (co.d + 1) // 2  # every component's, from the packed products
            parts.append(xp.permute_dims(weights, (1, 0)) @ F[:, :P])
        if len(co.ill):
            mats = []
            for j, k in enumerate(co.ill):  # about the component's own mean, one at a time
                D = X - co.ref_ill[j]
                mats.append(xp.permute_dims(D * weights[:, int(k) : int(k) + 1], (1, 0)) @ D)
            parts.append(xp.stack(mats))
        return tuple(parts)

    def assemble(self, parts: tuple, co: Coefficients) -> np.ndarray:
        assert isinstance(co, FullCoefficients)
        second = np.zeros((co.K, co.d, co.d))
        it = iter(parts)
        if len(co.well):
            iu, ju = co.tri
            packed = np.asarray(next(it))[co.well]
            S = np.empty((len(co.well), co.d, co.d))
            S[:, iu, ju] = packed
            S[:, ju, iu] = packed
            second[co.well] = S
        if len(co.ill):
            second[co.ill] = next(it)
        return second

    # the M-step's input ----------------------------------------------------------------
    def scatter(self, nk: np.ndarray, means: np.ndarray, second: np.ndarray, ref: np.ndarray,
                centre: np.ndarray) -> np.ndarray:  # fmt: skip
        a, b = means - ref, means - centre
        W = second - nk[:, None, None] * (a[:, :, None] * a[:, None, :])
        W += nk[:, None, None] * (b[:, :, None] * b[:, None, :])
        return 0.5 * (W + np.swapaxes(W, 1, 2))

    def ridge(self, W: np.ndarray, nk: np.ndarray, reg_covar: float, d: int) -> np.ndarray:
        W = W.copy()
        W.reshape(len(W), d * d)[:, :: d + 1] += nk[:, None] * reg_covar  # the diagonals
        return W

    def about_origin(self, ref: np.ndarray, sx: np.ndarray, nk: np.ndarray,
                     second: np.ndarray) -> np.ndarray:  # fmt: skip
        outer = ref[:, :, None] * sx[:, None, :]
        return (second + outer + np.swapaxes(outer, 1, 2)
                - nk[:, None, None] * ref[:, :, None] * ref[:, None])  # fmt: skip

    # precisions ----------------------------------------------------------------------
    def precision_cholesky(self, cov: np.ndarray) -> np.ndarray:
        return chol_upper_of_inverse(cov)

    def unconstrained(self, cov: np.ndarray) -> np.ndarray:
        L = np.linalg.cholesky(cov)
        i = np.arange(cov.shape[-1])
        L[..., i, i] = np.log(L[..., i, i])
        return L

    def from_unconstrained(self, z: np.ndarray) -> np.ndarray:
        L = np.tril(z)
        i = np.arange(z.shape[-1])
        L[..., i, i] = np.exp(L[..., i, i])
        return L @ np.swapaxes(L, -1, -2)

    def precisions(self, prec_chol: np.ndarray) -> np.ndarray:
        return prec_chol @ np.swapaxes(prec_chol, -1, -2)

    def cholesky_from_precisions(self, precisions: np.ndarray) -> np.ndarray:
        return upper_from_precision(precisions)

    def covariances_from_cholesky(self, prec_chol: np.ndarray) -> np.ndarray:
        return np.linalg.inv(self.precisions(prec_chol))

    def variances(self, cov: np.ndarray) -> np.ndarray:
        return np.diagonal(cov, axis1=-2, axis2=-1)

    def log_det(self, prec_chol: Any, d: int) -> Any:
        return np.sum(np.log(np.diagonal(prec_chol, axis1=-2, axis2=-1)), axis=-1)

    # users' views ----------------------------------------------------------------------
    def sample(self, rng: Any, means: np.ndarray, cov: np.ndarray, counts: np.ndarray,
               scales: list[np.ndarray] | None = None) -> np.ndarray:  # fmt: skip
        covs = np.broadcast_to(cov, (len(means),) + cov.shape[-2:])
        draws = [rng.multivariate_normal(m, c, int(s))
                 for m, c, s in zip(means, covs, counts, strict=True)]  # fmt: skip
        if scales is not None:
            draws = [m + (x - m) / np.sqrt(t)[:, None]
                     for m, x, t in zip(means, draws, scales, strict=True)]  # fmt: skip
        return np.vstack(draws)

    def describe(self, cov: np.ndarray) -> list[str]:
        lines = []
        for k, c in enumerate(cov):
            lines.append(f"    component {k}:")
            lines += [f"      {row_text(r)}" for r in c]
        return lines
