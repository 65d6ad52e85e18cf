"""The executor seam: the one place that looks at what kind of array the data are.

:func:`executor_for` validates the input the way scikit-learn does (numpy
and anything numpy can read: lists, DataFrames), or in the array's own
namespace (any array-API array: PyTorch and CuPy tensors, array-api-strict),
or block by block (Dask arrays), and returns an :class:`Executor` whose data
operations everything else is written on.  A new kind of data is one new
module here and one branch below.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from array_api_compat import array_namespace
from sklearn.utils.validation import _check_sample_weight, validate_data

from gradmix.mixture.arrays import is_foreign, to_host, validated
from gradmix.mixture.executors.base import Chunk, Executor, Summary, rows_for_budget
from gradmix.mixture.executors.dask import DaskExecutor, is_dask
from gradmix.mixture.executors.device import DEVICE_MAX_MEMORY, DeviceExecutor
from gradmix.mixture.executors.host import HostExecutor

__all__ = ["Chunk", "Executor", "Summary", "executor_for"]


def _forget_feature_names(estimator: Any, d: int, reset: bool) -> None:
    if reset and estimator is not None:
        estimator.n_features_in_ = d
        estimator.__dict__.pop("feature_names_in_", None)


def _too_few(n: int, shape: tuple[int, ...], min_samples: int) -> None:
    if n < min_samples:
        raise ValueError(f"Found array with {n} sample(s) (shape={shape}) while a minimum of "
                         f"{min_samples} is required.")  # fmt: skip


def _has_nan(X: Any) -> bool:
    try:
        xp = array_namespace(X)
        return bool(xp.any(xp.isnan(X)))
    except (TypeError, AttributeError):  # not floating: validation says what is wrong
        return False


def executor_for(
    X: Any,
    sample_weight: Any = None,
    *,
    estimator: Any,
    bytes_per_row: Callable[[int, int], int],
    reset: bool = True,
    min_samples: int = 1,
    max_memory: int | None = None,
    shift: np.ndarray | None = None,
    summarise: bool = True,
    augmented: bool = False,
    allow_missing: bool = False,
) -> Executor:
    """Validated data, wrapped in the executor for their kind.

    Parameters
    ----------
    X : array-like, array-API array or dask.array.Array, shape (n, d)
    sample_weight : array-like of shape (n,), optional
        Non-negative weights.
    estimator : scikit-learn estimator
        Gets ``n_features_in_`` (and ``feature_names_in_``) when ``reset``;
        checks them otherwise.
    bytes_per_row : callable
        ``bytes_per_row(d, itemsize)``: bytes of temporaries a kernel needs per
        row of ``d`` features; chunks are sized from it.
    reset : bool
        True when fitting, False when predicting.
    min_samples : int
        Fewer rows are an error (scikit-learn's message).
    max_memory : int, optional
        Bytes of temporaries per chunk (default 16 MiB, 2 GiB on a device).
    shift : ndarray, shape (d,), optional
        The centre (default: the weighted mean).
    summarise : bool
        Read the data once for their centre, resolution and total weight
        (predictions, which bring their own centre, skip it).
    augmented : bool
        Keep ``[X - shift, 1]`` on the host (k-means).
    allow_missing : bool
        Let NaN entries in (numpy and Dask data): the centre is then the
        observed entries' mean and ``ex.observed`` summarises them.  Other
        array libraries still reject them.

    Returns
    -------
    Executor
    """
    name = type(estimator).__name__
    if is_dask(X):
        if X.ndim != 2:
            raise ValueError(f"Expected 2D array, got {X.ndim}D array instead")
        if not reset and X.shape[1] != estimator.n_features_in_:
            raise ValueError(f"X has shape {X.shape}, but {name} is expecting "
                             f"{estimator.n_features_in_} features as input.")  # fmt: skip
        n = X.shape[0] if np.isfinite(X.shape[0]) else 2**62  # maybe unknown yet
        rows = rows_for_budget(int(n), bytes_per_row(X.shape[1], X.dtype.itemsize), max_memory)
        ex: Executor = DaskExecutor(X, sample_weight, rows, shift, summarise, allow_missing)
        _forget_feature_names(estimator, ex.d, reset)
        _too_few(ex.n, (ex.n, ex.d), min_samples)
        return ex
    if is_foreign(X):
        if allow_missing and _has_nan(X):
            raise ValueError(
                f"X ({type(X).__module__}.{type(X).__name__}) has missing values (NaN): "
                "missing='em' runs on numpy and Dask arrays; pass X as a numpy array"
            )
        ns, X = validated(X, None if reset else estimator.n_features_in_, name)
        _forget_feature_names(estimator, X.shape[1], reset)
        n = int(X.shape[0])
        _too_few(n, tuple(int(s) for s in X.shape), min_samples)
        w = None
        if sample_weight is not None:
            w = _check_sample_weight(to_host(sample_weight), np.empty((n, 0)),
                                     ensure_non_negative=True)  # fmt: skip
        budget = DEVICE_MAX_MEMORY if max_memory is None else max_memory
        per_row = bytes_per_row(int(X.shape[1]), ns.np_dtype.itemsize)
        return DeviceExecutor(ns, X, w, rows_for_budget(n, per_row, budget), shift,
                              summarise)  # fmt: skip
    X = validate_data(estimator, X, reset=reset, dtype=[np.float64, np.float32],
                      ensure_min_samples=min_samples,
                      ensure_all_finite="allow-nan" if allow_missing else True)  # fmt: skip
    w = None
    if sample_weight is not None:
        w = _check_sample_weight(sample_weight, X, dtype=X.dtype, ensure_non_negative=True)
    rows = rows_for_budget(X.shape[0], bytes_per_row(X.shape[1], X.dtype.itemsize), max_memory)
    return HostExecutor(X, w, rows, shift, augmented=augmented, summarise_data=summarise,
                        allow_missing=allow_missing)  # fmt: skip
