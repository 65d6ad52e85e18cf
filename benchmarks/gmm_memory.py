"""Peak resident memory of a fit, scikit-learn against gradmix, each in its own process.

Run:  uv run python benchmarks/gmm_memory.py [--n 300000] [--d 32] [--k 64] [--iters 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys

CHILD = """
import sys, warnings
import numpy as np

def peak_mb():  # this process's own peak RSS (getrusage's maxrss includes the parent's)
    hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
    return int(hwm.split()[1]) / 1024

n, d, k, iters = (int(v) for v in sys.argv[1:5])
which = sys.argv[5]
rng = np.random.default_rng(0)
centres = rng.normal(scale=4, size=(k, d))
X = centres[rng.integers(0, k, n)] + rng.normal(size=(n, d))
base = peak_mb()
if which == "sklearn":
    from sklearn.mixture import GaussianMixture
else:
    from gradmix import GaussianMixture
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    GaussianMixture(k, max_iter=iters, init_params="random_from_data", random_state=0).fit(X)
print(base, peak_mb())
"""


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=300_000)
    p.add_argument("--d", type=int, default=32)
    p.add_argument("--k", type=int, default=64)
    p.add_argument("--iters", type=int, default=3)
    a = p.parse_args()
    data_mb = a.n * a.d * 8 / 2**20
    print(f"N={a.n} d={a.d} K={a.k} float64 (data {data_mb:.0f} MB), full covariance, "
          f"{a.iters} EM iterations; peak RSS of each process")  # fmt: skip
    peaks = {}
    for which in ("sklearn", "gradmix"):
        cmd = [sys.executable, "-c", CHILD, str(a.n), str(a.d), str(a.k), str(a.iters), which]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        base, peak = map(float, out.stdout.split())
        peaks[which] = peak
        print(f"  {which:<8} peak {peak:7.0f} MB   (before fitting: {base:.0f} MB, "
              f"the fit added {peak - base:.0f} MB)")  # fmt: skip
    print(f"  gradmix / scikit-learn peak: {peaks['gradmix'] / peaks['sklearn']:.2f}")


if __name__ == "__main__":
    main()
