"""Stepwise (online) EM over running sufficient statistics, for ``partial_fit``.

After the t-th mini-batch the running statistics are

    s_t = (1 - γ_t) s_{t-1} + γ_t ŝ_t,    γ_t = (t + 1)^(-κ), κ = 0.6, γ_1 = 1,

where ŝ_t are the batch's statistics per unit weight under the current
parameters, and the M-step runs on s_t (stepwise EM: Sato & Ishii 2000,
Cappé & Moulines 2009; κ in (1/2, 1] gives convergence, smaller κ forgets
faster — 0.6 is Liang & Klein's recommendation).  Statistics of different
batches are taken about different reference points, so the covariance
family moves them to a common one (the stream's fixed centre, the origin of
the centred coordinates) before they are blended.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gradmix.mixture.components import ComponentFamily
from gradmix.mixture.covariance import CovarianceModel
from gradmix.mixture.em import e_step
from gradmix.mixture.executors import Executor
from gradmix.mixture.maximisation import m_step
from gradmix.mixture.params import Params, Stats

__all__ = ["KAPPA", "RunningStats", "Stream", "step_size"]

KAPPA = 0.6


def step_size(t: int) -> float:
    """γ_t for the t-th batch (t = 1, 2, ...)."""
    return 1.0 if t <= 1 else float((t + 1) ** -KAPPA)


@dataclass
class RunningStats:
    """Statistics per unit weight, blended batch by batch."""

    nk: np.ndarray
    sx: np.ndarray
    second: np.ndarray  # about the origin
    t: int = 0

    @classmethod
    def empty(cls, model: CovarianceModel, K: int, d: int) -> RunningStats:
        return cls(np.zeros(K), np.zeros((K, d)), np.zeros(model.second_shape(K, d)))

    def update(self, model: CovarianceModel, batch: Stats) -> float:
        """Blend in a batch's statistics; returns the step size used."""
        self.t += 1
        g = step_size(self.t)
        per = 1.0 / batch.weight
        self.nk = (1 - g) * self.nk + g * per * batch.nk
        self.sx = (1 - g) * self.sx + g * per * batch.sx
        moved = model.about_origin(batch.ref, batch.sx, batch.nk, batch.second)
        self.second = (1 - g) * self.second + g * per * moved
        return g

    def as_stats(self) -> Stats:
        """The running statistics as EM's :class:`Stats` (unit total weight)."""
        return Stats(self.nk, self.sx, self.second, np.zeros_like(self.sx), 1.0)


@dataclass
class Stream:
    """A ``partial_fit`` stream: its running statistics, its fixed centre (the first
    batch's mean: every batch is centred by it) and its start (what ``freeze`` keeps)."""

    shift: np.ndarray
    start: Params
    running: RunningStats = field(repr=False)

    @classmethod
    def begin(cls, model: CovarianceModel, shift: np.ndarray, start: Params) -> Stream:
        K, d = start.means.shape
        return cls(shift, start.copy(), RunningStats.empty(model, K, d))

    def step(self, ex: Executor, family: ComponentFamily, params: Params, reg_covar: float,
             freeze: frozenset[str]) -> tuple[Params, Stats]:  # fmt: skip
        """One batch: its E-step at ``params``, blended in; the M-step on the running
        statistics.  Returns the new parameters and the batch's statistics."""
        stats = e_step(ex, family, params)
        if stats.weight <= 0:
            raise ValueError("the batch has zero total sample weight")
        self.running.update(family.unit, stats)
        previous = None if params.covariances is None else \
            np.asarray(params.covariances, dtype=np.float64)  # fmt: skip
        new = m_step(family.unit, self.running.as_stats(), reg_covar, ex.dtype,
                     frozen=self.start, freeze=freeze, var_floor=ex.var_floor,
                     previous=previous)  # fmt: skip
        return new, stats
