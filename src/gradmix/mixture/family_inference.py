"""Standard errors and Newton refinement for mixtures of any family, from the exact
observed information.

The log-likelihood Σᵢ wᵢ log Σ_k π_k f(xᵢ; θ_k) is written over the free
vector [K - 1 softmax logits, z] (:class:`~.families.newton.Layout`), in plain
numpy, so gradmix.ad gives its exact Hessian; the inverse of the negative
Hessian, mapped to the natural parameters by the delta method with the AD
Jacobian, gives the Wald errors, and trust-region Newton steps on it take
EM's result to the maximum — as for Gaussian mixtures (:mod:`.inference`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradmix.ad import hessian_blocks, jacfwd, logsumexp
from gradmix.mixture.families.newton import Layout, component_log_densities
from gradmix.mixture.inference import (
    MAX_HESSIAN_SIZE,
    SingularInformationError,
    inverse_information,
    newton_maximise,
)
from gradmix.mixture.likelihood import hessian_batch

__all__ = ["check_hessian_size", "family_newton_refine", "family_standard_errors"]


def _split(layout: Layout, t: Any) -> tuple[Any, Any]:
    K = layout.K
    logits = np.concatenate([t[: K - 1], np.zeros(1)])
    return logits - logsumexp(logits), t[K - 1 :]


def _log_likelihood(layout: Layout, t: Any, X: np.ndarray, w: np.ndarray) -> Any:
    log_w, z = _split(layout, t)
    lps = component_log_densities(layout, layout.unpack(z), X)
    wlp = np.stack(lps, axis=1) + log_w
    return w @ logsumexp(wlp, axis=1)


def _natural(layout: Layout, t: Any) -> Any:
    log_w, z = _split(layout, t)
    theta = layout.unpack(z)
    return np.concatenate([np.exp(log_w)] + [np.ravel(theta[n]) for n in layout.shapes])


def _free_vector(layout: Layout, weights: np.ndarray, theta: dict[str, np.ndarray]) -> np.ndarray:
    """[K - 1 logits against the last component, z]: where the log-likelihood is written."""
    weights = np.asarray(weights, dtype=np.float64)
    return np.concatenate([np.log(weights[:-1]) - np.log(weights[-1]), layout.pack(theta)])


def check_hessian_size(layout: Layout, what: str) -> None:
    """Raise a ValueError where the exact Hessian would have more than MAX_HESSIAN_SIZE rows."""
    size = layout.K - 1 + layout.size
    if size > MAX_HESSIAN_SIZE:
        raise ValueError(f"{what} needs the exact Hessian of {size} free parameters (more than "
                         f"{MAX_HESSIAN_SIZE})")  # fmt: skip


def _hessian(layout: Layout, t: np.ndarray, X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The log-likelihood's exact Hessian in the free vector, in batches of directions."""
    batch = hessian_batch(len(t), len(X) * layout.K * layout.d)
    with np.errstate(all="ignore"):
        H = hessian_blocks(lambda u: _log_likelihood(layout, u, X, w), t, batch)
    return np.asarray(0.5 * (H + H.T))


#: what :func:`family_newton_refine` returns: weights, parameters, mean log-likelihood,
#: Newton's iterations and whether it converged
Refined = tuple[np.ndarray, dict[str, np.ndarray], float, int, bool]


def family_newton_refine(layout: Layout, weights: np.ndarray, theta: dict[str, np.ndarray],
                         X: np.ndarray, w: np.ndarray, max_iter: int = 100,
                         gtol: float = 1e-10) -> Refined:  # fmt: skip
    """Trust-region Newton steps on the exact Hessian of the log-likelihood from EM's
    result (every weight positive): :func:`~gradmix.mixture.inference.newton_maximise`
    in the free vector.

    Returns
    -------
    weights : ndarray of shape (K,)
    theta : dict
        Each parameter, shape (K, *shape).
    lower_bound : float
        The mean log-likelihood there.
    n_iter : int
    converged : bool
        The gradient of the mean log-likelihood fell below ``gtol``, or the
        Newton decrement below its rounding level.
    """
    check_hessian_size(layout, "refine='newton'")
    total = float(np.sum(w))
    t, n_iter, converged = newton_maximise(
        lambda u: _log_likelihood(layout, u, X, w), lambda u: _hessian(layout, u, X, w),
        _free_vector(layout, weights, theta), total, max_iter, gtol)  # fmt: skip
    log_w, z = _split(layout, t)
    lower_bound = float(_log_likelihood(layout, t, X, w)) / total
    return np.exp(log_w), layout.natural(z), lower_bound, n_iter, converged


def family_standard_errors(layout: Layout, weights: np.ndarray, theta: dict[str, np.ndarray],
                           X: np.ndarray, w: np.ndarray) -> dict[str, np.ndarray]:  # fmt: skip
    """Wald standard errors of the weights and every parameter, shaped like them.

    Raises
    ------
    SingularInformationError
        If the observed information is not positive definite.
    ValueError
        If the model has more than MAX_HESSIAN_SIZE free parameters.
    """
    K = layout.K
    weights = np.asarray(weights, dtype=np.float64)
    if np.any(weights <= 0):
        raise SingularInformationError("a component has zero weight: it has no free logit")
    check_hessian_size(layout, "standard_errors")
    t0 = _free_vector(layout, weights, theta)
    cov = inverse_information(-_hessian(layout, t0, X, w))
    J = jacfwd(lambda t: _natural(layout, t))(t0)
    se = np.sqrt(np.maximum(np.diag(J @ cov @ J.T), 0.0))
    out = {"weights": se[:K]}
    at = K
    for name, shape in layout.shapes.items():
        size = K * int(np.prod(shape, dtype=np.int64))
        out[name] = se[at : at + size].reshape((K, *shape))
        at += size
    return out
