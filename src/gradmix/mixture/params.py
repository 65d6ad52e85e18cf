"""The two values EM passes between its steps: parameters and sufficient statistics.

Both are host arrays.  Parameters are *centred* (the executor subtracts its
centre from every row; the estimators add it back); covariances are in the
covariance model's compact form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

__all__ = ["Params", "Stats"]


@dataclass
class Params:
    """Mixture parameters in centred coordinates.

    Attributes
    ----------
    weights : ndarray, shape (K,)
        The components' weights; with a noise component they sum to
        ``1 - noise_weight``.
    means : ndarray, shape (K, d)
        Means (Gaussian) or locations (Student-t).
    covariances : ndarray or None
        Compact covariances (scale matrices for Student-t components).
    precisions_cholesky : ndarray
        Compact precision factors, ``U Uᵀ = Σ⁻¹``.
    log_weights : ndarray, shape (K,), optional
        Terms that replace log(weights) in the E-step (variational inference's
        expected log-weights and Wishart corrections).
    dof : ndarray, shape (K,), optional
        Student-t degrees of freedom.
    noise_weight : float, optional
        The weight of the uniform noise component (None: no such component).
    noise_log_density : float
        log(1/V), the noise component's density over a hypervolume V.
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray | None
    precisions_cholesky: np.ndarray
    log_weights: np.ndarray | None = None
    dof: np.ndarray | None = None
    noise_weight: float | None = None
    noise_log_density: float = 0.0

    def copy(self) -> Params:
        def dup(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a.copy()

        return replace(self, weights=self.weights.copy(), means=self.means.copy(),
                       covariances=dup(self.covariances),
                       precisions_cholesky=self.precisions_cholesky.copy(),
                       log_weights=dup(self.log_weights), dof=dup(self.dof))  # fmt: skip

    def identity(self, matrices: Callable[[np.ndarray], np.ndarray] | None = None) -> bytes:
        """The parameters' bytes, the components in the order of their means: equal for
        two starts when EM runs them alike up to the components' labels (k-means
        starts from other seeds often find one partition under other labels).

        ``matrices`` turns the compact covariances into one (d, d) matrix per
        component; without it (or without covariances) the bytes are taken in the
        order given.
        """
        if matrices is None or self.covariances is None:
            parts = [self.weights, self.means, self.covariances, self.precisions_cholesky,
                     self.log_weights, self.dof, self.noise_weight]  # fmt: skip
        else:
            K = len(self.weights)
            order = np.lexsort(np.asarray(self.means).T[::-1])

            def ordered(a: Any) -> Any:
                if a is None or np.ndim(a) == 0 or np.shape(a)[0] != K:
                    return a
                return np.asarray(a)[order]

            parts = [ordered(self.weights), ordered(self.means),
                     np.asarray(matrices(self.covariances))[order], ordered(self.log_weights),
                     ordered(self.dof), self.noise_weight]  # fmt: skip
        return b"|".join(np.asarray(p).tobytes() for p in parts if p is not None)

    def log_weight_terms(self) -> np.ndarray:
        """log π_k, or the terms given in its place, float64 (log 0 = -inf)."""
        if self.log_weights is not None:
            return np.asarray(self.log_weights, dtype=np.float64)
        with np.errstate(divide="ignore"):
            return np.log(np.asarray(self.weights, dtype=np.float64))

    def noise_term(self) -> float | None:
        """log(π_noise / V): the noise component's weighted log-density (None: no noise)."""
        if self.noise_weight is None:
            return None
        with np.errstate(divide="ignore"):
            return float(np.log(self.noise_weight) + self.noise_log_density)


@dataclass
class Stats:
    """Sufficient statistics of (weighted) data under given responsibilities.

    For scale mixtures (Student-t) the location and scale statistics are
    weighted by the E-step's expected scale ``u`` as well: ``sx = Σ w r u x``
    and ``second`` of ``w r u``, with ``scale_nk = Σ w r u`` their total
    weight; for Gaussian components ``u = 1`` and ``scale_nk`` is None.

    Attributes
    ----------
    nk : ndarray, shape (K,)
        Σ w r.
    sx : ndarray, shape (K, d)
        Σ w r u x.
    second : ndarray
        The covariance family's second moment, taken about ``ref``.
    ref : ndarray, shape (K, d)
        Reference points of ``second``.
    weight : float
        Σ w over the rows.
    log_lik : float
        Σ w log p(x).
    scale_nk : ndarray, shape (K,), optional
        Σ w r u.
    shape_stat : ndarray, shape (K,), optional
        Σ w r (E[log τ] - E[τ]): what the Student-t degrees of freedom are fit to.
    noise : float, optional
        Σ w r of the noise component (None: no such component).
    """

    nk: np.ndarray
    sx: np.ndarray
    second: np.ndarray
    ref: np.ndarray
    weight: float = 0.0
    log_lik: float = 0.0
    scale_nk: np.ndarray | None = None
    shape_stat: np.ndarray | None = None
    noise: float | None = None
