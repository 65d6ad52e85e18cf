"""What an iteration could cost on this machine: matrix-product FLOPs and unavoidable bytes.

The bound of an EM (or Lloyd) iteration is

    t_bound = FLOPs of its matrix products / the BLAS rate
            + bytes its elementwise work must move / the memory bandwidth,

both rates measured here, in the same run as the timings they judge: the
BLAS rate from a large square product (what numpy's BLAS reaches at its best,
all threads), the bandwidth from copying a large array (read + write).  The
bytes counted are the least an iteration must move if nothing is kept
between passes: the data read once, and the (n, K) responsibilities written
once and read once by the statistics' products.  ``fraction = t_bound / t``
says how close a measured iteration is (1 would be at the bound).
"""

from __future__ import annotations

import time

import numpy as np
from threadpoolctl import threadpool_info


def blas_description() -> str:
    """The thread pools numpy and scipy loaded: library, kernel, threads.

    The kernel matters: on this workplace's machines ``OPENBLAS_CORETYPE`` may pin
    an older one (Haswell on an AVX-512 CPU), which a user's fresh machine would not.
    """
    parts = ([i["internal_api"], i.get("architecture"), f"x{i['num_threads']}"]
             for i in threadpool_info())  # fmt: skip
    return ", ".join(" ".join(p for p in pool if p) for pool in parts)


def blas_rate(dtype: type = np.float64, size: int = 2048, repeat: int = 3) -> float:
    """FLOP/s of numpy's matrix product on two (size, size) matrices, best of ``repeat``."""
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((2, size, size)).astype(dtype)
    A @ B  # warm-up
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        A @ B
        best = min(best, time.perf_counter() - t)
    return 2.0 * size**3 / best


def bandwidth(megabytes: int = 400, repeat: int = 3) -> float:
    """Bytes/s of a large copy (each byte read once and written once), best of ``repeat``."""
    a = np.ones(megabytes * 2**20 // 8)
    b = np.empty_like(a)
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        np.copyto(b, a)
        best = min(best, time.perf_counter() - t)
    return 2.0 * a.nbytes / best


def em_flops(covariance_type: str, n: int, d: int, k: int) -> float:
    """Matrix-product FLOPs of one EM iteration (log-densities and statistics)."""
    p = d * (d + 1) // 2
    return {
        # packed products x_i x_j: quadratic forms and second moments, plus the linear terms
        "full": 4.0 * n * k * (p + d),
        # y = Uᵀx, |y - m|² by one product, the pooled second moment, Σ r x
        "tied": 4.0 * n * d * d + 4.0 * n * k * d,
        # x² and x against the precisions and the means; their statistics
        "diag": 8.0 * n * k * d,
        # x against the means; Σ r x
        "spherical": 4.0 * n * k * d,
    }[covariance_type]


def em_bytes(n: int, d: int, k: int, itemsize: int = 8) -> float:
    """The data read once, the responsibilities written once and read once."""
    return float(itemsize * (n * d + 2 * n * k))


def lloyd_flops(n: int, d: int, k: int) -> float:
    """Matrix-product FLOPs of one Lloyd iteration: the distances' product."""
    return 2.0 * n * d * k


def lloyd_bytes(n: int, d: int, itemsize: int = 8) -> float:
    """The data read once (labels and sums are small)."""
    return float(itemsize * n * d)


def bound(flops: float, nbytes: float, rate: float, bw: float) -> float:
    """Seconds an iteration needs at least: products at the BLAS rate, bytes at the bandwidth."""
    return flops / rate + nbytes / bw
