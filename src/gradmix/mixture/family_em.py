"""EM for mixtures of any family, on the executor seam.

One pass over the data computes each row's log-densities under every
component (the family's ``logpdf``), the responsibilities and the
log-likelihood, and the M-step's input, summed over chunks, threads and
Dask blocks:

- a family with sufficient statistics adds them (``statistics``) and its
  ``m_step`` is a closed form (or a one-dimensional equation): plain EM;
- any other family adds the value, gradient and Hessian of
  Q(z) = Σ_i Σ_k w r_ik log f(x_i; θ_k(z)) at the pass's parameters
  (:mod:`.families.newton`: exact derivatives, the K components' blocks in P
  directions).  The M-step is then one Newton step (Lange's EM gradient
  algorithm), with the weights' own EM update: the next pass evaluates the
  likelihood at the new point, and a point that lowers it is not taken: the
  step is damped (Levenberg–Marquardt: shorter, and turned toward the
  gradient), and damped again, until the likelihood does not decrease.  Every
  pass is one iteration of EM that never lowers the likelihood, and the fixed
  points are EM's.

Responsibilities are never stored: memory above the data stays within the
chunk budget.  Kernels need numpy chunks (numpy arrays, Dask blocks): a
user's ``logpdf`` is numpy code.

With ``settings.acceleration == "squarem"`` either map is extrapolated by
:func:`~gradmix.mixture.acceleration.run_squarem` in :class:`FamilyCoordinates`
(log-weights and the layout's free vector, where every point is a mixture of
the family), each jump kept only where the likelihood after it is at least
the plain step's.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from gradmix.ad import NoDerivativeRuleError, TracerConversionError, jacfwd
from gradmix.mixture.acceleration import run_squarem
from gradmix.mixture.em import EMSettings, iterate
from gradmix.mixture.executors import Chunk, Executor
from gradmix.mixture.families.base import MixtureFamily, Theta
from gradmix.mixture.families.newton import (
    AscentDirections,
    Derivatives,
    Layout,
    derivatives,
    maximise,
)
from gradmix.mixture.ops import impossible_as_minus_inf, responsibilities

__all__ = [
    "FamilyCoordinates",
    "FamilyParams",
    "check_logpdf",
    "check_support",
    "family_log_prob",
    "initial_family_params",
    "per_row",
    "run_family_em",
    "tied_rows",
]

#: Newton's step and its dampings tried before a pass gives up improving the likelihood
MAX_TRIALS = 30
#: a component with all but this share of its responsibility mass on one value (in a
#: feature) sits on tied values: the rest no longer holds its spread up (a Weibull's on
#: 50 tied rows beside 300 spread ones stops at tol=1e-3 with 8.5e-8 off the value)
TIED_SHARE = 1e-3


@dataclass
class FamilyParams:
    """A mixture of a family: weights (K,) and natural parameters (each (K, *shape))."""

    weights: np.ndarray
    theta: Theta

    def copy(self) -> FamilyParams:
        return FamilyParams(self.weights.copy(), {n: v.copy() for n, v in self.theta.items()})


class FamilyCoordinates:
    """A mixture of a family as one vector in which every point is a mixture: the
    log-weights (K,) and the layout's free vector (:meth:`Layout.pack`), the
    coordinates SQUAREM's jumps move in (:class:`~gradmix.mixture.acceleration.Coordinates`).

    Parameters
    ----------
    layout : Layout
        The family's parameters, their shapes and domains.
    """

    def __init__(self, layout: Layout):
        self.layout = layout

    def vector(self, p: FamilyParams) -> np.ndarray:
        """log-weights, then the free vector: shape (K + layout.size,)."""
        with np.errstate(divide="ignore"):  # (a component without weight: -inf, no jump)
            return np.concatenate([np.log(p.weights), self.layout.pack(p.theta)])

    def params(self, z: np.ndarray, like: FamilyParams) -> FamilyParams | None:
        """The mixture at ``z``, or None where it is none: a coordinate or a parameter
        not finite, a weight that underflowed to 0."""
        K = self.layout.K
        if not np.all(np.isfinite(z)):
            return None
        weights = np.exp(z[:K] - np.max(z[:K]))
        weights /= np.sum(weights)
        if not np.all(weights > 0):
            return None
        with np.errstate(all="ignore"):
            theta = self.layout.natural(z[K:])
        if not all(np.all(np.isfinite(v)) for v in theta.values()):
            return None
        return FamilyParams(weights, theta)


def family_log_prob(layout: Layout, X: np.ndarray, theta: Theta, log_weights: np.ndarray,
                    with_constant: bool = True) -> np.ndarray:  # fmt: skip
    """log π_k + log f(x_i; θ_k), shape (n, K), impossible entries -inf (without the
    family's row constant unless ``with_constant``)."""
    family = layout.family
    X = np.asarray(X, dtype=np.float64)
    with np.errstate(all="ignore"):
        wlp = family.log_prob(X, theta) + log_weights
        if with_constant:
            constant = family.row_constant(X)
            if constant is not None:
                wlp += constant[:, None]
    return impossible_as_minus_inf(np, wlp)


# ------------------------------------------------------------------------------ kernels
def _host(chunk: Chunk) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(chunk.X, dtype=np.float64)
    w = np.ones(len(X)) if chunk.w is None else np.asarray(chunk.w, dtype=np.float64)
    return X, w


def _constant_kernel(chunk: Chunk, family: MixtureFamily) -> float:
    X, w = _host(chunk)
    constant = family.row_constant(X)
    return 0.0 if constant is None else float(w @ constant)


def _closed_kernel(chunk: Chunk, layout: Layout, theta: Theta, log_w: np.ndarray) -> tuple:
    X, w = _host(chunk)
    resp, lpn = responsibilities(np, family_log_prob(layout, X, theta, log_w, False))
    wresp = resp * w[:, None]
    return (float(w @ lpn), *layout.family.statistics(X, wresp))


def _newton_kernel(chunk: Chunk, layout: Layout, theta: Theta, log_w: np.ndarray,
                   z: np.ndarray) -> tuple:  # fmt: skip
    X, w = _host(chunk)
    resp, lpn = responsibilities(np, family_log_prob(layout, X, theta, log_w))
    wresp = resp * w[:, None]
    return float(w @ lpn), wresp.sum(axis=0), derivatives(layout, z, X, wresp)


@dataclass
class _Violations:
    """Rows outside a family's support: how many, and the first."""

    count: int
    first: int

    def __add__(self, other: _Violations) -> _Violations:
        firsts = [f for f in (self.first, other.first) if f >= 0]
        return _Violations(self.count + other.count, min(firsts) if firsts else -1)


def _support_kernel(chunk: Chunk, family: MixtureFamily) -> _Violations:
    X, _ = _host(chunk)
    bad = family.support(X)
    if bad is None or not np.any(bad):
        return _Violations(0, -1)
    return _Violations(int(np.sum(bad)), chunk.start + int(np.argmax(bad)))


def check_support(ex: Executor, family: MixtureFamily) -> None:
    """Raise a ValueError naming the rows outside the family's support."""
    found = ex.map_reduce(_support_kernel, family)
    if found.count:
        raise ValueError(f"{found.count} rows are outside the support of the "
                         f"{family.describe()} family ({family.support_text()}); the first is "
                         f"row {found.first}")  # fmt: skip


# ------------------------------------------------------------------------------ checks
def check_logpdf(layout: Layout, X: np.ndarray, theta: Theta) -> None:
    """Call the family's logpdf on a few rows at a start: the shape, the values, and that
    AD can follow every parameter; a ValueError naming the parameter and the row otherwise."""
    family = layout.family
    X = np.asarray(X, dtype=np.float64)
    params = layout.component(theta, 0)
    with np.errstate(all="ignore"):
        try:
            out = np.asarray(family.logpdf(X, **params), dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"logpdf(x, **params) failed on an ({len(X)}, {X.shape[1]}) "
                             f"block: {exc}") from None  # fmt: skip
    if out.shape != (len(X),):
        raise ValueError(f"logpdf(x, **params) must return one log-density per row, shape "
                         f"({len(X)},); it returned shape {out.shape}")  # fmt: skip
    bad = np.isnan(out) | (out == np.inf)
    if np.any(bad):
        row = int(np.argmax(bad))
        raise ValueError(f"logpdf returned {out[row]} at row {row} (start parameters "
                         f"{_short(params)}); it must be finite or -inf")  # fmt: skip
    for name, value in params.items():

        def f(v: Any, name: str = name) -> Any:
            return family.logpdf(X, **{**params, name: v})

        try:
            with np.errstate(all="ignore"):
                J = np.asarray(jacfwd(f)(np.asarray(value, dtype=np.float64)), dtype=np.float64)
        except (NoDerivativeRuleError, TracerConversionError) as exc:
            raise ValueError(f"logpdf uses parameter {name!r} in a way gradmix cannot "
                             f"differentiate: {str(exc).splitlines()[0]}") from None  # fmt: skip
        nan_rows = np.flatnonzero(np.any(np.isnan(np.reshape(J, (len(X), -1))), axis=1))
        if len(nan_rows):
            raise ValueError(f"the derivative of logpdf in parameter {name!r} is NaN at row "
                             f"{int(nan_rows[0])}")  # fmt: skip


def _short(params: dict[str, Any]) -> str:
    return ", ".join(f"{n}={np.round(np.asarray(v, dtype=float), 4).tolist()}"
                     for n, v in params.items())  # fmt: skip


# ------------------------------------------------------------------------------ the start
def initial_family_params(layout: Layout, X: np.ndarray, w: np.ndarray, resp: np.ndarray,
                          newton: bool = False) -> FamilyParams:  # fmt: skip
    """Parameters from a start's responsibilities on rows in memory (a sample): the closed
    form, the family's ``initial`` per component, or Newton's method on Q from there
    (from the free vector's origin where the family has no start of its own)."""
    family, K = layout.family, layout.K
    wresp = resp * w[:, None]
    nk = wresp.sum(axis=0)
    weights = nk / np.sum(nk)
    if family.closed_form and not newton:
        theta = family.m_step(family.statistics(X, wresp), None)
        return FamilyParams(weights, {n: np.asarray(v, dtype=np.float64) for n, v in theta.items()})
    starts = [family.initial(X[wresp[:, k] > 0], wresp[wresp[:, k] > 0, k]) for k in range(K)]
    z = np.zeros(layout.size)
    if all(s is not None for s in starts):
        theta0 = {n: np.stack([np.asarray(s[n], dtype=np.float64) for s in starts if s is not None])
                  for n in layout.shapes}  # fmt: skip
        for n in layout.common:  # a shared parameter starts at the components' mean
            theta0[n] = np.broadcast_to(theta0[n].mean(axis=0), theta0[n].shape).copy()
        z = layout.pack(theta0)
    z = maximise(layout, z, X, wresp)
    return FamilyParams(weights, layout.natural(z))


# ------------------------------------------------------------------------------ the loop
@dataclass
class _State:
    params: FamilyParams
    ll: float = -np.inf
    nk: np.ndarray | None = None
    derivs: Derivatives | None = None


def _kept_where(dead: np.ndarray, theta: Theta, previous: Theta,
                shared: frozenset[str]) -> Theta:  # fmt: skip
    """``theta`` with the components that have no weight (``dead``, (K,)) at their
    ``previous`` parameters (but for ``shared`` ones, equal across components): the
    M-step's 0/0 would make them NaN, and a fitted mixture with a NaN parameter
    could not be saved, loaded or sampled."""
    if not dead.any():
        return theta
    return {n: v if n in shared else
            np.where(dead.reshape((-1,) + (1,) * (np.ndim(v) - 1)), previous[n], v)
            for n, v in theta.items()}  # fmt: skip


def run_family_em(ex: Executor, layout: Layout, params: FamilyParams, settings: EMSettings,
                  lower_bound: float = -np.inf, newton: bool = False,
                  ) -> tuple[FamilyParams, list[float], bool]:  # fmt: skip
    """EM iterations from ``params`` until the mean log-likelihood changes by less than
    ``settings.tol`` (see the module docstring); ``newton`` takes the Newton route for
    a family with a closed form too."""
    family = layout.family
    total = ex.total_weight

    def log_w(p: FamilyParams) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(p.weights)

    if family.closed_form and not newton:
        # the rows' constant part of the log-likelihood, once: it moves no responsibility
        constant = float(ex.map_reduce(_constant_kernel, family))

        def closed_step(p: FamilyParams) -> tuple[FamilyParams, float]:
            ll, *sums = ex.map_reduce(_closed_kernel, layout, p.theta, log_w(p))
            ll = float(ll) + constant
            nk = np.asarray(sums[0], dtype=np.float64)
            dead = nk <= 0  # no row's responsibility: nothing to estimate it from
            with np.errstate(divide="ignore", invalid="ignore") if dead.any() else nullcontext():
                theta = family.m_step(tuple(sums), p.theta)
            theta = _kept_where(dead, theta, p.theta, family.shared)
            return FamilyParams(nk / np.sum(nk), theta), ll / total

        if settings.acceleration == "squarem":
            return run_squarem(closed_step, params, settings, FamilyCoordinates(layout),
                               lower_bound)  # fmt: skip
        return iterate(closed_step, params, settings, lower_bound)

    def evaluate(p: FamilyParams) -> _State:
        z = layout.pack(p.theta)
        ll, nk, d = ex.map_reduce(_newton_kernel, layout, p.theta, log_w(p), z)
        return _State(p, float(ll), np.asarray(nk, dtype=np.float64), d)

    def newton_step(state: _State) -> tuple[_State, float]:
        if state.derivs is None:
            state = evaluate(state.params)
        assert state.nk is not None and state.derivs is not None
        z = layout.pack(state.params.theta)
        directions = AscentDirections(layout, state.derivs)
        em_weights = state.nk / np.sum(state.nk)
        for attempt in range(MAX_TRIALS):
            # Newton's step first, then damped ones (shorter, turned toward the gradient)
            damping = 0.0 if attempt == 0 else 1e-3 * 4 ** (attempt - 1)
            with np.errstate(over="ignore"):
                theta = layout.natural(z + directions(damping))
            if not all(np.all(np.isfinite(v)) for v in theta.values()):
                continue  # a step past float's range (a flat direction): damped ones are shorter
            trial = evaluate(FamilyParams(em_weights, theta))
            if np.isfinite(trial.ll) and trial.ll >= state.ll - 1e-12 * abs(state.ll):
                return trial, trial.ll / total
        return replace(state), state.ll / total  # no ascent left: a fixed point

    start = _State(params)
    if settings.acceleration == "squarem":
        coordinates = _StateCoordinates(layout)
        final, trajectory, converged = run_squarem(newton_step, start, settings, coordinates,
                                                   lower_bound)  # fmt: skip
    else:
        final, trajectory, converged = iterate(newton_step, start, settings, lower_bound)
    return final.params, trajectory, converged


class _StateCoordinates:
    """:class:`FamilyCoordinates` of the Newton route's states (a state from a jump
    holds no derivatives: its step evaluates them first)."""

    def __init__(self, layout: Layout):
        self.of_params = FamilyCoordinates(layout)

    def vector(self, state: _State) -> np.ndarray:
        return self.of_params.vector(state.params)

    def params(self, z: np.ndarray, like: _State) -> _State | None:
        p = self.of_params.params(z, like.params)
        return None if p is None else _State(p)


def tied_rows(ex: Executor, layout: Layout, params: FamilyParams) -> np.ndarray:
    """Components whose rows are one tied value in some feature, bool (K,): all but
    :data:`TIED_SHARE` of their responsibility mass on one value there, where a
    continuous density grows without bound as its spread shrinks.

    For fits by Newton M-steps, which have no closed form to floor the spread: there
    each EM step narrows such a component a little more (the rows off the value lose
    their share), and the fit ends wherever the tolerance stops it, with a likelihood
    large for the wrong reason.  The value: the row nearest the component's mean.
    """
    with np.errstate(divide="ignore"):
        log_w = np.log(params.weights)
    args = (layout, params.theta, log_w)
    mass, sums = ex.map_reduce(_tie_kernel, *args, None)
    means = sums / np.maximum(mass, 1e-300)[:, None]
    nearness = ex.map_rows(_nearness_kernel, means, cols=len(means), dtype=np.float64)
    values = np.stack([ex.take(ex.top(nearness[:, k], 1))[0] for k in range(len(means))])
    (on_value,) = ex.map_reduce(_tie_kernel, *args, values)
    off = 1.0 - on_value / np.maximum(mass, 1e-300)[:, None]
    return np.any(off <= TIED_SHARE, axis=1) & (mass > 0)


def _tie_kernel(chunk: Chunk, layout: Layout, theta: Theta, log_w: np.ndarray,
                values: np.ndarray | None) -> tuple[np.ndarray, ...]:  # fmt: skip
    """Σ r and Σ r x per component (K,), (K, d); or, given a value per component (K, d),
    Σ r over the rows equal to it, per feature (K, d)."""
    X, w = _host(chunk)
    resp, _ = responsibilities(np, family_log_prob(layout, X, theta, log_w))
    wresp = resp * w[:, None]
    if values is None:
        return wresp.sum(axis=0), wresp.T @ X
    return (np.stack([wresp[:, k] @ (X == v) for k, v in enumerate(values)]),)


def _nearness_kernel(chunk: Chunk, means: np.ndarray) -> np.ndarray:
    """Minus each row's squared distance to each component's mean, (m, K)."""
    X, _ = _host(chunk)
    return -np.stack([np.sum((X - m) ** 2, axis=1) for m in means], axis=1)


def per_row(ex: Executor, layout: Layout, params: FamilyParams,
            kernel: Callable[[np.ndarray], Any], cols: int | None = None,
            dtype: Any = None) -> Any:  # fmt: skip
    """``kernel(log π_k + log f_k(x))`` of every row (labels, responsibilities, ...)."""
    with np.errstate(divide="ignore"):
        log_w = np.log(params.weights)
    return ex.map_rows(_rows_kernel, layout, params.theta, log_w, kernel, cols=cols,
                       dtype=dtype)  # fmt: skip


def _rows_kernel(chunk: Chunk, layout: Layout, theta: Theta, log_w: np.ndarray,
                 kernel: Callable[[np.ndarray], Any]) -> Any:  # fmt: skip
    X, _ = _host(chunk)
    wlp = family_log_prob(layout, X, theta, log_w)
    outside = layout.family.support(X)
    if outside is not None and outside.any():
        # (a density written for the support, Poisson's through gammaln, has values
        # elsewhere too: 1.5 counts, category 7 of 4; their probability is 0)
        wlp[outside] = -np.inf
    return kernel(wlp)
