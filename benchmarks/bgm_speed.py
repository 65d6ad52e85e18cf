"""Per-iteration time of BayesianGaussianMixture, scikit-learn / gradmix, beside GaussianMixture.

Run:  uv run python -m benchmarks.bgm_speed [--n 100000] [--d 32] [--k 64] [--types full]

Timed as benchmarks/gmm_speed.py times EM: the best 4-update fit minus the
best 1-update fit, over --repeat alternating rounds, after a warm-up, so the
start cancels.  The variational fits start from scikit-learn's random
responsibilities (``init_params="random"``, the same draws in both libraries; a
start from single rows would meet gradmix's documented difference in the tied
statistic); the
GaussianMixture row of the same run uses gmm_speed's shared start.  The final
lower bounds' relative difference is printed as a check that both libraries
did the same arithmetic.
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.mixture import BayesianGaussianMixture as SkBGM
from sklearn.mixture import GaussianMixture as SkGMM

import gradmix as gm
from benchmarks.bounds import blas_description
from benchmarks.gmm_speed import per_iteration, start


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--d", type=int, default=32)
    p.add_argument("--k", type=int, default=64)
    p.add_argument("--types", default="full")
    p.add_argument("--repeat", type=int, default=2)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=4, size=(args.k, args.d))
    X = centres[rng.integers(0, args.k, args.n)] + rng.normal(size=(args.n, args.d))
    blas = blas_description()
    print(f"N={args.n} d={args.d} K={args.k} float64, BLAS {blas}")
    print(f"{'estimator':<28} {'sklearn s/it':>12} {'gradmix s/it':>12} {'ratio':>7} "
          f"{'lb rel diff':>12}")  # fmt: skip
    for ct in args.types.split(","):
        rows = [
            (f"BayesianGaussianMixture {ct}", (("sk", SkBGM), ("gm", gm.BayesianGaussianMixture)),
             {"init_params": "random", "random_state": 0}),
            (f"GaussianMixture {ct}", (("sk", SkGMM), ("gm", gm.GaussianMixture)),
             start(X, args.k, ct)),
        ]  # fmt: skip
        for label, pairs, kw in rows:
            best, bounds = per_iteration(pairs, X, args.repeat, n_components=args.k,
                                         covariance_type=ct, **kw)  # fmt: skip
            rel = abs(bounds["gm"] - bounds["sk"]) / abs(bounds["sk"])
            print(f"{label:<28} {best['sk']:12.3f} {best['gm']:12.3f} "
                  f"{best['sk'] / best['gm']:7.2f} {rel:12.1e}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
