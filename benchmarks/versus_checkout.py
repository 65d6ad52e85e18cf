"""EM and k-means time of this checkout against another one (e.g. the previous main).

Run:  git worktree add /tmp/previous <commit>
      uv run python benchmarks/versus_checkout.py /tmp/previous [--n 100000] [--rounds 3]

Each measurement runs in a fresh process that imports gradmix from one of
the two source trees; the two are timed alternately, round after round, on
the same data from the same start, and the best of the rounds is kept.
EM's per-iteration time is (t(4 iterations) - t(1 iteration)) / 3 as in
``gmm_speed.py`` (after a warm-up, best of two of each); k-means is 20 Lloyd
iterations as in ``kmeans_speed.py``;
fit memory is the peak RSS a fit adds to the loaded data (``gmm_memory.py``).
Prints each figure for both trees and their ratio (this / other).
The children see only ``PATH`` and ``PYTHONPATH``: a ``OPENBLAS_CORETYPE``
set on the machine does not reach them, so they run the BLAS kernels a
user's machine would pick (SkylakeX on the AVX-512 development machines).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

CHILD = r"""
import sys, time, warnings
import numpy as np
n, d, k, what = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
import gradmix as gm

def peak_mb():
    line = next(l for l in open("/proc/self/status") if l.startswith("VmHWM"))
    return int(line.split()[1]) / 1024

rng = np.random.default_rng(0)
centres = rng.normal(scale=4, size=(k, d))
X = np.empty((n, d))
for s in range(0, n, 10_000):  # block by block: no transient copy inflates the baseline
    m = min(10_000, n - s)
    X[s : s + m] = centres[rng.integers(0, k, m)] + rng.normal(size=(m, d))
warnings.simplefilter("ignore")
if what == "memory":
    base = peak_mb()
    gm.GaussianMixture(k, max_iter=3, init_params="random_from_data", random_state=0).fit(X)
    print(peak_mb() - base)
elif what == "kmeans":
    init = X[rng.choice(n, k, replace=False)]
    t = time.perf_counter()
    gm.KMeans(k, init=init, n_init=1, max_iter=20, tol=0).fit(X)
    print(time.perf_counter() - t)
else:
    s = gm.GaussianMixture(k, covariance_type=what, max_iter=3, init_params="random_from_data",
                           random_state=0).fit(X)
    kw = dict(weights_init=s.weights_, means_init=s.means_, precisions_init=s.precisions_)
    def fit(iters):
        t = time.perf_counter()
        m = gm.GaussianMixture(k, covariance_type=what, max_iter=iters, tol=0, **kw).fit(X)
        return time.perf_counter() - t, m.lower_bound_
    fit(1)  # warm-up
    t1 = min(fit(1)[0] for _ in range(2))
    t4, lb = min(fit(4) for _ in range(2))
    print((t4 - t1) / 3, repr(lb))
"""


def run(tree: Path, *args: str) -> list[str]:
    env = {"PYTHONPATH": str(tree / "src"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", CHILD, str(tree), *args], capture_output=True,
                         text=True, env=env, check=True)  # fmt: skip
    return out.stdout.split()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("other", type=Path, help="the other source tree (a git worktree)")
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--d", type=int, default=32)
    p.add_argument("--k", type=int, default=64)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--what", default="full,tied,diag,spherical,kmeans,memory")
    a = p.parse_args()
    trees = {"this": HERE, "other": a.other.resolve()}
    print(f"this: {trees['this']}   other: {trees['other']}")
    print(f"N={a.n} d={a.d} K={a.k} float64 (k-means and memory: N={2 * a.n}, {3 * a.n})")
    print(f"{'measure':<12} {'this':>10} {'other':>10} {'this/other':>11}   lower bounds")
    for what in a.what.split(","):
        n = {"kmeans": 2 * a.n, "memory": 3 * a.n}.get(what, a.n)
        best = {name: float("inf") for name in trees}
        extra = {}
        for _ in range(a.rounds):
            for name, tree in trees.items():
                out = run(tree, str(n), str(a.d), str(a.k), what)
                best[name] = min(best[name], float(out[0]))
                extra[name] = out[1] if len(out) > 1 else ""
        unit = "MB" if what == "memory" else "s"
        same = f"{extra['this']} / {extra['other']}" if extra["this"] else ""
        print(f"{what:<12} {best['this']:9.3f}{unit[0]} {best['other']:9.3f}{unit[0]} "
              f"{best['this'] / best['other']:11.3f}   {same}")  # fmt: skip


if __name__ == "__main__":
    main()
