"""Where an EM iteration's time goes on the host, stage by stage, against its bound.

Run:  uv run python benchmarks/estep_profile.py [--n 100000] [--d 32] [--k 64] [--types full,...]

The bound of ``benchmarks/bounds.py`` counts an iteration's matrix products
at the BLAS rate and the bytes it must move at the memory bandwidth. It
does not count the elementwise work on the (n, K) log-densities that numpy
makes one pass per operation: a row maximum, a subtraction, an exponential,
a row sum and a product. This script shows how much that is:

- **stages**: the thread CPU time of each stage of the E-step's kernel per
  pass (summed over the pass's threads, halved for the two cores: seconds of
  wall time if the threads never waited), measured in a fit as users run it:
  the log-densities (the unit's features and distances), the
  responsibilities, and the statistics;
- **numpy floor**: the responsibilities' five passes timed alone on one
  chunk held in cache, scaled to the n rows and halved for the two cores:
  what they cost at least with numpy, however the rest is arranged;
- the bound, its products' and bytes' parts, and the fraction of it the
  measured iteration reaches (as ``benchmarks/gmm_speed.py`` prints it).

Same data and start as ``benchmarks/gmm_speed.py``.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

import gradmix as gm
from gradmix.mixture import em
from gradmix.mixture.components.gaussian import Gaussian

sys.path.insert(0, str(Path(__file__).parent))
from bounds import bandwidth, blas_description, blas_rate, em_bytes, em_flops  # noqa: E402
from gmm_speed import blobs, start  # noqa: E402

STAGES = {"log-densities": (Gaussian, "row_terms"), "responsibilities":
          (em, "responsibilities_with"), "statistics": (Gaussian, "row_statistics")}  # fmt: skip


class StageClock:
    """Thread CPU time spent in each stage, summed over the threads that run it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seconds: dict[str, float] = {}
        self.originals = {name: getattr(owner, attr) for name, (owner, attr) in STAGES.items()}

    def __enter__(self) -> StageClock:
        for name, (owner, attr) in STAGES.items():
            setattr(owner, attr, self._timed(name, self.originals[name]))
        return self

    def __exit__(self, *exc: object) -> None:
        for name, (owner, attr) in STAGES.items():
            setattr(owner, attr, self.originals[name])

    def _timed(self, name: str, f: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.thread_time()
            out = f(*args, **kwargs)
            spent = time.thread_time() - t
            with self.lock:
                self.seconds[name] = self.seconds.get(name, 0.0) + spent
            return out

        return timed


def responsibilities_floor(n: int, k: int, rows: int = 5000, repeat: int = 30) -> float:
    """Seconds of numpy's five passes over an (n, K) array (row maximum, subtraction,
    exponential, row sum, product), timed on one cached chunk in one thread, for n rows
    on two cores."""
    rng = np.random.default_rng(0)
    start_values = np.asfortranarray(rng.normal(scale=5.0, size=(rows, k)) - 10.0)
    w = start_values.copy(order="F")
    best = np.inf
    with threadpool_limits(1):
        for _ in range(repeat):
            np.copyto(w, start_values)
            t = time.perf_counter()
            m = np.max(w, axis=1, keepdims=True)
            np.subtract(w, m, out=w)
            np.exp(w, out=w)
            s = np.sum(w, axis=1, keepdims=True)
            w *= 1.0 / s
            best = min(best, time.perf_counter() - t)
    return best * n / rows / 2


def fit_seconds(X: np.ndarray, k: int, ct: str, n_iter: int, kw: dict) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        gm.GaussianMixture(k, covariance_type=ct, max_iter=n_iter, tol=0, **kw).fit(X)
        return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--d", type=int, default=32)
    p.add_argument("--k", type=int, default=64)
    p.add_argument("--types", default="full,tied,diag,spherical")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    X = blobs(args.n, args.d, args.k)
    rate, bw = blas_rate(), bandwidth()
    floor = responsibilities_floor(args.n, args.k)
    print(f"N={args.n} d={args.d} K={args.k} float64, BLAS {blas_description()}: "
          f"{rate / 1e9:.0f} GFLOP/s, memory {bw / 1e9:.1f} GB/s")  # fmt: skip
    print("milliseconds per iteration; stages: thread CPU time per pass / 2 cores")
    print(f"{'type':<10} {'measured':>8} {'bound':>6} {'of it':>5} {'products':>8} {'bytes':>6}"
          f" {'log-dens.':>9} {'resp.':>6} {'stats':>6} {'resp. numpy floor':>17}")  # fmt: skip
    for ct in args.types.split(","):
        kw = start(X, args.k, ct)
        fit_seconds(X, args.k, ct, 1, kw)  # warm-up
        per_iteration, stages = np.inf, {}
        for _ in range(args.repeat):
            short = fit_seconds(X, args.k, ct, 1, kw)
            with StageClock() as clock:
                long = fit_seconds(X, args.k, ct, 6, kw)
            if (long - short) / 5 < per_iteration:
                # the long fit runs 7 passes (6 iterations and the final one)
                per_iteration = (long - short) / 5
                stages = {name: s / 7 / 2 for name, s in clock.seconds.items()}
        products = em_flops(ct, args.n, args.d, args.k) / rate
        moved = em_bytes(args.n, args.d, args.k) / bw
        bound = products + moved
        print(f"{ct:<10} {per_iteration * 1e3:8.1f} {bound * 1e3:6.1f} "
              f"{bound / per_iteration:5.2f} {products * 1e3:8.1f} {moved * 1e3:6.1f} "
              f"{stages['log-densities'] * 1e3:9.1f} {stages['responsibilities'] * 1e3:6.1f} "
              f"{stages['statistics'] * 1e3:6.1f} {floor * 1e3:17.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
