"""Families of positive features: exponential, gamma, log-normal and Weibull.

Features are independent within a component.  The exponential's and the
log-normal's M-steps are closed forms; the gamma's shape solves the
one-dimensional equation log a - ψ(a) = log(mean) - mean(log x) (Newton's
method from Minka's approximation) from weighted sums; the Weibull has no
finite sufficient statistics, so its M-step is Newton's method on exact
derivatives like a user family's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import digamma, gammaln, polygamma

from gradmix.mixture.families.base import MixtureFamily, ParamSpec, Theta
from gradmix.mixture.families.domains import Domain

__all__ = ["Exponential", "Gamma", "LogNormal", "Weibull", "gamma_shape"]

LOG_2PI = float(np.log(2 * np.pi))
EULER = 0.5772156649015329
#: a component's statistics cannot tell a spread from none below this many units of
#: rounding (of the log-mean, or of the mean square of log x): its rows are tied values
TIED = 64 * float(np.finfo(np.float64).eps)
#: an exponential component's mean is kept above this (its rows all zero: rate 1e300)
MEAN_FLOOR = 1e-300
#: below this s, Minka's approximation of the gamma's shape is exact to rounding (its
#: error is O(s²) relative), and Newton's step would divide rounding noise by ψ'(a) - 1/a
MINKA_EXACT_BELOW = 1e-6


def gamma_shape(s: np.ndarray, tol: float = 1e-13, max_iter: int = 100) -> np.ndarray:
    """a > 0 with log a - ψ(a) = s (s > 0), entry by entry: Newton's method from Minka's
    approximation (the left side decreases from +∞ to 0, so the root is unique)."""
    s = np.maximum(np.asarray(s, dtype=np.float64), 1e-300)
    a = (3.0 - s + np.sqrt((s - 3.0) ** 2 + 24.0 * s)) / (12.0 * s)
    newton = s >= MINKA_EXACT_BELOW
    a[newton] = _gamma_shape_newton(s[newton], a[newton], tol, max_iter)
    return a


def _gamma_shape_newton(s: np.ndarray, a: np.ndarray, tol: float, max_iter: int) -> np.ndarray:
    for _ in range(max_iter):
        f = np.log(a) - digamma(a) - s
        step = f / (1.0 / a - polygamma(1, a))
        new = np.where(a - step > 0, a - step, a / 2)
        if np.all(np.abs(new - a) <= tol * a):
            return new
        a = new
    return a


def _gamma_floor(mean: np.ndarray) -> np.ndarray:
    """The least log(mean) - mean(log x) a gamma component's statistics resolve."""
    return TIED * (1.0 + np.abs(np.log(mean)))


def _lognormal_floor(mu: np.ndarray) -> np.ndarray:
    """The least variance of log x a log-normal component's statistics resolve."""
    return TIED * mu * mu + 1e-300


def _not_positive(X: np.ndarray) -> np.ndarray:
    return np.any(X <= 0, axis=1)


class Exponential(MixtureFamily):
    """Independent exponential features: ``rate`` (d,) per component."""

    name = "exponential"
    continuous = True
    specs = (ParamSpec("rate", ("d",), Domain("positive")),)

    def logpdf(self, x: Any, **params: Any) -> Any:
        rate = params["rate"]
        return np.sum(np.log(rate) - rate * x, axis=1)

    def log_prob(self, X: np.ndarray, theta: Theta) -> np.ndarray:
        rate = theta["rate"]
        return np.log(rate).sum(axis=1) - X @ rate.T

    def support(self, X: np.ndarray) -> np.ndarray | None:
        return np.any(X < 0, axis=1)

    def support_text(self) -> str:
        return "non-negative numbers"

    def statistics(self, X: np.ndarray, wresp: np.ndarray) -> tuple[np.ndarray, ...]:
        return wresp.sum(axis=0), wresp.T @ X

    def m_step(self, sums: tuple[np.ndarray, ...], previous: Theta | None) -> Theta:
        nk, sx = sums
        return {"rate": 1.0 / np.maximum(sx / nk[:, None], MEAN_FLOOR)}

    def initial(self, X: np.ndarray, w: np.ndarray) -> dict[str, np.ndarray]:
        return {"rate": 1.0 / np.maximum(np.average(X, axis=0, weights=w), MEAN_FLOOR)}

    def concentrated(self, theta: Theta) -> np.ndarray:
        # (on zeros alone: tied non-zero values bound the density, at rate 1 / x)
        return np.any(theta["rate"] * MEAN_FLOOR >= 1.0 - 1e-12, axis=1)

    def draw(self, rng: np.random.RandomState, n: int, **params: Any) -> np.ndarray:
        rate = params["rate"]
        return rng.exponential(1.0 / rate, size=(n, len(rate)))


