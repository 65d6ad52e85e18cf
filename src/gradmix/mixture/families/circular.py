"""Angles: von Mises components, each feature independent.

log f(x) = κ cos(x - μ) - log(2π I₀(κ)).  The M-step reads the weighted sums
of cos x and sin x: μ is their mean direction, κ solves A(κ) = I₁(κ)/I₀(κ) =
R̄ (the mean resultant length) by Newton's method, A'(κ) = 1 - A/κ - A².
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import i0e, i1e

from gradmix.mixture.families.base import MixtureFamily, ParamSpec, Theta
from gradmix.mixture.families.domains import Domain

__all__ = ["VonMises", "kappa_for"]

LOG_2PI = float(np.log(2 * np.pi))
#: κ is kept below this (R̄ → 1: the component sits on one angle)
KAPPA_MAX = 1e8


def kappa_for(rbar: np.ndarray, tol: float = 1e-13, max_iter: int = 100) -> np.ndarray:
    """κ ≥ 0 with I₁(κ)/I₀(κ) = R̄, entry by entry (Banerjee et al.'s start, then Newton)."""
    r = np.clip(np.asarray(rbar, dtype=np.float64), 0.0, 1.0 - 1e-15)
    k = np.minimum(r * (2.0 - r * r) / (1.0 - r * r), KAPPA_MAX)
    for _ in range(max_iter):
        a = i1e(k) / i0e(k)
        slope = 1.0 - np.divide(a, k, out=np.full_like(k, 0.5), where=k > 0) - a * a
        new = np.clip(k - (a - r) / np.maximum(slope, 1e-300), 0.0, KAPPA_MAX)
        if np.all(np.abs(new - k) <= tol * (1.0 + k)):
            return new
        k = new
    return k


class VonMises(MixtureFamily):
    """Independent von Mises angles (radians in [-π, π]): mean direction ``mu`` and
    concentration ``kappa`` (d,) per component."""

    name = "vonmises"
    continuous = True
    specs = (ParamSpec("mu", ("d",), Domain("real")),
             ParamSpec("kappa", ("d",), Domain("positive")))  # fmt: skip

    def logpdf(self, x: Any, **params: Any) -> Any:
        mu, kappa = params["mu"], params["kappa"]
        # log I₀(κ) = log i0e(κ) + κ: stable for large κ
        return np.sum(kappa * (np.cos(x - mu) - 1.0) - np.log(i0e(kappa)) - LOG_2PI, axis=1)

    def log_prob(self, X: np.ndarray, theta: Theta) -> np.ndarray:
        # κ cos(x - μ) = κ cos μ cos x + κ sin μ sin x: two products over components
        mu, kappa = theta["mu"], theta["kappa"]
        const = -np.sum(kappa + np.log(i0e(kappa)), axis=1) - X.shape[1] * LOG_2PI
        return np.cos(X) @ (kappa * np.cos(mu)).T + np.sin(X) @ (kappa * np.sin(mu)).T + const

    def support(self, X: np.ndarray) -> np.ndarray | None:
        return np.any((X < -np.pi) | (X > np.pi), axis=1)

    def support_text(self) -> str:
        return "angles in radians within [-π, π]"

    def statistics(self, X: np.ndarray, wresp: np.ndarray) -> tuple[np.ndarray, ...]:
        return wresp.sum(axis=0), wresp.T @ np.cos(X), wresp.T @ np.sin(X)

    def m_step(self, sums: tuple[np.ndarray, ...], previous: Theta | None) -> Theta:
        nk, C, S = sums
        rbar = np.hypot(C, S) / nk[:, None]
        return {"mu": np.arctan2(S, C), "kappa": np.maximum(kappa_for(rbar), 1e-12)}

    def concentrated(self, theta: Theta) -> np.ndarray:
        return np.any(theta["kappa"] >= KAPPA_MAX, axis=1)

    def initial(self, X: np.ndarray, w: np.ndarray) -> dict[str, np.ndarray]:
        sums = (np.array([np.sum(w)]), (w @ np.cos(X))[None], (w @ np.sin(X))[None])
        return {n: v[0] for n, v in self.m_step(sums, None).items()}

    def draw(self, rng: np.random.RandomState, n: int, **params: Any) -> np.ndarray:
        mu, kappa = params["mu"], params["kappa"]
        angles = rng.vonmises(mu, kappa, size=(n, len(mu)))
        return np.mod(angles + np.pi, 2 * np.pi) - np.pi
