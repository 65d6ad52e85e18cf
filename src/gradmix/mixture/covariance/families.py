"""The four ways a covariance is stored and computed with: full, tied, diagonal, spherical.

Every model is a member of one family; the family owns everything that does
not depend on the model's constraints:

- the second-moment statistic the E-step accumulates (Σ r x xᵀ per component,
  pooled, its diagonal, or its trace), taken about reference points, and the
  scatter about the means the M-step reads from it;
- the log-density kernel, written against the array namespace ``xp`` so that
  the same code runs on numpy, on GPU tensors and in Dask blocks;
- the precision factor (scikit-learn's ``precisions_cholesky_``), the
  attribute layouts, sampling, and the log-density in plain numpy for AD.

Kernels take their statistic about the global centre (one GEMM for all
components) when a component is well-conditioned, and about the component's
own mean (exactly, one component at a time) when its mean lies more than
~100 standard deviations away or it shrank onto a point: rounding then
loses nothing however far a component sits.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import scipy.linalg as sla

from gradmix.mixture.covariance.base import (
    LOG_2PI,
    CovarianceModel,
    geometric_mean,
    ill_defined_error,
    sorted_eigh,
)
from gradmix.mixture.ops import clip_nonnegative, is_host

__all__ = ["DiagonalFamily", "FullFamily", "SphericalFamily", "TiedFamily"]

CONDITION_LIMIT = 1e4  # eps * 1e4 ~ 2e-12: the fast statistic's worst relative error


# ------------------------------------------------------------------------------ helpers
def _reference_if_needed(means: np.ndarray, whitened_sq_norm: np.ndarray) -> np.ndarray:
    """Per component: its mean where the fast statistic would lose digits, else zeros."""
    ill = whitened_sq_norm >= CONDITION_LIMIT
    return np.where(ill[:, None], means, 0.0).astype(np.float64)


def _common(ref: np.ndarray, put: Any) -> SimpleNamespace:
    """The split of components into well- (fast GEMMs) and ill-conditioned (exact) ones."""
    K, d = ref.shape
    ill = np.any(ref != 0, axis=1)
    co = SimpleNamespace(K=K, d=d, well=np.flatnonzero(~ill), ill=np.flatnonzero(ill))
    # column k of [fast (K columns), exact (one per ill component)]: k, or K + its place
    sel = np.arange(K)
    sel[co.ill] = K + np.arange(len(co.ill))
    co.sel = put(sel, np.int64)
    co.ref_ill = [put(ref[k]) for k in co.ill]
    return co


def _offset(co: SimpleNamespace, put: Any, log_det: Any, params: Any) -> None:
    co.offset = put(log_det - 0.5 * co.d * LOG_2PI + params.log_weight_terms())


def _merge(xp: Any, co: SimpleNamespace, parts: list[Any]) -> Any:
    """(n, K) from the fast columns (all K, computed for every component: one GEMM, no
    gather) with the ill-conditioned components' columns replaced by the exact ones."""
    if len(parts) == 1:
        return parts[0]
    if len(co.well) == 0:
        return parts[-1]
    if is_host(xp):
        fast = parts[0]
        fast[:, co.ill] = parts[1]
        return fast
    return xp.take(xp.concat(parts, axis=1), co.sel, axis=1)


def _products(xp: Any, terms: list[tuple[Any, Any]]) -> Any:
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


def _density(xp: Any, maha: Any, co: SimpleNamespace) -> Any:
    """log π_k + log N(x | k) = -maha/2 + offset, in place on numpy."""
    maha = clip_nonnegative(xp, maha)
    maha *= -0.5
    maha += co.offset
    return maha


def _chol_upper_of_inverse(cov: np.ndarray) -> np.ndarray:
    """``U = L⁻ᵀ`` for ``Σ = L Lᵀ``: upper triangular with ``U Uᵀ = Σ⁻¹``."""
    try:
        L = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError as exc:
        raise ill_defined_error(cov.dtype) from exc
    d = cov.shape[-1]
    eye = np.eye(d, dtype=cov.dtype)
    if cov.ndim == 2:
        return sla.solve_triangular(L, eye, lower=True).T
    return np.stack([sla.solve_triangular(Lk, eye, lower=True).T for Lk in L])


def _upper_from_precision(prec: np.ndarray) -> np.ndarray:
    """Upper ``U`` with ``U Uᵀ = Λ`` (the flip trick, as scikit-learn does)."""
    flip = prec[..., ::-1, ::-1]
    return np.linalg.cholesky(flip)[..., ::-1, ::-1]


def _squared_deviations(xp: Any, X: Any, centre: Any) -> Any:
    """(x - c)² entry by entry (squared in place on numpy: one temporary)."""
    D = X - centre
    if is_host(xp):
        return np.square(D, out=D)
    return D * D


def _row(values: Any) -> str:
    return "[" + ", ".join(f"{v:.4g}" for v in np.ravel(values)) + "]"