class Gamma(MixtureFamily):
    """Independent gamma features: ``shape`` a and ``rate`` b (d,) per component
    (density b^a x^(a-1) e^(-bx) / Γ(a))."""

    name = "gamma"
    continuous = True
    specs = (ParamSpec("shape", ("d",), Domain("positive")),
             ParamSpec("rate", ("d",), Domain("positive")))  # fmt: skip

    def logpdf(self, x: Any, **params: Any) -> Any:
        shape, rate = params["shape"], params["rate"]
        return np.sum(shape * np.log(rate) + (shape - 1.0) * np.log(x) - rate * x
                      - gammaln(shape), axis=1)  # fmt: skip

    def log_prob(self, X: np.ndarray, theta: Theta) -> np.ndarray:
        a, b = theta["shape"], theta["rate"]
        const = np.sum(a * np.log(b) - gammaln(a), axis=1)
        return np.log(X) @ (a - 1.0).T - X @ b.T + const

    def support(self, X: np.ndarray) -> np.ndarray | None:
        return _not_positive(X)

    def support_text(self) -> str:
        return "positive numbers"

    def statistics(self, X: np.ndarray, wresp: np.ndarray) -> tuple[np.ndarray, ...]:
        return wresp.sum(axis=0), wresp.T @ X, wresp.T @ np.log(X)

    def m_step(self, sums: tuple[np.ndarray, ...], previous: Theta | None) -> Theta:
        nk, sx, slog = sums
        mean, mean_log = sx / nk[:, None], slog / nk[:, None]
        a = gamma_shape(np.maximum(np.log(mean) - mean_log, _gamma_floor(mean)))
        return {"shape": a, "rate": a / mean}

    def initial(self, X: np.ndarray, w: np.ndarray) -> dict[str, np.ndarray]:
        mean = np.average(X, axis=0, weights=w)
        s = np.log(mean) - np.average(np.log(X), axis=0, weights=w)
        a = gamma_shape(np.maximum(s, _gamma_floor(mean)))
        return {"shape": a, "rate": a / mean}

    def concentrated(self, theta: Theta) -> np.ndarray:
        a = theta["shape"]
        return np.any(a >= gamma_shape(_gamma_floor(a / theta["rate"])) * (1.0 - 1e-9), axis=1)

    def draw(self, rng: np.random.RandomState, n: int, **params: Any) -> np.ndarray:
        a, b = params["shape"], params["rate"]
        return rng.gamma(a, 1.0 / b, size=(n, len(a)))


