"""Families of counts and binary or categorical features: Poisson, Bernoulli, categorical.

Each feature is independent within a component (latent class analysis for
the binary and categorical ones); every M-step is closed-form from weighted
counts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import gammaln, xlog1py, xlogy

from gradmix.mixture.families.base import MixtureFamily, ParamSpec, Theta
from gradmix.mixture.families.domains import Domain

__all__ = ["Bernoulli", "Categorical", "Poisson"]

#: Bernoulli and categorical probabilities are kept in [EPS, 1 - EPS] (a zero count would
#: put a parameter at the edge of its domain, where it has no free coordinate)
EPS = 1e-10


def _not_integer(X: np.ndarray) -> np.ndarray:
    return np.any(X != np.round(X), axis=1)


class Poisson(MixtureFamily):
    """Independent Poisson counts per feature: rate ``lam`` (d,) per component."""

    name = "poisson"
    specs = (ParamSpec("lam", ("d",), Domain("positive")),)

    def logpdf(self, x: Any, **params: Any) -> Any:
        lam = params["lam"]
        return np.sum(xlogy(x, lam) - lam - gammaln(x + 1.0), axis=1)

    def row_constant(self, X: np.ndarray) -> np.ndarray | None:
        return -gammaln(X + 1.0).sum(axis=1)

    def log_prob(self, X: np.ndarray, theta: Theta) -> np.ndarray:
        lam = theta["lam"]
        return X @ np.log(lam).T - lam.sum(axis=1)

    def support(self, X: np.ndarray) -> np.ndarray | None:
        return np.any(X < 0, axis=1) | _not_integer(X)

    def support_text(self) -> str:
        return "non-negative integers"

    def statistics(self, X: np.ndarray, wresp: np.ndarray) -> tuple[np.ndarray, ...]:
        return wresp.sum(axis=0), wresp.T @ X

    def m_step(self, sums: tuple[np.ndarray, ...], previous: Theta | None) -> Theta:
        nk, sx = sums
        return {"lam": np.maximum(sx / nk[:, None], EPS)}

    def initial(self, X: np.ndarray, w: np.ndarray) -> dict[str, np.ndarray]:
        return {"lam": np.maximum(np.average(X, axis=0, weights=w), EPS)}

    def draw(self, rng: np.random.RandomState, n: int, **params: Any) -> np.ndarray:
        return rng.poisson(params["lam"], size=(n, len(params["lam"]))).astype(np.float64)


class Bernoulli(MixtureFamily):
    """Independent binary features: probability ``p`` (d,) of a 1 per component."""

    name = "bernoulli"
    specs = (ParamSpec("p", ("d",), Domain("interval", 0.0, 1.0)),)

    def logpdf(self, x: Any, **params: Any) -> Any:
        p = params["p"]
        return np.sum(xlogy(x, p) + xlog1py(1.0 - x, -p), axis=1)

    def log_prob(self, X: np.ndarray, theta: Theta) -> np.ndarray:
        p = theta["p"]
        return X @ np.log(p).T + (1.0 - X) @ np.log1p(-p).T

    def support(self, X: np.ndarray) -> np.ndarray | None:
        return np.any((X != 0) & (X != 1), axis=1)

    def support_text(self) -> str:
        return "0 or 1"

    def statistics(self, X: np.ndarray, wresp: np.ndarray) -> tuple[np.ndarray, ...]:
        return wresp.sum(axis=0), wresp.T @ X

    def m_step(self, sums: tuple[np.ndarray, ...], previous: Theta | None) -> Theta:
        nk, sx = sums
        return {"p": np.clip(sx / nk[:, None], EPS, 1 - EPS)}

    def initial(self, X: np.ndarray, w: np.ndarray) -> dict[str, np.ndarray]:
        return {"p": np.clip(np.average(X, axis=0, weights=w), 0.05, 0.95)}

    def draw(self, rng: np.random.RandomState, n: int, **params: Any) -> np.ndarray:
        p = params["p"]
        return (rng.random_sample((n, len(p))) < p).astype(np.float64)


class Categorical(MixtureFamily):
    """Independent categorical features coded 0, 1, ..., C - 1: probabilities ``probs``
    (d, C) per component, each row on the simplex (latent class analysis).

    Parameters
    ----------
    n_categories : int, optional
        C; default: one more than the largest code in the data.
    """

    name = "categorical"

    def __init__(self, n_categories: int | None = None):
        if n_categories is not None and (not isinstance(n_categories, int | np.integer)
                                         or n_categories < 2):  # fmt: skip
            raise ValueError(f"n_categories must be an integer >= 2, got {n_categories!r}")
        self.n_categories = None if n_categories is None else int(n_categories)
        self.specs = (ParamSpec("probs", ("d", self.n_categories or 2), Domain("simplex")),)

    def for_data(self, X: np.ndarray) -> Categorical:
        if self.n_categories is not None:
            return self
        return Categorical(max(int(np.max(X)) + 1, 2))

    def logpdf(self, x: Any, **params: Any) -> Any:
        probs = params["probs"]
        C = probs.shape[-1]
        onehot = (np.asarray(x)[:, :, None] == np.arange(C)).astype(np.float64)
        return np.sum(onehot * np.log(probs)[None], axis=(1, 2))

    def log_prob(self, X: np.ndarray, theta: Theta) -> np.ndarray:
        probs = theta["probs"]  # (K, d, C)
        K, d, C = probs.shape
        onehot = (X[:, :, None] == np.arange(C)).reshape(len(X), d * C).astype(np.float64)
        return onehot @ np.log(probs).reshape(K, d * C).T

    def support(self, X: np.ndarray) -> np.ndarray | None:
        C = self.n_categories or 2
        return np.any((X < 0) | (X >= C), axis=1) | _not_integer(X)

    def support_text(self) -> str:
        return f"category codes 0 to {(self.n_categories or 2) - 1}"

    def statistics(self, X: np.ndarray, wresp: np.ndarray) -> tuple[np.ndarray, ...]:
        C = self.n_categories or 2
        counts = np.stack([wresp.T @ (X == c) for c in range(C)], axis=-1)  # (K, d, C)
        return wresp.sum(axis=0), counts

    def m_step(self, sums: tuple[np.ndarray, ...], previous: Theta | None) -> Theta:
        _, counts = sums
        probs = np.maximum(counts / np.maximum(counts.sum(axis=-1, keepdims=True), 1e-300), EPS)
        return {"probs": probs / probs.sum(axis=-1, keepdims=True)}

    def initial(self, X: np.ndarray, w: np.ndarray) -> dict[str, np.ndarray]:
        C = self.n_categories or 2
        counts = np.stack([w @ (X == c) for c in range(C)], axis=-1) + 1.0  # add-one smoothing
        return {"probs": counts / counts.sum(axis=-1, keepdims=True)}

    def draw(self, rng: np.random.RandomState, n: int, **params: Any) -> np.ndarray:
        probs = params["probs"]
        cum = np.cumsum(probs, axis=-1)
        u = rng.random_sample((n, probs.shape[0], 1))
        return np.minimum(np.sum(u > cum[None], axis=-1), probs.shape[-1] - 1).astype(float)

    def config(self) -> dict[str, Any]:
        return {"n_categories": self.n_categories}

    def __repr__(self) -> str:
        return f"Categorical(n_categories={self.n_categories})"
