"""The interface every covariance model implements, and what they share.

A covariance model writes each component's covariance in mclust's form
``Σ_k = λ_k D_k A_k D_kᵀ`` (volume λ, shape A with det A = 1, orientation
D) with some factors equal across components.  Its *family* (full, tied,
diagonal or spherical; :mod:`.families`) owns how it is stored and computed
with: the second-moment statistic the E-step accumulates, the log-density
kernel, the precision factor, the free parameterisation for AD.  The model
itself adds its M-step (:meth:`CovarianceModel.estimate`), its parameter
count and its factors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

__all__ = [
    "alternate",
    "det_root",
    "geometric_mean",
    "orientation_starts",
    "orientation_step",
    "CovarianceModel",
    "ILL_DEFINED_COVARIANCE",
    "LOG_2PI",
    "ill_defined_error",
    "normalise_signs",
    "sorted_eigh",
]

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


def normalise_signs(vectors: np.ndarray) -> np.ndarray:
    """Eigenvectors (columns) with their largest entry positive: a unique orientation."""
    big = np.take_along_axis(vectors, np.argmax(np.abs(vectors), axis=-2)[..., None, :], axis=-2)
    return vectors * np.where(big < 0, -1.0, 1.0)


def sorted_eigh(S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues in decreasing order and their eigenvectors (columns, signs fixed)."""
    values, vectors = np.linalg.eigh(S)
    return values[..., ::-1], normalise_signs(vectors[..., ::-1])


def geometric_mean(x: np.ndarray) -> np.ndarray:
    """exp(mean(log x)) over the last axis: the d-th root of a determinant."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.exp(np.mean(np.log(x), axis=-1))


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
    return [sorted_eigh(S)[1] for S in starts]


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
    M : ndarray, shape (K, d)
        Positive diagonal weights.
    D : ndarray, shape (d, d)
        The current orientation.
    alpha : ndarray, shape (K,)
        The largest eigenvalue of each W_k.
    """
    F = np.einsum("k,jl,kl->jl", alpha, D, M) - np.einsum("kij,jl,kl->il", W, D, M)
    P, _, Qt = np.linalg.svd(F)
    D = P @ Qt
    beta = M.max(axis=1)
    F = np.einsum("kij,jl,kl->il", W, D, beta[:, None] - M)
    P, _, Qt = np.linalg.svd(F)
    return P @ Qt


@dataclass(frozen=True)
class CovarianceModel:
    """A covariance model: its name, its family's computations and its M-step.

    Parameters
    ----------
    name : str
        The name users pass as ``covariance_type`` (mclust's three letters, or
        scikit-learn's name for the four models it has).
    matrix_attributes : bool
        Fitted ``covariances_``, ``precisions_`` and ``precisions_cholesky_``
        are (K, d, d) arrays (mclust's names), or the family's compact
        arrays (scikit-learn's names keep scikit-learn's shapes).
    """

    name: str = ""
    matrix_attributes: bool = True
    univariate: bool = False

    #: mclust's name: volume, shape and orientation each Equal, Variable or Identity
    letters: ClassVar[str] = ""
    #: mclust's description of the model
    description: ClassVar[str] = ""

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.letters)

    def renamed(self, name: str, *, matrix_attributes: bool,
                univariate: bool = False) -> CovarianceModel:  # fmt: skip
        """The same model under another name (and attribute layout)."""
        return replace(self, name=name, matrix_attributes=matrix_attributes,
                       univariate=univariate)  # fmt: skip

    # the model's own M-step and counts ------------------------------------------------
    def estimate(self, W: Any, nk: np.ndarray, n_features: int, previous: np.ndarray | None = None,
                 trace: list[float] | None = None) -> np.ndarray:  # fmt: skip
        """The covariances maximising the expected complete-data log-likelihood.

        Parameters
        ----------
        W : ndarray
            Weighted scatter about the means (regularised), in the family's
            form: (K, d, d), (d, d) pooled, (K, d) diagonals or (K,) traces.
        nk : ndarray, shape (K,)
            Σ w r per component.
        n_features : int
        previous : ndarray, optional
            The current covariances (compact), where an iterative M-step
            starts from.
        trace : list, optional
            Iterative M-steps append the objective Σ_k n_k log|Σ_k| +
            tr(W_k Σ_k⁻¹) (minimised) after each of their iterations.

        Returns
        -------
        ndarray
            Compact covariances (float64).
        """
        raise NotImplementedError(f"{type(self).__name__} has no M-step")

    def n_parameters(self, n_components: int, n_features: int) -> int:
        """Free parameters of the covariances (mclust's ``nVarParams``)."""
        raise NotImplementedError(f"{type(self).__name__} has no parameter count")

    def check_data(self, n_features: int) -> None:
        """Raise if the model does not apply to data with ``n_features`` columns."""
        if self.univariate and n_features != 1:
            raise ValueError(
                f"covariance_type={self.name!r} is mclust's name for one-dimensional data; "
                f"the data have {n_features} features (use the three-letter names)"
            )
