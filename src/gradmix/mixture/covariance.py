"""Covariance models: one self-contained unit per covariance type.

Each model knows
- its second-moment sufficient statistic and how to accumulate it from a chunk
  of (centred) data and weighted responsibilities,
- its M-step (closed form, with ``reg_covar``),
- its precision Cholesky factor, log-determinant and log-density,
- its parameter count, and the shapes and validation of its parameters.

Arrays follow scikit-learn's conventions: ``covariances`` is (K, d, d) for
full, (d, d) for tied, (K, d) for diag and (K,) for spherical;
``precisions_cholesky`` is the upper-triangular ``U`` with ``U Uᵀ = Σ⁻¹``
(full, tied) or ``1/σ`` (diag, spherical).

The data arrive centred (the EM driver subtracts their mean), so results do
not depend on where the data sit.  The full model goes further and takes its
statistic about each component's current mean, so a tight component far from
the others (or a one-point component at initialisation) loses no digits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.linalg as sla

__all__ = ["CovarianceModel", "MODELS", "ILL_DEFINED_COVARIANCE", "get_model"]

LOG_2PI = math.log(2 * math.pi)

ILL_DEFINED_COVARIANCE = (
    "Fitting the mixture model failed because some components have "
    "ill-defined empirical covariance (for instance caused by singleton "
    "or collapsed samples). Try to decrease the number of components, "
    "increase reg_covar, or scale the input data."
)


def ill_defined_error(dtype: Any) -> ValueError:
    """scikit-learn's error for a covariance that is not positive definite."""
    msg = ILL_DEFINED_COVARIANCE
    if np.dtype(dtype) == np.float32:
        msg += (
            " The numerical accuracy can also be improved by passing float64"
            " data instead of float32."
        )
    return ValueError(msg)


@dataclass(frozen=True)
class CovarianceModel:
    """Base class: the interface every covariance model implements."""

    name: ClassVar[str] = ""

    # sufficient statistic -------------------------------------------------
    def second_moment_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        """Shape of the accumulated second-moment statistic."""
        raise NotImplementedError

    def accumulate(
        self,
        second: np.ndarray,
        X: np.ndarray,
        wresp: np.ndarray,
        ref: np.ndarray,
        features: Any = None,
    ) -> None:
        """Add a chunk's second-moment statistic into ``second`` (in place).

        Parameters
        ----------
        second : ndarray
            Accumulator of shape :meth:`second_moment_shape`.
        X : ndarray, shape (n, d)
            Centred data chunk.
        wresp : ndarray, shape (n, K)
            Responsibilities times sample weights.
        ref : ndarray, shape (K, d)
            Reference points (the current means); models that take their
            statistic about them avoid cancellation within a component.
        """
        raise NotImplementedError

    def features(self, X: np.ndarray) -> Any:
        """Per-chunk quantities shared by the log-density and the statistic (or None).

        Only used when every component is well-conditioned (see :meth:`reference`).
        """
        return None

    def reference(self, means: np.ndarray, prec_chol: np.ndarray) -> np.ndarray:
        """Points to take the next E-step's second moments about, shape (K, d).

        Zeros (the global centre) allow the fast one-GEMM statistic; its
        relative rounding error is about eps·|μ_k|²/σ_k², so components whose
        mean lies more than ~100 standard deviations from the centre (or that
        shrank onto a point) get their own mean as reference instead.
        """
        return np.zeros_like(means, dtype=np.float64)

    def covariances(
        self,
        nk: np.ndarray,
        means: np.ndarray,
        second: np.ndarray,
        reg_covar: float,
        ref: np.ndarray,
        centre: np.ndarray,
    ) -> np.ndarray:
        """M-step: covariances from the statistics.

        Parameters
        ----------
        nk : ndarray, shape (K,)
            Σ w r per component (with scikit-learn's 10·eps added).
        means : ndarray, shape (K, d)
            Σ w r x / nk.
        second : ndarray
            The accumulated statistic.
        reg_covar : float
        ref : ndarray, shape (K, d)
            The reference points ``second`` was taken about.
        centre : ndarray, shape (K, d)
            Points the spread is measured about: ``means`` for the M-step,
            fixed means when those are frozen.
        """
        raise NotImplementedError

    # precision and density -----------------------------------------------------
    def precision_cholesky(self, covariances: np.ndarray) -> np.ndarray:
        """``U`` with ``U Uᵀ = Σ⁻¹`` (upper triangular), or ``1/σ``; ill-defined -> error."""
        raise NotImplementedError

    def variances(self, covariances: np.ndarray) -> np.ndarray:
        """Per-feature variances, broadcastable to (K, d)."""
        raise NotImplementedError

    def precisions(self, prec_chol: np.ndarray) -> np.ndarray:
        """Precision matrices (or precisions) from their Cholesky factors."""
        raise NotImplementedError

    def cholesky_from_precisions(self, precisions: np.ndarray) -> np.ndarray:
        """The upper factor ``U`` of given precisions, ``U Uᵀ = Λ``."""
        raise NotImplementedError

    def covariances_from_cholesky(self, prec_chol: np.ndarray) -> np.ndarray:
        """Covariances from precision Cholesky factors (for user-given precisions)."""
        raise NotImplementedError

    def log_det(self, prec_chol: np.ndarray, n_features: int) -> np.ndarray:
        """log det of the precision Cholesky factor, per component (K,) or scalar."""
        raise NotImplementedError

    def log_prob(
        self, X: np.ndarray, means: np.ndarray, prec_chol: np.ndarray, features: Any = None
    ) -> np.ndarray:
        """log N(x | μ_k, Σ_k) for each row and component, shape (n, K)."""
        raise NotImplementedError

    def n_parameters(self, n_components: int, n_features: int) -> int:
        """Free parameters of the covariances."""
        raise NotImplementedError

    def precision_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        raise NotImplementedError


