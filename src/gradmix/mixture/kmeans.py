"""KMeans: a drop-in for scikit-learn's (Lloyd), on the executor seam.

The estimator validates, holds scikit-learn's contract and delegates the
iterations to :mod:`.lloyd`: numpy arrays (threads), GPU tensors and Dask
arrays are fit by the same code, and the labels come back in the input's
kind.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
from array_api_compat import device
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from gradmix.mixture import persistence
from gradmix.mixture.arrays import to_host
from gradmix.mixture.executors import Chunk, Executor, executor_for
from gradmix.mixture.lloyd import assign_kernel, kmeans, nearest_inertia_kernel, offsets_matrix
from gradmix.mixture.ops import clip_nonnegative, is_host

__all__ = ["KMeans"]

FITTED = ("cluster_centers_", "labels_", "inertia_", "n_iter_", "n_features_in_",
          "feature_names_in_")  # fmt: skip


def _transform_kernel(chunk: Chunk, C: Any) -> Any:
    xp, X = chunk.xp, chunk.X
    D = X @ (-2.0 * xp.permute_dims(C, (1, 0)))
    D += xp.sum(X * X, axis=1)[:, None]
    D += xp.sum(C * C, axis=1)[None, :]
    return xp.sqrt(clip_nonnegative(xp, D))


def _counts_kernel(chunk: Chunk, k: int) -> tuple[Any]:
    xp = chunk.xp
    labels = chunk.aligned[0]
    if is_host(xp):
        return (np.bincount(labels, minlength=k),)
    ids = xp.arange(k, device=device(labels))
    return (xp.sum(xp.astype(labels[:, None] == ids[None, :], xp.int64), axis=0),)


def _saved_shapes(model: KMeans) -> dict[str, tuple[int, ...] | None]:
    k, d = model.n_clusters, model.n_features_in_
    return {"cluster_centers_": (k, d), "labels_": None, "inertia_": (), "n_iter_": (),
            "feature_names_in_": (d,)}  # fmt: skip


def _check_saved(model: KMeans) -> None:
    labels = np.asarray(model.labels_)
    if labels.size and (labels.min() < 0 or labels.max() >= model.n_clusters):
        raise ValueError("labels_ name clusters that do not exist")
    if model.inertia_ < 0:
        raise ValueError("inertia_ is negative")


@persistence.register(persistence.Schema(FITTED, _saved_shapes, _check_saved))
class KMeans(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator):
    """K-means clustering by Lloyd's algorithm: EM with hard assignments.

    A drop-in for :class:`sklearn.cluster.KMeans` (Lloyd), with the same
    parameters, attributes and results from the same initial centres, on
    numpy arrays, GPU tensors (any array-API array) and Dask arrays.  A numpy
    array of 4 096 rows or more runs scikit-learn's own compiled Lloyd
    iterations from gradmix's start, which numpy's passes cannot match there
    (it centres a copy of the data, as scikit-learn does), except from 16 384
    rows with at least 16 features and clusters and features × clusters of 512
    or more, where gradmix's passes with Hamerly's bounds are faster.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    init : {"k-means++", "random"}, callable or array of shape (n_clusters, n_features)
        Initialisation method, as in scikit-learn.  On a Dask array,
        k-means++ and a callable seed on a random sample of rows.
    n_init : "auto" or int, default="auto"
        Number of initialisations (1 for k-means++ and arrays, 10 for random).
    max_iter : int, default=300
        Maximum Lloyd iterations per initialisation.
    tol : float, default=1e-4
        Relative tolerance on the centre shift (times the mean feature variance).
    verbose : int, default=0
        Print scikit-learn's messages: each start, each iteration's inertia (a
        pass over the data more), and how each run converged.
    random_state : int, RandomState or None
        Seed of the initialisation.
    copy_x : bool, default=True
        Accepted for scikit-learn's signature: gradmix never writes into ``X``
        (scikit-learn centres it in place with ``False`` and adds the mean back).
    algorithm : {"lloyd", "elkan"}, default="lloyd"
        Accepted for scikit-learn's signature.  Elkan's bounds, like the
        Hamerly bounds gradmix uses where they pay, skip only distances that
        cannot change a label, so both give Lloyd's labels and centres from the
        same start; gradmix chooses how to compute them.
    max_memory : int, optional
        Bytes of temporaries per chunk of rows (gradmix extra).

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,)
        In the input's kind (lazy for a Dask array).
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
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "copy_x": ["boolean"],
        "algorithm": [StrOptions({"lloyd", "elkan"})],
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
        verbose: int = 0,
        random_state: Any = None,
        copy_x: bool = True,
        algorithm: str = "lloyd",
        max_memory: int | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.algorithm = algorithm
        self.max_memory = max_memory

    def _executor(self, X: Any, sample_weight: Any = None, **kw: Any) -> Executor:
        k = self.n_clusters

        def bytes_per_row(d: int, itemsize: int) -> int:  # the (rows, k) distances dominate
            return (k + 4) * itemsize

        return executor_for(X, sample_weight, estimator=self, bytes_per_row=bytes_per_row,
                            max_memory=self.max_memory, augmented=True, **kw)  # fmt: skip

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
        ex = self._executor(X, sample_weight)
        k = self.n_clusters
        if ex.n < k:
            raise ValueError(f"n_samples={ex.n} should be >= n_clusters={k}.")
        init = self.init
        array_init = not isinstance(init, str) and not callable(init)
        if array_init:
            init = np.array(to_host(init), dtype=ex.dtype, copy=True)
            if init.shape != (k, ex.d):
                raise ValueError(
                    f"The shape of the initial centers {init.shape} does not match "
                    f"the number of clusters {k}."
                    if init.shape[0] != k
                    else f"The shape of the initial centers {init.shape} does not match "
                    f"the number of features of the data {ex.d}."
                )
            init = init - ex.shift.astype(ex.dtype)
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

        def check_centres(centres: np.ndarray) -> None:
            if centres.shape != (k, ex.d):
                raise ValueError(f"The shape of the initial centers {centres.shape} does not "
                                 f"match the number of clusters {k}.")  # fmt: skip

        result = kmeans(ex, k, init=init, n_init=int(n_init), max_iter=self.max_iter, tol=self.tol,
                        random_state=check_random_state(self.random_state),
                        on_start=check_centres, verbose=bool(self.verbose))  # fmt: skip
        (counts,) = ex.map_reduce(_counts_kernel, k, aligned=(result.labels,))
        n_distinct = int(np.count_nonzero(counts))
        if n_distinct < k:
            warnings.warn(
                f"Number of distinct clusters ({n_distinct}) found smaller than "
                f"n_clusters ({k}). Possibly due to duplicate points in X.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.cluster_centers_ = ex.output(result.centres + ex.shift.astype(ex.dtype))
        self.labels_ = result.labels
        self.inertia_ = result.inertia
        self.n_iter_ = result.n_iter
        self._n_features_out = k
        return self

    def _predicting(self, X: Any, sample_weight: Any = None) -> tuple[Executor, np.ndarray]:
        """Test data and the centres, both centred about the centres' mean."""
        check_is_fitted(self)
        c = to_host(self.cluster_centers_)
        shift = c.mean(axis=0)
        ex = self._executor(X, sample_weight, reset=False, shift=shift,
                            summarise=sample_weight is not None)  # fmt: skip
        return ex, (c - shift).astype(ex.dtype)

    def predict(self, X: Any) -> Any:
        """Index of the closest centre for each sample, shape (n_samples,)."""
        ex, c = self._predicting(X)
        return ex.map_rows(assign_kernel, ex.put(offsets_matrix(c)), dtype=np.int32)

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        """Fit and return the labels, shape (n_samples,)."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def transform(self, X: Any) -> Any:
        """Euclidean distances to every centre, shape (n_samples, n_clusters)."""
        ex, c = self._predicting(X)
        return ex.map_rows(_transform_kernel, ex.put(c), cols=self.n_clusters)

    def fit_transform(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        """Fit, then the distances to every centre, shape (n_samples, n_clusters)."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Opposite of the (weighted) inertia of ``X`` under the fitted centres."""
        ex, c = self._predicting(X, sample_weight)
        (inertia,) = ex.map_reduce(nearest_inertia_kernel, ex.put(offsets_matrix(c)), ex.put(c))
        return -float(inertia)

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Save the fitted model as ``.npz`` (no pickle); see :func:`gradmix.load`."""
        return persistence.save(self, path, overwrite=overwrite)
