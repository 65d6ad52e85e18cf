"""The contract of a component family: the density of a mixture's components, and how
EM fits it.

A family's densities are elliptical: they depend on a row only through its
squared Mahalanobis distance δ to each component under a covariance unit
(:class:`~gradmix.mixture.covariance.CovarianceModel`), through a *radial*
function of δ and the dimension p of the row's observed coordinates:

    log f_k(x) = log|U_k| + c_k(p) + g_k(δ; p),

with U_k the precision factor.  The Gaussian has ``c = -p/2 log 2π`` and
``g = -δ/2``; the Student-t (a scale mixture of Gaussians, τ ~ Gamma(ν/2,
ν/2)) has ``g = -(ν + p)/2 log(1 + δ/ν)`` and its E-step weights each row's
statistics by the expected scale ``u = E[τ | x] = (ν + p)/(ν + δ)``.
Either way the unit's own M-step fits the scale matrices from the weighted
statistics, and the family adds a conditional step for its own shape
parameters (degrees of freedom).

The E-step kernels here are written against the array namespace ``xp`` and
run on every executor; the rest runs on the host in float64.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from gradmix.mixture.covariance import Coefficients, CovarianceModel
from gradmix.mixture.params import Params, Stats

__all__ = ["ComponentFamily", "PassCoefficients", "Radial", "RowTerms"]


@dataclass
class Radial:
    """The radial function's per-component coefficients for rows of one dimension.

    Attributes
    ----------
    dim : int
        The rows' dimension p (all features, or a missing-value pattern's
        observed ones).
    log_norm : ndarray, shape (K,)
        c_k(p) on the host.
    arrays : tuple
        What the family's radial kernel reads, on the kernel's device.
    shape_offset : ndarray, shape (K,), optional
        For families with latent scales: the shape statistic of a row with
        responsibility r is ``r (log u - u + shape_offset)`` (the expectation
        E[log τ] - E[τ]).
    host : tuple
        The family's own host arrays for these rows.
    """

    dim: int
    log_norm: np.ndarray
    arrays: tuple[Any, ...] = ()
    shape_offset: np.ndarray | None = None
    host: tuple[np.ndarray, ...] = ()


@dataclass
class PassCoefficients:
    """Everything one pass's kernels read, for one set of parameters.

    Attributes
    ----------
    unit : Coefficients
        The covariance unit's arrays (distances, statistics).
    ref : ndarray, shape (K, d)
        The reference points of the pass's second moments (host).
    offset : array, shape (K,)
        log π_k + log|U_k| + c_k(d), on the data's device.
    radial : Radial
        The radial coefficients for complete rows (arrays on the device).
    noise : float or None
        log(π_noise / V): the uniform noise component's weighted log-density,
        the same for every row (None without one).
    """

    unit: Coefficients
    ref: np.ndarray
    offset: Any
    radial: Radial
    noise: float | None = None


@dataclass
class RowTerms:
    """A chunk's log-densities and what its statistics reuse from computing them.

    Attributes
    ----------
    wlp : array, shape (n, K)
        log π_k + log f_k(x) (numpy's laid out column by column).
    features : array or None
        The covariance unit's per-row products (shared with its statistic).
    radial : array or None
        The family's per-entry intermediate its scale weights derive from.
    """

    wlp: Any
    features: Any = None
    radial: Any = None


class ComponentFamily(ABC):
    """The density of every component of a mixture, on a covariance unit.

    Parameters
    ----------
    unit : CovarianceModel
        The covariance (scale) model the components share.
    """

    #: the family's name (``"gaussian"``, ``"t"``)
    name: ClassVar[str] = ""

    def __init__(self, unit: CovarianceModel):
        self.unit = unit

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.unit.name!r})"

    # ------------------------------------------------------------------ the density
    @abstractmethod
    def radial(self, params: Params, dim: int, put: Any) -> Radial:
        """The radial coefficients of rows of dimension ``dim`` (``put`` sends arrays to
        the kernels' device)."""

    @abstractmethod
    def radial_terms(self, xp: Any, maha: Any, rad: Radial) -> tuple[Any, Any]:
        """``(g, state)``: g(δ) of every entry (n, K), in place of ``maha`` where the
        namespace allows, and the per-entry state :meth:`scales` derives from."""

    @abstractmethod
    def scales(self, xp: Any, state: Any, rad: Radial) -> tuple[Any, Any] | None:
        """``(u, log u)``: the expected latent scale ``E[τ | x]`` of every entry (n, K)
        and its log, or None for a family without latent scales."""

    def coefficients(self, params: Params, put: Any, ref: np.ndarray | None = None) -> \
            PassCoefficients:  # fmt: skip
        """The coefficients of one pass for ``params`` (statistics about ``ref``, by default
        the unit's reference points)."""
        unit, d = self.unit, params.means.shape[1]
        U = np.asarray(params.precisions_cholesky, dtype=np.float64)
        if ref is None:
            ref = unit.reference(np.asarray(params.means, np.float64), U)
        rad = self.radial(params, d, put)
        offset = params.log_weight_terms() + unit.log_det(U, d) + rad.log_norm
        co = unit.coefficients(ref, put, params.means, U)
        return PassCoefficients(co, ref, put(offset), rad, params.noise_term())

    def row_terms(self, xp: Any, X: Any, co: PassCoefficients) -> RowTerms:
        """log π_k + log f_k(x) of a chunk's rows, shape (n, K)."""
        F = self.unit.features(xp, X, co.unit)
        g, state = self.radial_terms(xp, self.unit.mahalanobis(xp, X, co.unit, F), co.radial)
        g += co.offset
        return RowTerms(g, F, state)

    def log_prob(self, xp: Any, X: Any, co: PassCoefficients) -> Any:
        """log π_k + log f_k(x), shape (n, K)."""
        return self.row_terms(xp, X, co).wlp

    # ------------------------------------------------------------------ statistics
    @abstractmethod
    def row_statistics(self, xp: Any, X: Any, wresp: Any, co: PassCoefficients,
                       rows: RowTerms) -> tuple:  # fmt: skip
        """A chunk's sufficient statistics for weighted responsibilities ``wresp`` (n, K);
        the executor sums them over chunks."""

    @abstractmethod
    def collect(self, sums: tuple, co: PassCoefficients) -> Stats:
        """The host :class:`Stats` from the summed :meth:`row_statistics`."""

    # ------------------------------------------------------------------ the M-step
    @abstractmethod
    def shape_step(self, stats: Stats, previous: Params, new: Params) -> None:
        """Set ``new``'s shape parameters (degrees of freedom) from the statistics of the
        E-step at ``previous``: the conditional maximisation after the unit's M-step."""

    @abstractmethod
    def start(self, params: Params) -> None:
        """Set a start's shape parameters (given ones are kept)."""

    def shape_coordinates(self, params: Params) -> np.ndarray:
        """The free shape parameters where every point is one (SQUAREM's jumps move in
        them, :mod:`gradmix.mixture.acceleration`): none here."""
        return np.zeros(0)

    def shape_from_coordinates(self, z: np.ndarray, like: Params, new: Params) -> None:
        """Set ``new``'s shape parameters at coordinates ``z``; those that are not free
        are ``like``'s."""
        new.dof = None if like.dof is None else np.array(like.dof, dtype=np.float64)

    def n_parameters(self, n_components: int) -> int:
        """Free shape parameters (added to the unit's count and the means' and weights')."""
        return len(self.free_shape_groups(n_components))

    @abstractmethod
    def free_shape_groups(self, n_components: int) -> tuple[tuple[int, ...], ...]:
        """The free shape parameters as groups of the components each applies to (one group
        per component, one for all, or none)."""

    # ------------------------------------------------------------------ users' views
    @abstractmethod
    def sample_scales(self, rng: Any, params: Params, counts: np.ndarray) -> \
            list[np.ndarray] | None:  # fmt: skip
        """Latent scales of ``counts[k]`` draws per component (None: all 1)."""

    @abstractmethod
    def ad_log_density(self, maha: Any, log_det: Any, d: int, shape: Any) -> Any:
        """log f_k(x) from distances (n, K) and log|U_k|, in plain numpy (differentiable
        by gradmix.ad), with ``shape`` the family's shape parameters (ν)."""