CONDITION_LIMIT = 1e4  # eps * 1e4 ~ 2e-12: the fast statistic's worst relative error


def _log_density(maha: np.ndarray, log_det: Any, d: int) -> np.ndarray:
    """-(d log 2π + maha)/2 + log det, in place on ``maha`` (one pass, no temporaries)."""
    maha *= -0.5
    maha += np.asarray(log_det - 0.5 * d * LOG_2PI, dtype=maha.dtype)
    return maha


def _reference_if_needed(means: np.ndarray, whitened_sq_norm: np.ndarray) -> np.ndarray:
    """Per component: its mean as reference where the fast statistic would lose digits,
    else zeros (the global centre)."""
    ill = whitened_sq_norm >= CONDITION_LIMIT
    return np.where(ill[:, None], means, 0.0).astype(np.float64)


def _chol_upper_of_inverse(cov: np.ndarray) -> np.ndarray:
    """``U = L⁻ᵀ`` for ``Σ = L Lᵀ``: upper triangular with ``U Uᵀ = Σ⁻¹``."""
    try:
        L = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError as exc:
        raise ill_defined_error(cov.dtype) from exc
    d = cov.shape[-1]
    eye = np.broadcast_to(np.eye(d, dtype=cov.dtype), cov.shape)
    if cov.ndim == 2:
        return sla.solve_triangular(L, eye, lower=True).T
    return np.stack(
        [sla.solve_triangular(Lk, np.eye(d, dtype=cov.dtype), lower=True).T for Lk in L]
    )


def _flipudlr(a: np.ndarray) -> np.ndarray:
    return a[..., ::-1, ::-1]


def _upper_from_precision(prec: np.ndarray) -> np.ndarray:
    """Upper ``U`` with ``U Uᵀ = Λ`` (the flip trick, as scikit-learn does)."""
    return _flipudlr(np.linalg.cholesky(_flipudlr(prec)))