def _shared(values: np.ndarray, equal: bool) -> np.ndarray:
    """The values, or their mean repeated when the factor is shared."""
    if not equal:
        return values
    return np.broadcast_to(values.mean(axis=0), values.shape).copy()


# ------------------------------------------------------------------------------ the base
class _Family(CovarianceModel):
    """What all four families share."""

    def compact_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        """Shape of the compact covariances (and precisions, precision factors)."""
        raise NotImplementedError

    def public_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        """Shape of the fitted ``covariances_`` (and ``precisions_``, ``precisions_cholesky_``)."""
        if self.matrix_attributes:
            return (n_components, n_features, n_features)
        return self.compact_shape(n_components, n_features)

    def public(self, compact: Any, n_components: int, n_features: int) -> Any:
        """Compact arrays in the fitted attributes' layout."""
        if self.matrix_attributes:
            return self.to_matrices(compact, n_components, n_features)
        return compact

    def from_public(self, public: np.ndarray) -> np.ndarray:
        """The compact form of arrays in the fitted attributes' layout."""
        return self.from_matrices(np.asarray(public)) if self.matrix_attributes else public

    def to_matrices(self, compact: Any, n_components: int, n_features: int) -> Any:
        """(K, d, d) matrices from compact covariances, precisions or precision factors
        (plain numpy: differentiable by gradmix.ad)."""
        raise NotImplementedError

    def from_matrices(self, M: np.ndarray) -> np.ndarray:
        """Compact arrays from (K, d, d) matrices of the family's structure."""
        raise NotImplementedError

    def factors(self, cov: np.ndarray, n_components: int,
                n_features: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
        """mclust's decomposition ``Σ_k = λ_k D_k A_k D_kᵀ`` of compact covariances.

        Returns
        -------
        volume : ndarray, shape (K,)
            λ_k = det(Σ_k)^(1/d).
        shape : ndarray, shape (K, d)
            The diagonal of A_k (det 1), in decreasing order unless the
            orientation is the identity (then in the features' order).
        orientation : ndarray, shape (K, d, d)
            D_k, eigenvectors as columns (largest entry positive).

        Equal factors are the same array repeated.
        """
        K, d = n_components, n_features
        M = np.asarray(self.to_matrices(np.asarray(cov, dtype=np.float64), K, d))
        vol_letter, shape_letter, orient_letter = self.letters[0], self.letters[1], self.letters[2]
        if orient_letter == "I":
            diag = np.diagonal(M, axis1=1, axis2=2)
            volume = geometric_mean(diag)
            shape = diag / volume[:, None]
            orientation = np.broadcast_to(np.eye(d), (K, d, d)).copy()
        elif orient_letter == "E":
            volume = np.linalg.det(M) ** (1.0 / d)
            _, D = sorted_eigh(np.sum(M / volume[:, None, None], axis=0))
            shape = np.einsum("ji,kjl,li->ki", D, M, D) / volume[:, None]
            orientation = np.broadcast_to(D, (K, d, d)).copy()
        else:
            values, orientation = sorted_eigh(M)
            volume = geometric_mean(values)
            shape = values / volume[:, None]
        return (_shared(volume, vol_letter == "E"), _shared(shape, shape_letter == "E"),
                _shared(orientation, orient_letter == "E") if orient_letter == "V" else
                orientation)  # fmt: skip

    def conforms(self, cov_matrices: np.ndarray) -> bool:
        """True when (K, d, d) covariances have the model's structure."""
        M = np.asarray(cov_matrices, dtype=np.float64)
        K, d, _ = M.shape
        projected = self.to_matrices(self.estimate(self.scatter_from_matrices(M), np.ones(K), d),
                                     K, d)  # fmt: skip
        return bool(np.allclose(projected, M, rtol=1e-6, atol=1e-12 * np.max(np.abs(M))))

    def scatter_from_matrices(self, M: np.ndarray) -> Any:
        """The family's scatter form of (K, d, d) matrices (unit weights)."""
        raise NotImplementedError

    def temporaries_per_row(self, n_components: int, n_features: int) -> int:
        """Numbers a chunk's E-step holds per row (its chunks are sized from this)."""
        return 6 * n_components + n_features

    def check_precisions(self, precisions: np.ndarray, n_components: int,
                         n_features: int) -> np.ndarray:  # fmt: skip
        """Validated ``precisions_init`` (the fitted attributes' layout) as compact precisions.

        Raises scikit-learn's errors for scikit-learn's names; for mclust's, the
        precisions must be (K, d, d), symmetric positive definite, and have the
        model's structure.
        """
        label = f"{self.name} precision"
        shape = self.public_shape(n_components, n_features)
        if precisions.shape != shape:
            raise ValueError(f"The parameter '{label}' should have the shape of {shape}, "
                             f"but got {precisions.shape}")  # fmt: skip
        if not self.matrix_attributes and isinstance(self, DiagonalFamily):
            if np.any(precisions <= 0.0):
                raise ValueError(f"'{label}' should be positive")
            return precisions
        mats = self.to_matrices(self.from_public(precisions), n_components, n_features)
        for m in np.reshape(mats, (-1, n_features, n_features)):
            if not (np.allclose(m, m.T) and np.all(np.linalg.eigvalsh(m) > 0.0)):
                raise ValueError(f"'{label}' should be symmetric, positive-definite")
        if self.matrix_attributes and not self.conforms(np.linalg.inv(precisions)):
            raise ValueError(f"'{label}' should have the structure of model {self.letters} "
                             f"({self.description})")  # fmt: skip
        return self.from_public(precisions)

    # one component's covariance (variational priors) ---------------------------------
    def component_shape(self, n_features: int) -> tuple[int, ...]:
        """Shape of one component's compact covariance (the Wishart prior's)."""
        return self.compact_shape(1, n_features)[1:]

    def component_from_covariance(self, cov: np.ndarray) -> Any:
        """One component's compact covariance nearest a (d, d) covariance: the matrix, its
        diagonal, or its mean variance (scikit-learn's data-dependent priors)."""
        return cov

    def check_component(self, value: np.ndarray, n_features: int) -> np.ndarray:
        """A given prior covariance, checked with scikit-learn's messages."""
        shape = self.component_shape(n_features)
        if value.shape != shape:
            raise ValueError(f"The parameter '{self.name} covariance_prior' should have the "
                             f"shape of {shape}, but got {value.shape}")  # fmt: skip
        # scikit-learn's messages call the prior a precision
        if value.ndim == 2:
            if not (np.allclose(value, value.T) and np.all(np.linalg.eigvalsh(value) > 0.0)):
                raise ValueError(f"'{self.name} precision' should be symmetric, positive-definite")
        elif np.any(np.less_equal(value, 0.0)):
            raise ValueError(f"'{self.name} precision' should be positive")
        return value

    # free parameters for AD ----------------------------------------------------------
    @property
    def has_free_parameters(self) -> bool:
        """Whether the covariances have an unconstrained parameterisation here."""
        return True


# ------------------------------------------------------------------------------ full
class FullFamily(_Family):
    """A full covariance matrix per component: compact shape (K, d, d)."""

    def temporaries_per_row(self, n_components: int, n_features: int) -> int:
        # the packed products, the exact path's (n, k·d) blocks, the (n, K) densities
        return n_components * n_features + n_features * (n_features + 1) // 2 + 4 * n_components

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
        """Points to take the next statistics about, shape (K, d): zeros (the global
        centre, one GEMM) or, where that would lose digits, the component's mean."""
        z = np.einsum("kd,kde->ke", means, prec_chol)
        return _reference_if_needed(means, np.sum(z * z, axis=1))

    def coefficients(self, params: Any, ref: np.ndarray, put: Any) -> SimpleNamespace:
        """Parameter-derived arrays for one pass, on the data's device.

        ``params`` None: only the statistic (about ``ref``) is wanted.
        """
        co = _common(ref, put)
        iu, ju = np.triu_indices(co.d)
        co.tri = (iu, ju)
        co.iu, co.ju = put(iu, np.int64), put(ju, np.int64)
        if params is None:
            return co
        U = np.asarray(params.precisions_cholesky, dtype=np.float64)
        means = np.asarray(params.means, dtype=np.float64)
        _offset(co, put, self.log_det(U, co.d), params)
        lam = U @ np.swapaxes(U, 1, 2)
        coef = lam[:, iu, ju] * np.where(iu == ju, 1.0, 2.0)
        b = np.einsum("kij,kj->ki", lam, means)
        # every component's fast coefficients (the ill-conditioned ones' columns are
        # replaced by exact values: computing them costs less than gathering the others)
        co.coef_t, co.m2b_t = put(coef.T), put(-2.0 * b.T)
        co.c = put(np.einsum("ki,ki->k", means, b))
        # exact quadratic forms for the others, by GEMMs over blocks of components
        # (the blocks bound the (n, k·d) temporaries)
        step = max(1, 256 // co.d)
        co.blocks = []
        for s in range(0, len(co.ill), step):
            ks = co.ill[s : s + step]
            Ub = np.transpose(U[ks], (1, 0, 2)).reshape(co.d, len(ks) * co.d)
            mu_u = np.einsum("kd,kde->ke", means[ks], U[ks]).reshape(-1)
            co.blocks.append((put(Ub), put(mu_u), len(ks)))
        return co

    def features(self, xp: Any, X: Any, co: SimpleNamespace) -> Any:
        """The packed products x_i x_j (i <= j), shape (n, d(d+1)/2): the quadratic forms
        and the second moments are then one GEMM each."""
        if len(co.well) == 0:
            return None
        if is_host(xp):
            # built transposed, (P, n): every row of the triangle is one contiguous
            # product, and both GEMMs read the transposed view as it lies
            n, d = X.shape
            xt = np.ascontiguousarray(X.T)
            out = np.empty((d * (d + 1) // 2, n), dtype=X.dtype)
            off = 0
            for i in range(d):
                np.multiply(xt[i], xt[i:], out=out[off : off + d - i])
                off += d - i
            return out.T
        # two gathers and a product: on an H200 faster than slice-by-slice products
        return xp.take(X, co.iu, axis=1) * xp.take(X, co.ju, axis=1)

    def log_prob(self, xp: Any, X: Any, co: SimpleNamespace, F: Any) -> Any:
        """log π_k + log N(x | μ_k, Σ_k), shape (n, K)."""
        parts = []
        if len(co.well):
            # (x-μ)ᵀΛ(x-μ) = xᵀΛx - 2xᵀΛμ + μᵀΛμ: GEMMs against the packed products
            maha = _products(xp, [(F, co.coef_t), (X, co.m2b_t)])
            maha += co.c
            parts.append(maha)
        if len(co.ill):
            exact = []
            for Ub, mu_u, kb in co.blocks:
                Y = X @ Ub - mu_u
                exact.append(xp.sum(xp.reshape(Y * Y, (X.shape[0], kb, co.d)), axis=2))
            parts.append(exact[0] if len(exact) == 1 else xp.concat(exact, axis=1))
        return _density(xp, _merge(xp, co, parts), co)

    def second_parts(self, xp: Any, X: Any, wresp: Any, co: SimpleNamespace, F: Any) -> tuple:
        """The chunk's second-moment statistic (summed over chunks by the executor)."""
        parts: list[Any] = []
        if len(co.well):
            parts.append(xp.permute_dims(wresp, (1, 0)) @ F)  # every component's
        if len(co.ill):
            mats = []
            for j, k in enumerate(co.ill):  # about the component's own mean, one at a time
                D = X - co.ref_ill[j]
                mats.append(xp.permute_dims(D * wresp[:, int(k) : int(k) + 1], (1, 0)) @ D)
            parts.append(xp.stack(mats))
        return tuple(parts)

    def assemble(self, parts: tuple, co: SimpleNamespace) -> np.ndarray:
        """The host statistic, shape (K, d, d), from the summed parts."""
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
        """W_k = Σ w r (x - c_k)(x - c_k)ᵀ about ``centre`` from the statistic about ``ref``."""
        a, b = means - ref, means - centre
        W = second - nk[:, None, None] * (a[:, :, None] * a[:, None, :])
        W += nk[:, None, None] * (b[:, :, None] * b[:, None, :])
        return 0.5 * (W + np.swapaxes(W, 1, 2))

    def ridge(self, W: np.ndarray, nk: np.ndarray, reg_covar: float, d: int) -> np.ndarray:
        """``W_k + n_k·reg·I``: the scatter whose MLE has ``reg_covar`` on its diagonal."""
        W = W.copy()
        W[:, np.arange(d), np.arange(d)] += nk[:, None] * reg_covar
        return W

    def about_origin(self, stats: Any) -> np.ndarray:
        """The second-moment statistic moved from ``stats.ref`` to the origin."""
        m, sx, nk, S = stats.ref, stats.sx, stats.nk, stats.second
        outer = m[:, :, None] * sx[:, None, :]
        return S + outer + np.swapaxes(outer, 1, 2) - nk[:, None, None] * m[:, :, None] * m[:, None]

    # precisions ----------------------------------------------------------------------
    def precision_cholesky(self, cov: np.ndarray) -> np.ndarray:
        """``U`` with ``U Uᵀ = Σ⁻¹`` (upper triangular); not positive definite -> error."""
        return _chol_upper_of_inverse(cov)

    def precisions(self, prec_chol: np.ndarray) -> np.ndarray:
        return prec_chol @ np.swapaxes(prec_chol, -1, -2)

    def cholesky_from_precisions(self, precisions: np.ndarray) -> np.ndarray:
        return _upper_from_precision(precisions)

    def covariances_from_cholesky(self, prec_chol: np.ndarray) -> np.ndarray:
        return np.linalg.inv(self.precisions(prec_chol))

    def variances(self, cov: np.ndarray) -> np.ndarray:
        """Per-feature variances, broadcastable to (K, d)."""
        return np.diagonal(cov, axis1=-2, axis2=-1)

    def log_det(self, prec_chol: Any, d: int) -> Any:
        """log det of the precision Cholesky factor, per component."""
        return np.sum(np.log(np.diagonal(prec_chol, axis1=-2, axis2=-1)), axis=-1)

    # users' views ----------------------------------------------------------------------
    def sample(self, rng: Any, means: np.ndarray, cov: np.ndarray, counts: np.ndarray) -> Any:
        """Draws from each component (scikit-learn's calls, so the same numbers)."""
        return np.vstack([rng.multivariate_normal(m, c, int(s))
                          for m, c, s in zip(means, cov, counts, strict=True)])  # fmt: skip

    def describe(self, cov: np.ndarray) -> list[str]:
        """Lines of text showing compact covariances."""
        lines = []
        for k, c in enumerate(cov):
            lines.append(f"    component {k}:")
            lines += [f"      {_row(r)}" for r in c]
        return lines

    # the log-density in plain numpy, for AD ------------------------------------------
    def ad_log_prob(self, X: Any, means: Any, U: Any) -> Any:
        """log N(x_i | μ_k, Σ_k), shape (n, K), from precision factors (differentiable)."""
        diff = X[:, None, :] - means[None, :, :]
        z = np.einsum("nkd,kde->nke", diff, U)
        log_det = np.sum(np.log(np.diagonal(U, axis1=1, axis2=2)), axis=1)
        return -0.5 * np.sum(z * z, axis=2) + (log_det - 0.5 * X.shape[1] * LOG_2PI)

    def ad_covariances(self, U: Any) -> Any:
        return np.linalg.inv(U @ np.swapaxes(U, -1, -2))

    @property
    def has_free_parameters(self) -> bool:
        # unit-determinant triangles parameterise "equal shape and orientation" or
        # "varying shape and orientation"; a shared shape under varying orientations
        # (or the converse) needs an orthogonal parameterisation gradmix does not have
        return self.letters[1] == self.letters[2]

    # free parameters: upper triangles of U with the log of their diagonal; where volume
    # and shape are shared differently, a log-volume and a unit-determinant triangle
    def _split(self) -> bool:
        return self.letters[0] != self.letters[1]

    def free_size(self, K: int, d: int) -> int:
        tri = d * (d + 1) // 2
        count = 1 if self.letters[1] == "E" else K
        if not self._split():
            return count * tri
        return (1 if self.letters[0] == "E" else K) + count * (tri - 1)

    def pack_free(self, U: np.ndarray) -> np.ndarray:
        """Free covariance parameters from precision factors (host)."""
        U3 = U.reshape((-1,) + U.shape[-2:])
        d = U3.shape[-1]
        iu, ju = np.triu_indices(d)
        log_diag = np.log(np.diagonal(U3, axis1=1, axis2=2))
        entries = U3[:, iu, ju].copy()
        if not self._split():
            entries[:, iu == ju] = log_diag
            return (entries if self.letters[1] == "V" else entries.mean(axis=0)).ravel()
        v = log_diag.mean(axis=1)
        entries /= np.exp(v)[:, None]
        entries[:, iu == ju] = log_diag - v[:, None]
        t = entries[:, :-1]  # the last diagonal entry follows from det = 1
        vol = v if self.letters[0] == "V" else v.mean(keepdims=True)
        tri = t if self.letters[1] == "V" else t.mean(axis=0, keepdims=True)
        return np.concatenate([vol, tri.ravel()])

    def unpack_free(self, theta: Any, K: int, d: int) -> Any:
        """Precision factors (compact) from free parameters (differentiable)."""
        iu, ju = np.triu_indices(d)
        diag = iu == ju
        P = len(iu)
        if self._split():
            n_vol = 1 if self.letters[0] == "E" else K
            v = np.reshape(theta[:n_vol], (-1, 1, 1))
            t = np.reshape(theta[n_vol:], (-1, P - 1))
            last = -np.sum(np.where(diag[:-1], t, 0.0), axis=1, keepdims=True)
            entries = np.concatenate([t, last], axis=1)
        else:
            v = np.zeros((1, 1, 1))
            entries = np.reshape(theta, (-1, P))
        # exp on the diagonal only; off-diagonal entries never pass through exp
        entries = np.where(diag, np.exp(np.where(diag, entries, 0.0)), entries)
        scatter = np.zeros((P, d * d))
        scatter[np.arange(P), iu * d + ju] = 1.0
        U = np.exp(v) * np.reshape(entries @ scatter, (-1, d, d))
        if isinstance(self, TiedFamily):
            return U[0]
        return U * np.ones((K, 1, 1)) if U.shape[0] == 1 else U


# ------------------------------------------------------------------------------ tied
class TiedFamily(FullFamily):
    """One covariance matrix shared by all components: compact shape (d, d)."""

    def temporaries_per_row(self, n_components: int, n_features: int) -> int:
        # no packed products and no exact per-component path: the base estimate
        return _Family.temporaries_per_row(self, n_components, n_features)

    def component_shape(self, n_features: int) -> tuple[int, ...]:
        return (n_features, n_features)

    def compact_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_features, n_features)

    def second_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_features, n_features)

    def to_matrices(self, compact: Any, n_components: int, n_features: int) -> Any:
        return np.ones((n_components, 1, 1)) * compact

    def from_matrices(self, M: np.ndarray) -> np.ndarray:
        return M[0]

    def scatter_from_matrices(self, M: np.ndarray) -> Any:
        return M.sum(axis=0)

    def reference(self, means: np.ndarray, prec_chol: np.ndarray) -> np.ndarray:
        return np.zeros_like(means, dtype=np.float64)  # pooled about the centre

    def coefficients(self, params: Any, ref: np.ndarray, put: Any) -> SimpleNamespace:
        co = _common(np.zeros_like(ref), put)
        if params is None:
            return co
        U = np.asarray(params.precisions_cholesky, dtype=np.float64)
        M = np.asarray(params.means, dtype=np.float64) @ U
        _offset(co, put, self.log_det(U, co.d), params)
        co.U, co.m2M_t, co.c = put(U), put(-2.0 * M.T), put(np.sum(M * M, axis=1))
        return co

    def features(self, xp: Any, X: Any, co: SimpleNamespace) -> Any:
        return None

    def log_prob(self, xp: Any, X: Any, co: SimpleNamespace, F: Any) -> Any:
        # |y - m|² = |y|² - 2 y·m + |m|², y = Uᵀx: all components by one GEMM
        Y = X @ co.U
        maha = _products(xp, [(Y, co.m2M_t)])
        maha += xp.sum(Y * Y, axis=1)[:, None]
        maha += co.c
        return _density(xp, maha, co)

    def second_parts(self, xp: Any, X: Any, wresp: Any, co: SimpleNamespace, F: Any) -> tuple:
        # pooled over components: Σ_n (Σ_k w r_nk) x_n x_nᵀ, one GEMM
        rho = xp.sum(wresp, axis=1)
        return (xp.permute_dims(X * rho[:, None], (1, 0)) @ X,)

    def assemble(self, parts: tuple, co: SimpleNamespace) -> np.ndarray:
        return np.asarray(parts[0], dtype=np.float64)

    def scatter(self, nk: np.ndarray, means: np.ndarray, second: np.ndarray, ref: np.ndarray,
                centre: np.ndarray) -> np.ndarray:  # fmt: skip
        b = means - centre
        W = second - (nk[:, None] * means).T @ means + (nk[:, None] * b).T @ b
        return 0.5 * (W + W.T)

    def ridge(self, W: np.ndarray, nk: np.ndarray, reg_covar: float, d: int) -> np.ndarray:
        W = W.copy()
        W[np.diag_indices_from(W)] += np.sum(nk) * reg_covar
        return W

    def about_origin(self, stats: Any) -> np.ndarray:
        return stats.second  # pooled about the origin already

    def variances(self, cov: np.ndarray) -> np.ndarray:
        return np.diag(cov)

    def log_det(self, prec_chol: Any, d: int) -> Any:
        return np.sum(np.log(np.diagonal(prec_chol)))

    def sample(self, rng: Any, means: np.ndarray, cov: np.ndarray, counts: np.ndarray) -> Any:
        return np.vstack([rng.multivariate_normal(m, cov, int(s))
                          for m, s in zip(means, counts, strict=True)])  # fmt: skip

    def describe(self, cov: np.ndarray) -> list[str]:
        if cov.shape[0] == 1:
            return [f"    shared: {_row(cov)}"]
        return ["    shared:"] + [f"      {_row(r)}" for r in cov]

    def ad_log_prob(self, X: Any, means: Any, U: Any) -> Any:
        diff = X[:, None, :] - means[None, :, :]
        z = np.einsum("nkd,de->nke", diff, U)
        log_det = np.sum(np.log(np.diagonal(U)))
        return -0.5 * np.sum(z * z, axis=2) + (log_det - 0.5 * X.shape[1] * LOG_2PI)


# ------------------------------------------------------------------------------ diagonal
class DiagonalFamily(_Family):
    """A diagonal covariance matrix per component: compact shape (K, d)."""

    def component_from_covariance(self, cov: np.ndarray) -> Any:
        return np.diag(cov).copy()

    def compact_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components, n_features)

    def second_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components, n_features)

    def to_matrices(self, compact: Any, n_components: int, n_features: int) -> Any:
        return compact[:, :, None] * np.eye(n_features)

    def from_matrices(self, M: np.ndarray) -> np.ndarray:
        return np.diagonal(M, axis1=1, axis2=2).copy()

    def scatter_from_matrices(self, M: np.ndarray) -> Any:
        return self.from_matrices(M)

    def _precision_squares(self, prec_chol: np.ndarray, d: int) -> np.ndarray:
        P = np.asarray(prec_chol, dtype=np.float64) ** 2
        return P if P.ndim == 2 else np.broadcast_to(P[:, None], (P.shape[0], d))

    def reference(self, means: np.ndarray, prec_chol: np.ndarray) -> np.ndarray:
        P = self._precision_squares(prec_chol, means.shape[1])
        return _reference_if_needed(means, np.max(means**2 * P, axis=1))

    def coefficients(self, params: Any, ref: np.ndarray, put: Any) -> SimpleNamespace:
        co = _common(ref, put)
        if params is None:
            return co
        U = np.asarray(params.precisions_cholesky, dtype=np.float64)
        means = np.asarray(params.means, dtype=np.float64)
        _offset(co, put, self.log_det(U, co.d), params)
        P = self._precision_squares(U, co.d)
        self._well_coefficients(co, put, means, P)  # every component's (see FullFamily)
        co.exact = [(put(means[k]), put(P[k])) for k in co.ill]
        return co

    def _well_coefficients(self, co: SimpleNamespace, put: Any, means: np.ndarray,
                           P: np.ndarray) -> None:  # fmt: skip
        co.P_t, co.m2mP_t = put(P.T), put((-2.0 * means * P).T)
        co.c = put(np.sum(means**2 * P, axis=1))

    def features(self, xp: Any, X: Any, co: SimpleNamespace) -> Any:
        return X * X if len(co.well) else None  # shared by the density and the statistic

    def _well_maha(self, xp: Any, X: Any, co: SimpleNamespace, sq: Any) -> Any:
        maha = _products(xp, [(sq, co.P_t), (X, co.m2mP_t)])
        maha += co.c
        return maha

    def _exact_maha(self, xp: Any, X: Any, mu: Any, P: Any) -> Any:
        return _squared_deviations(xp, X, mu) @ P

    def log_prob(self, xp: Any, X: Any, co: SimpleNamespace, F: Any) -> Any:
        parts = []
        if len(co.well):
            parts.append(self._well_maha(xp, X, co, F))
        if len(co.ill):  # from differences, one component at a time
            parts.append(xp.stack([self._exact_maha(xp, X, mu, P) for mu, P in co.exact], axis=1))
        return _density(xp, _merge(xp, co, parts), co)

    def _exact_second(self, xp: Any, X: Any, ref: Any, r: Any) -> Any:
        return r @ _squared_deviations(xp, X, ref)

    def second_parts(self, xp: Any, X: Any, wresp: Any, co: SimpleNamespace, F: Any) -> tuple:
        parts: list[Any] = []
        if len(co.well):
            parts.append(xp.permute_dims(wresp, (1, 0)) @ F)  # every component's
        if len(co.ill):
            parts.append(xp.stack([self._exact_second(xp, X, co.ref_ill[j], wresp[:, int(k)])
                                   for j, k in enumerate(co.ill)]))  # fmt: skip
        return tuple(parts)

    def assemble(self, parts: tuple, co: SimpleNamespace) -> np.ndarray:
        second = np.zeros(self.second_shape(co.K, co.d))
        it = iter(parts)
        if len(co.well):
            second[co.well] = np.reshape(next(it), (co.K, -1))[co.well]
        if len(co.ill):
            second[co.ill] = np.reshape(next(it), (len(co.ill), -1))
        return second

    def scatter(self, nk: np.ndarray, means: np.ndarray, second: np.ndarray, ref: np.ndarray,
                centre: np.ndarray) -> np.ndarray:  # fmt: skip
        return second - nk[:, None] * (means - ref) ** 2 + nk[:, None] * (means - centre) ** 2

    def ridge(self, W: np.ndarray, nk: np.ndarray, reg_covar: float, d: int) -> np.ndarray:
        return W + nk[:, None] * reg_covar

    def about_origin(self, stats: Any) -> np.ndarray:
        m, sx, nk, S = stats.ref, stats.sx, stats.nk, stats.second
        return S + 2 * m * sx - nk[:, None] * m * m

    def precision_cholesky(self, cov: np.ndarray) -> np.ndarray:
        if np.any(cov <= 0.0) or not np.all(np.isfinite(cov)):
            raise ill_defined_error(cov.dtype)
        return 1.0 / np.sqrt(cov)

    def precisions(self, prec_chol: np.ndarray) -> np.ndarray:
        return prec_chol**2

    def cholesky_from_precisions(self, precisions: np.ndarray) -> np.ndarray:
        return np.sqrt(precisions)

    def covariances_from_cholesky(self, prec_chol: np.ndarray) -> np.ndarray:
        return 1.0 / prec_chol**2

    def variances(self, cov: np.ndarray) -> np.ndarray:
        return cov

    def log_det(self, prec_chol: Any, d: int) -> Any:
        return np.sum(np.log(prec_chol), axis=1)

    def sample(self, rng: Any, means: np.ndarray, cov: np.ndarray, counts: np.ndarray) -> Any:
        d = means.shape[1]
        return np.vstack([m + rng.standard_normal(size=(int(s), d)) * np.sqrt(c)
                          for m, c, s in zip(means, cov, counts, strict=True)])  # fmt: skip

    def describe(self, cov: np.ndarray) -> list[str]:
        return [f"    component {k} variances: {_row(c)}" for k, c in enumerate(cov)]

    def ad_log_prob(self, X: Any, means: Any, U: Any) -> Any:
        z = (X[:, None, :] - means[None, :, :]) * U[None, :, :]
        log_det = np.sum(np.log(U), axis=1)
        return -0.5 * np.sum(z * z, axis=2) + (log_det - 0.5 * X.shape[1] * LOG_2PI)

    def ad_covariances(self, U: Any) -> Any:
        return 1.0 / (U * U)

    # free parameters: log U_kj directly, or log U_kj = v_k + s_kj with Σ_j s_kj = 0
    # where volume and shape are shared differently
    def free_size(self, K: int, d: int) -> int:
        vol = 1 if self.letters[0] == "E" else K
        shape = {"I": 0, "E": d - 1, "V": K * (d - 1)}[self.letters[1]]
        return vol + shape

    def pack_free(self, U: np.ndarray) -> np.ndarray:
        logU = np.log(np.asarray(U, dtype=np.float64))
        logU = logU if logU.ndim == 2 else logU[:, None]
        if self.letters[0] == self.letters[1]:
            return (logU if self.letters[0] == "V" else logU.mean(axis=0)).ravel()
        v = logU.mean(axis=1)
        s = (logU - v[:, None])[:, :-1]
        vol = v if self.letters[0] == "V" else v.mean(keepdims=True)
        if self.letters[1] == "I":
            return vol
        shape = s if self.letters[1] == "V" else s.mean(axis=0, keepdims=True)
        return np.concatenate([vol, shape.ravel()])

    def unpack_free(self, theta: Any, K: int, d: int) -> Any:
        if self.letters[0] == self.letters[1]:
            return np.exp(np.reshape(theta, (-1, d)) * np.ones((K, 1)))
        n_vol = 1 if self.letters[0] == "E" else K
        v = np.reshape(theta[:n_vol], (-1, 1)) * np.ones((K, 1))
        if d == 1:  # no shape to speak of
            return np.exp(v)
        s = np.reshape(theta[n_vol:], (-1, d - 1)) * np.ones((K, 1))
        logU = v + np.concatenate([s, -np.sum(s, axis=1, keepdims=True)], axis=1)
        return np.exp(logU)


