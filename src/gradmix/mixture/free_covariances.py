"""Each storage family's covariances as unconstrained parameters, in plain numpy for AD.

:class:`~gradmix.mixture.likelihood.Parameterisation`, the only user, writes
the mixture log-likelihood over a free vector θ; this module gives the
covariance part of θ for each storage family, through scikit-learn's
precision Cholesky factor ``U`` (``U Uᵀ = Σ⁻¹``):

- full and tied: the upper triangle of ``U`` with the log of its diagonal,
  or, where volume and shape are shared differently, a log-volume and a
  unit-determinant triangle;
- diagonal and spherical: ``log U``, or a log-volume and log-shapes that
  sum to zero.

Factors the model makes equal are one set of parameters.  ``pack`` and
``unpack`` are bijections onto the model's valid factors, and ``size`` is
the model's parameter count.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from gradmix.mixture.covariance import CovarianceModel
from gradmix.mixture.covariance.diagonal import DiagonalFamily
from gradmix.mixture.covariance.full import FullFamily
from gradmix.mixture.covariance.spherical import SphericalFamily
from gradmix.mixture.covariance.tied import TiedFamily

__all__ = ["FreeCovariances", "free_covariances"]


class FreeCovariances(ABC):
    """The free parameterisation of one covariance model's precision factors."""

    def __init__(self, unit: CovarianceModel):
        self.unit = unit
        # "equal", "variable" or "identity" across components, for each factor
        self.volume, self.shape, self.orientation = unit.sharing

    @property
    def available(self) -> bool:
        """Whether the model has a free parameterisation here."""
        return True

    @abstractmethod
    def size(self, K: int, d: int) -> int:
        """Free covariance parameters."""

    @abstractmethod
    def pack(self, U: np.ndarray) -> np.ndarray:
        """Free parameters from compact precision factors (host, float64)."""

    @abstractmethod
    def unpack(self, theta: Any, K: int, d: int) -> Any:
        """Compact precision factors from free parameters (differentiable)."""

    @abstractmethod
    def mahalanobis(self, X: Any, means: Any, U: Any) -> Any:
        """Squared distances ``|Uᵀ(x_i - μ_k)|²``, shape (n, K) (differentiable)."""

    @abstractmethod
    def covariances(self, U: Any) -> Any:
        """Compact covariances from compact precision factors (differentiable)."""


class _Triangles(FreeCovariances):
    """Full and tied: upper triangles of U, log-diagonal."""

    @property
    def available(self) -> bool:
        # unit-determinant triangles parameterise "equal shape and orientation" or
        # "varying shape and orientation"; a shared shape under varying orientations
        # (or the converse) needs an orthogonal parameterisation gradmix does not have
        return self.shape == self.orientation

    def _split(self) -> bool:
        return self.volume != self.shape

    def size(self, K: int, d: int) -> int:
        tri = d * (d + 1) // 2
        count = 1 if self.shape == "equal" else K
        if not self._split():
            return count * tri
        return (1 if self.volume == "equal" else K) + count * (tri - 1)

    def pack(self, U: np.ndarray) -> np.ndarray:
        U3 = U.reshape((-1,) + U.shape[-2:])
        d = U3.shape[-1]
        iu, ju = np.triu_indices(d)
        log_diag = np.log(np.diagonal(U3, axis1=1, axis2=2))
        entries = U3[:, iu, ju].copy()
        if not self._split():
            entries[:, iu == ju] = log_diag
            return (entries if self.shape == "variable" else entries.mean(axis=0)).ravel()
        v = log_diag.mean(axis=1)
        entries /= np.exp(v)[:, None]
        entries[:, iu == ju] = log_diag - v[:, None]
        t = entries[:, :-1]  # the last diagonal entry follows from det = 1
        vol = v if self.volume == "variable" else v.mean(keepdims=True)
        tri = t if self.shape == "variable" else t.mean(axis=0, keepdims=True)
        return np.concatenate([vol, tri.ravel()])

    def _factors(self, theta: Any, K: int, d: int) -> Any:
        """(K or 1, d, d) factors from θ."""
        iu, ju = np.triu_indices(d)
        diag = iu == ju
        P = len(iu)
        if self._split():
            n_vol = 1 if self.volume == "equal" else K
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
        return np.exp(v) * np.reshape(entries @ scatter, (-1, d, d))

    def unpack(self, theta: Any, K: int, d: int) -> Any:
        U = self._factors(theta, K, d)
        return U * np.ones((K, 1, 1)) if U.shape[0] == 1 else U

    def mahalanobis(self, X: Any, means: Any, U: Any) -> Any:
        z = np.einsum("nkd,kde->nke", X[:, None, :] - means[None, :, :], U)
        return np.sum(z * z, axis=2)

    def covariances(self, U: Any) -> Any:
        return np.linalg.inv(U @ np.swapaxes(U, -1, -2))


