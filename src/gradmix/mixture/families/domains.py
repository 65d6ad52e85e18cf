"""Parameter domains and their maps to unconstrained vectors.

Each domain maps a free vector u ∈ R^m to a value of the parameter's shape
and back, in plain numpy (differentiable by :mod:`gradmix.ad`):

========================  ===========================  ==============================
domain                    value                        map from u
========================  ===========================  ==============================
``"real"``                any shape                    the identity
``"positive"``            any shape                    exp(u)
``("interval", a, b)``    any shape, in (a, b)         a + (b - a)·expit(u)
``"simplex"``             (m,) summing to one          softmax([u, 0]): m - 1 free
``"cholesky"``            (p, p) positive definite     L Lᵀ, L lower with exp(diag)
========================  ===========================  ==============================

so that a mixture's M-step is an unconstrained problem whatever the family.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Any

import numpy as np
from scipy.special import expit, logit

from gradmix.ad import logsumexp

__all__ = ["DOMAINS", "Domain", "domain_of"]

#: the names a parameter's domain may take (an interval is ``("interval", a, b)``)
DOMAINS = ("real", "positive", "interval", "simplex", "cholesky")


@dataclass(frozen=True)
class Domain:
    """A parameter's domain: its kind and, for an interval, its ends."""

    kind: str
    low: float = -np.inf
    high: float = np.inf

    def free_size(self, shape: tuple[int, ...]) -> int:
        """Length of the unconstrained vector of a parameter of ``shape``."""
        if self.kind == "simplex":
            return shape[-1] - 1 if len(shape) == 1 else prod(shape[:-1]) * (shape[-1] - 1)
        if self.kind == "cholesky":
            p = shape[-1]
            return prod(shape[:-2]) * p * (p + 1) // 2
        return prod(shape)

    def check_shape(self, name: str, shape: tuple[int, ...]) -> None:
        """Raise for a shape the domain does not take."""
        if self.kind == "simplex" and (len(shape) < 1 or shape[-1] < 2):
            raise ValueError(f"parameter {name!r}: a simplex needs a last axis of at least 2 "
                             f"entries, got shape {shape}")  # fmt: skip
        if self.kind == "cholesky" and (len(shape) < 2 or shape[-1] != shape[-2]):
            raise ValueError(f"parameter {name!r}: a positive-definite matrix needs a shape "
                             f"(..., p, p), got {shape}")  # fmt: skip

    def to_value(self, u: Any, shape: tuple[int, ...]) -> Any:
        """The parameter from its free vector ``u`` (differentiable)."""
        if self.kind == "real":
            return np.reshape(u, shape)
        if self.kind == "positive":
            return np.exp(np.reshape(u, shape))
        if self.kind == "interval":
            return self.low + (self.high - self.low) * expit(np.reshape(u, shape))
        if self.kind == "simplex":
            z = np.reshape(u, shape[:-1] + (shape[-1] - 1,))
            z = np.concatenate([z, np.zeros(shape[:-1] + (1,))], axis=-1)
            return np.exp(z - logsumexp(z, axis=-1, keepdims=True))
        p = shape[-1]
        iu, ju = np.tril_indices(p)
        entries = np.reshape(u, shape[:-2] + (len(iu),))
        diag = iu == ju
        entries = np.where(diag, np.exp(np.where(diag, entries, 0.0)), entries)
        scatter = np.zeros((len(iu), p * p))
        scatter[np.arange(len(iu)), iu * p + ju] = 1.0
        L = np.reshape(entries @ scatter, shape)
        return L @ np.swapaxes(L, -1, -2)

    def to_free(self, value: np.ndarray) -> np.ndarray:
        """The free vector of a parameter value (host, float64)."""
        v: np.ndarray = np.asarray(value, dtype=np.float64)
        u: np.ndarray
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.kind == "real":
                u = v
            elif self.kind == "positive":
                u = np.log(v)
            elif self.kind == "interval":
                u = logit((v - self.low) / (self.high - self.low))
            elif self.kind == "simplex":
                logs = np.log(v)
                u = logs[..., :-1] - logs[..., -1:]
            else:
                L = np.linalg.cholesky(v)
                iu, ju = np.tril_indices(v.shape[-1])
                entries = L[..., iu, ju]
                entries[..., iu == ju] = np.log(entries[..., iu == ju])
                u = entries
        return np.ravel(u)

    def contains(self, value: np.ndarray) -> bool:
        """Whether a value lies inside the domain (where its free vector is finite)."""
        try:
            return bool(np.all(np.isfinite(self.to_free(value))))
        except np.linalg.LinAlgError:
            return False


def domain_of(name: str, spec: Any) -> Domain:
    """The :class:`Domain` a parameter spec names.

    Raises
    ------
    ValueError
        For an unknown domain.
    """
    if isinstance(spec, Domain):
        return spec
    if isinstance(spec, str) and spec in DOMAINS and spec != "interval":
        return Domain(spec)
    if isinstance(spec, tuple) and len(spec) == 3 and spec[0] == "interval":
        low, high = float(spec[1]), float(spec[2])
        if not (np.isfinite(low) and np.isfinite(high) and low < high):
            raise ValueError(f"parameter {name!r}: an interval needs finite ends low < high, "
                             f"got {spec[1:]}")  # fmt: skip
        return Domain("interval", low, high)
    raise ValueError(f"parameter {name!r} has an unknown domain {spec!r}; use one of 'real', "
                     "'positive', ('interval', low, high), 'simplex', 'cholesky'")  # fmt: skip
