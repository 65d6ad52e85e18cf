"""The M-step from sufficient statistics: weights, means and the covariance unit's estimate.

Written once for every covariance model and every component family that
reads a covariance unit: Gaussian components read the statistics of the
responsibilities ``r``, Student-t components those of ``r·u`` (the expected
latent scale, :class:`~gradmix.mixture.params.Stats`), with the same unit
M-step; a family's own shape parameters (degrees of freedom) are its own
conditional step after this one.
"""

from __future__ import annotations

import functools

import numpy as np

from gradmix.mixture.conjugate_prior import ConjugatePrior
from gradmix.mixture.covariance import CovarianceModel, ill_defined_error
from gradmix.mixture.params import Params, Stats

__all__ = ["check_magnitude", "check_variances", "m_step"]


def check_variances(model: CovarianceModel, cov: np.ndarray, var_floor: np.ndarray | float) -> None:
    """Raise scikit-learn's ill-defined-covariance error for collapsed components.

    ``var_floor`` (per feature) is the smallest variance the data's floating
    point resolution can express; anything at or below it is a component
    that collapsed onto a point, whatever rounding made of its zero.
    """
    if not np.isfinite(cov).all() or (model.variances(cov) <= var_floor).any():
        check_magnitude(var_floor)
        raise ill_defined_error(cov.dtype)


# magnitudes whose squares, summed over a data set, leave float64's range (1.8e308)
_SQUARES_OVERFLOW = 1e150


def check_magnitude(var_floor: np.ndarray | float) -> None:
    """Raise a ValueError that says so when the data's squares overflow float64.

    ``var_floor`` is the executor's ``(16 eps max|x|)²``, so it tells the largest
    magnitude; beyond 1e150, sums of squares leave float64's range, and every
    covariance would come out infinite (or its component "collapsed").
    """
    floor = float(np.max(var_floor))
    largest = np.sqrt(floor) / (16 * np.finfo(np.float64).eps)
    if largest > _SQUARES_OVERFLOW:
        size = f"about {largest:.1e}" if np.isfinite(largest) else "beyond 1e154"
        raise ValueError(
            f"X holds values of magnitude {size}: their squares overflow float64, so no "
            "covariance can be estimated; rescale X (divide it by a constant such as its "
            "largest magnitude)"
        )


@functools.cache
def _ten_eps(dtype: np.dtype) -> float:
    return float(10 * np.finfo(dtype).eps)


def m_step(
    model: CovarianceModel,
    stats: Stats,
    reg_covar: float,
    dtype: np.dtype | type,
    *,
    normalise_by_total: bool = False,
    frozen: Params | None = None,
    freeze: frozenset[str] = frozenset(),
    var_floor: np.ndarray | float = 0.0,
    previous: np.ndarray | None = None,
    covariances: bool = True,
    prior: ConjugatePrior | None = None,
) -> Params:
    """Parameters from the statistics (scikit-learn's conventions).

    ``nk`` gets ``10·eps`` added, as in scikit-learn, so empty components do
    not divide by zero.  Weights are ``nk / Σ nk`` after an EM iteration and
    ``nk / Σ w`` for the initial M-step (``normalise_by_total``); a noise
    component's count takes its share.  The covariances are the model's
    estimate from the scatter about the means with ``n_k·reg_covar`` added to
    its diagonal (for scikit-learn's four models: ``reg_covar`` on the
    covariances' diagonal).  Parameters named in ``freeze`` keep their values
    from ``frozen``; the others maximise the expected complete-data
    log-likelihood given them.  ``previous`` covariances are where iterative
    M-steps start; ``covariances=False`` skips them (given by the user).  With a
    conjugate ``prior`` (Gaussian components) the step is the posterior mode's:
    the means shrink towards the prior mean and the covariance step adds the
    prior's scatter and counts (:mod:`gradmix.mixture.conjugate_prior`).

    The result has no degrees of freedom and a noise density of 1: the
    component family's own step and the caller set those.
    """
    eps = _ten_eps(np.dtype(dtype))
    nk = stats.nk + eps
    snk = nk if stats.scale_nk is None else stats.scale_nk + eps
    means = stats.sx / snk[:, None]
    centre = means if prior is None else prior.means(stats.sx, snk)
    if "means" in freeze and frozen is not None:
        centre = frozen.means.astype(np.float64)
    total = stats.weight if normalise_by_total else float(nk.sum() + (stats.noise or 0.0))
    weights = nk / total
    noise_weight = None if stats.noise is None else stats.noise / total
    if "weights" in freeze and frozen is not None:
        weights, noise_weight = frozen.weights, frozen.noise_weight
    if "covariances" in freeze and frozen is not None:
        cov, prec_chol = frozen.covariances, frozen.precisions_cholesky
    elif not covariances:
        cov, prec_chol = None, np.empty(0)
    else:
        d = means.shape[1]
        W = model.ridge(model.scatter(snk, means, stats.second, stats.ref, centre), nk, reg_covar,
                        d)  # fmt: skip
        counts = nk
        if prior is not None:
            W = W + prior.scatter(model, centre)
            counts = nk + prior.extra_counts
        try:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                cov = model.estimate(W, counts, d, previous).astype(dtype)
        except np.linalg.LinAlgError:  # an iterative M-step on a scatter of lower rank
            raise ill_defined_error(dtype) from None
        check_variances(model, cov, var_floor)
        prec_chol = model.precision_cholesky(cov)
    return Params(weights.astype(dtype), centre.astype(dtype), cov,
                  np.asarray(prec_chol).astype(dtype), noise_weight=noise_weight)  # fmt: skip