# ------------------------------------------------------------------------------ spherical
class SphericalFamily(DiagonalFamily):
    """One variance per component: compact shape (K,); Diagonal's reference points,
    statistic handling and precisions, pooled over features."""

    def compact_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components,)

    def component_from_covariance(self, cov: np.ndarray) -> Any:
        return float(np.mean(np.diag(cov)))

    def second_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components, 1)  # Σ r |x - m|², pooled over features

    def to_matrices(self, compact: Any, n_components: int, n_features: int) -> Any:
        return compact[:, None, None] * np.eye(n_features)

    def from_matrices(self, M: np.ndarray) -> np.ndarray:
        return M[:, 0, 0].copy()

    def scatter_from_matrices(self, M: np.ndarray) -> Any:
        return np.trace(M, axis1=1, axis2=2)

    def _well_coefficients(self, co: SimpleNamespace, put: Any, means: np.ndarray,
                           P: np.ndarray) -> None:  # fmt: skip
        co.p, co.m2_t = put(P[:, 0]), put(-2.0 * means.T)
        co.c = put(np.sum(means**2, axis=1) * P[:, 0])

    def features(self, xp: Any, X: Any, co: SimpleNamespace) -> Any:
        return xp.sum(X * X, axis=1) if len(co.well) else None  # |x|²

    def _well_maha(self, xp: Any, X: Any, co: SimpleNamespace, x2: Any) -> Any:
        maha = _products(xp, [(X, co.m2_t)])
        maha += x2[:, None]
        maha *= co.p
        maha += co.c
        return maha

    def _exact_maha(self, xp: Any, X: Any, mu: Any, P: Any) -> Any:
        return xp.sum(_squared_deviations(xp, X, mu), axis=1) * P[0]

    def _exact_second(self, xp: Any, X: Any, ref: Any, r: Any) -> Any:
        return r @ xp.sum(_squared_deviations(xp, X, ref), axis=1)

    def scatter(self, nk: np.ndarray, means: np.ndarray, second: np.ndarray, ref: np.ndarray,
                centre: np.ndarray) -> np.ndarray:  # fmt: skip
        shift = np.sum((means - centre) ** 2 - (means - ref) ** 2, axis=1)
        return second[:, 0] + nk * shift

    def ridge(self, W: np.ndarray, nk: np.ndarray, reg_covar: float, d: int) -> np.ndarray:
        return W + nk * d * reg_covar

    def about_origin(self, stats: Any) -> np.ndarray:
        m, sx, nk, S = stats.ref, stats.sx, stats.nk, stats.second
        return S + (2 * np.sum(m * sx, axis=1) - nk * np.sum(m * m, axis=1))[:, None]

    def variances(self, cov: np.ndarray) -> np.ndarray:
        return cov[:, None]

    def log_det(self, prec_chol: Any, d: int) -> Any:
        return d * np.log(prec_chol)

    def describe(self, cov: np.ndarray) -> list[str]:
        return [f"    component {k} variance: {_row(c)}" for k, c in enumerate(cov)]

    def unpack_free(self, theta: Any, K: int, d: int) -> Any:
        return np.exp(theta) * np.ones(K)  # one log-volume, or one per component

    def ad_log_prob(self, X: Any, means: Any, U: Any) -> Any:
        d = X.shape[1]
        z = (X[:, None, :] - means[None, :, :]) * U[None, :, None]
        return -0.5 * np.sum(z * z, axis=2) + (d * np.log(U) - 0.5 * d * LOG_2PI)
