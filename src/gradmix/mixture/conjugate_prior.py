"""mclust's Bayesian regularisation: the conjugate prior of Fraley & Raftery (2007).

Fraley, C. and Raftery, A. E. (2007), "Bayesian regularization for normal
mixture estimation and model-based clustering", *Journal of Classification*
24, 155-181.  A normal prior on each mean, ``μ_k | Σ_k ~ N(μ_P, Σ_k / κ_P)``,
and an inverse-Wishart (matrix models) or inverse-gamma (diagonal and
spherical models) prior on the covariances, with hyperparameters

- ``shrinkage`` κ_P (default 0.01; 0 turns the mean's prior off),
- ``mean`` μ_P (default the data's mean),
- ``dof`` ν_P (default d + 2; 3 for one feature),
- ``scale`` Λ_P (default ``cov(X) / G^(2/d)`` for the matrix models,
  ``(Σ_j var(X_j) / d) / G^(2/d)`` as a multiple of I for the diagonal and
  spherical models, ``var(x) / G²`` for one feature),

as mclust's ``defaultPrior``.  EM then finds the posterior mode (MAP): the
means are ``(n_k x̄_k + κ_P μ_P) / (n_k + κ_P)`` and each model's covariance
M-step runs on the scatter with the prior's added, counted with the prior's
extra degrees of freedom.  How much each model adds is what mclust 6.0.0's
EM fits with ``prior = priorControl()`` add (its ``me*`` routines), read off
fits converged to 1e-12 on iris and checked against them in the tests, so
that BIC values agree with mclust's.  Where mclust departs from the paper we
follow mclust, for that agreement: its EII step leaves out the prior's
scale, its VEV step adds the scale without the extra degrees of freedom, and
its EEI, EVI and EEV steps count the prior once, not once per component.
Two departures we do not copy: mclust reports EEI's means
unshrunk (here every model's means are the posterior mode's, so that EM is
monotone in ``log L + log p``: the log-likelihoods differ by about 1e-3 on
iris, the means by 5e-4), and mclust's ``defaultPrior`` ignores a given ``dof`` (always d + 2),
which is honoured here.  With one component every model is mclust's
single-Gaussian estimate (``mvnXII``, ``mvnXXI``, ``mvnXXX``), as mclust
fits it.  mclust has no prior for EVE, VEE, VVE and EVV; here they get the
VVV form (an inverse-Wishart prior on each component's covariance,
restricted to the model).

The M-step maximises the expected complete-data log-likelihood plus the log
prior, so EM increases ``log L + log p`` (:meth:`ConjugatePrior.log_density`)
at every iteration; BIC uses the log-likelihood at the MAP estimate, as
mclust's does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradmix.mixture.covariance import CovarianceModel

__all__ = ["ConjugatePrior", "PRIOR_KEYS", "check_prior_spec"]

#: the hyperparameters a ``prior`` dict may give (mclust's ``priorControl`` arguments)
PRIOR_KEYS = ("shrinkage", "mean", "dof", "scale")
#: mclust's default shrinkage of the means towards the prior mean
DEFAULT_SHRINKAGE = 0.01


def check_prior_spec(spec: Any) -> dict[str, Any] | None:
    """The hyperparameters a user gave, checked: ``None``, ``"default"`` or a dict.

    Returns
    -------
    dict or None
        The given hyperparameters (an empty dict for ``"default"``).

    Raises
    ------
    ValueError
        For another value, an unknown key, or a hyperparameter that is not
        finite or not positive (``shrinkage`` may be 0: no prior on the means).
    """
    if spec is None:
        return None
    if isinstance(spec, str):
        if spec != "default":
            raise ValueError(f"prior must be None, 'default' or a dict of {PRIOR_KEYS}; "
                             f"got {spec!r}")  # fmt: skip
        return {}
    if not isinstance(spec, Mapping):
        raise ValueError(f"prior must be None, 'default' or a dict of {PRIOR_KEYS}; "
                         f"got {type(spec).__name__}")  # fmt: skip
    unknown = sorted(set(spec) - set(PRIOR_KEYS))
    if unknown:
        raise ValueError(f"unknown prior hyperparameters {unknown}; known: {list(PRIOR_KEYS)}")
    given = dict(spec)
    for key in ("shrinkage", "dof"):
        if key in given:
            value = given[key]
            if not isinstance(value, int | float | np.number) or not math.isfinite(value):
                raise ValueError(f"prior {key} must be a finite number, got {value!r}")
            if value < 0 or (key == "dof" and value == 0):
                raise ValueError(f"prior {key} must be {'positive' if key == 'dof' else '>= 0'}"
                                 f", got {value!r}")  # fmt: skip
    for key in ("mean", "scale"):
        if key in given:
            arr = np.asarray(given[key], dtype=np.float64)
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"prior {key} must be finite")
            given[key] = arr
    if "scale" in given:
        scale = given["scale"]
        if scale.ndim == 0 and scale <= 0:
            raise ValueError(f"prior scale must be positive, got {float(scale)!r}")
        if scale.ndim == 2:
            if scale.shape[0] != scale.shape[1] or not np.allclose(scale, scale.T):
                raise ValueError("prior scale must be a symmetric (d, d) matrix")
            if np.linalg.eigvalsh(scale)[0] <= 0:
                raise ValueError("prior scale must be positive definite")
        elif scale.ndim != 0:
            raise ValueError("prior scale must be a positive number or a (d, d) matrix")
    return given


@dataclass(frozen=True)
class ConjugatePrior:
    """The prior's hyperparameters for one model and number of components.

    Attributes
    ----------
    shrinkage : float
        κ_P.
    mean : ndarray, shape (d,)
        μ_P, in the executor's centred coordinates.
    dof : float
        ν_P.
    scale : ndarray, shape (d, d)
        Λ_P (for the diagonal and spherical models a multiple of I).
    extra_scatter : ndarray, shape (K, d, d)
        The scatter each component's covariance step adds
        (the model's ``prior_added``).
    extra_counts : ndarray, shape (K,)
        The counts it adds: the prior's ``log |Σ_k|`` coefficient.
    """

    shrinkage: float
    mean: np.ndarray
    dof: float
    scale: np.ndarray
    extra_scatter: np.ndarray
    extra_counts: np.ndarray

    @classmethod
    def for_model(cls, spec: dict[str, Any], model: CovarianceModel, n_components: int,
                  data_mean: np.ndarray, data_cov: np.ndarray,
                  shift: np.ndarray) -> ConjugatePrior:  # fmt: skip
        """mclust's ``defaultPrior`` for the data, with the hyperparameters in ``spec``.

        Parameters
        ----------
        spec : dict
            From :func:`check_prior_spec`; missing keys get mclust's defaults.
        model : CovarianceModel
        n_components : int
        data_mean : ndarray, shape (d,)
            The data's mean, centred by ``shift``.
        data_cov : ndarray, shape (d, d)
            The data's sample covariance (``n - 1`` denominator).
        shift : ndarray, shape (d,)
            The executor's centre: a given prior ``mean`` is in the data's coordinates.
        """
        d = len(data_mean)
        G = n_components
        shrinkage = float(spec.get("shrinkage", DEFAULT_SHRINKAGE))
        if "mean" in spec:
            mean = np.asarray(spec["mean"], dtype=np.float64)
            if mean.shape != (d,):
                raise ValueError(f"prior mean must have shape ({d},), got {mean.shape}")
            mean = mean - shift
        else:
            mean = data_mean
        univariate = d == 1
        dof = float(spec.get("dof", 3.0 if univariate else d + 2.0))
        scalar = model.prior_scalar_scale and not univariate
        if "scale" in spec:
            given = np.asarray(spec["scale"], dtype=np.float64)
            if given.ndim == 2 and (scalar or given.shape != (d, d)):
                raise ValueError(
                    f"prior scale for {model.name} must be "
                    + ("a positive number" if scalar else f"a number or a ({d}, {d}) matrix")
                )
            scale = given * np.eye(d) if given.ndim == 0 else given
        elif univariate:
            scale = data_cov / G**2
        elif scalar:
            scale = (1.0 / G) ** (2.0 / d) * np.trace(data_cov) / d * np.eye(d)
        else:
            scale = (1.0 / G) ** (2.0 / d) * data_cov
        P, c = model.prior_added(scale, dof, G)
        extra_scatter = np.broadcast_to(P, (G, d, d)).copy()
        return cls(shrinkage, mean, dof, scale, extra_scatter, np.full(G, float(c)))

    def means(self, sx: np.ndarray, nk: np.ndarray) -> np.ndarray:
        """The posterior-mode means ``(Σ r x + κ μ_P) / (n_k + κ)``, shape (K, d)."""
        return (sx + self.shrinkage * self.mean) / (nk + self.shrinkage)[:, None]

    def scatter(self, model: CovarianceModel, means: np.ndarray) -> Any:
        """What the prior adds to the covariance step's scatter, in the model's form:
        ``P_k + κ (μ_k - μ_P)(μ_k - μ_P)ᵀ``."""
        diff = means - self.mean
        M = self.extra_scatter + self.shrinkage * diff[:, :, None] * diff[:, None, :]
        return model.scatter_from_matrices(M)

    def log_density(self, model: CovarianceModel, means: np.ndarray,
                    covariances: np.ndarray) -> float:  # fmt: skip
        """The log prior of the parameters, up to a constant:
        ``-½ Σ_k [c_k log|Σ_k| + tr((P_k + κ (μ_k - μ_P)(μ_k - μ_P)ᵀ) Σ_k⁻¹)]``.

        Parameters
        ----------
        model : CovarianceModel
        means : ndarray, shape (K, d)
        covariances : ndarray
            Compact covariances.
        """
        K, d = means.shape
        S = np.asarray(model.to_matrices(np.asarray(covariances, dtype=np.float64), K, d))
        diff = means - self.mean
        M = self.extra_scatter + self.shrinkage * diff[:, :, None] * diff[:, None, :]
        chol = np.linalg.cholesky(S)
        log_det = 2 * np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2)), axis=1)
        trace = np.trace(np.linalg.solve(S, M), axis1=1, axis2=2)
        return float(-0.5 * np.sum(self.extra_counts * log_det + trace))
