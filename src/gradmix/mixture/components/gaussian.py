"""Gaussian components: log f(x) = log|U| - p/2 log 2π - δ/2."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradmix.mixture.components.base import ComponentFamily, PassCoefficients, Radial, RowTerms
from gradmix.mixture.covariance import LOG_2PI
from gradmix.mixture.params import Params, Stats

__all__ = ["Gaussian"]


class Gaussian(ComponentFamily):
    """Multivariate normal components (no shape parameters, no latent scales)."""

    name = "gaussian"

    def radial(self, params: Params, dim: int, put: Any) -> Radial:
        return Radial(dim, np.full(len(params.weights), -0.5 * dim * LOG_2PI))

    def radial_terms(self, xp: Any, maha: Any, rad: Radial) -> tuple[Any, Any]:
        maha *= -0.5
        return maha, None

    def row_terms(self, xp: Any, X: Any, co: PassCoefficients) -> RowTerms:
        # the density is affine in the distances: the unit folds -1/2 and the offset
        # into its product, with no pass of its own over the (n, K) array
        F = self.unit.features(xp, X, co.unit)
        return RowTerms(self.unit.scaled_mahalanobis(xp, X, co.unit, F, -0.5, co.offset), F)

    def scales(self, xp: Any, state: Any, rad: Radial) -> tuple[Any, Any] | None:
        return None

    def row_statistics(self, xp: Any, X: Any, wresp: Any, co: PassCoefficients,
                       rows: RowTerms) -> tuple:  # fmt: skip
        return (xp.sum(wresp, axis=0), xp.permute_dims(wresp, (1, 0)) @ X,
                *self.unit.second_parts(xp, X, wresp, co.unit, rows.features))  # fmt: skip

    def collect(self, sums: tuple, co: PassCoefficients) -> Stats:
        nk, sx, *second = sums
        return Stats(nk, sx, self.unit.assemble(tuple(second), co.unit), co.ref)

    def shape_step(self, stats: Stats, previous: Params, new: Params) -> None:
        new.dof = None

    def start(self, params: Params) -> None:
        params.dof = None

    def free_shape_groups(self, n_components: int) -> tuple[tuple[int, ...], ...]:
        return ()

    def sample_scales(self, rng: Any, params: Params, counts: np.ndarray) -> \
            list[np.ndarray] | None:  # fmt: skip
        return None

    def ad_log_density(self, maha: Any, log_det: Any, d: int, shape: Any) -> Any:
        return -0.5 * maha + (log_det - 0.5 * d * LOG_2PI)
