"""Arrays of any other array-API library (PyTorch or CuPy on a GPU, array-api-strict, ...).

Kernels run in the array's own namespace and on its own device, chunk after
chunk (a GPU runs each chunk's operations in parallel itself); sums
accumulate in float64 on the device and only they travel to the host, once
per pass.  Chunks are large (a 2 GiB budget of temporaries by default) so
that an accelerator stays busy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from gradmix.mixture.arrays import Namespace
from gradmix.mixture.executors.base import (
    Chunk,
    Executor,
    Kernel,
    as_sums,
    chunk_bounds,
    combine,
    summarise,
)

__all__ = ["DEVICE_MAX_MEMORY", "DeviceExecutor"]

# temporaries per chunk on a device: large chunks keep an accelerator busy (on an H200
# at N = 2e6, d = 32, K = 64: 0.25 GiB 0.118 s/iter, 1 GiB 0.048, 2 GiB 0.035, 8 GiB 0.036)
DEVICE_MAX_MEMORY = 2048 * 2**20


class DeviceExecutor(Executor):
    """Rows of an array-API array, worked on where they live.

    Parameters
    ----------
    ns : Namespace
        The data's namespace, device and dtype.
    X : array, shape (n, d)
        Validated floating data.
    w : ndarray, shape (n,), optional
        Sample weights (host); None for all ones.
    rows : int
        Rows per chunk.
    shift : ndarray, shape (d,), optional
        The centre; by default the weighted mean.
    summarise_data : bool
        Run the summary pass (predictions, which bring their centre, skip it).
    """

    numpy_chunks = False

    def __init__(self, ns: Namespace, X: Any, w: np.ndarray | None, rows: int,
                 shift: np.ndarray | None = None, summarise_data: bool = True) -> None:  # fmt: skip
        self.ns = ns
        self.xp = ns.xp
        self.n, self.d = (int(s) for s in X.shape)
        self.dtype = ns.np_dtype
        self.rows = max(int(rows), 1)
        self.unit_weights = w is None or bool(np.all(w == 1))
        self.w = None if self.unit_weights else ns.put(w)
        self.X = X
        self._shift_dev: Any = None
        if summarise_data:
            self._set_summary(self.map_reduce(summarise, ns.get), shift)
        else:
            assert shift is not None
            self.shift = np.asarray(shift, dtype=np.float64)
        self._shift_dev = ns.put(self.shift)

    def bounds(self) -> list[tuple[int, int]]:
        return list(chunk_bounds(0, self.n, self.rows))

    def _chunk(self, a: int, b: int, aligned: Sequence[Any]) -> Chunk:
        X = self.X[a:b, ...]
        if self._shift_dev is not None:
            X = X - self._shift_dev
        w = None if self.w is None else self.w[a:b]
        return Chunk(self.xp, X, w, a, b, tuple(r[a:b, ...] for r in aligned))

    def _host(self, result: Any) -> Any:
        if isinstance(result, tuple):
            return tuple(self.ns.get(r) if hasattr(r, "shape") else r for r in result)
        return result

    def map_reduce(self, kernel: Kernel, *args: Any, aligned: Sequence[Any] = (),
                   keep_rows: Any = False) -> Any:  # fmt: skip
        acc = None
        parts = []
        for a, b in self.bounds():
            result = kernel(self._chunk(a, b, aligned), *args)
            if keep_rows:
                result, rows = result
                parts.append(rows)
            result = as_sums(result)
            acc = result if acc is None else combine(acc, result)
        total = self._host(acc)
        if not keep_rows:
            return total
        return total, parts[0] if len(parts) == 1 else self.xp.concat(parts)

    def map_rows(self, kernel: Kernel, *args: Any, cols: int | None = None, dtype: Any = None,
                 aligned: Sequence[Any] = ()) -> Any:  # fmt: skip
        parts = [kernel(self._chunk(a, b, aligned), *args) for a, b in self.bounds()]
        out = parts[0] if len(parts) == 1 else self.xp.concat(parts, axis=0)
        wanted = self.ns.dtype if dtype is None else getattr(self.xp, np.dtype(dtype).name)
        return out if out.dtype == wanted else self.xp.astype(out, wanted)

    def take(self, indices: np.ndarray) -> np.ndarray:
        idx = self.ns.put(np.asarray(indices), dtype=np.int64)
        rows = self.ns.get(self.xp.take(self.X, idx, axis=0))
        return (rows - self.shift).astype(self.dtype)

    def weights_at(self, indices: np.ndarray) -> np.ndarray:
        if self.w is None:
            return np.ones(len(indices), dtype=self.dtype)
        idx = self.ns.put(np.asarray(indices), dtype=np.int64)
        return self.ns.get(self.xp.take(self.w, idx)).astype(self.dtype)

    def put(self, a: Any, dtype: Any = None) -> Any:
        return self.ns.put(a, dtype)

    def output(self, a: np.ndarray) -> Any:
        a = np.asarray(a)
        return self.ns.put(a, a.dtype if a.dtype.kind in "iub" else None)

    def to_host(self, a: Any) -> np.ndarray:
        return self.ns.get(a)

    def gather(self, per_row: Any, indices: np.ndarray) -> np.ndarray:
        idx = self.ns.put(np.asarray(indices), dtype=np.int64)
        return self.ns.get(self.xp.take(per_row, idx, axis=0))

    def top(self, values: Any, m: int) -> np.ndarray:
        host = self.ns.get(values)
        return np.argpartition(host, -m)[: -m - 1 : -1]

    def seeding_data(self, random_state: Any, at_least: int) -> tuple[Any, np.ndarray, None]:
        return self.X - self._shift_dev, self.all_weights(), None
