"""Saving and loading fitted models as ``.npz`` files, without pickle.

A model file is a zip archive of ``.npy`` members, stored uncompressed: the
fitted arrays plus one JSON string (``__meta__``) with the file format, the
estimator's class and its constructor parameters.  Estimators register
themselves (:func:`register`) with the attributes to save and a check of
their fitted values; this module imports none of them.

A model file is untrusted input.  :func:`load` reads it member by member:
only the members the metadata allows, only stored ones (so nothing expands
beyond the file's own size), each ``.npy`` header checked — dtype, shape
against the model's ``n_components`` and ``n_features_in_`` — before a byte
of its data is read; the parameters are checked as the estimator's
constructor would, and the fitted values by the estimator's own check
(finite, weights summing to one, positive precision factors, ...).  Every
defect is one ``ValueError`` naming the file and the defect; nothing is ever
unpickled.
"""

from __future__ import annotations

import json
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gradmix.files import create
from gradmix.mixture.arrays import to_host

__all__ = ["FORMAT", "ModelFileError", "load", "model_path", "read_metadata", "register", "save"]

FORMAT = "gradmix-model-1"
_FORMAT_PREFIX, _FORMAT_VERSION = "gradmix-model-", 1
MAX_META_BYTES = 2**20  # the JSON metadata
MAX_HEADER_BYTES = 10_000  # an .npy header (numpy's own default limit)


class ModelFileError(ValueError):
    """A model file that cannot be trusted: one line naming the file and the defect."""


@dataclass(frozen=True)
class Schema:
    """What an estimator saves: attribute names, and for a loaded model the expected
    shape of each (None: any 1-D length) and a check of the values."""

    fitted: tuple[str, ...]
    shapes: Callable[[Any], dict[str, tuple[int, ...] | None]]
    check: Callable[[Any], None]
    #: attributes a fitted model may lack
    optional: frozenset[str] = frozenset({"feature_names_in_"})
    #: constructor parameters that are not JSON as they are: the model's to JSON, and the
    #: file's back (with what ``load`` was given, e.g. a user's family)
    encode: Callable[[Any], dict[str, Any]] | None = None
    decode: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None
    #: attributes read first (1-D, any length) that the other shapes depend on, e.g. a
    #: classifier's classes and components per class
    layout: tuple[str, ...] = ()


#: attributes saved as text
_TEXT = frozenset({"feature_names_in_", "covariance_types_"})


def _get(model: Any, name: str) -> Any:
    """A fitted attribute, or an entry of a dict attribute (``"params_.lam"``)."""
    attr, _, key = name.partition(".")
    value = getattr(model, attr)
    return value[key] if key else value


def _has(model: Any, name: str) -> bool:
    attr, _, key = name.partition(".")
    return hasattr(model, attr) and (not key or key in getattr(model, attr))


def _set(model: Any, name: str, value: Any) -> None:
    attr, _, key = name.partition(".")
    if key:
        model.__dict__.setdefault(attr, {})[key] = value
    else:
        setattr(model, attr, value)


_CLASSES: dict[str, tuple[type, Schema]] = {}


def register(schema: Schema) -> Callable[[type], type]:
    """Class decorator: instances of the class can be saved and loaded."""

    def decorate(cls: type) -> type:
        _CLASSES[cls.__name__] = (cls, schema)
        return cls

    return decorate


def model_path(path: str | Path) -> Path:
    """The file :func:`save` writes for ``path``: ``.npz`` appended unless it ends so."""
    path = Path(path)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return {"__array__": v.tolist(), "dtype": str(v.dtype)}
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, tuple | range):
        return list(v)
    if isinstance(v, dict):  # a prior's hyperparameters
        return {"__dict__": {str(k): _jsonable(x) for k, x in v.items()}}
    return v


