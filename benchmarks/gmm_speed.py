"""Per-iteration EM time, scikit-learn / gradmix, on the same data from the same start.

Run:  uv run python benchmarks/gmm_speed.py [--n 100000] [--d 32] [--k 64] [--types full,...]

Under each covariance type two more rows: a Student-t mixture's iteration
(free degrees of freedom, their Newton step included) and a Gaussian
mixture's with mclust's noise component (1 % of the rows its start), each as
a ratio to gradmix's Gaussian iteration in the same round (--no-families
skips them).

All of the speed issue's CPU figures in one run: EM per-iteration ratios per
covariance type, float32 against float64, then (unless --quick) k-means
(benchmarks/kmeans_speed.py) and the peak-memory comparison in separate
processes (benchmarks/gmm_memory.py).

Per-iteration time is the difference between a 4-iteration and a 1-iteration
fit, which cancels the setup: the best 4-iteration time minus the best
1-iteration time over the rounds, after one warm-up fit of each library (the
best of the rounds' differences would reward a round whose short fit was
slow).  Both libraries start from the same parameters
(weights_init, means_init, precisions_init taken from three EM iterations
after a random_from_data start), so the figure is the steady-state cost of an
iteration rather than of the first, degenerate ones.  The two libraries are
timed alternately; the best of --repeat rounds is kept.  The script also
prints the final lower bounds' relative difference, each type's bound and the
fraction of it gradmix reaches (benchmarks/bounds.py), and gradmix's float32
speed against its float64 (full covariance, same start).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np
from sklearn.mixture import GaussianMixture as SkGMM

import gradmix as gm

sys.path.insert(0, str(Path(__file__).parent))
from bounds import bandwidth, blas_description, blas_rate, bound, em_bytes, em_flops  # noqa: E402


def fit_time(cls: type, X: np.ndarray, n_iter: int, **kw: object) -> tuple[float, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        m = cls(max_iter=n_iter, tol=0, **kw).fit(X)
        return time.perf_counter() - t, float(np.ravel(m.lower_bound_)[0])


def per_iteration(pairs: tuple, X: np.ndarray, repeat: int, **kw: object) -> tuple[dict, dict]:
    """Per-iteration seconds of each named class, (t(4) - t(1)) / 3 from the best of
    ``repeat`` alternating rounds after a warm-up, and each one's final lower bound."""
    for _, cls in pairs:  # warm-up
        fit_time(cls, X, 1, **kw)
    t1 = {name: np.inf for name, _ in pairs}
    t4 = dict(t1)
    bounds = {}
    for _ in range(repeat):
        for name, cls in pairs:
            a, _ = fit_time(cls, X, 1, **kw)
            b, bounds[name] = fit_time(cls, X, 4, **kw)
            t1[name], t4[name] = min(t1[name], a), min(t4[name], b)
    return {name: (t4[name] - t1[name]) / 3 for name in t1}, bounds


def blobs(n: int, d: int, k: int) -> np.ndarray:
    """n rows (n, d) around k centres drawn at scale 4, unit noise: the benchmark's data."""
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=4, size=(k, d))
    return centres[rng.integers(0, k, n)] + rng.normal(size=(n, d))


def start(X: np.ndarray, k: int, ct: str) -> dict[str, object]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = gm.GaussianMixture(k, covariance_type=ct, max_iter=3, init_params="random_from_data",
                               random_state=0).fit(X)  # fmt: skip
    return {"weights_init": m.weights_, "means_init": m.means_, "precisions_init": m.precisions_}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--d", type=int, default=32)
    p.add_argument("--k", type=int, default=64)
    p.add_argument("--types", default="full,tied,diag,spherical")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="skip k-means and peak memory")
    p.add_argument("--no-families", dest="families", action="store_false",
                   help="skip the Student-t and noise rows")  # fmt: skip
    args = p.parse_args()
    X = blobs(args.n, args.d, args.k)
    blas = blas_description()
    rate, bw = blas_rate(), bandwidth()
    print(f"N={args.n} d={args.d} K={args.k} float64, BLAS {blas}: "
          f"{rate / 1e9:.0f} GFLOP/s, memory {bw / 1e9:.1f} GB/s")  # fmt: skip
    print(f"{'type':<10} {'sklearn s/it':>12} {'gradmix s/it':>12} {'ratio':>7} "
          f"{'lb rel diff':>12} {'bound s/it':>10} {'of bound':>8}")  # fmt: skip
    for ct in args.types.split(","):
        kw = start(X, args.k, ct)
        libraries = (("sk", SkGMM), ("gm", gm.GaussianMixture))
        best, lbs = per_iteration(libraries, X, args.repeat, n_components=args.k,
                                  covariance_type=ct, **kw)  # fmt: skip
        rel = abs(lbs["gm"] - lbs["sk"]) / abs(lbs["sk"])
        t_bound = bound(em_flops(ct, args.n, args.d, args.k), em_bytes(args.n, args.d, args.k),
                        rate, bw)  # fmt: skip
        print(f"{ct:<10} {best['sk']:12.3f} {best['gm']:12.3f} {best['sk'] / best['gm']:7.2f} "
              f"{rel:12.1e} {t_bound:10.3f} {t_bound / best['gm']:8.2f}")  # fmt: skip
        if args.families:
            mask = np.zeros(args.n, dtype=bool)
            mask[::100] = True
            kinds = (("gaussian", gm.GaussianMixture), ("t", gm.StudentTMixture),
                     ("noise", partial(gm.GaussianMixture, noise=mask)))  # fmt: skip
            fam, _ = per_iteration(kinds, X, args.repeat, n_components=args.k,
                                   covariance_type=ct, **kw)  # fmt: skip
            for name in ("t", "noise"):
                print(f"  {name:<8} {'':12} {fam[name]:12.3f} "
                      f"{fam[name] / fam['gaussian']:7.2f}x gradmix's Gaussian iteration "
                      f"({fam['gaussian']:.3f} s/it in the same rounds)")  # fmt: skip
    # float32 end to end against float64, same start, full covariance
    kw = start(X, args.k, "full")
    X32 = X.astype(np.float32)
    kw32 = {k: np.asarray(v, dtype=np.float32) for k, v in kw.items()}
    t1 = {"64": np.inf, "32": np.inf}
    t4 = {"64": np.inf, "32": np.inf}
    for _ in range(args.repeat + 1):
        for name, Z, kwz in (("64", X, kw), ("32", X32, kw32)):
            a, _ = fit_time(gm.GaussianMixture, Z, 1, n_components=args.k, **kwz)
            b, lbs[name] = fit_time(gm.GaussianMixture, Z, 4, n_components=args.k, **kwz)
            t1[name], t4[name] = min(t1[name], a), min(t4[name], b)
    best = {name: (t4[name] - t1[name]) / 3 for name in t1}
    rel = abs(lbs["32"] - lbs["64"]) / abs(lbs["64"])
    print(f"\nfull, gradmix float64 {best['64']:.3f} s/it, float32 {best['32']:.3f} s/it: "
          f"float32 {best['64'] / best['32']:.2f}x faster, "
          f"lower bounds differ by {rel:.1e}")  # fmt: skip
    if not args.quick:
        # the issue's other two figures, each script in its own process(es)
        here = Path(__file__).parent
        for script in ("kmeans_speed.py", "gmm_memory.py"):
            print(flush=True)
            subprocess.run([sys.executable, str(here / script)], check=True)


if __name__ == "__main__":
    main()
