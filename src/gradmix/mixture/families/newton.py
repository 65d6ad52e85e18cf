"""The M-step of any family by Newton's method on exact derivatives.

A mixture's parameters live in one free vector z (:mod:`.domains` maps each
to its domain): each component's own block, then the shared parameters'.
The M-step maximises Q(z) = Σ_k Σ_i w_ik log f(x_i; θ_k(z)), whose gradient
and Hessian come from gradmix's AD (forward over reverse).  Without shared
parameters the Hessian is block-diagonal, one P×P block per component, and
all K blocks come from P directions, each perturbing the same coordinate of
every component at once: the K problems are one batched problem.  Where a
block is not negative definite, its eigenvalues are shifted below zero
(Levenberg–Marquardt) so the step still ascends; a step that lowers the
likelihood is retried with a larger shift (:class:`AscentDirections`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gradmix.ad import grad, jvp
from gradmix.mixture.families.base import MixtureFamily, Theta

__all__ = ["NEWTON_BUDGET", "AscentDirections", "Derivatives", "Layout", "ascent_direction",
           "block_rows", "blockwise_derivatives", "derivatives", "maximise"]  # fmt: skip


class Layout:
    """The free vector of K components' parameters: their shapes, domains and order."""

    def __init__(self, family: MixtureFamily, n_components: int, n_features: int):
        self.family, self.K, self.d = family, n_components, n_features
        self.shapes = {s.name: s.resolved(n_features) for s in family.specs}
        self.domains = {s.name: s.domain for s in family.specs}
        for name, shape in self.shapes.items():
            self.domains[name].check_shape(name, shape)
        self.own = [s.name for s in family.specs if s.name not in family.shared]
        self.common = [s.name for s in family.specs if s.name in family.shared]
        self.sizes = {n: self.domains[n].free_size(self.shapes[n]) for n in self.shapes}
        self.P = sum(self.sizes[n] for n in self.own)  # per component
        self.S = sum(self.sizes[n] for n in self.common)  # shared
        self.size = self.K * self.P + self.S

    @property
    def block_diagonal(self) -> bool:
        return self.S == 0

    def pack(self, theta: Theta) -> np.ndarray:
        """z from natural parameters (each (K, *shape); shared ones equal across K)."""
        own = [np.concatenate([self.domains[n].to_free(theta[n][k]) for n in self.own])
               if self.own else np.zeros(0) for k in range(self.K)]  # fmt: skip
        shared = [self.domains[n].to_free(theta[n][0]) for n in self.common]
        return np.concatenate([np.ravel(own), *shared]).astype(np.float64)

    def unpack(self, z: Any) -> dict[str, Any]:
        """Natural parameters from z, each (K, *shape) (differentiable)."""
        out: dict[str, Any] = {}
        blocks = np.reshape(z[: self.K * self.P], (self.K, self.P))
        at = 0
        for n in self.own:
            m = self.sizes[n]
            values = [self.domains[n].to_value(blocks[k, at : at + m], self.shapes[n])
                      for k in range(self.K)]  # fmt: skip
            out[n] = np.stack(values)
            at += m
        at = self.K * self.P
        for n in self.common:
            m = self.sizes[n]
            value = self.domains[n].to_value(z[at : at + m], self.shapes[n])
            out[n] = np.stack([value] * self.K)
            at += m
        return out

    def natural(self, z: np.ndarray) -> Theta:
        """Host float64 natural parameters from z."""
        return {n: np.asarray(v, dtype=np.float64) for n, v in self.unpack(z).items()}

    def component(self, theta: dict[str, Any], k: int) -> dict[str, Any]:
        return {n: v[k] for n, v in theta.items()}


def component_log_densities(layout: Layout, theta: dict[str, Any], X: np.ndarray) -> list[Any]:
    """log f(x_i; θ_k) for every component: K arrays of shape (n,)."""
    return [layout.family.logpdf(X, **layout.component(theta, k)) for k in range(layout.K)]


def objective(layout: Layout, z: Any, X: np.ndarray, W: np.ndarray) -> Any:
    """Q(z) = Σ_k Σ_i W_ik log f(x_i; θ_k(z)) (differentiable)."""
    lps = component_log_densities(layout, layout.unpack(z), X)
    return sum(W[:, k] @ lp for k, lp in enumerate(lps))