@dataclass(frozen=True)
class Full(CovarianceModel):
    """One full covariance matrix per component."""

    name: ClassVar[str] = "full"

    def second_moment_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components, n_features, n_features)

    def reference(self, means: np.ndarray, prec_chol: np.ndarray) -> np.ndarray:
        z = np.einsum("kd,kde->ke", means, prec_chol)
        return _reference_if_needed(means, np.sum(z * z, axis=1))

    def features(self, X: np.ndarray) -> Any:
        # the packed products x_i x_j (i <= j): the quadratic forms of the E-step and the
        # second moments of the M-step are both one GEMM against them
        # stored transposed, (d(d+1)/2, n): every row of the triangle is then one
        # contiguous vectorised product, and both GEMMs read it as it lies
        n, d = X.shape
        xt = np.ascontiguousarray(X.T)
        out = np.empty((d * (d + 1) // 2, n), dtype=X.dtype)
        off = 0
        for i in range(d):
            np.multiply(xt[i], xt[i:], out=out[off : off + d - i])
            off += d - i
        return out

    def accumulate(
        self,
        second: np.ndarray,
        X: np.ndarray,
        wresp: np.ndarray,
        ref: np.ndarray,
        features: Any = None,
    ) -> None:
        d = X.shape[1]
        exact = np.any(ref != 0, axis=1)
        fast = ~exact
        if np.any(fast):
            # Σ_n r_nk x_n x_nᵀ in one GEMM over the packed upper triangle
            iu, ju = np.triu_indices(d)
            xxt = self.features(X) if features is None else features
            w = wresp if np.all(fast) else wresp[:, fast]
            packed = w.T @ xxt.T
            S = np.empty((packed.shape[0], d, d))
            S[:, iu, ju] = packed
            S[:, ju, iu] = packed
            second[fast] += S
        for k in np.flatnonzero(exact):
            # about the component's own mean: no digits lost however far it sits
            # (one component at a time: temporaries of the chunk's size, not K times it)
            D = X - ref[k]
            second[k] += (D * wresp[:, k : k + 1]).T @ D

    def covariances(
        self,
        nk: np.ndarray,
        means: np.ndarray,
        second: np.ndarray,
        reg_covar: float,
        ref: np.ndarray,
        centre: np.ndarray,
    ) -> np.ndarray:
        d = means.shape[1]
        a, b = means - ref, means - centre
        cov = second / nk[:, None, None] - a[:, :, None] * a[:, None, :]
        cov += b[:, :, None] * b[:, None, :]
        cov = 0.5 * (cov + np.swapaxes(cov, 1, 2))
        cov[:, np.arange(d), np.arange(d)] += reg_covar
        return cov

    def precision_cholesky(self, covariances: np.ndarray) -> np.ndarray:
        return _chol_upper_of_inverse(covariances)

    def variances(self, covariances: np.ndarray) -> np.ndarray:
        return np.diagonal(covariances, axis1=-2, axis2=-1)

    def precisions(self, prec_chol: np.ndarray) -> np.ndarray:
        return prec_chol @ np.swapaxes(prec_chol, -1, -2)

    def cholesky_from_precisions(self, precisions: np.ndarray) -> np.ndarray:
        return _upper_from_precision(precisions)

    def covariances_from_cholesky(self, prec_chol: np.ndarray) -> np.ndarray:
        return np.linalg.inv(self.precisions(prec_chol))

    def log_det(self, prec_chol: np.ndarray, n_features: int) -> np.ndarray:
        return np.sum(np.log(np.diagonal(prec_chol, axis1=-2, axis2=-1)), axis=-1)

    def log_prob(
        self, X: np.ndarray, means: np.ndarray, prec_chol: np.ndarray, features: Any = None
    ) -> np.ndarray:
        d = X.shape[1]
        if features is None:
            maha = self._maha_exact(X, means, prec_chol)
        else:
            # (x-μ)ᵀΛ(x-μ) = xᵀΛx - 2xᵀΛμ + μᵀΛμ: GEMMs against the packed products,
            # for the well-conditioned components (nothing cancels there); the others
            # are recomputed exactly
            lam = self.precisions(prec_chol)
            iu, ju = np.triu_indices(d)
            coef = lam[:, iu, ju] * np.where(iu == ju, 1.0, 2.0)
            b = np.einsum("kij,kj->ki", lam, means)
            maha = (coef.astype(X.dtype) @ features).T
            maha -= 2.0 * (X @ b.T.astype(X.dtype))
            maha += np.einsum("ki,ki->k", means, b).astype(X.dtype)
            np.maximum(maha, 0, out=maha)
            ill = np.any(self.reference(means, prec_chol) != 0, axis=1)
            if np.any(ill):
                maha[:, ill] = self._maha_exact(X, means[ill], prec_chol[ill])
        return _log_density(maha, self.log_det(prec_chol, d), d)

    def _maha_exact(self, X: np.ndarray, means: np.ndarray, prec_chol: np.ndarray) -> np.ndarray:
        """|U_kᵀ(x - μ_k)|² for all components, by GEMMs over blocks of components
        (scikit-learn's formula; the blocks bound the (n, k·d) temporaries)."""
        n, d = X.shape
        K = means.shape[0]
        out = np.empty((n, K), dtype=X.dtype)
        step = max(1, 256 // d)
        for s in range(0, K, step):
            pc = prec_chol[s : s + step]
            kb = pc.shape[0]
            U = np.transpose(pc, (1, 0, 2)).reshape(d, kb * d).astype(X.dtype)
            mu_u = np.einsum("kd,kde->ke", means[s : s + step], pc).reshape(kb * d)
            Y = X @ U
            Y -= mu_u.astype(X.dtype)
            np.square(Y, out=Y)
            out[:, s : s + kb] = Y.reshape(n, kb, d).sum(axis=2)
        return out

    def n_parameters(self, n_components: int, n_features: int) -> int:
        return n_components * n_features * (n_features + 1) // 2

    def precision_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components, n_features, n_features)


@dataclass(frozen=True)
class Tied(CovarianceModel):
    """One covariance matrix shared by all components."""

    name: ClassVar[str] = "tied"

    def second_moment_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_features, n_features)

    def accumulate(
        self,
        second: np.ndarray,
        X: np.ndarray,
        wresp: np.ndarray,
        ref: np.ndarray,
        features: Any = None,
    ) -> None:
        # pooled over components: Σ_n (Σ_k w r_nk) x_n x_nᵀ, one GEMM
        rho = wresp.sum(axis=1)
        second += (X * rho[:, None]).T @ X

    def covariances(
        self,
        nk: np.ndarray,
        means: np.ndarray,
        second: np.ndarray,
        reg_covar: float,
        ref: np.ndarray,
        centre: np.ndarray,
    ) -> np.ndarray:
        b = means - centre
        cov = (second - (nk[:, None] * means).T @ means + (nk[:, None] * b).T @ b) / np.sum(nk)
        cov = 0.5 * (cov + cov.T)
        cov[np.diag_indices_from(cov)] += reg_covar
        return cov

    def precision_cholesky(self, covariances: np.ndarray) -> np.ndarray:
        return _chol_upper_of_inverse(covariances)

    def variances(self, covariances: np.ndarray) -> np.ndarray:
        return np.diag(covariances)

    def precisions(self, prec_chol: np.ndarray) -> np.ndarray:
        return prec_chol @ prec_chol.T

    def cholesky_from_precisions(self, precisions: np.ndarray) -> np.ndarray:
        return _upper_from_precision(precisions)

    def covariances_from_cholesky(self, prec_chol: np.ndarray) -> np.ndarray:
        return np.linalg.inv(self.precisions(prec_chol))

    def log_det(self, prec_chol: np.ndarray, n_features: int) -> np.ndarray:
        return np.sum(np.log(np.diag(prec_chol)))

    def log_prob(
        self, X: np.ndarray, means: np.ndarray, prec_chol: np.ndarray, features: Any = None
    ) -> np.ndarray:
        d = X.shape[1]
        Y = X @ prec_chol
        M = means @ prec_chol
        # |y - m|² = |y|² - 2 y·m + |m|², all components by one GEMM
        maha = np.einsum("ij,ij->i", Y, Y)[:, None] - 2 * (Y @ M.T) + np.einsum("ij,ij->i", M, M)
        np.maximum(maha, 0, out=maha)
        return _log_density(maha, self.log_det(prec_chol, d), d)

    def n_parameters(self, n_components: int, n_features: int) -> int:
        return n_features * (n_features + 1) // 2

    def precision_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_features, n_features)


