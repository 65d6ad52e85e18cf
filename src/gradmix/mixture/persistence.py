"""Saving and loading fitted models as ``.npz`` files, without pickle.

A model file holds the fitted arrays plus one JSON string (``__meta__``)
with the estimator's class and constructor parameters.  It is read with
``allow_pickle=False``, so loading never executes code from the file.
Estimators register themselves (:func:`register`) with the attributes to
save; this module imports none of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gradmix.mixture.arrays import to_host

__all__ = ["FORMAT", "load", "read_metadata", "register", "save"]

FORMAT = "gradmix-model-1"
_CLASSES: dict[str, tuple[type, tuple[str, ...]]] = {}


def register(fitted: tuple[str, ...]) -> Callable[[type], type]:
    """Class decorator: instances of the class can be saved, with the attributes ``fitted``."""

    def decorate(cls: type) -> type:
        _CLASSES[cls.__name__] = (cls, fitted)
        return cls

    return decorate


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
    """Write a fitted, registered model (GaussianMixture, KMeans) to ``path`` (``.npz``).

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
    if name not in _CLASSES:
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
        params[k] = _jsonable(to_host(v) if hasattr(v, "__array_namespace__") else v)
    meta = {"format": FORMAT, "class": name, "params": params, "metadata": metadata or {}}
    arrays: dict[str, Any] = {"__meta__": np.array(json.dumps(meta))}
    for attr in _CLASSES[name][1]:
        if hasattr(model, attr):
            value = getattr(model, attr)
            if attr == "feature_names_in_":
                value = np.asarray(value, dtype=str)
            arrays[attr] = np.asarray(to_host(value))  # device and lazy arrays come home
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
    data, meta = _read_meta(path)
    entry = _CLASSES.get(str(meta.get("class")))
    if entry is None:
        raise ValueError(f"{path} holds an unknown model class {meta.get('class')!r}")
    cls, fitted = entry
    params = {k: _restore(v) for k, v in meta["params"].items()}
    if "freeze" in params:
        params["freeze"] = tuple(params["freeze"])
    model = cls(**params)
    for attr in fitted:
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
