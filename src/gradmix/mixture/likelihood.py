"""The mixture log-likelihood as a differentiable function of free parameters.

EM never needs the likelihood's derivatives; everything else does: standard
errors (the observed information), Newton refinement after EM, and fitting by
gradient ascent.  This module writes the log-likelihood in plain numpy over an
unconstrained parameter vector θ, so that :mod:`gradmix.ad` differentiates it
exactly:

- weights: K - 1 logits (the last fixed at 0), ``w = softmax([logits, 0])`` —
  the sum-to-one constraint is built in, so the information matrix is not
  singular along it; with a noise component K logits, the noise's last;
- means: the K·d entries;
- covariances: the covariance model's own free parameters
  (:mod:`.free_covariances`), through scikit-learn's precision Cholesky
  factor ``U`` (``U Uᵀ = Σ⁻¹``);
- the component family's shape parameters: log ν per free group of
  Student-t components (one per component, one shared, none when fixed).

``pack`` and ``unpack`` are bijections onto the model's valid parameters, and
the number of free parameters is the model's parameter count (less the
noise component's density, which is fixed by its hypervolume).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from gradmix.ad import hessian_blocks, logsumexp
from gradmix.mixture.components import ComponentFamily, Gaussian
from gradmix.mixture.covariance import MODELS, CovarianceModel, get_model
from gradmix.mixture.free_covariances import FreeCovariances, free_covariances

__all__ = ["HESSIAN_BATCH_NUMBERS", "Parameterisation", "Unpacked", "hessian_batch",
           "supported_models"]  # fmt: skip

#: numbers each traced (directions, n, K, d) intermediate of a batched Hessian holds: 16 MiB
#: of float64, near the cache (2·10⁷, 160 MB an intermediate, took 2-4 times as long:
#: 5.1 s against 2.0-2.4 for a full-covariance Hessian of 20 000 × 5 rows, K = 5)
HESSIAN_BATCH_NUMBERS = 2**21


def hessian_batch(size: int, per_direction: int) -> int:
    """Directions per forward-over-reverse sweep for a Hessian of ``size`` parameters whose
    intermediates hold ``per_direction`` numbers per direction."""
    return max(1, min(size, HESSIAN_BATCH_NUMBERS // max(per_direction, 1)))


def supported_models() -> list[str]:
    """Names of the covariance models with a free parameterisation."""
    return [name for name, m in MODELS.items() if free_covariances(m).available]


class Unpacked(NamedTuple):
    """The parameters θ stands for (plain numpy or traced values)."""

    log_weights: Any  # (K,)
    means: Any  # (K, d)
    precisions_cholesky: Any  # compact
    dof: Any  # (K,) Student-t degrees of freedom, or None
    log_noise_weight: Any  # the noise component's log-weight, or None


@dataclass(frozen=True)
class Parameterisation:
    """Free parameters of a K-component mixture.

    Parameters
    ----------
    covariance_type : str
        Any name ``GaussianMixture`` takes whose model has a free
        parameterisation (:func:`supported_models`).
    n_components : int
    n_features : int
    family : ComponentFamily, optional
        The components' family (default: Gaussian on ``covariance_type``).
    dof : ndarray, shape (K,), optional
        Student-t degrees of freedom: the values of those not free.
    dof_groups : tuple of tuples of int
        Each free log ν and the components it applies to.
    noise_log_density : float, optional
        log(1/V) of a uniform noise component (None: no such component).

    Raises
    ------
    ValueError
        For a model without one (those with a shared shape under varying
        orientations, or the converse: EVE, VVE, EEV, VEV).
    """

    covariance_type: str
    n_components: int
    n_features: int
    family: ComponentFamily | None = field(default=None, compare=False)
    dof: np.ndarray | None = field(default=None, compare=False)
    dof_groups: tuple[tuple[int, ...], ...] = ()
    noise_log_density: float | None = None
    model: CovarianceModel = field(init=False, repr=False, compare=False)
    free: FreeCovariances = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        model = get_model(self.covariance_type)
        free = free_covariances(model)
        if not free.available:
            raise ValueError(
                f"covariance_type={self.covariance_type!r} constrains orientations (a shared "
                "shape under varying orientations, or the converse) in a way gradmix has no "
                "free parameterisation for; standard errors, refine='newton' and "
                f"solver='gradient' support {', '.join(supported_models())}"
            )
        object.__setattr__(self, "model", model)
        object.__setattr__(self, "free", free)
        if self.family is None:
            object.__setattr__(self, "family", Gaussian(model))

    # layout ----------------------------------------------------------------------
    @property
    def n_logits(self) -> int:
        return self.n_components - (self.noise_log_density is None)

    @property
    def n_cov(self) -> int:
        """Free covariance parameters."""
        return int(self.free.size(self.n_components, self.n_features))

    @property
    def size(self) -> int:
        """Length of θ."""
        K, d = self.n_components, self.n_features
        return self.n_logits + K * d + self.n_cov + len(self.dof_groups)

    # θ <-> parameters ------------------------------------------------------------
    def pack(self, weights: np.ndarray, means: np.ndarray, precisions_cholesky: np.ndarray,
             dof: np.ndarray | None = None,
             noise_weight: float | None = None) -> np.ndarray:  # fmt: skip
        """θ from compact parameters (float64, shape (size,)).

        Raises
        ------
        ValueError
            If a weight is zero (its logit would be infinite) or a precision
            factor's diagonal is not positive.
        """
        weights = np.asarray(weights, dtype=np.float64)
        if self.noise_log_density is not None:
            weights = np.append(weights, float(noise_weight or 0.0))
        if np.any(weights <= 0):
            raise ValueError("a component has zero weight: it has no free logit")
        U = np.asarray(precisions_cholesky, dtype=np.float64)
        if np.any(self.model.variances(U) <= 0):  # the factors' diagonals
            raise ValueError("precision Cholesky factors must have a positive diagonal")
        logits = np.log(weights[:-1]) - np.log(weights[-1])
        shape = [np.log(float(np.asarray(dof)[group[0]])) for group in self.dof_groups]
        return np.concatenate([logits, np.ravel(means), self.free.pack(U),
                               np.asarray(shape, dtype=np.float64)]).astype(np.float64)  # fmt: skip

    def unpack(self, theta: Any) -> Unpacked:
        """The parameters from θ, in plain numpy (differentiable by :mod:`gradmix.ad`);
        the precision factors compact (scikit-learn's shapes for the model's family)."""
        K, d, n_logits = self.n_components, self.n_features, self.n_logits
        logits = np.concatenate([theta[:n_logits], np.zeros(1)])
        log_w = logits - logsumexp(logits)
        start = n_logits + K * d
        means = np.reshape(theta[n_logits:start], (K, d))
        U = self.free.unpack(theta[start : start + self.n_cov], K, d)
        dof = None
        if self.dof is not None:
            dof = np.asarray(self.dof, dtype=np.float64)
            if self.dof_groups:
                # ν = fixed values + Σ_g exp(θ_g) over each free group's components
                spread = np.zeros((len(self.dof_groups), K))
                for g, group in enumerate(self.dof_groups):
                    spread[g, list(group)] = 1.0
                dof = dof * (spread.sum(axis=0) == 0) + np.exp(theta[start + self.n_cov :]) @ spread
        noise = None if self.noise_log_density is None else log_w[K]
        return Unpacked(log_w[:K], means, U, dof, noise)

    def natural(self, theta: Any) -> Any:
        """``[weights, means, covariances, (dof), (noise weight)]`` flattened
        (covariances in the fitted attribute's layout): the delta method's map from θ."""
        p = self.unpack(theta)
        cov = self.model.public(self.free.covariances(p.precisions_cholesky), self.n_components,
                                self.n_features)  # fmt: skip
        parts = [np.exp(p.log_weights), np.ravel(p.means), np.ravel(cov)]
        if p.dof is not None:
            parts.append(p.dof * np.ones(self.n_components))
        if p.log_noise_weight is not None:
            parts.append(np.reshape(np.exp(p.log_noise_weight), (1,)))
        return np.concatenate(parts)

    def split(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """``natural``'s flat vector (or per-entry values) as named, shaped arrays."""
        K, d = self.n_components, self.n_features
        shape = self.model.public_shape(K, d)
        end = K + K * d + int(np.prod(shape))
        out = {"weights": flat[:K], "means": flat[K : K + K * d].reshape(K, d),
               "covariances": flat[K + K * d : end].reshape(shape)}  # fmt: skip
        if self.dof is not None:
            out["degrees_of_freedom"] = flat[end : end + K]
            end += K
        if self.noise_log_density is not None:
            out["noise_weight"] = flat[end : end + 1].reshape(())
        return out

    # the likelihood -----------------------------------------------------------------
    def log_prob(self, theta: Any, X: np.ndarray) -> Any:
        """log π_k + log f_k(x_i), shape (n, K), or (n, K + 1) with the noise component."""
        p = self.unpack(theta)
        family = self.family
        assert family is not None
        maha = self.free.mahalanobis(X, p.means, p.precisions_cholesky)
        log_det = self.model.log_det(p.precisions_cholesky, self.n_features)
        out = family.ad_log_density(maha, log_det, self.n_features, p.dof) + p.log_weights
        if p.log_noise_weight is not None:
            column = np.ones((X.shape[0], 1)) * (p.log_noise_weight + self.noise_log_density)
            out = np.concatenate([out, column], axis=1)
        return out

    def log_likelihood(self, theta: Any, X: np.ndarray, sample_weight: Any = None) -> Any:
        """Σᵢ wᵢ log p(xᵢ | θ): the mixture's total log-likelihood."""
        per_row = logsumexp(self.log_prob(theta, X), axis=1)
        return np.sum(per_row) if sample_weight is None else np.sum(sample_weight * per_row)

    def hessian(self, theta: np.ndarray, X: np.ndarray, sample_weight: Any = None) -> np.ndarray:
        """The exact Hessian of :meth:`log_likelihood`, shape (size, size).

        Forward-over-reverse AD, the directions in batches whose traced
        (n, K, d) intermediates hold :data:`HESSIAN_BATCH_NUMBERS` numbers.
        """
        batch = hessian_batch(self.size, X.shape[0] * self.n_components * self.n_features)
        H = hessian_blocks(lambda t: self.log_likelihood(t, X, sample_weight), theta, batch)
        return 0.5 * (H + H.T)