def save(
    model: Any, path: str | Path, *, overwrite: bool = False, metadata: dict[str, Any] | None = None
) -> Path:
    """Write a fitted, registered model (GaussianMixture, KMeans) to ``path`` (``.npz``).

    ``metadata`` (JSON-serialisable) is stored alongside and returned by
    :func:`read_metadata`.  Parameters are stored as data: an integer
    ``random_state`` is kept, while a ``RandomState`` or ``Generator`` (and a
    ``callback`` function) is stored as None, with a warning.  The file is
    created exclusively, or with ``overwrite`` replaced atomically (see
    :mod:`gradmix.files`).

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
    path = model_path(path)
    schema = _CLASSES[name][1]
    encoded = {} if schema.encode is None else schema.encode(model)
    params = {}
    for k, v in model.get_params().items():
        if k in encoded:
            params[k] = encoded[k]
            continue
        if isinstance(v, np.random.RandomState | np.random.Generator) or callable(v):
            # a generator's state and a function are not data a file should hold
            what = "a function" if callable(v) else f"a {type(v).__name__}"
            warnings.warn(f"{k} is {what}, which model files do not keep: the loaded "
                          f"model has {k}=None (an integer seed is kept)", UserWarning,
                          stacklevel=3)  # fmt: skip
            v = None
        params[k] = _jsonable(to_host(v) if hasattr(v, "__array_namespace__") else v)
    meta = {"format": FORMAT, "class": name, "params": params, "metadata": metadata or {}}
    arrays: dict[str, Any] = {"__meta__": np.array(json.dumps(meta))}
    names = schema.fitted + tuple(n for n in schema.shapes(model) if n not in schema.fitted)
    for attr in names:
        if _has(model, attr):
            value = _get(model, attr)
            if attr in _TEXT or np.asarray(value).dtype == object:
                value = np.asarray(value, dtype=str)  # labels as text, never pickled objects
            arrays[attr] = np.asarray(to_host(value))  # device and lazy arrays come home
    with create(path, overwrite=overwrite) as fh:
        np.savez(fh, **arrays)
    return path


# ------------------------------------------------------------------------------ reading
class _Reader:
    """The members of a model file, read with every size checked first."""

    def __init__(self, path: Path):
        self.path = path
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file")
        if path.is_dir():
            raise ModelFileError(f"{path} is a directory, not a gradmix model file")
        try:
            self.zip = zipfile.ZipFile(path)
        except zipfile.BadZipFile:
            raise self.error("it is not a zip archive (a .npz file is one)") from None
        self.members = {info.filename: info for info in self.zip.infolist()}

    def error(self, defect: str) -> ModelFileError:
        return ModelFileError(f"{self.path} is not a gradmix model file: {defect}")

    def array(self, name: str, max_bytes: int, shape: tuple[int, ...] | None = ()) -> np.ndarray:
        """The member ``name`` (an .npy file), of ``shape`` (None: any 1-D length)."""
        info = self.members.get(name + ".npy")
        if info is None:
            raise self.error(f"it has no {name}")
        if info.compress_type != zipfile.ZIP_STORED:
            raise self.error(f"{name} is compressed (gradmix stores its members)")
        if info.file_size > max_bytes + MAX_HEADER_BYTES:
            raise self.error(f"{name} declares {info.file_size} bytes, more than it can hold")
        with self.zip.open(info) as fh:
            version = np.lib.format.read_magic(fh)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}.get(version)  # fmt: skip
            if read_header is None:
                raise self.error(f"{name} has an unknown .npy version {version}")
            dims, fortran, dtype = read_header(fh, max_header_size=MAX_HEADER_BYTES)
            if dtype.hasobject:
                raise self.error(f"{name} holds Python objects (never loaded: no pickle)")
            if shape is None:
                if len(dims) != 1:
                    raise self.error(f"{name} has shape {dims}, expected one dimension")
            elif dims != shape:
                raise self.error(f"{name} has shape {dims}, expected {shape}")
            count = int(np.prod(dims, dtype=np.int64))
            if count * dtype.itemsize > max_bytes:
                raise self.error(f"{name} holds {count} values, more than a model of this "
                                 "size has")  # fmt: skip
            data = fh.read(count * dtype.itemsize)
            if len(data) != count * dtype.itemsize or fh.read(1):
                raise self.error(f"{name} holds {len(data)} bytes, its header says "
                                 f"{count * dtype.itemsize}")  # fmt: skip
        values = np.frombuffer(data, dtype=dtype)
        return values.reshape(dims, order="F" if fortran else "C").copy()

    def meta(self) -> dict[str, Any]:
        text = self.array("__meta__", MAX_META_BYTES)
        if text.dtype.kind != "U":
            raise self.error("its metadata is not text")
        meta = json.loads(str(text))
        if not isinstance(meta, dict):
            raise self.error("its metadata is not a JSON object")
        fmt = meta.get("format")
        if not isinstance(fmt, str) or not fmt.startswith(_FORMAT_PREFIX):
            raise self.error("it has no gradmix format mark")
        version = fmt[len(_FORMAT_PREFIX) :]
        if version.isdigit() and int(version) > _FORMAT_VERSION:
            raise ModelFileError(f"{self.path} was written by a newer gradmix (model format "
                                 f"{version}); this version reads format {_FORMAT_VERSION}: "
                                 "upgrade gradmix")  # fmt: skip
        if fmt != FORMAT:
            raise self.error(f"unknown format {fmt!r}")
        return meta


def _restore(v: Any, reader: _Reader, key: str) -> Any:
    if isinstance(v, dict) and set(v) == {"__dict__"} and isinstance(v["__dict__"], dict):
        return {k: _restore(x, reader, key) for k, x in v["__dict__"].items()}
    if isinstance(v, dict):
        if set(v) != {"__array__", "dtype"} or not isinstance(v["dtype"], str):
            raise reader.error(f"parameter {key} is malformed")
        dtype = np.dtype(v["dtype"])
        if dtype.hasobject or dtype.kind not in "biufU":
            raise reader.error(f"parameter {key} has dtype {dtype}")
        return np.asarray(v["__array__"], dtype=dtype)
    if isinstance(v, list):
        return tuple(v)
    return v


def _read(path: Path, options: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    reader = _Reader(path)
    meta = reader.meta()
    entry = _CLASSES.get(str(meta.get("class")))
    if entry is None:
        raise reader.error(f"unknown model class {meta.get('class')!r}")
    cls, schema = entry
    params = meta.get("params")
    if not isinstance(params, dict):
        raise reader.error("its parameters are not a JSON object")
    known = cls().get_params()
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise reader.error(f"unknown parameters {unknown} for {cls.__name__}")
    restored = {k: _restore(v, reader, k) for k, v in params.items()}
    if schema.decode is not None:
        try:
            restored = schema.decode(restored, options)
        except ValueError as exc:
            raise reader.error(str(exc)) from None
    model = cls(**restored)
    try:
        model._validate_params()
    except (ValueError, TypeError) as exc:
        raise reader.error(f"bad parameter: {str(exc).splitlines()[0]}") from None
    d = reader.array("n_features_in_", 8)
    if d.dtype.kind not in "iu" or not 1 <= int(d) <= 100_000:
        raise reader.error(f"n_features_in_ is {d!r}")
    model.n_features_in_ = int(d)
    shapes = schema.shapes(model)
    allowed = {"__meta__.npy"} | {a + ".npy" for a in (*schema.fitted, *shapes)}
    extra = sorted(set(reader.members) - allowed)
    if extra:
        raise reader.error(f"unexpected members {extra}")
    budget = max(path.stat().st_size, 1)  # stored members: none holds more than the file
    for attr in schema.layout:
        _set(model, attr, _typed(reader, attr, reader.array(attr, budget, None)))
    shapes = schema.shapes(model)
    for attr, shape in shapes.items():
        if attr == "n_features_in_" or attr in schema.layout:
            continue
        if attr + ".npy" not in reader.members:
            if attr in schema.optional:
                continue
            raise reader.error(f"it has no {attr}")
        value = reader.array(attr, budget, shape)
        _set(model, attr, _typed(reader, attr, value))
    try:
        schema.check(model)
    except ValueError as exc:
        raise reader.error(str(exc)) from None
    return model, meta


def _typed(reader: _Reader, attr: str, value: np.ndarray) -> Any:
    """A fitted attribute with its Python type; dtypes checked."""
    kind = value.dtype.kind
    if attr in _TEXT:
        if kind != "U":
            raise reader.error(f"{attr} is not text")
        return value.astype(object) if attr == "feature_names_in_" else value
    if attr == "classes_":  # a classifier's labels: numbers or text
        if kind not in "biufU":
            raise reader.error(f"classes_ has dtype {value.dtype}")
        return value
    if attr == "converged_":
        if kind != "b":
            raise reader.error("converged_ is not a boolean")
        return bool(value)
    if attr in ("n_iter_", "labels_", "n_components_"):
        if kind not in "iu":
            raise reader.error(f"{attr} is not an integer")
        return int(value) if attr == "n_iter_" else value
    if attr == "degrees_of_freedom_prior_" and kind in "iu" and value.ndim == 0:
        return int(value)  # scikit-learn's default is the integer n_features
    if kind != "f" or value.dtype.itemsize not in (4, 8):
        raise reader.error(f"{attr} has dtype {value.dtype}, not float32 or float64")
    if not np.all(np.isfinite(value)):
        raise reader.error(f"{attr} holds values that are not finite")
    if value.ndim == 0:
        return float(value)
    if attr == "lower_bounds_":
        return [float(v) for v in value]
    return value


def _guarded(path: str | Path, **options: Any) -> tuple[Any, dict[str, Any]]:
    path = Path(path)
    try:
        return _read(path, options)
    except (ModelFileError, FileNotFoundError):
        raise
    except Exception as exc:  # any other failure parsing untrusted bytes is a defect too
        detail = str(exc).splitlines()[0] if str(exc) else ""
        raise ModelFileError(f"{path} is not a gradmix model file: "
                             f"{type(exc).__name__} {detail}".rstrip()) from None  # fmt: skip


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The ``metadata`` dict stored by :func:`save` (the file is checked as by :func:`load`)."""
    metadata = _guarded(path)[1].get("metadata", {})
    return dict(metadata) if isinstance(metadata, dict) else {}


def load(path: str | Path, *, family: Any = None) -> Any:
    """Read a model written by ``model.save`` (never unpickles anything).

    Parameters
    ----------
    path : str or Path
    family : gm.Family, optional
        For a MixtureModel of a user's family: the family (its code is not
        in the file; its parameters are checked against the file's).

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        For anything else that is not a gradmix model file: one line
        naming the file and the defect.
    """
    return _guarded(path, family=family)[0]
