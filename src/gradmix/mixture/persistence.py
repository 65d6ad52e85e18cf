"""Saving and loading fitted models as ``.npz`` files, without pickle.

A model file holds the fitted arrays plus one JSON string (``__meta__``)
with the estimator's class and constructor parameters.  It is read with
``allow_pickle=False``, so loading never executes code from the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from gradmix.mixture.arrays import to_host

__all__ = ["save", "load", "read_metadata", "FORMAT"]

FORMAT = "gradmix-model-1"
_FITTED = {
    "GaussianMixture": (
        "weights_",
        "means_",
        "covariances_",
        "precisions_",
        "precisions_cholesky_",
        "converged_",
        "n_iter_",
        "lower_bound_",
        "lower_bounds_",
        "n_features_in_",
        "feature_names_in_",
    ),
    "KMeans": (
        "cluster_centers_",
        "labels_",
        "inertia_",
        "n_iter_",
        "n_features_in_",
        "feature_names_in_",
    ),
}


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return {"__array__": v.tolist(), "dtype": str(v.dtype)}
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, tuple):
        return list(v)
    return v


def save(
    model: Any, path: str | Path, *, overwrite: bool = False, metadata: dict[str, Any] | None = None
) -> Path:
    """Write a fitted GaussianMixture or KMeans to ``path`` (``.npz``).

    ``metadata`` (JSON-serialisable) is stored alongside and returned by
    :func:`read_metadata`.

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)
    name = type(model).__name__
    if name not in _FITTED:
        raise TypeError(f"cannot save a {name}")
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    params = {}
    for k, v in model.get_params().items():
        if isinstance(v, np.random.RandomState | np.random.Generator) or callable(v):
            v = None  # generators and callbacks are not saved
        params[k] = _jsonable(v)
    meta = {"format": FORMAT, "class": name, "params": params, "metadata": metadata or {}}
    arrays: dict[str, Any] = {"__meta__": np.array(json.dumps(meta))}
    for attr in _FITTED[name]:
        if hasattr(model, attr):
            value = getattr(model, attr)
            if attr == "feature_names_in_":
                value = np.asarray(value, dtype=str)
            arrays[attr] = np.asarray(to_host(value))  # device arrays come home
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def _restore(v: Any) -> Any:
    if isinstance(v, dict) and "__array__" in v:
        return np.asarray(v["__array__"], dtype=v["dtype"])
    return v


def _read_meta(path: str | Path) -> tuple[Any, dict[str, Any]]:
    try:
        data = np.load(path, allow_pickle=False)
        meta = json.loads(str(data["__meta__"]))
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise ValueError(f"{path} is not a gradmix model file") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{path} is not a gradmix model file")
    return data, meta


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The ``metadata`` dict stored by :func:`save`."""
    return dict(_read_meta(path)[1].get("metadata", {}))


def load(path: str | Path) -> Any:
    """Read a model written by ``model.save`` (never unpickles anything).

    Raises
    ------
    ValueError
        If the file is not a gradmix model.
    """
    from gradmix.mixture.gaussian_mixture import GaussianMixture
    from gradmix.mixture.kmeans import KMeans

    data, meta = _read_meta(path)
    cls = {"GaussianMixture": GaussianMixture, "KMeans": KMeans}.get(str(meta.get("class")))
    if cls is None:
        raise ValueError(f"{path} holds an unknown model class {meta.get('class')!r}")
    params = {k: _restore(v) for k, v in meta["params"].items()}
    if "freeze" in params:
        params["freeze"] = tuple(params["freeze"])
    model = cls(**params)
    for attr in _FITTED[cls.__name__]:
        if attr in data.files:
            value = data[attr]
            if attr in ("converged_",):
                value = bool(value)
            elif attr in ("n_iter_", "n_features_in_"):
                value = int(value)
            elif attr in ("lower_bound_", "inertia_"):
                value = float(value)
            elif attr == "lower_bounds_":
                value = [float(v) for v in value]
            elif attr == "feature_names_in_":
                value = value.astype(object)
            setattr(model, attr, value)
    return model
