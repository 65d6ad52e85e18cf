"""KMeans (Lloyd) time, scikit-learn / gradmix, from the same initial centres.

Run:  uv run python benchmarks/kmeans_speed.py [--n 200000] [--d 32] [--k 64]
      uv run python benchmarks/kmeans_speed.py --grid [--fixed-start]
      uv run python benchmarks/kmeans_speed.py --starts

The first form times 20 Lloyd iterations on well-separated clusters and sets
them against the GEMM-and-bandwidth bound. ``--grid`` times fits as users make
them — ``KMeans(k, random_state=0).fit(X)``: k-means++ seeds, scikit-learn's
``tol`` — on overlapping clusters (centres two standard deviations apart) over
a grid of rows, features and clusters, and prints scikit-learn / gradmix per
cell (the two alternate, best of ``--repeat``), with whether the labels agree;
with ``--fixed-start``, 20 iterations from one start drawn from the rows.
``--starts`` times what a GaussianMixture's k-means start costs:
``GaussianMixture(K, max_iter=1, random_state=0).fit(X)`` (the start and one EM
iteration) on overlapping clusters of a few shapes, gradmix's and scikit-learn's.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans as SkKMeans

import gradmix as gm

sys.path.insert(0, str(Path(__file__).parent))
from bounds import (  # noqa: E402
    bandwidth,
    blas_description,
    blas_rate,
    bound,
    lloyd_bytes,
    lloyd_flops,
)

#: the grid's cells: rows, then (features, clusters)
GRID_ROWS = (3_000, 10_000, 20_000, 100_000)
GRID_SHAPES = ((2, 3), (5, 5), (8, 8), (16, 16), (32, 16), (32, 64), (8, 64))


def grid(repeat: int, fixed_start: bool) -> None:
    """scikit-learn / gradmix over the grid: default fits (k-means++, ``tol=1e-4``), or
    20 iterations from one start drawn from the rows (``tol=0``: Lloyd's passes alone)."""
    what = ("20 iterations from the same start" if fixed_start
            else "KMeans(k, random_state=0).fit(X)")  # fmt: skip
    print(f"{what}, overlapping clusters; scikit-learn time / gradmix time "
          f"(BLAS {blas_description()})")  # fmt: skip
    print("rows     " + "".join(f"{f'd={d} K={k}':>13s}" for d, k in GRID_SHAPES))
    for n in GRID_ROWS:
        cells = []
        for d, k in GRID_SHAPES:
            rng = np.random.default_rng(n + d + k)
            X = rng.normal(scale=2.0, size=(k, d))[rng.integers(0, k, n)] + rng.normal(size=(n, d))
            kw: dict[str, object] = {"random_state": 0}
            if fixed_start:
                init = X[rng.choice(n, k, replace=False)]
                kw = {"init": init, "n_init": 1, "max_iter": 20, "tol": 0.0}
            best = {"sk": np.inf, "gm": np.inf}
            fits = {}
            for _ in range(repeat):
                for name, cls in (("sk", SkKMeans), ("gm", gm.KMeans)):
                    t = time.perf_counter()
                    fits[name] = cls(k, **kw).fit(X)
                    best[name] = min(best[name], time.perf_counter() - t)
            same = np.array_equal(fits["sk"].labels_, fits["gm"].labels_)
            cells.append(f"{best['sk'] / best['gm']:12.2f}{'' if same else '*'}")
        print(f"{n:<9d}" + " ".join(cells))
    print("(* labels differ from scikit-learn's)")


#: GaussianMixture starts timed by ``--starts``: rows, features, components
START_SHAPES = ((3_000, 5, 3), (5_000, 8, 8), (10_000, 5, 5), (10_000, 16, 16))


def starts(repeat: int) -> None:
    """GaussianMixture fits of one EM iteration after the k-means start, best of
    ``repeat``, gradmix's and scikit-learn's, in ms. Not alternating: scikit-learn's
    OpenMP threads wait busily after its fits, and would slow the next few ms of
    gradmix's (3 000 rows: 3.0-6.6 ms alternating against 2.9-3.3 alone)."""
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    print("GaussianMixture(K, max_iter=1, random_state=0).fit(X): k-means start, one iteration")
    for n, d, k in START_SHAPES:
        rng = np.random.default_rng(n + d)
        X = rng.normal(scale=2.0, size=(k, d))[rng.integers(0, k, n)] + rng.normal(size=(n, d))
        best = {"sk": np.inf, "gm": np.inf}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (one iteration does not converge)
            for name, cls in (("gm", gm.GaussianMixture), ("sk", SkGaussianMixture)):
                for _ in range(repeat):
                    t = time.perf_counter()
                    cls(k, max_iter=1, random_state=0).fit(X)
                    best[name] = min(best[name], time.perf_counter() - t)
        print(f"  {n} x {d}, K = {k}: gradmix {best['gm'] * 1e3:.1f} ms, scikit-learn "
              f"{best['sk'] * 1e3:.1f} ms, ratio {best['sk'] / best['gm']:.2f}")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=200_000)
    p.add_argument("--d", type=int, default=32)
    p.add_argument("--k", type=int, default=64)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--grid", action="store_true", help="default fits over a grid of sizes")
    p.add_argument(
        "--fixed-start",
        action="store_true",
        help="with --grid: 20 iterations from one start (Lloyd's passes alone)",
    )
    p.add_argument("--starts", action="store_true", help="GaussianMixture's k-means starts")
    args = p.parse_args()
    if args.starts:
        starts(max(args.repeat, 7))
        return
    if args.grid:
        grid(args.repeat, args.fixed_start)
        return
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=4, size=(args.k, args.d))
    X = centres[rng.integers(0, args.k, args.n)] + rng.normal(size=(args.n, args.d))
    init = X[rng.choice(args.n, args.k, replace=False)]
    best = {"sk": np.inf, "gm": np.inf}
    res = {}
    for _ in range(args.repeat):
        for name, cls in (("sk", SkKMeans), ("gm", gm.KMeans)):
            t = time.perf_counter()
            m = cls(args.k, init=init, n_init=1, max_iter=20, tol=0).fit(X)
            best[name] = min(best[name], time.perf_counter() - t)
            res[name] = m
    same = np.array_equal(res["sk"].labels_, res["gm"].labels_)
    rel = abs(res["sk"].inertia_ - res["gm"].inertia_) / res["sk"].inertia_
    print(f"KMeans N={args.n} d={args.d} K={args.k}, 20 Lloyd iterations from the same centres"
          f" (BLAS {blas_description()})")  # fmt: skip
    print(
        f"  scikit-learn {best['sk']:.3f} s   gradmix {best['gm']:.3f} s   "
        f"ratio {best['sk'] / best['gm']:.2f}   same labels {same}   inertia rel diff {rel:.1e}"
    )
    rate, bw = blas_rate(), bandwidth()
    t_bound = 20 * bound(lloyd_flops(args.n, args.d, args.k), lloyd_bytes(args.n, args.d), rate,
                         bw)  # fmt: skip
    print(f"  bound {t_bound:.3f} s ({rate / 1e9:.0f} GFLOP/s, {bw / 1e9:.1f} GB/s): "
          f"gradmix at {t_bound / best['gm']:.2f} of it, scikit-learn at "
          f"{t_bound / best['sk']:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
