"""K-means: EM with hard assignments (Lloyd's algorithm), scikit-learn compatible.

The E-step assigns each point to its nearest centre (distances by the GEMM
identity ``|x - c|² = |x|² - 2 x·c + |c|²``, chunk by chunk) and accumulates
Σ w and Σ w x per cluster; the M-step divides.  This is the limit of the
Gaussian mixture's EM with equal spherical covariances shrinking to zero.
"""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.cluster import kmeans_plusplus
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from gradmix.mixture import device_kmeans
from gradmix.mixture.arrays import DEVICE_MAX_MEMORY, Namespace, is_foreign, to_host, validated
from gradmix.mixture.centres import move_to_far_points, new_centres
from gradmix.mixture.dask_data import is_dask
from gradmix.mixture.em import N_THREADS, chunk_rows, chunks, single_threaded_blas

__all__ = ["KMeans"]


def _dask_kmeans() -> Any:
    """The Dask module, imported on first use (it builds on this one)."""
    from gradmix.mixture import dask_kmeans

    return dask_kmeans


def augment(X: np.ndarray, shift: np.ndarray | None = None) -> np.ndarray:
    """``[X - shift, 1]``, shape (n, d + 1): distances and cluster sums then need one
    GEMM each.  (Written in place: no (n, d) temporary.)"""
    Xa = np.empty((X.shape[0], X.shape[1] + 1), dtype=X.dtype)
    Xa[:, :-1] = X
    if shift is not None:
        Xa[:, :-1] -= shift.astype(X.dtype)
    Xa[:, -1] = 1.0
    return Xa