def _accumulate_squares(
    second: np.ndarray, X: np.ndarray, wresp: np.ndarray, ref: np.ndarray, sq: Any = None
) -> None:
    """Σ_n r_nk (x_n - m_k)² per feature (second: (K, d)) or summed over features
    (second: (K, 1)); one GEMM about the origin for well-conditioned components, about
    their own mean for the others.  ``sq`` is ``X*X`` (or its row sums) if known."""
    pooled = second.shape[1] == 1
    exact = np.any(ref != 0, axis=1)
    fast = ~exact
    if np.any(fast):
        if sq is None:
            sq = X * X
            if pooled:
                sq = sq.sum(axis=1)
        w = wresp if np.all(fast) else wresp[:, fast]
        contrib = w.T @ sq
        second[fast] += contrib[:, None] if contrib.ndim == 1 else contrib
    for k in np.flatnonzero(exact):  # one at a time: bounded temporaries
        D = X - ref[k]
        np.square(D, out=D)
        contrib = wresp[:, k] @ D
        second[k] += contrib.sum() if pooled else contrib


@dataclass(frozen=True)
class Diag(CovarianceModel):
    """A diagonal covariance matrix per component."""

    name: ClassVar[str] = "diag"

    def second_moment_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components, n_features)

    def reference(self, means: np.ndarray, prec_chol: np.ndarray) -> np.ndarray:
        P = prec_chol**2
        P = P if P.ndim == 2 else P[:, None]
        return _reference_if_needed(means, np.max(means**2 * P, axis=1))

    def accumulate(
        self,
        second: np.ndarray,
        X: np.ndarray,
        wresp: np.ndarray,
        ref: np.ndarray,
        features: Any = None,
    ) -> None:
        _accumulate_squares(second, X, wresp, ref, features)

    def features(self, X: np.ndarray) -> Any:
        return X * X  # shared by the log-density and the statistic

    def covariances(
        self,
        nk: np.ndarray,
        means: np.ndarray,
        second: np.ndarray,
        reg_covar: float,
        ref: np.ndarray,
        centre: np.ndarray,
    ) -> np.ndarray:
        return second / nk[:, None] - (means - ref) ** 2 + (means - centre) ** 2 + reg_covar

    def precision_cholesky(self, covariances: np.ndarray) -> np.ndarray:
        if np.any(covariances <= 0.0):
            raise ill_defined_error(covariances.dtype)
        return 1.0 / np.sqrt(covariances)

    def variances(self, covariances: np.ndarray) -> np.ndarray:
        return covariances

    def precisions(self, prec_chol: np.ndarray) -> np.ndarray:
        return prec_chol**2

    def cholesky_from_precisions(self, precisions: np.ndarray) -> np.ndarray:
        return np.sqrt(precisions)

    def covariances_from_cholesky(self, prec_chol: np.ndarray) -> np.ndarray:
        return 1.0 / prec_chol**2

    def log_det(self, prec_chol: np.ndarray, n_features: int) -> np.ndarray:
        return np.sum(np.log(prec_chol), axis=1)

    def log_prob(
        self, X: np.ndarray, means: np.ndarray, prec_chol: np.ndarray, features: Any = None
    ) -> np.ndarray:
        d = X.shape[1]
        P = prec_chol**2
        sq = X * X if features is None else features
        maha = sq @ P.T
        maha += X @ (-2.0 * means * P).T
        maha += np.sum(means**2 * P, axis=1)
        np.maximum(maha, 0, out=maha)
        self._exact_where_ill(maha, X, means, prec_chol)
        return _log_density(maha, self.log_det(prec_chol, d), d)

    def _exact_where_ill(
        self, maha: np.ndarray, X: np.ndarray, means: np.ndarray, prec_chol: np.ndarray
    ) -> None:
        """Recompute, from differences, the columns whose expanded form loses digits."""
        ill = np.any(self.reference(means, prec_chol) != 0, axis=1)
        P = prec_chol**2
        P = P if P.ndim == 2 else np.broadcast_to(P[:, None], means.shape)
        for k in np.flatnonzero(ill):  # one at a time: bounded temporaries
            D = X - means[k]
            np.square(D, out=D)
            maha[:, k] = D @ P[k].astype(D.dtype)

    def n_parameters(self, n_components: int, n_features: int) -> int:
        return n_components * n_features

    def precision_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components, n_features)


