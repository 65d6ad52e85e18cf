"""SQUAREM: EM's path extrapolated (Varadhan & Roland 2008), never below EM's.

Two EM steps from θ₀ give r = θ₁ − θ₀ and v = θ₂ − 2θ₁ + θ₀. SQUAREM's third
scheme jumps to θ' = θ₀ + 2α r + α² v, with the step length α = ‖r‖/‖v‖ (α = 1
gives θ₂, plain EM), and takes one EM step from there. The jump moves in
coordinates where every point is a mixture — log-weights, means, the
covariance unit's unconstrained coordinates, log ν of Student-t components
(variational posteriors have their own,
:class:`~gradmix.mixture.variational.PosteriorCoordinates`) — so θ' always has positive
weights and positive definite covariances; its covariances are then taken to
the covariance model's nearest (the model's M-step on them as scatter, their
eigenvalues raised to EM's ``reg_covar`` where below it), so θ' is one of the
mixtures EM's steps reach and its likelihood compares with EM's. A jump
is kept only when the objective at θ' is at least θ₁'s, so the objectives
recorded never decrease while EM's own steps do not; otherwise the iterations go
on from θ₂, as plain EM's would. As in the SQUAREM package, α is capped at a
maximum that grows fourfold each time it is reached and shrinks after a
rejected jump.

EM's ridge (``reg_covar``) breaks EM's ascent near a collapsing component: its
M-step then widens a covariance the likelihood would narrow, and an EM step
from a jump can lower the objective. Jumps judged by the objective then go
past EM's path and are pulled back, over and over (hundreds of E-steps on a
5-D mixture with one nearly flat component). From the first EM step that
lowers the objective by more than the tolerance, the iterations are plain EM's.

Every E-step counts as an iteration (``n_iter_``), so iteration counts compare
with plain EM's: the objectives recorded are, after each E-step, the best one
reached so far (a rejected jump's E-step repeats it).  Convergence is judged on
plain EM steps only (the change from θ₀ to θ₁), with EM's own tolerance.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

import numpy as np

from gradmix.mixture.components.base import ComponentFamily
from gradmix.mixture.covariance import CollapsedComponentError
from gradmix.mixture.executors.host import single_threaded_blas
from gradmix.mixture.params import Params

__all__ = ["ACCELERATIONS", "Coordinates", "LoopSettings", "MixtureCoordinates", "run_squarem"]

#: what EM's map moves: mixture parameters, or a variational posterior
State = TypeVar("State")


class LoopSettings(Protocol):
    """What the SQUAREM loop reads of EM's settings (:class:`gradmix.mixture.em.EMSettings`)."""

    max_iter: int
    on_iteration: Callable[[int, float, float], None] | None

    def converged(self, previous: float, bound: float) -> bool:
        """Whether a step from objective ``previous`` to ``bound`` is below the tolerance."""
        ...


class Coordinates(Protocol[State]):
    """A state of EM's map as one vector in which every point is a state again."""

    def vector(self, state: State) -> np.ndarray:
        """The state's coordinates, shape (P,)."""
        ...

    def params(self, z: np.ndarray, like: State) -> State | None:
        """The state at coordinates ``z`` (its fixed parts, sizes and dtype those of
        ``like``), or None where ``z`` is none (an overflow, a singular matrix)."""
        ...


#: the accelerations of EM there are (``acceleration=`` of GaussianMixture)
ACCELERATIONS = ("squarem",)
#: how much the cap on the step length grows when reached, and shrinks after a rejection
STEP_GROWTH = 4.0


class MixtureCoordinates:
    """Mixture parameters as one vector in which every point is a mixture.

    Parameters
    ----------
    family : ComponentFamily
        The components: their covariance unit, whose
        :meth:`~gradmix.mixture.covariance.CovarianceModel.unconstrained`
        coordinates the covariances (scale matrices) move in, and their free
        shape parameters' coordinates (Student-t's log ν).
    total_weight : float
        The data's total weight, the scale of the component counts.
    reg_covar : float
        EM's ridge: every covariance its M-step gives has its eigenvalues at
        least this, and so does every mixture :meth:`params` gives.
    """

    def __init__(self, family: ComponentFamily, total_weight: float, reg_covar: float = 0.0):
        self.family = family
        self.unit = family.unit
        self.total_weight = total_weight
        self.reg_covar = reg_covar

    def vector(self, p: Params) -> np.ndarray:
        """log-weights (K,), means (K·d,), the covariances' unconstrained coordinates,
        the free shape parameters' coordinates."""
        cov = p.covariances
        if cov is None:
            cov = self.unit.covariances_from_cholesky(np.asarray(p.precisions_cholesky))
        with np.errstate(divide="ignore"):
            parts = (np.log(np.asarray(p.weights, np.float64)),
                     np.asarray(p.means, np.float64).ravel(),
                     self.unit.unconstrained(np.asarray(cov, np.float64)).ravel(),
                     self.family.shape_coordinates(p))  # fmt: skip
        return np.concatenate(parts)

    def params(self, z: np.ndarray, like: Params) -> Params | None:
        """The mixture at ``z`` (weights summing as ``like``'s do, its dtype), or None
        where it is not one (an overflow, a covariance that is numerically singular)."""
        K, d = like.means.shape
        dtype = like.means.dtype
        if not np.all(np.isfinite(z)):
            return None
        log_w = z[:K]
        weights = np.exp(log_w - np.max(log_w))
        weights *= float(np.sum(like.weights)) / np.sum(weights)
        means = z[K : K + K * d].reshape(K, d)
        shape = np.shape(like.covariances) if like.covariances is not None else \
            np.shape(like.precisions_cholesky)  # fmt: skip
        end = K + K * d + int(np.prod(shape))
        with np.errstate(over="ignore", invalid="ignore"):
            cov = self.unit.from_unconstrained(z[K + K * d : end].reshape(shape))
        if not np.all(np.isfinite(cov)):
            return None
        try:
            # the model's covariances nearest cov: its M-step with cov as each component's
            # scatter (n_k Σ_k), from like's, of the model
            nk = weights * (self.total_weight / float(np.sum(weights)))
            matrices = self.unit.to_matrices(cov, K, d)
            if self.reg_covar > 0:
                # eigenvalues below EM's ridge, where no M-step goes: there a component
                # narrower than the ridge allows scores higher than the EM step from it
                # (which widens it again), and the objective would fall
                lam, vec = np.linalg.eigh(matrices)
                if np.any(lam < self.reg_covar):
                    lam = np.maximum(lam, self.reg_covar)
                    matrices = (vec * lam[:, None, :]) @ np.swapaxes(vec, 1, 2)
            scatter = nk[:, None, None] * matrices
            previous = None if like.covariances is None else np.asarray(like.covariances,
                                                                         np.float64)  # fmt: skip
            cov = self.unit.estimate(self.unit.scatter_from_matrices(scatter), nk, d, previous)
            prec_chol = self.unit.precision_cholesky(cov.astype(dtype))
        except (ValueError, np.linalg.LinAlgError):
            return None
        if not np.all(np.isfinite(prec_chol)):
            return None
        new = Params(
            weights.astype(dtype),
            means.astype(dtype),
            cov.astype(dtype),
            prec_chol,
            noise_weight=like.noise_weight,
            noise_log_density=like.noise_log_density,
        )
        self.family.shape_from_coordinates(z[end:], like, new)
        return new


