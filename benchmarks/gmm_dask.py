"""EM on Dask: a 2-worker LocalCluster against the in-memory path, and an out-of-core fit.

Run:  uv run python benchmarks/gmm_dask.py [--n 5000000] [--d 16] [--k 8]

Prints the per-iteration time ((t(4 it.) - t(1 it.)) / 3, same start) of

- the in-memory numpy path,
- a Dask array persisted on a LocalCluster of 2 worker processes (1 thread
  each), 500 000-row blocks,

their ratio, and, in a fresh process, the peak resident memory of a
``covariance_type="diag"`` fit of a lazily generated 20 000 000 x 16 float64
Dask array (2.4 GiB) on the threaded scheduler.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
import time
import warnings

import dask.array as da
import numpy as np
from distributed import Client, LocalCluster

import gradmix as gm

# run as `python -c OUT_OF_CORE ITERATIONS` (also by tests/mixture/test_dask.py); prints
# seconds, peak RSS in bytes, lower bound, the two means' first coordinates, bytes of data
OUT_OF_CORE = textwrap.dedent(
    """
    import sys, time, numpy as np, dask.array as da, gradmix as gm
    n, K = 20_000_000, 2
    X = da.random.RandomState(0).normal(size=(n, 16), chunks=(500_000, 16))
    X = X + (da.arange(n, chunks=500_000)[:, None] % 2) * 3.0
    start = dict(weights_init=[0.5, 0.5], precisions_init=np.ones((K, 16)),
                 means_init=np.r_[np.zeros((1, 16)), 3 * np.ones((1, 16))] + 0.1)
    t = time.perf_counter()
    m = gm.GaussianMixture(K, covariance_type="diag", max_iter=int(sys.argv[1]), tol=0,
                           **start).fit(X)
    # VmHWM: this process's own peak (getrusage's maxrss would include the parent's
    # memory, inherited across fork + exec on Linux)
    hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM"))
    print(time.perf_counter() - t, int(hwm.split()[1]) * 1024, m.lower_bound_,
          m.means_[0, 0], m.means_[1, 0], X.nbytes)
    """
)


def per_iter(fit) -> float:
    t = time.perf_counter()
    fit(1)
    t1 = time.perf_counter() - t
    t = time.perf_counter()
    fit(4)
    return (time.perf_counter() - t - t1) / 3


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=5_000_000)
    p.add_argument("--d", type=int, default=16)
    p.add_argument("--k", type=int, default=8)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    X = rng.normal(scale=4, size=(args.k, args.d))[rng.integers(0, args.k, args.n)]
    X += rng.normal(size=X.shape)
    warnings.simplefilter("ignore")
    m = gm.GaussianMixture(args.k, max_iter=2, init_params="random_from_data",
                           random_state=0).fit(X[:100_000])  # fmt: skip
    start = dict(weights_init=m.weights_, means_init=m.means_, precisions_init=m.precisions_)

    def fit_on(data):
        return lambda it: gm.GaussianMixture(args.k, max_iter=it, tol=0, **start).fit(data)

    mem = min(per_iter(fit_on(X)) for _ in range(2))
    print(f"N={args.n} d={args.d} K={args.k} full, float64")
    print(f"in memory (numpy, threads)            : {mem:.3f} s/iter")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster):  # fmt: skip
        Xd = da.from_array(X, chunks=(500_000, args.d)).persist()
        fit_on(Xd)(1)  # workers import gradmix, data land
        dsk = min(per_iter(fit_on(Xd)) for _ in range(2))
    print(f"Dask, LocalCluster 2 workers x 1 thread: {dsk:.3f} s/iter")
    print(f"ratio dask / in-memory: {dsk / mem:.2f}")
    out = subprocess.run([sys.executable, "-c", OUT_OF_CORE, "3"], capture_output=True,
                         text=True, check=True)  # fmt: skip
    secs, peak = (float(v) for v in out.stdout.split()[:2])
    peak /= 2**20
    print(f"out of core: 20 000 000 x 16 float64 (2.4 GiB, generated lazily), diag, K=2, "
          f"3 iterations: {secs:.1f} s, peak RSS {peak:.0f} MiB")  # fmt: skip


if __name__ == "__main__":
    main()
