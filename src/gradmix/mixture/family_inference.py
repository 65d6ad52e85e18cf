"""Standard errors for mixtures of any family, from the exact observed information.

The log-likelihood Σᵢ wᵢ log Σ_k π_k f(xᵢ; θ_k) is written over the free
vector [K - 1 softmax logits, z] (:class:`~.families.newton.Layout`), in plain
numpy, so gradmix.ad gives its exact Hessian; the inverse of the negative
Hessian, mapped to the natural parameters by the delta method with the AD
Jacobian, gives the Wald errors — as for Gaussian mixtures
(:mod:`.inference`).
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
)

__all__ = ["family_standard_errors"]


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
    t0 = np.concatenate([np.log(weights[:-1]) - np.log(weights[-1]), layout.pack(theta)])
    if len(t0) > MAX_HESSIAN_SIZE:
        raise ValueError(f"standard_errors needs the exact Hessian of {len(t0)} free parameters "
                         f"(more than {MAX_HESSIAN_SIZE})")  # fmt: skip
    per_dir = max(len(X) * K * layout.d, 1)
    batch = max(1, min(len(t0), int(2e7 // per_dir)))
    with np.errstate(all="ignore"):
        H = hessian_blocks(lambda t: _log_likelihood(layout, t, X, w), t0, batch)
    cov = inverse_information(-0.5 * (H + H.T))
    J = jacfwd(lambda t: _natural(layout, t))(t0)
    se = np.sqrt(np.maximum(np.diag(J @ cov @ J.T), 0.0))
    out = {"weights": se[:K]}
    at = K
    for name, shape in layout.shapes.items():
        size = K * int(np.prod(shape, dtype=np.int64))
        out[name] = se[at : at + size].reshape((K, *shape))
        at += size
    return out
