"""Arrays from other libraries: PyTorch/CuPy tensors, array-api-strict, ... .

gradmix takes any array that implements the Python array API (through
array-api-compat) with no global configuration: the heavy per-row work runs
in the array's own namespace and on its own device, while the small
parameter arrays (K × d × d numbers) travel to the host for the M-step,
which is the same float64 code as the numpy path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from array_api_compat import (
    array_namespace,
    device,
    is_array_api_obj,
    is_cupy_array,
    is_dask_array,
    is_numpy_array,
    is_torch_array,
)

__all__ = ["Namespace", "is_foreign", "to_host", "validated"]


def is_foreign(X: Any) -> bool:
    """True for an array-API array that is not a numpy (or Dask) array."""
    return is_array_api_obj(X) and not is_numpy_array(X) and not is_dask_array(X)


def to_host(x: Any) -> np.ndarray:
    """A numpy copy of an array from any namespace (GPU tensors included)."""
    if isinstance(x, np.ndarray):
        return x
    if is_dask_array(x):
        return np.asarray(x.compute())
    if is_torch_array(x):
        return x.detach().cpu().numpy()
    if is_cupy_array(x):
        return x.get()
    try:
        return np.array(np.from_dlpack(x))
    except (TypeError, RuntimeError, BufferError, AttributeError):
        return np.asarray(x)


@dataclass(frozen=True)
class Namespace:
    """Where an array's computation runs: its namespace, device and dtype."""

    xp: Any
    device: Any
    dtype: Any  # the namespace's floating dtype of the data

    @classmethod
    def of(cls, X: Any) -> Namespace:
        return cls(array_namespace(X), device(X), X.dtype)

    @property
    def np_dtype(self) -> np.dtype:
        return np.dtype(np.float32 if self.dtype == self.xp.float32 else np.float64)

    def put(self, a: Any, dtype: Any = None) -> Any:
        """A host array (or number) as an array of this namespace, on its device."""
        host = np.array(a, dtype=self.np_dtype if dtype is None else dtype)  # fresh strides
        xdtype = self.dtype if dtype is None else getattr(self.xp, np.dtype(dtype).name)
        return self.xp.asarray(host, dtype=xdtype, device=self.device)

    def get(self, a: Any) -> np.ndarray:
        """An array of this namespace as a host numpy array."""
        return to_host(a)

    def validate(self, X: Any, name: str = "X") -> Any:
        """A 2-D floating array with finite entries (integers become float64)."""
        xp = self.xp
        if not _has_float64(xp, self.device):
            raise ValueError(
                f"{name}'s array library offers no float64 on its device, and gradmix sums "
                "the statistics in float64 (the data may stay float32); for JAX, run "
                "jax.config.update('jax_enable_x64', True) first"
            )
        if X.ndim != 2:
            raise ValueError(f"Expected 2D array, got {X.ndim}D array instead for {name}")
        if not xp.isdtype(X.dtype, "real floating"):
            if not xp.isdtype(X.dtype, ("integral", "bool")):
                raise ValueError(f"{name} must hold real numbers, got dtype {X.dtype}")
            X = xp.astype(X, xp.float64)
        if not bool(xp.all(xp.isfinite(X))):
            raise ValueError(f"Input {name} contains NaN or infinity.")
        return X


def _has_float64(xp: Any, where: Any) -> bool:
    # JAX without x64 "truncates" every float64 request to float32, with a warning
    info = getattr(xp, "__array_namespace_info__", None)
    if info is None:
        return True
    try:
        return "float64" in info().dtypes(device=where, kind="real floating")
    except (TypeError, ValueError):  # a library whose info knows no such device
        return True


def validated(X: Any, n_features: int | None = None, estimator: str = "") -> tuple[Namespace, Any]:
    """``X`` checked (:meth:`Namespace.validate`) with its namespace.

    With ``n_features``, also checks the number of columns (for ``predict``
    and friends of an ``estimator`` fit on that many).
    """
    X = Namespace.of(X).validate(X)
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} features, but {estimator} is expecting "
            f"{n_features} features as input."
        )
    return Namespace.of(X), X
