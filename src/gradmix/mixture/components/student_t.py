"""Student-t components: Gaussian scale mixtures with a latent scale τ ~ Gamma(ν/2, ν/2).

For a row of dimension p at squared distance δ from component k,

    log f_k(x) = log|U_k| + c(ν_k, p) - (ν_k + p)/2 · log(1 + δ/ν_k),
    c(ν, p) = log Γ((ν + p)/2) - log Γ(ν/2) - p/2 log(νπ),

and the E-step's expected scale is ``u = E[τ | x, k] = (ν + p)/(ν + δ)``
(small for outliers).  The M-step (Peel & McLachlan 2000; Andrews &
McNicholas 2012 for the constrained scale models) is the covariance unit's
M-step on the statistics of ``r·u``, divided by ``Σ r``, and then the
degrees of freedom solve

    log(ν/2) + 1 - ψ(ν/2) + Σ_i r_ik (E[log τ] - E[τ]) / Σ_i r_ik = 0,
    E[log τ] = log u + ψ((ν_old + p)/2) - log((ν_old + p)/2),

one equation per component (``dof="free"``) or one for all (``"shared"``),
by Newton's method in log ν with the derivative from gradmix's AD (digamma
through :mod:`gradmix.scipy.special`), kept within bounds.  The left side
decreases in ν, so the root is unique and clipping it to the bounds
maximises the expected complete-data log-likelihood over them: every
iteration is an EM step and the likelihood never decreases.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import betaln, gammaln

from gradmix.ad import elementwise_grad
from gradmix.mixture.components.base import ComponentFamily, PassCoefficients, Radial, RowTerms
from gradmix.mixture.covariance import LOG_2PI, CovarianceModel
from gradmix.mixture.ops import is_host
from gradmix.mixture.params import Params, Stats
from gradmix.scipy import special

__all__ = ["DOF_BOUNDS", "DOF_START", "StudentT", "log_normaliser", "solve_dof"]

#: where free and shared degrees of freedom are kept (teigen's upper bound; below 1
#: the components' means do not exist and fits degenerate onto single points)
DOF_BOUNDS = (1.0, 200.0)
#: the degrees of freedom a fit starts from (teigen's dfstart)
DOF_START = 50.0
#: above this, log(1 + δ/ν) is computed by log1p (see StudentT.radial)
EXACT_LOG_DOF = 1e4


def log_normaliser(nu: np.ndarray, p: int) -> np.ndarray:
    """c(ν, p) = log Γ((ν+p)/2) - log Γ(ν/2) - p/2 log(νπ), accurate for any ν > 0.

    Written as ``log Γ(p/2) - log B(ν/2, p/2) - p/2 log(ν/2) - p/2 log 2π``: the
    difference of log-gammas would lose every digit of its O(1/ν) limit at ν ~ 1e8.
    """
    nu = np.asarray(nu, dtype=np.float64)
    return gammaln(p / 2) - betaln(nu / 2, p / 2) - 0.5 * p * np.log(nu / 2) - 0.5 * p * LOG_2PI


def _dof_equation(s: Any, c: Any) -> Any:
    """The left side of the ν equation at ν = exp(s) (decreasing in s)."""
    return s - np.log(2.0) + 1.0 - special.digamma(np.exp(s) / 2) + c


_dof_slope = elementwise_grad(_dof_equation)


def solve_dof(c: np.ndarray, start: np.ndarray, bounds: tuple[float, float] = DOF_BOUNDS,
              tol: float = 1e-12, max_iter: int = 100) -> np.ndarray:  # fmt: skip
    """ν_k in ``bounds`` solving ``log(ν/2) + 1 - ψ(ν/2) + c_k = 0``, entry by entry.

    Newton's method in s = log ν with the exact derivative (gradmix AD), from
    ``start``, safeguarded by bisection within a bracket; a bound where the
    root lies beyond it.

    Parameters
    ----------
    c : ndarray, shape (K,)
        Σ r (E[log τ] - E[τ]) / Σ r per component (negative: below -1).
    start : ndarray, shape (K,)
    bounds : (float, float)
    """
    c = np.asarray(c, dtype=np.float64)
    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    g_lo, g_hi = _dof_equation(np.full_like(c, lo), c), _dof_equation(np.full_like(c, hi), c)
    s = np.where(g_lo <= 0, lo, np.where(g_hi >= 0, hi, np.nan))
    inside = np.isnan(s)
    if np.any(inside):
        ci, a, b = c[inside], np.full(inside.sum(), lo), np.full(inside.sum(), hi)
        x = np.clip(np.log(np.asarray(start, dtype=np.float64)[inside]), lo, hi)
        for _ in range(max_iter):
            g = _dof_equation(x, ci)
            # g decreases: a root above x where g > 0
            a, b = np.where(g > 0, x, a), np.where(g > 0, b, x)
            step = g / _dof_slope(x, ci)
            new = x - step
            new = np.where((new > a) & (new < b), new, 0.5 * (a + b))
            done = np.abs(new - x) <= tol * (1.0 + np.abs(x))
            x = new
            if np.all(done):
                break
        s[inside] = x
    # the bounds exactly where the root lies beyond them
    return np.where(s <= lo, bounds[0], np.where(s >= hi, bounds[1], np.exp(s)))


class StudentT(ComponentFamily):
    """Multivariate Student-t components on a covariance unit (its scale matrices).

    Parameters
    ----------
    unit : CovarianceModel
    dof : {"free", "shared"} or float
        One ν per component, one for all, or a fixed value.
    bounds : (float, float)
        Where free or shared ν are kept.
    start : float
        Where free or shared ν start.
    """

    name = "t"

    def __init__(self, unit: CovarianceModel, dof: str | float = "free",
                 bounds: tuple[float, float] = DOF_BOUNDS, start: float = DOF_START):  # fmt: skip
        super().__init__(unit)
        self.dof, self.bounds, self.dof_start = dof, bounds, start

    def radial(self, params: Params, dim: int, put: Any) -> Radial:
        nu = np.asarray(params.dof, dtype=np.float64)
        half = (nu + dim) / 2
        arrays = (put(1.0 / nu), put(-half), put((nu + dim) / nu))
        # log(1 + q) from 1 + q loses q's digits below eps: (ν + p)/2 times eps, negligible
        # unless ν is huge, where those components take log1p
        huge = np.flatnonzero(nu > EXACT_LOG_DOF)
        return Radial(dim, log_normaliser(nu, dim), arrays, special.digamma(half) - np.log(half),
                      (np.log1p(dim / nu), huge))  # fmt: skip

    def radial_terms(self, xp: Any, maha: Any, rad: Radial) -> tuple[Any, Any]:
        """g = -(ν + p)/2 · L with L = log(1 + δ/ν); the state is (1 + δ/ν, L)."""
        inv_nu, neg_half, _ = rad.arrays
        if is_host(xp):
            maha *= inv_nu  # q = δ/ν, in place
            huge = rad.host[1]
            exact = np.log1p(maha[:, huge]) if len(huge) else None
            maha += 1.0
            L = np.log(maha)  # numpy's log is vectorised, its log1p is not
            if exact is not None:
                L[:, huge] = exact
            S = maha
        else:
            q = maha * inv_nu
            L, S = xp.log1p(q), q + 1.0
        return L * neg_half, (S, L)

    def scales(self, xp: Any, state: Any, rad: Radial) -> tuple[Any, Any] | None:
        # u = (ν + p)/(ν + δ) = c1 / (1 + δ/ν); log u = log c1 - L
        S, L = state
        c1 = rad.arrays[2]
        return c1 / S, xp.log(c1) - L

    def row_statistics(self, xp: Any, X: Any, wresp: Any, co: PassCoefficients,
                       rows: RowTerms) -> tuple:  # fmt: skip
        (S, L), c1 = rows.radial, co.radial.arrays[2]
        if is_host(xp):
            wL = np.einsum("ij,ij->j", wresp, L)  # Σ w r log(1 + δ/ν), no temporary
            wru = np.divide(c1, S, out=S)  # u, in place
            wru *= wresp
        else:
            wL = xp.sum(wresp * L, axis=0)
            wru = wresp * (c1 / S)
        return (xp.sum(wresp, axis=0), xp.sum(wru, axis=0), xp.permute_dims(wru, (1, 0)) @ X,
                *self.unit.second_parts(xp, X, wru, co.unit, rows.features), wL)  # fmt: skip

    def collect(self, sums: tuple, co: PassCoefficients) -> Stats:
        assert co.radial.shape_offset is not None
        nk, snk, sx, *second, wL = sums
        # Σ r (log u - u + offset) with log u = log c1 - L
        shape_stat = nk * (co.radial.shape_offset + co.radial.host[0]) - wL - snk
        return Stats(nk, sx, self.unit.assemble(tuple(second), co.unit), co.ref, scale_nk=snk,
                     shape_stat=shape_stat)  # fmt: skip

    def shape_step(self, stats: Stats, previous: Params, new: Params) -> None:
        nu = np.asarray(previous.dof, dtype=np.float64)
        if not isinstance(self.dof, str) or stats.shape_stat is None:
            new.dof = nu.copy()
            return
        tiny = np.finfo(np.float64).tiny
        if self.dof == "shared":
            c = np.full_like(nu, np.sum(stats.shape_stat) / max(np.sum(stats.nk), tiny))
        else:
            c = stats.shape_stat / np.maximum(stats.nk, tiny)
        # an empty component carries no information about its ν: it keeps it
        solved = solve_dof(c, nu, self.bounds)
        new.dof = np.where(stats.nk > 1e-8 * np.sum(stats.nk), solved, nu)

    def shape_coordinates(self, params: Params) -> np.ndarray:
        if not isinstance(self.dof, str):
            return np.zeros(0)
        return np.log(np.asarray(params.dof, dtype=np.float64))

    def shape_from_coordinates(self, z: np.ndarray, like: Params, new: Params) -> None:
        if not isinstance(self.dof, str):
            super().shape_from_coordinates(z, like, new)
            return
        with np.errstate(over="ignore"):
            new.dof = np.clip(np.exp(z), *self.bounds)

    def start(self, params: Params) -> None:
        if params.dof is None:
            value = self.dof_start if isinstance(self.dof, str) else float(self.dof)
            params.dof = np.full(len(params.weights), value)

    def free_shape_groups(self, n_components: int) -> tuple[tuple[int, ...], ...]:
        if self.dof == "free":
            return tuple((k,) for k in range(n_components))
        if self.dof == "shared":
            return (tuple(range(n_components)),)
        return ()

    def sample_scales(self, rng: Any, params: Params, counts: np.ndarray) -> \
            list[np.ndarray] | None:  # fmt: skip
        nu = np.asarray(params.dof, dtype=np.float64)
        return [rng.gamma(v / 2, 2 / v, size=int(c)) for v, c in zip(nu, counts, strict=True)]

    def ad_log_density(self, maha: Any, log_det: Any, d: int, shape: Any) -> Any:
        nu = shape
        norm = (
            special.gammaln((nu + d) / 2) - special.gammaln(nu / 2) - 0.5 * d * np.log(nu * np.pi)
        )
        return log_det + norm - (nu + d) / 2 * np.log1p(maha / nu)
