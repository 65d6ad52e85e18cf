"""mclust's noise component: one more component, uniform over the data's hypervolume.

Scattered points that no cluster explains are absorbed by a component of
constant density 1/V (Banfield & Raftery 1993; mclust's ``noise``
initialisation and ``hypvol``).  This module finds V, its region (for
sampling), and a first guess of which rows are noise:

- :func:`hypervolume`: mclust's ``hypvol`` — the smaller of the volumes of
  the data's bounding box and of its box along the principal components —,
  either box alone, the convex hull's volume (scipy's Qhull, for up to six
  features), or a given number;
- :func:`nearest_neighbour_noise`: Byers & Raftery (1998)'s cleaning by the
  distance to each row's k-th nearest neighbour (on standardised columns),
  which in a Poisson process of intensity λ follows ``λ α_d D^d ~ Gamma(k,
  1)``: a two-intensity mixture fit by EM on those distances, rows of the
  sparse intensity being noise (the method of prabclus' ``NNclean``, which
  mclust's documentation uses).

Both read the data through an executor, so they run on numpy, GPU and Dask
data alike (the hull and the neighbours bring the rows to the host).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
from scipy.special import gammaln
from sklearn.utils import check_random_state

from gradmix.mixture.em import data_moments
from gradmix.mixture.executors import Chunk, Executor

__all__ = [
    "HULL_MAX_FEATURES",
    "NoiseRegion",
    "check_hypervolume",
    "check_noise",
    "hypervolume",
    "nearest_neighbour_noise",
]

#: the convex hull's volume is computed (Qhull) for at most this many features
HULL_MAX_FEATURES = 6
#: Byers & Raftery's neighbour order (mclust's documentation uses NNclean with k = 5)
NEIGHBOURS = 5


@dataclass
class NoiseRegion:
    """A box along orthonormal axes: ``low <= axes @ x <= high`` (uncentred coordinates).

    Attributes
    ----------
    axes : ndarray, shape (d, d)
        Rows are the box's directions.
    low, high : ndarray, shape (d,)
    """

    axes: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @property
    def log_volume(self) -> float:
        with np.errstate(divide="ignore"):
            return float(np.sum(np.log(self.high - self.low)))

    def sample(self, rng: Any, n: int) -> np.ndarray:
        """``n`` uniform draws from the box, shape (n, d)."""
        y = rng.uniform(self.low, self.high, size=(n, len(self.low)))
        return y @ self.axes


@dataclass
class _Extent:
    """Column minima and maxima, combined by ``+`` (a reduction's result)."""

    low: np.ndarray
    high: np.ndarray

    def __add__(self, other: _Extent) -> _Extent:
        return _Extent(np.minimum(self.low, other.low), np.maximum(self.high, other.high))


def _extent_kernel(chunk: Chunk, get: Any, axes_t: Any) -> _Extent:
    xp = chunk.xp
    Y = chunk.X if axes_t is None else chunk.X @ axes_t
    if Y.shape[0] == 0:
        d = Y.shape[1]
        return _Extent(np.full(d, np.inf), np.full(d, -np.inf))
    return _Extent(np.asarray(get(xp.min(Y, axis=0)), dtype=np.float64),
                   np.asarray(get(xp.max(Y, axis=0)), dtype=np.float64))  # fmt: skip


def _box(ex: Executor, axes: np.ndarray) -> NoiseRegion:
    """The data's box along ``axes`` (rows), in uncentred coordinates."""
    identity = np.array_equal(axes, np.eye(ex.d))
    ext = ex.map_reduce(_extent_kernel, ex.to_host, None if identity else ex.put(axes.T))
    offset = axes @ ex.shift
    return NoiseRegion(axes, ext.low + offset, ext.high + offset)


def _principal_axes(ex: Executor, covariance: np.ndarray) -> np.ndarray:
    _, vectors = np.linalg.eigh(covariance)
    return np.ascontiguousarray(vectors[:, ::-1].T)


def _hull_log_volume(ex: Executor) -> float:
    from scipy.spatial import ConvexHull, QhullError

    try:
        volume = ConvexHull(ex.take(np.arange(ex.n)).astype(np.float64)).volume
    except QhullError as exc:
        raise ValueError(f"the data have no convex hull of positive volume in {ex.d} "
                         f"dimensions ({str(exc).splitlines()[0]})") from None  # fmt: skip
    return math.log(volume) if volume > 0 else -math.inf


def hypervolume(ex: Executor, method: str | float | None,
                covariance: np.ndarray | None) -> tuple[float, NoiseRegion | None]:  # fmt: skip
    """log V of the noise component and its region (None where it is not a box).

    Parameters
    ----------
    ex : Executor
        The data.
    method : None, "box", "hull" or float
        None: mclust's ``hypvol`` (the smaller of the bounding box and the
        principal components' box); a float: V itself.
    covariance : ndarray, shape (d, d), optional
        The data's covariance (its eigenvectors are the principal axes), for
        ``None``; computed when not given.

    Raises
    ------
    ValueError
        For a volume that is not positive (all rows on a hyperplane).
    """
    if isinstance(method, Real) and not isinstance(method, bool):
        return math.log(float(method)), None
    if method == "hull":
        if ex.d == 1:
            method = "box"
        else:
            log_v, region = _hull_log_volume(ex), None
    if method in (None, "box"):
        region = _box(ex, np.eye(ex.d))
        if method is None and ex.d > 1:
            if covariance is None:
                covariance = data_moments(ex)[1]
            rotated = _box(ex, _principal_axes(ex, covariance))
            if rotated.log_volume < region.log_volume:
                region = rotated
        log_v = region.log_volume
    if not np.isfinite(log_v):
        raise ValueError("the data's hypervolume is zero (the rows lie on a hyperplane): "
                         "a uniform noise component has no density; pass hypervolume")  # fmt: skip
    return log_v, region


def check_hypervolume(value: Any) -> None:
    """``hypervolume``: None, "box", "hull" or a positive finite number."""
    if value is None or (isinstance(value, str) and value in ("box", "hull")):
        return
    if isinstance(value, Real) and not isinstance(value, bool):
        if not (math.isfinite(float(value)) and float(value) > 0):
            raise ValueError(f"hypervolume must be positive and finite, got {value}")
        return
    raise ValueError(f"hypervolume must be None (mclust's hypvol), 'box', 'hull' or a positive "
                     f"number, got {value!r}")  # fmt: skip


def check_noise(noise: Any, n_samples: int) -> np.ndarray | bool | None:
    """``noise``: None or False (no noise component), True (a guess), or a boolean mask of
    the initial noise rows, shape (n_samples,).

    Raises
    ------
    ValueError
        For a mask that is not boolean, has the wrong length, or marks every row.
    """
    if noise is None or noise is False:
        return None
    if noise is True:
        return True
    mask = np.asarray(noise)
    if mask.dtype != np.bool_:
        raise ValueError(f"noise must be None, True or a boolean mask of the initial noise rows; "
                         f"got an array of dtype {mask.dtype}")  # fmt: skip
    if mask.shape != (n_samples,):
        raise ValueError(f"the noise mask has shape {mask.shape}; the data have {n_samples} rows, "
                         f"so it must have shape ({n_samples},)")  # fmt: skip
    if mask.all():
        raise ValueError("the noise mask marks every row: no row is left to start the "
                         "components from")  # fmt: skip
    return mask


def _ball_log_volume(d: int) -> float:
    """log of the volume of the unit ball in d dimensions, α_d."""
    return 0.5 * d * math.log(math.pi) - float(gammaln(0.5 * d + 1))


def nearest_neighbour_noise(X: np.ndarray, k: int = NEIGHBOURS, tol: float = 1e-10,
                            max_iter: int = 1000, max_rows: int = 20_000,
                            random_state: Any = None) -> np.ndarray:  # fmt: skip
    """Byers & Raftery (1998)'s noise rows: the sparse intensity of a two-intensity Poisson
    model of the distances to the k-th nearest neighbour.

    The columns are standardised first (each divided by its standard
    deviation): distances that mix the features' units would make the
    feature with the widest range decide alone.  Beyond ``max_rows`` rows the
    neighbours are searched among a random sample of that many (every row is
    classified; the sample's intensities are the data's, thinned).

    Parameters
    ----------
    X : ndarray, shape (n, d)
    k : int
        The neighbour order.
    max_rows : int
        The most rows the neighbour search indexes.
    random_state : int, RandomState or None
        Draws the sample.

    Returns
    -------
    ndarray of bool, shape (n,)
        True for rows classified as noise (posterior probability above 1/2).
    """
    from scipy.spatial import cKDTree

    n, d = X.shape
    if n <= k + 1:
        return np.zeros(n, dtype=bool)
    # distances mix the features' units: standardise the columns first
    sd = np.std(X, axis=0)
    Z = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    if n <= max_rows:
        dist = cKDTree(Z).query(Z, k=k + 1)[0][:, k]  # a row is its own 0-th neighbour
    else:
        rng = check_random_state(random_state)
        sample = np.zeros(n, dtype=bool)
        sample[rng.choice(n, max_rows, replace=False)] = True
        found = cKDTree(Z[sample]).query(Z, k=k + 1)[0]
        dist = np.where(
            sample, found[:, k], found[:, k - 1]
        )  # the row itself is its own 0-th neighbour
    positive = dist > 0
    if not np.any(positive) or np.ptp(dist) == 0:
        return np.zeros(n, dtype=bool)
    # in units of the median distance: V = α_d D^d stays representable in any dimension
    scale = np.median(dist[positive])
    log_v = _ball_log_volume(d) + d * np.log(np.maximum(dist, np.finfo(float).tiny) / scale)
    v = np.exp(np.minimum(log_v, 700.0))
    # λ V ~ Gamma(k, 1): log density in V (the Jacobian to D is the same for both) is
    # k log λ - λ V + const; the sparse start takes the far third of the distance range
    sparse = dist > dist.min() + np.ptp(dist) / 3
    r = np.where(sparse, 1.0, 0.0)
    previous = -np.inf
    for _ in range(max_iter):
        p = float(np.clip(np.mean(r), 1e-12, 1 - 1e-12))
        lam_noise = k * max(np.sum(r), 1e-12) / max(np.sum(r * v), 1e-300)
        lam_feature = k * max(np.sum(1 - r), 1e-12) / max(np.sum((1 - r) * v), 1e-300)
        a = math.log(p) + k * math.log(lam_noise) - lam_noise * v
        b = math.log(1 - p) + k * math.log(lam_feature) - lam_feature * v
        top = np.maximum(a, b)
        log_total = top + np.log(np.exp(a - top) + np.exp(b - top))
        r = np.exp(a - log_total)
        loglik = float(np.sum(log_total))
        if abs(loglik - previous) <= tol * (1.0 + abs(loglik)):
            break
        previous = loglik
    # the noise component is the one of lower intensity
    noise = r > 0.5 if lam_noise < lam_feature else r < 0.5
    return np.asarray(noise, dtype=bool)