def per_component(layout: Layout, z: np.ndarray, X: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Q_k(z) = Σ_i W_ik log f(x_i; θ_k(z)), shape (K,) (host)."""
    with np.errstate(all="ignore"):
        lps = component_log_densities(layout, layout.unpack(z), X)
        return np.array([float(W[:, k] @ np.asarray(lp)) for k, lp in enumerate(lps)])


@dataclass
class Derivatives:
    """The value, gradient and Hessian of Q: blocks (K, P, P) or one dense (size, size)."""

    value: np.ndarray  # (K,) per component
    gradient: np.ndarray  # (size,)
    hessian: np.ndarray

    def __add__(self, other: Derivatives) -> Derivatives:
        return Derivatives(self.value + other.value, self.gradient + other.gradient,
                           self.hessian + other.hessian)  # fmt: skip


def derivatives(layout: Layout, z: np.ndarray, X: np.ndarray, W: np.ndarray) -> Derivatives:
    """Q's value per component, gradient and Hessian at z, by forward over reverse AD."""
    size, K, P = layout.size, layout.K, layout.P
    if layout.block_diagonal:
        tangents = np.zeros((P, size))
        for j in range(P):
            tangents[j, j::P] = 1.0  # coordinate j of every component at once
    else:
        tangents = np.eye(size)
    with np.errstate(all="ignore"):
        g, columns = jvp(grad(lambda t: objective(layout, t, X, W)), (z,), (tangents,))
    g, columns = np.asarray(g, dtype=np.float64), np.asarray(columns, dtype=np.float64)
    if layout.block_diagonal:
        # columns[j, k*P + i] = H_k[i, j]
        H = np.transpose(columns.reshape(P, K, P), (1, 2, 0))
    else:
        H = columns.T
    H = 0.5 * (H + np.swapaxes(H, -1, -2))
    return Derivatives(per_component(layout, z, X, W), g, H)


class AscentDirections:
    """Q's Newton direction at one point, and its Levenberg–Marquardt dampings.

    ``directions(0.0)`` is Newton's step, with each block's Hessian shifted by the
    least μ ≥ 0 that makes it negative definite (plus a margin) where Q is not
    concave: an ascent direction everywhere.  ``directions(λ)`` shifts each block
    by λ times its largest |eigenvalue| more, which shortens the step and turns it
    toward the gradient.  A step that lowers the likelihood is retried damped, not
    only shortened: where Q is flat along some coordinate (a parameter that enters
    through ``abs``, whose second derivative is 0), Newton's step along it is long,
    and halving the whole step would stall the well-curved coordinates with it.
    """

    def __init__(self, layout: Layout, d: Derivatives) -> None:
        self.size = d.gradient.shape[0]
        self.finite = bool(np.all(np.isfinite(d.gradient)) and np.all(np.isfinite(d.hessian)))
        if not self.finite:
            return
        H = d.hessian if layout.block_diagonal else d.hessian[None]
        self.values, self.vectors = np.linalg.eigh(H)  # (B, P), (B, P, P)
        self.scale = np.maximum(np.max(np.abs(self.values), axis=1), 1e-300)  # (B,)
        top = np.max(self.values, axis=1)
        self.shift = np.where(top < -1e-10 * self.scale, 0.0, top + 1e-3 * self.scale)
        # the gradient in each block's eigenvectors, (B, P)
        self.along = np.einsum("bpq,bp->bq", self.vectors, d.gradient.reshape(H.shape[:2]))

    def __call__(self, damping: float = 0.0) -> np.ndarray:
        """The step shifted by ``damping`` times each block's scale more, shape (size,)."""
        if not self.finite:
            return np.zeros(self.size)
        shifted = self.values - (self.shift + damping * self.scale)[:, None]
        return -np.einsum("bpq,bq->bp", self.vectors, self.along / shifted).ravel()


def ascent_direction(layout: Layout, d: Derivatives) -> np.ndarray:
    """The Newton direction of Q (shifted where Q is not concave), shape (size,)."""
    return AscentDirections(layout, d)()


#: bytes of traced intermediates per block of rows on the Newton route: AD's cost per
#: operation is fixed, so blocks of a few hundred rows would be dominated by it
NEWTON_BUDGET = 64 * 2**20


def block_rows(layout: Layout, budget: int = NEWTON_BUDGET) -> int:
    """Rows per block whose traced intermediates (each component's (n, d) arrays with
    P + 1 directions, a few dozen of them) stay within ``budget`` bytes."""
    per_row = 8 * layout.K * max(layout.d, 1) * (layout.P + layout.S + 1) * 8
    return max(budget // per_row, 64)


def blockwise_derivatives(layout: Layout, z: np.ndarray, X: np.ndarray,
                          W: np.ndarray) -> Derivatives:  # fmt: skip
    """:func:`derivatives` summed over blocks of rows (bounded memory)."""
    step = block_rows(layout)
    total: Derivatives | None = None
    for a in range(0, len(X), step):
        part = derivatives(layout, z, X[a : a + step], W[a : a + step])
        total = part if total is None else total + part
    assert total is not None
    return total


def maximise(layout: Layout, z: np.ndarray, X: np.ndarray, W: np.ndarray, max_iter: int = 100,
             tol: float = 1e-10) -> np.ndarray:  # fmt: skip
    """Maximise Q on rows in memory by damped Newton steps (a backtracking line search per
    component); used for starts.  Returns z."""
    K, P = layout.K, layout.P
    for _ in range(max_iter):
        d = blockwise_derivatives(layout, z, X, W)
        step = ascent_direction(layout, d)
        if not np.any(step):
            break
        base = d.value
        alpha = np.ones(K if layout.block_diagonal else 1)
        accepted = False
        for _ in range(40):
            if layout.block_diagonal:
                trial = z + np.repeat(alpha, P) * step
            else:
                trial = z + alpha[0] * step
            value = per_component(layout, trial, X, W)
            if layout.block_diagonal:
                ok = np.isfinite(value) & (value >= base - 1e-12 * np.abs(base))
                if np.all(ok):
                    accepted = True
                    break
                alpha = np.where(ok, alpha, alpha / 2)
            else:
                total, before = float(np.sum(value)), float(np.sum(base))
                if np.isfinite(total) and total >= before - 1e-12 * abs(before):
                    accepted = True
                    break
                alpha = alpha / 2
        if not accepted:
            break
        gain = float(np.sum(value) - np.sum(base))
        z = trial
        if gain <= tol * (1.0 + abs(float(np.sum(base)))):
            break
    return z
