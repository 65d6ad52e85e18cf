"""Variational inference for a Gaussian mixture, on EM's statistics.

The variational posterior (Bishop 2006, §10.2; Blei & Jordan 2006 for the
stick-breaking weights) is a Dirichlet — or a product of Betas — over the
weights and a Gaussian–Wishart per component.  Its updates read exactly
the statistics EM's E-step accumulates (Σ w r, Σ w r x and the covariance
family's second moment), so the E-step here is EM's kernel with different
per-component terms in place of ``log π_k`` (the expected log-weight, the
Wishart's expected log-determinant, the mean's uncertainty), and the
variational "M-step" is the conjugate update below.  The covariance
family's own scatter, ridge and M-step give the Wishart scale for all four
of scikit-learn's covariance types at once:

    W_post = prior scatter + (W + ridge) + β₀ n_k/β_k (x̄_k - m₀)(x̄_k - m₀)ᵀ,
    covariances = model.estimate(W_post, ν_k)

(the family's scatter form of each term; for tied models the prior counts
once per component and ν = ν₀ + N/K).  Conventions, attributes and the
lower bound are scikit-learn's, so a fit follows scikit-learn's
trajectory from the same responsibilities.  All parameters are centred, as
in :mod:`.em`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import betaln, digamma, gammaln

from gradmix.mixture.acceleration import run_squarem
from gradmix.mixture.components import Gaussian
from gradmix.mixture.covariance import LOG_2PI, CovarianceModel
from gradmix.mixture.em import EMSettings, e_step, iterate
from gradmix.mixture.executors import Executor
from gradmix.mixture.params import Params, Stats

__all__ = [
    "Posterior",
    "PosteriorCoordinates",
    "Priors",
    "lower_bound",
    "mixing_weights",
    "posterior",
    "resp_log_resp",
    "run_variational",
    "vb_params",
]


@dataclass(frozen=True)
class Priors:
    """The prior's parameters (scikit-learn's ``*_prior_`` attributes), centred."""

    weight_concentration_type: str
    weight_concentration: float
    mean_precision: float
    mean: np.ndarray  # (d,)
    degrees_of_freedom: float
    covariance: np.ndarray  # compact for one component: (d, d), (d,) or ()
    #: the data's own origin, in centred coordinates (minus the shift): scikit-learn
    #: divides a component's sum by n_k + 10 eps in the data's coordinates, so a
    #: component with no mass has its mean there (see :func:`posterior`)
    origin: np.ndarray | None = None


@dataclass
class Posterior:
    """The variational posterior (scikit-learn's fitted attributes), centred, float64."""

    weight_concentration: np.ndarray  # (2, K) Beta parameters, or (K,) Dirichlet's
    mean_precision: np.ndarray  # (K,)
    means: np.ndarray  # (K, d)
    degrees_of_freedom: np.ndarray  # (K,), equal entries for tied models
    covariances: np.ndarray  # compact: the Wishart scale's inverse over ν
    precisions_cholesky: np.ndarray  # compact


def _log_weights(post: Posterior, priors: Priors) -> np.ndarray:
    """E[log π_k] under the posterior over the weights."""
    wc = post.weight_concentration
    if priors.weight_concentration_type == "dirichlet_process":
        a, b = wc
        digamma_sum = digamma(a + b)
        tail = np.cumsum(digamma(b) - digamma_sum)[:-1]
        return digamma(a) - digamma_sum + np.concatenate([[0.0], tail])
    return digamma(wc) - digamma(np.sum(wc))


def mixing_weights(post: Posterior, priors: Priors) -> np.ndarray:
    """The posterior's expected weights (scikit-learn's ``weights_``), shape (K,)."""
    wc = post.weight_concentration
    if priors.weight_concentration_type == "dirichlet_process":
        a, b = wc
        total = a + b
        weights = a / total * np.concatenate([[1.0], np.cumprod(b / total)[:-1]])
    else:
        weights = wc
    return weights / np.sum(weights)


def vb_params(post: Posterior, priors: Priors, dtype: Any) -> Params:
    """The E-step's parameters: the posterior's means and precision factors, with
    E[log π_k] + ½ E[log |Λ_k|] - ½ d/β_k - ½ d log ν_k in place of log π_k (the
    kernel adds log |U_k| - d/2 log 2π itself)."""
    d = post.means.shape[1]
    nu = post.degrees_of_freedom
    log_lambda = d * np.log(2.0) + np.sum(digamma(0.5 * (nu - np.arange(d)[:, None])), axis=0)
    terms = (_log_weights(post, priors) - 0.5 * d * np.log(nu)
             + 0.5 * (log_lambda - d / post.mean_precision))  # fmt: skip
    return Params(mixing_weights(post, priors).astype(dtype), post.means.astype(dtype),
                  post.covariances.astype(dtype), post.precisions_cholesky.astype(dtype),
                  terms)  # fmt: skip


def posterior(
    model: CovarianceModel, stats: Stats, priors: Priors, reg_covar: float, dtype: Any
) -> Posterior:
    """The conjugate update from the statistics of the responsibilities.

    ``n_k`` gets ``10·eps`` of the data's dtype added, and the covariance
    ``reg_covar`` on its diagonal, as in scikit-learn.
    """
    K, d = stats.sx.shape
    tiny = 10 * np.finfo(dtype).eps
    nk = stats.nk + tiny
    xk = mean_of_stats = stats.sx / nk[:, None]
    if priors.origin is not None:
        # as scikit-learn, which divides sums by n_k + tiny in the data's own coordinates:
        # (sx + n_k o)/(n_k + tiny) - o in centred ones, o the origin there.  An empty
        # component's mean is then the origin, not the data's centre, and that decides
        # where it goes next (identical rows); otherwise the term is below rounding
        xk = xk + (tiny / nk)[:, None] * priors.origin
    if priors.weight_concentration_type == "dirichlet_process":
        rest = np.concatenate([np.cumsum(nk[::-1])[-2::-1], [0.0]])
        wc = np.stack([1.0 + nk, priors.weight_concentration + rest])
    else:
        wc = priors.weight_concentration + nk
    beta = priors.mean_precision + nk
    means = (priors.mean_precision * priors.mean + nk[:, None] * xk) / beta[:, None]
    tied = model.pooled
    nu = priors.degrees_of_freedom + (np.full(K, np.sum(nk) / K) if tied else nk)
    diff = xk - priors.mean
    spread = (priors.mean_precision * nk / beta)[:, None, None] * (diff[:, :, None] * diff[:, None])
    prior = np.broadcast_to(np.asarray(priors.covariance, np.float64), model.compact_shape(K, d))
    # the scatter of the data about xk: their own weights, not the 10 eps added above
    W = model.ridge(model.scatter(stats.nk, mean_of_stats, stats.second, stats.ref, xk), nk,
                    reg_covar, d)  # fmt: skip
    W_post = (model.scatter_from_matrices(model.to_matrices(prior, K, d)) + W
              + model.scatter_from_matrices(spread))  # fmt: skip
    cov = model.estimate(W_post, nu, d)
    return Posterior(wc, beta, means, nu, cov, model.precision_cholesky(cov))


def lower_bound(model: CovarianceModel, post: Posterior, priors: Priors, rlr: float) -> float:
    """scikit-learn's lower bound (constant terms dropped) after an update, with ``rlr`` the
    Σ w r log r of the responsibilities the update read."""
    K, d = post.means.shape
    nu = post.degrees_of_freedom
    log_det = model.log_det(post.precisions_cholesky, d)
    shared = np.ndim(log_det) == 0  # tied: one Wishart, counted once per component
    nu_w = nu[:1] if shared else nu
    log_det = log_det - 0.5 * d * np.log(nu_w)
    log_wishart = -(nu_w * log_det + nu_w * d * 0.5 * np.log(2.0)
                    + np.sum(gammaln(0.5 * (nu_w - np.arange(d)[:, None])), axis=0))  # fmt: skip
    total_wishart = K * float(log_wishart[0]) if shared else float(np.sum(log_wishart))
    wc = post.weight_concentration
    if priors.weight_concentration_type == "dirichlet_process":
        log_norm_weight = -float(np.sum(betaln(wc[0], wc[1])))
    else:
        log_norm_weight = float(gammaln(np.sum(wc)) - np.sum(gammaln(wc)))
    return (-rlr - total_wishart - log_norm_weight
            - 0.5 * d * float(np.sum(np.log(post.mean_precision))))  # fmt: skip


def resp_log_resp(model: CovarianceModel, params: Params, stats: Stats) -> float:
    """Σ_i w_i Σ_k r_ik log r_ik of the E-step that gave ``stats``, from the statistics alone.

    With log r_ik = log π̃_k + log N(x_i | k) - log p(x_i) and
    Σ_i w r_ik (x_i - μ_k)ᵀ Λ_k (x_i - μ_k) = tr(Λ_k W_k) (W_k the scatter about
    the E-step's means), the sum is Σ_k n_k c_k - ½ Σ_k tr(Λ_k W_k) - Σ_i w log p(x_i),
    c_k the kernel's per-component offset: no pass over the (n, K) responsibilities.
    """
    K, d = stats.sx.shape
    U = np.asarray(params.precisions_cholesky, dtype=np.float64)
    means = np.asarray(params.means, dtype=np.float64)
    tiny = np.finfo(np.float64).tiny
    W = model.scatter(stats.nk, stats.sx / (stats.nk + tiny)[:, None], stats.second, stats.ref,
                      means)  # fmt: skip
    offset = model.log_det(U, d) - 0.5 * d * LOG_2PI + params.log_weight_terms()
    quadratic = float(np.sum(model.precisions(U) * W))
    return float(stats.nk @ offset) - 0.5 * quadratic - stats.log_lik


def run_variational(ex: Executor, model: CovarianceModel, post: Posterior, priors: Priors,
                    settings: EMSettings,
                    bound: float = -np.inf) -> tuple[Posterior, list[float], bool]:  # fmt: skip
    """Variational updates from ``post`` until the lower bound changes by less than tol.

    Returns the posterior, the lower bound after every update (scikit-learn's
    ``lower_bounds_``) and whether it converged.
    """

    def step(post: Posterior) -> tuple[Posterior, float]:
        params = vb_params(post, priors, ex.dtype)
        stats = e_step(ex, Gaussian(model), params)
        post = posterior(model, stats, priors, settings.reg_covar, ex.dtype)
        return post, lower_bound(model, post, priors, resp_log_resp(model, params, stats))

    if settings.acceleration == "squarem":
        return run_squarem(step, post, settings, PosteriorCoordinates(model), bound)
    return iterate(step, post, settings, bound)


class PosteriorCoordinates:
    """The variational posterior as one vector in which every point is one, for SQUAREM.

    log concentrations, log mean precisions, means, log(ν - d + 1) and the
    covariance model's unconstrained coordinates of the Wishart scales.  A
    jump needs no projection: whatever posterior it lands on, the bound
    recorded is the one after the update from it (responsibilities at the
    jump, then the conjugate update), a point of the variational family, and
    coordinate ascent only raises it from there.

    Parameters
    ----------
    model : CovarianceModel
        One of scikit-learn's four (the Wishart scales' form).
    """

    def __init__(self, model: CovarianceModel):
        self.model = model

    def vector(self, post: Posterior) -> np.ndarray:
        """The posterior's coordinates, shape (P,)."""
        d = post.means.shape[1]
        return np.concatenate([
            np.log(post.weight_concentration).ravel(), np.log(post.mean_precision),
            post.means.ravel(), np.log(post.degrees_of_freedom - (d - 1)),
            self.model.unconstrained(post.covariances).ravel(),
        ])  # fmt: skip

    def params(self, z: np.ndarray, like: Posterior) -> Posterior | None:
        """The posterior at ``z`` (shapes of ``like``), or None where it is none."""
        K, d = like.means.shape
        if not np.all(np.isfinite(z)):
            return None
        cut = np.cumsum([like.weight_concentration.size, K, K * d, K])
        wc, beta, means, nu, cov = np.split(z, cut)
        with np.errstate(over="ignore", invalid="ignore"):
            post = Posterior(
                np.exp(wc).reshape(like.weight_concentration.shape), np.exp(beta),
                means.reshape(K, d), np.exp(nu) + (d - 1),
                self.model.from_unconstrained(cov.reshape(like.covariances.shape)),
                like.precisions_cholesky,
            )  # fmt: skip
        parts = (post.weight_concentration, post.mean_precision, post.degrees_of_freedom,
                 post.covariances)  # fmt: skip
        if not all(np.all(np.isfinite(a)) for a in parts):
            return None
        try:
            post.precisions_cholesky = self.model.precision_cholesky(post.covariances)
        except (ValueError, np.linalg.LinAlgError):
            return None
        return post