def run_squarem(step: Callable[[State], tuple[State, float]], params: State,
                settings: LoopSettings, coordinates: Coordinates[State],
                lower_bound: float = -np.inf) -> tuple[State, list[float], bool]:  # fmt: skip
    """SQUAREM iterations of the EM map ``step`` (``new, objective = step(old)``).

    ``objective`` is EM's objective at ``old`` (or, for variational inference,
    the lower bound after the update from ``old``, as scikit-learn records it:
    either way the objectives along the map's steps never decrease, so a jump
    is kept when the step from it records at least as much as the step from θ₁).

    Returns what :func:`gradmix.mixture.em.iterate` returns: the last
    parameters, the objective recorded at every accepted point (never
    decreasing) and whether EM's criterion was met.
    """
    trajectory: list[float] = []
    n_eval, step_max, state = 0, 1.0, params
    x_state: np.ndarray | None = None  # the coordinates of state, when known

    def record(bound: float, check: bool) -> bool:
        previous = trajectory[-1] if trajectory else lower_bound
        trajectory.append(bound)
        if settings.on_iteration is not None:
            settings.on_iteration(n_eval, bound, bound - previous)
        return check and settings.converged(previous, bound)

    def falls(bound: float) -> bool:
        """Whether an EM step to ``bound`` lowered the objective by more than the tolerance."""
        previous = trajectory[-1] if trajectory else lower_bound
        return bound < previous and not settings.converged(previous, bound)

    with single_threaded_blas():
        while n_eval < settings.max_iter:
            first, bound0 = step(state)
            n_eval += 1
            falling = falls(bound0)
            if record(bound0, check=True):
                return first, trajectory, True
            if n_eval >= settings.max_iter:
                return first, trajectory, False
            second, bound1 = step(first)
            n_eval += 1
            falling = falling or falls(bound1)
            if record(bound1, check=True):
                return second, trajectory, True
            if falling:  # EM's ridge binds (see the module's docstring): plain EM
                state = second
                while n_eval < settings.max_iter:
                    state, bound = step(state)
                    n_eval += 1
                    if record(bound, check=True):
                        return state, trajectory, True
                return state, trajectory, False
            x0 = coordinates.vector(state) if x_state is None else x_state
            x1, x2 = coordinates.vector(first), coordinates.vector(second)
            with np.errstate(invalid="ignore"):  # (a weight of 0: its log -inf, NaN, no jump)
                r, v = x1 - x0, x2 - 2.0 * x1 + x0
                vv = float(v @ v)
            alpha = min(max(float(np.sqrt(float(r @ r) / vv)) if vv > 0 else 1.0, 1.0), step_max)
            state, x_state = second, x2
            if alpha == 1.0 or n_eval >= settings.max_iter:  # the jump would be plain EM's
                step_max *= STEP_GROWTH if alpha == step_max else 1.0
                continue
            jump = coordinates.params(x0 + 2.0 * alpha * r + alpha**2 * v, second)
            if jump is None:
                step_max = max(1.0, step_max / STEP_GROWTH)
                continue
            try:
                after, bound_jump = step(jump)
            except CollapsedComponentError:
                after, bound_jump = None, -np.inf
            n_eval += 1
            if after is None or not np.isfinite(bound_jump) or bound_jump < bound1:
                step_max = max(1.0, step_max / STEP_GROWTH)
                record(bound1, check=False)  # an E-step spent: the best bound is still θ₁'s
                continue
            if alpha == step_max:
                step_max *= STEP_GROWTH
            record(bound_jump, check=False)
            state, x_state = after, None
    return state, trajectory, False