@dataclass(frozen=True)
class Spherical(Diag):
    """One variance per component: a diagonal model with equal variances, sharing
    Diag's reference points, statistic handling and precisions."""

    name: ClassVar[str] = "spherical"

    def second_moment_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components, 1)  # Σ r |x - m|², pooled over features

    def features(self, X: np.ndarray) -> Any:
        return np.einsum("ij,ij->i", X, X)  # |x|², shared by density and statistic

    def covariances(
        self,
        nk: np.ndarray,
        means: np.ndarray,
        second: np.ndarray,
        reg_covar: float,
        ref: np.ndarray,
        centre: np.ndarray,
    ) -> np.ndarray:
        d = means.shape[1]
        shift = np.sum((means - centre) ** 2 - (means - ref) ** 2, axis=1)
        return (second[:, 0] / nk + shift) / d + reg_covar

    def variances(self, covariances: np.ndarray) -> np.ndarray:
        return covariances[:, None]

    def log_det(self, prec_chol: np.ndarray, n_features: int) -> np.ndarray:
        return n_features * np.log(prec_chol)

    def log_prob(
        self, X: np.ndarray, means: np.ndarray, prec_chol: np.ndarray, features: Any = None
    ) -> np.ndarray:
        d = X.shape[1]
        P = prec_chol**2
        x2 = np.einsum("ij,ij->i", X, X) if features is None else features
        maha = np.sum(means**2, axis=1) * P - 2 * (X @ means.T * P) + np.outer(x2, P)
        np.maximum(maha, 0, out=maha)
        self._exact_where_ill(maha, X, means, prec_chol)
        return _log_density(maha, self.log_det(prec_chol, d), d)

    def n_parameters(self, n_components: int, n_features: int) -> int:
        return n_components

    def precision_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components,)


MODELS: dict[str, CovarianceModel] = {m.name: m for m in (Full(), Tied(), Diag(), Spherical())}


def get_model(covariance_type: str) -> CovarianceModel:
    """The covariance model named ``covariance_type``."""
    return MODELS[covariance_type]