class LogNormal(MixtureFamily):
    """Independent log-normal features: ``mu`` and ``sigma`` (d,) of log x per component."""

    name = "lognormal"
    continuous = True
    specs = (ParamSpec("mu", ("d",), Domain("real")),
             ParamSpec("sigma", ("d",), Domain("positive")))  # fmt: skip

    def logpdf(self, x: Any, **params: Any) -> Any:
        mu, sigma = params["mu"], params["sigma"]
        z = (np.log(x) - mu) / sigma
        return np.sum(-np.log(x) - np.log(sigma) - 0.5 * LOG_2PI - 0.5 * z * z, axis=1)

    def log_prob(self, X: np.ndarray, theta: Theta) -> np.ndarray:
        mu, prec = theta["mu"], 1.0 / theta["sigma"] ** 2
        L = np.log(X)
        quad = (L * L) @ prec.T - 2.0 * L @ (mu * prec).T + np.sum(mu * mu * prec, axis=1)
        const = -np.sum(np.log(theta["sigma"]), axis=1) - 0.5 * X.shape[1] * LOG_2PI
        return const - 0.5 * np.maximum(quad, 0.0)

    def row_constant(self, X: np.ndarray) -> np.ndarray | None:
        return -np.log(X).sum(axis=1)

    def support(self, X: np.ndarray) -> np.ndarray | None:
        return _not_positive(X)

    def support_text(self) -> str:
        return "positive numbers"

    def statistics(self, X: np.ndarray, wresp: np.ndarray) -> tuple[np.ndarray, ...]:
        L = np.log(X)
        return wresp.sum(axis=0), wresp.T @ L, wresp.T @ (L * L)

    def m_step(self, sums: tuple[np.ndarray, ...], previous: Theta | None) -> Theta:
        nk, s1, s2 = sums
        mu = s1 / nk[:, None]
        var = np.maximum(s2 / nk[:, None] - mu * mu, _lognormal_floor(mu))
        return {"mu": mu, "sigma": np.sqrt(var)}

    def concentrated(self, theta: Theta) -> np.ndarray:
        floor = _lognormal_floor(theta["mu"])
        return np.any(theta["sigma"] ** 2 <= floor * (1.0 + 1e-9), axis=1)

    def initial(self, X: np.ndarray, w: np.ndarray) -> dict[str, np.ndarray]:
        L = np.log(X)
        mu = np.average(L, axis=0, weights=w)
        var = np.average((L - mu) ** 2, axis=0, weights=w)
        return {"mu": mu, "sigma": np.sqrt(np.maximum(var, _lognormal_floor(mu)))}

    def draw(self, rng: np.random.RandomState, n: int, **params: Any) -> np.ndarray:
        mu, sigma = params["mu"], params["sigma"]
        return np.exp(rng.normal(mu, sigma, size=(n, len(mu))))


class Weibull(MixtureFamily):
    """Independent Weibull features: ``shape`` k and ``scale`` λ (d,) per component
    (density k/λ (x/λ)^(k-1) exp(-(x/λ)^k)).  No finite sufficient statistics: the
    M-step is Newton's method on exact derivatives."""

    name = "weibull"
    continuous = True
    specs = (ParamSpec("shape", ("d",), Domain("positive")),
             ParamSpec("scale", ("d",), Domain("positive")))  # fmt: skip

    def logpdf(self, x: Any, **params: Any) -> Any:
        shape, scale = params["shape"], params["scale"]
        z = np.log(x) - np.log(scale)
        return np.sum(np.log(shape) - np.log(scale) + (shape - 1.0) * z - np.exp(shape * z),
                      axis=1)  # fmt: skip

    def support(self, X: np.ndarray) -> np.ndarray | None:
        return _not_positive(X)

    def support_text(self) -> str:
        return "positive numbers"

    def initial(self, X: np.ndarray, w: np.ndarray) -> dict[str, np.ndarray]:
        # log X is Gumbel: its variance π²/(6k²), its mean log λ - γ/k
        L = np.log(X)
        m = np.average(L, axis=0, weights=w)
        sd = np.sqrt(np.maximum(np.average((L - m) ** 2, axis=0, weights=w), 1e-300))
        k = np.pi / (np.sqrt(6.0) * sd)
        return {"shape": k, "scale": np.exp(m + EULER / k)}

    def draw(self, rng: np.random.RandomState, n: int, **params: Any) -> np.ndarray:
        k, lam = params["shape"], params["scale"]
        return lam * rng.weibull(k, size=(n, len(k)))