class _Tied(_Triangles):
    """One shared triangle."""

    def unpack(self, theta: Any, K: int, d: int) -> Any:
        return self._factors(theta, K, d)[0]

    def mahalanobis(self, X: Any, means: Any, U: Any) -> Any:
        z = np.einsum("nkd,de->nke", X[:, None, :] - means[None, :, :], U)
        return np.sum(z * z, axis=2)


class _Diagonal(FreeCovariances):
    """log U_kj directly, or log U_kj = v_k + s_kj with Σ_j s_kj = 0 where volume and
    shape are shared differently."""

    def size(self, K: int, d: int) -> int:
        vol = 1 if self.volume == "equal" else K
        shape = {"identity": 0, "equal": d - 1, "variable": K * (d - 1)}[self.shape]
        return vol + shape

    def pack(self, U: np.ndarray) -> np.ndarray:
        logU = np.log(np.asarray(U, dtype=np.float64))
        logU = logU if logU.ndim == 2 else logU[:, None]
        if self.volume == self.shape:
            return (logU if self.volume == "variable" else logU.mean(axis=0)).ravel()
        v = logU.mean(axis=1)
        s = (logU - v[:, None])[:, :-1]
        vol = v if self.volume == "variable" else v.mean(keepdims=True)
        if self.shape == "identity":
            return vol
        shape = s if self.shape == "variable" else s.mean(axis=0, keepdims=True)
        return np.concatenate([vol, shape.ravel()])

    def unpack(self, theta: Any, K: int, d: int) -> Any:
        if self.volume == self.shape:
            return np.exp(np.reshape(theta, (-1, d)) * np.ones((K, 1)))
        n_vol = 1 if self.volume == "equal" else K
        v = np.reshape(theta[:n_vol], (-1, 1)) * np.ones((K, 1))
        if d == 1:  # no shape to speak of
            return np.exp(v)
        s = np.reshape(theta[n_vol:], (-1, d - 1)) * np.ones((K, 1))
        logU = v + np.concatenate([s, -np.sum(s, axis=1, keepdims=True)], axis=1)
        return np.exp(logU)

    def mahalanobis(self, X: Any, means: Any, U: Any) -> Any:
        z = (X[:, None, :] - means[None, :, :]) * U[None, :, :]
        return np.sum(z * z, axis=2)

    def covariances(self, U: Any) -> Any:
        return 1.0 / (U * U)


class _Spherical(_Diagonal):
    """One log-volume, or one per component."""

    def unpack(self, theta: Any, K: int, d: int) -> Any:
        return np.exp(theta) * np.ones(K)

    def mahalanobis(self, X: Any, means: Any, U: Any) -> Any:
        z = (X[:, None, :] - means[None, :, :]) * U[None, :, None]
        return np.sum(z * z, axis=2)


#: the free parameterisation of each storage family (the most derived family first)
_BY_FAMILY: list[tuple[type, type[FreeCovariances]]] = [
    (TiedFamily, _Tied),
    (FullFamily, _Triangles),
    (SphericalFamily, _Spherical),
    (DiagonalFamily, _Diagonal),
]


def free_covariances(unit: CovarianceModel) -> FreeCovariances:
    """The free parameterisation of ``unit``'s storage family."""
    for family, free in _BY_FAMILY:
        if isinstance(unit, family):
            return free(unit)
    raise TypeError(f"no free parameterisation for {type(unit).__name__}")