def _spans(n: int, rows: int, n_threads: int) -> list[slice]:
    """One contiguous span of rows per thread (at least ``rows`` rows each)."""
    jobs = max(min(n_threads, n // rows), 1)
    bounds = np.linspace(0, n, jobs + 1).astype(int)
    return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _in_threads(f: Any, spans: list[slice]) -> list[Any]:
    """``f`` on every span, in parallel threads with BLAS single-threaded meanwhile."""
    if len(spans) == 1:
        return [f(spans[0])]
    with single_threaded_blas(), ThreadPoolExecutor(len(spans)) as pool:
        return list(pool.map(f, spans))


def _sq_dist_to_assigned(
    Xa: np.ndarray, centers: np.ndarray, labels: np.ndarray, rows: int
) -> np.ndarray:
    """|x - c_label(x)|² for every row, block by block (no (n, d) temporaries)."""
    out = np.empty(Xa.shape[0])

    def part(span: slice) -> None:
        for sl in chunks(span.stop - span.start, rows):
            sl = slice(span.start + sl.start, span.start + sl.stop)
            diff = Xa[sl, :-1] - centers[labels[sl]]
            out[sl] = np.einsum("ij,ij->i", diff, diff)

    _in_threads(part, _spans(Xa.shape[0], rows, N_THREADS))
    return out


def _assign(
    Xa: np.ndarray,
    centers: np.ndarray,
    rows: int,
    w: np.ndarray | None = None,
    n_threads: int = N_THREADS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """E-step with hard assignments: nearest centre of every row, and the cluster sums.

    Parameters
    ----------
    Xa : ndarray, shape (n, d + 1)
        The data with a column of ones (:func:`augment`).
    centers : ndarray, shape (k, d)
    rows : int
        Rows per block.
    w : ndarray, shape (n,), optional
        Sample weights; the sums are computed only when given.
    n_threads : int
        Threads (default: one per core; Dask blocks pass 1).

    Returns
    -------
    labels : ndarray of int32, shape (n,)
    wk : ndarray, shape (k,)
        Σ w per cluster (only when ``w`` is given, else empty).
    sx : ndarray, shape (k, d)
        Σ w x per cluster (only when ``w`` is given, else empty).
    """
    n, d = Xa.shape[0], Xa.shape[1] - 1
    k = centers.shape[0]
    labels = np.empty(n, dtype=np.int32)
    # [x, 1] @ [-2 cᵀ; |c|²] = |x - c|² - |x|²: all centres, offsets included, by one GEMM
    B = np.concatenate([-2.0 * centers.T, np.einsum("ij,ij->i", centers, centers)[None]])
    B = B.astype(Xa.dtype)

    def part(span: slice) -> np.ndarray | None:
        D = np.empty((rows, k), dtype=Xa.dtype)
        for sl in chunks(span.stop - span.start, rows):
            sl = slice(span.start + sl.start, span.start + sl.stop)
            np.matmul(Xa[sl], B, out=D[: sl.stop - sl.start])
            labels[sl] = np.argmin(D[: sl.stop - sl.start], axis=1)
        if w is None:
            return None
        # the span's sums: its hard responsibilities as a sparse (k, m) matrix in CSC form
        # (one entry per column, built without sorting) times [X, 1]; last column Σ w
        m = span.stop - span.start
        R = sp.csc_matrix((w[span], labels[span], np.arange(m + 1)), shape=(k, m))
        return np.asarray(R @ Xa[span], dtype=np.float64)

    # one contiguous span per thread (numpy, BLAS and scipy's sparse product release the
    # GIL), BLAS single-threaded meanwhile; the spans' sums are added in a fixed order
    parts = _in_threads(part, _spans(n, rows, n_threads))
    if w is None:
        return labels, np.zeros(0), np.zeros((0, d))
    S = np.zeros((k, d + 1))
    for p in parts:
        S += p
    return labels, S[:, -1].copy(), S[:, :-1].copy()


def _relocate_empty(
    Xa: np.ndarray,
    w: np.ndarray,
    centers_old: np.ndarray,
    sx: np.ndarray,
    wk: np.ndarray,
    labels: np.ndarray,
    rows: int,
) -> None:
    """Move empty clusters to the points farthest from their centres (scikit-learn's rule)."""
    empty = np.flatnonzero(wk == 0)
    if len(empty) == 0:
        return
    distances = _sq_dist_to_assigned(Xa, centers_old, labels, rows)
    if np.max(distances) == 0:
        return
    far = np.argpartition(distances, -len(empty))[: -len(empty) - 1 : -1]
    move_to_far_points(empty, Xa[far, :-1], w[far], labels[far], wk, sx)


def lloyd(
    Xa: np.ndarray, w: np.ndarray, centers: np.ndarray, max_iter: int, tol: float, rows: int
) -> tuple[np.ndarray, float, np.ndarray, int]:
    """Lloyd iterations from ``centers`` on augmented data ``Xa`` (:func:`augment`).

    Returns labels, inertia, centres and the number of iterations.
    """
    labels_old = np.full(Xa.shape[0], -1, dtype=np.int32)
    strict = False
    labels = labels_old
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        labels, wk, sx = _assign(Xa, centers, rows, w)
        _relocate_empty(Xa, w, centers, sx, wk, labels, rows)
        centers, shift = new_centres(centers, wk, sx)
        if np.array_equal(labels, labels_old):
            strict = True
            break
        if shift <= tol:
            break
        labels_old = labels
    if not strict:
        labels = _assign(Xa, centers, rows)[0]
    inertia = float(w @ _sq_dist_to_assigned(Xa, centers, labels, rows))
    return labels, inertia, centers, n_iter


class KMeans(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator):
    """K-means clustering by Lloyd's algorithm: EM with hard assignments.

    A drop-in for :class:`sklearn.cluster.KMeans` (Lloyd), with the same
    parameters, attributes and results from the same initial centres.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    init : {"k-means++", "random"}, callable or array of shape (n_clusters, n_features)
        Initialisation method, as in scikit-learn.
    n_init : "auto" or int, default="auto"
        Number of initialisations (1 for k-means++ and arrays, 10 for random).
    max_iter : int, default=300
        Maximum Lloyd iterations per initialisation.
    tol : float, default=1e-4
        Relative tolerance on the centre shift (times the mean feature variance).
    random_state : int, RandomState or None
        Seed of the initialisation.
    max_memory : int, optional
        Bytes of temporaries per chunk of rows (gradmix extra).

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,)
    inertia_ : float
        Sum of squared distances to the closest centre (weighted).
    n_iter_ : int
    n_features_in_ : int
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"k-means++", "random"}), callable, "array-like"],
        "n_init": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "max_memory": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: Any = "k-means++",
        n_init: Any = "auto",
        max_iter: int = 300,
        tol: float = 1e-4,
        random_state: Any = None,
        max_memory: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.max_memory = max_memory

    def _rows(self, X: Any, ns: Namespace | None = None) -> int:
        # on the host, small blocks: the distance block then stays in cache between GEMM
        # and argmin (1024 rows at K = 64 measured fastest); on a device, large ones
        budget = self.max_memory
        if budget is None:
            budget = 2**19 if ns is None else DEVICE_MAX_MEMORY
        itemsize = np.dtype(X.dtype if ns is None else ns.np_dtype).itemsize
        n = X.shape[0] if np.isfinite(X.shape[0]) else 2**62  # Dask: maybe unknown yet
        return chunk_rows(int(n), self.n_clusters * itemsize, budget)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> KMeans:
        """Compute k-means clustering.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self : KMeans
        """
        if is_dask(X):
            return self._fit_dask(X, sample_weight)
        ns = None
        if is_foreign(X):
            ns, X = validated(X)
            self.n_features_in_ = X.shape[1]
            self.__dict__.pop("feature_names_in_", None)
            w = _check_sample_weight(
                None if sample_weight is None else to_host(sample_weight),
                np.empty((X.shape[0], 0)),
                dtype=ns.np_dtype,
            )
        else:
            X = validate_data(self, X, dtype=[np.float64, np.float32], order="C")
            w = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        n, dtype = X.shape[0], np.dtype(ns.np_dtype if ns else X.dtype)
        if n < self.n_clusters:
            raise ValueError(f"n_samples={n} should be >= n_clusters={self.n_clusters}.")
        init = self.init
        array_init = not isinstance(init, str) and not callable(init)
        if array_init:
            init = np.array(to_host(init), dtype=dtype, copy=True)
            if init.shape != (self.n_clusters, X.shape[1]):
                raise ValueError(
                    f"The shape of the initial centers {init.shape} does not match "
                    f"the number of clusters {self.n_clusters}."
                    if init.shape[0] != self.n_clusters
                    else f"The shape of the initial centers {init.shape} does not match "
                    f"the number of features of the data {X.shape[1]}."
                )
        n_init = self.n_init
        if n_init == "auto":
            n_init = 10 if isinstance(init, str) and init == "random" else 1
        if array_init and n_init != 1:
            warnings.warn(
                "Explicit initial center position passed: performing only"
                f" one init in {self.__class__.__name__} instead of "
                f"n_init={n_init}.",
                RuntimeWarning,
                stacklevel=2,
            )
            n_init = 1
        rs = check_random_state(self.random_state)
        # centre the data: distances do not depend on it, rounding does
        if ns is None:
            tol = float(np.mean(np.var(X, axis=0)) * self.tol) if self.tol else 0.0
            shift = X.mean(axis=0)
            Xa = augment(X, shift)  # the working copy; X is a view of it
            X = Xa[:, :-1]
        else:
            xp = ns.xp
            shift = ns.get(xp.mean(xp.astype(X, xp.float64), axis=0))
            X = X - ns.put(shift)
            var = ns.get(xp.mean(xp.astype(X, xp.float64) ** 2, axis=0))
            tol = float(np.mean(var) * self.tol) if self.tol else 0.0
            w_dev = ns.put(w)
        if array_init:
            init = init - shift.astype(dtype)
        rows = self._rows(X, ns)
        best: tuple[Any, float, np.ndarray, int] | None = None
        for _ in range(int(n_init)):
            if isinstance(init, str) and init == "k-means++":
                seed = kmeans_plusplus if ns is None else partial(device_kmeans.kmeans_plusplus, ns)
                centers = to_host(seed(X, self.n_clusters, sample_weight=w, random_state=rs)[0])
            elif isinstance(init, str):
                seeds = rs.choice(n, size=self.n_clusters, replace=False, p=w / w.sum())
                centers = X[seeds] if ns is None else ns.get(
                    xp.take(X, ns.put(seeds, dtype=np.int64), axis=0)
                )  # fmt: skip
            elif callable(init):
                centers = to_host(init(X, self.n_clusters, random_state=rs))
            else:
                centers = init
            centers = np.asarray(centers, dtype=dtype).copy()
            if ns is None:
                res = lloyd(Xa, w, centers, self.max_iter, tol, rows)
            else:
                res = device_kmeans.lloyd(ns, X, w_dev, centers, self.max_iter, tol, rows)
            if best is None or res[1] < best[1]:
                best = res
        assert best is not None
        labels, inertia, centers, n_iter = best
        n_distinct = len(np.unique(to_host(labels)))
        if n_distinct < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({n_distinct}) found smaller than "
                f"n_clusters ({self.n_clusters}). Possibly due to duplicate points in X.",
                ConvergenceWarning,
                stacklevel=2,
            )
        centers = centers + shift.astype(dtype)
        self.cluster_centers_ = centers if ns is None else ns.put(centers)
        self.labels_ = labels
        self.inertia_ = inertia
        self.n_iter_ = n_iter
        self._n_features_out = self.n_clusters
        return self

    def _fit_dask(self, X: Any, sample_weight: Any) -> KMeans:
        """Lloyd over the blocks of a Dask array; seeds from a random sample of rows."""
        from gradmix.mixture.dask_data import SAMPLE_ROWS, DaskData

        if X.ndim != 2:
            raise ValueError(f"Expected 2D array, got {X.ndim}D array instead")
        data = DaskData(X, sample_weight, self._rows(X))
        self.n_features_in_ = data.d
        self.__dict__.pop("feature_names_in_", None)
        k, n, dtype = self.n_clusters, data.n, data.dtype
        if n < k:
            raise ValueError(f"n_samples={n} should be >= n_clusters={k}.")
        s = data.summary
        var = s.sum_x2 / s.n - (s.sum_x / s.n) ** 2
        tol = float(np.mean(var) * self.tol) if self.tol else 0.0
        rs = check_random_state(self.random_state)
        init = self.init
        n_init = self.n_init
        if n_init == "auto":
            n_init = 10 if isinstance(init, str) and init == "random" else 1
        if not isinstance(init, str) and not callable(init):
            n_init = 1
        rows = self._rows(X)
        best: tuple[float, np.ndarray, int] | None = None
        for _ in range(int(n_init)):
            if isinstance(init, str) and init == "k-means++":
                sample, idx = data.sample(rs, max(SAMPLE_ROWS, 50 * k))
                sw = data.weights_at(idx)
                centers = kmeans_plusplus(sample, k, sample_weight=sw, random_state=rs)[0]
            elif isinstance(init, str):
                seeds = rs.choice(n, size=k, replace=False)
                centers = data.rows_at(seeds) - data.shift.astype(dtype)
            elif callable(init):  # called with the random sample of rows
                sample, _ = data.sample(rs)
                centers = np.asarray(init(sample, k, random_state=rs), dtype=dtype)
            else:
                centers = np.asarray(to_host(init), dtype=dtype) - data.shift.astype(dtype)
                if centers.shape != (k, data.d):
                    raise ValueError(
                        f"The shape of the initial centers {centers.shape} does not match "
                        f"({k}, {data.d})."
                    )
            centers, n_iter = _dask_kmeans().lloyd(data, centers.astype(dtype), self.max_iter,
                                                tol, rows)  # fmt: skip
            inertia = _dask_kmeans().inertia(data, centers, rows)
            if best is None or inertia < best[0]:
                best = (inertia, centers, n_iter)
        assert best is not None
        self.inertia_, centers, self.n_iter_ = best
        self.cluster_centers_ = centers + data.shift.astype(dtype)
        self.labels_ = _dask_kmeans().assign_lazy(data.X, data.shift, centers, rows)
        self._n_features_out = self.n_clusters
        return self

    def _centred(self, X: Any) -> tuple[Any, Any, Namespace | None]:
        """Validated test data and the centres, both shifted by the centres' mean.

        A Dask array comes back uncentred, with the shift as the third item's
        stand-in (``("dask", shift)``): its blocks centre themselves lazily.
        """
        check_is_fitted(self)
        c = to_host(self.cluster_centers_)
        shift = c.mean(axis=0)
        if is_dask(X):
            if X.ndim != 2 or X.shape[1] != self.n_features_in_:
                raise ValueError(f"X has shape {X.shape}, but KMeans is expecting "
                                 f"{self.n_features_in_} features as input.")  # fmt: skip
            return X, c - shift, ("dask", shift)  # type: ignore[return-value]
        if is_foreign(X):
            ns, X = validated(X, self.n_features_in_, "KMeans")
            return X - ns.put(shift), ns.put(c - shift), ns
        X = self._check_test_data(X)
        c = c.astype(X.dtype)
        return X - shift.astype(X.dtype), c - shift.astype(X.dtype), None

    def _check_test_data(self, X: Any) -> np.ndarray:
        return validate_data(self, X, dtype=[np.float64, np.float32], order="C", reset=False)

    def predict(self, X: Any) -> Any:
        """Index of the closest centre for each sample, shape (n_samples,)."""
        Xs, cs, ns = self._centred(X)
        if isinstance(ns, tuple):
            return _dask_kmeans().assign_lazy(Xs, ns[1], cs, self._rows(Xs))
        if ns is None:
            return _assign(augment(Xs), cs, self._rows(Xs))[0]
        return device_kmeans.assign(ns, Xs, cs, self._rows(Xs, ns))

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> np.ndarray:
        """Fit and return the labels, shape (n_samples,)."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def transform(self, X: Any) -> Any:
        """Euclidean distances to every centre, shape (n_samples, n_clusters)."""
        Xs, cs, ns = self._centred(X)
        if isinstance(ns, tuple):
            return _dask_kmeans().distances_lazy(Xs, ns[1], cs)
        if ns is not None:
            return ns.xp.sqrt(device_kmeans.sq_distances(ns, Xs, cs))
        D = np.einsum("ij,ij->i", Xs, Xs)[:, None] - 2 * Xs @ cs.T + np.einsum("ij,ij->i", cs, cs)
        return np.sqrt(np.maximum(D, 0))

    def fit_transform(self, X: Any, y: Any = None, sample_weight: Any = None) -> np.ndarray:
        """Fit, then the distances to every centre, shape (n_samples, n_clusters)."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Save the fitted model as ``.npz`` (no pickle); see :func:`gradmix.load`."""
        from gradmix.mixture.persistence import save

        return save(self, path, overwrite=overwrite)

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Opposite of the (weighted) inertia of ``X`` under the fitted centres."""
        Xs, cs, ns = self._centred(X)
        if isinstance(ns, tuple):
            from gradmix.mixture.dask_data import DaskData

            data = DaskData(Xs, sample_weight, self._rows(Xs))
            data.shift = ns[1]
            return -_dask_kmeans().inertia(data, cs, self._rows(Xs))
        if ns is None:
            w = _check_sample_weight(sample_weight, Xs, dtype=Xs.dtype)
            labels = _assign(augment(Xs), cs, self._rows(Xs))[0]
            return -float(np.sum(w * ((Xs - cs[labels]) ** 2).sum(axis=1)))
        xp = ns.xp
        w = _check_sample_weight(
            None if sample_weight is None else to_host(sample_weight), np.empty((Xs.shape[0], 0))
        )
        d2 = xp.min(device_kmeans.sq_distances(ns, Xs, cs), axis=1)
        return -float(np.sum(w * ns.get(d2)))
