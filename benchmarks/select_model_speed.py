"""The whole model search against one fit: select_model's grid, the chosen model alone, mclust.

Run:  uv run python benchmarks/select_model_speed.py [--n 100000] [--max-g 9] [--no-r]

Simulated data (``--n`` rows, 3 columns, five overlapping Gaussian clusters
of different shapes, seed 1).  Times, in one run on this machine:

- ``gm.select_model(X, range(1, max_g + 1), random_state=0)``: mclust's 14
  models × G = 1..max_g with gradmix's default starts (hierarchical plus four
  k-means starts per fit, each run to convergence);
- the chosen model alone, ``GaussianMixture(G, covariance_type=model,
  random_state=0)`` with the same starts, and its best start's share of that
  time (its EM iterations over all the starts' iterations: one EM run);
- with R and mclust installed (``--no-r`` skips it), ``Mclust(X)`` over the
  same grid, and ``Mclust(X, G, modelNames)`` for its chosen model alone.

Prints the seconds and the ratios grid / chosen model.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

import gradmix as gm

R_SCRIPT = r"""
suppressMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
X <- as.matrix(read.csv(args[1])); maxg <- as.integer(args[2])
grid <- system.time(fit <- Mclust(X, G = 1:maxg, verbose = FALSE))[["elapsed"]]
one <- system.time(Mclust(X, G = fit$G, modelNames = fit$modelName, verbose = FALSE))[["elapsed"]]
cat(sprintf("%s %d %.6f %.3f %.3f\n", fit$modelName, fit$G, -fit$bic, grid, one))
"""


def simulate(n: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    centres = rng.normal(scale=3.0, size=(5, 3))
    parts = [rng.multivariate_normal(c, np.diag(rng.uniform(0.3, 2.0, 3)) + 0.3, size=n // 5)
             for c in centres]  # fmt: skip
    return np.concatenate(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--max-g", type=int, default=9)
    parser.add_argument("--no-r", action="store_true")
    parser.add_argument(
        "--acceleration",
        choices=("squarem", "none"),
        default="squarem",
        help="of EM, for the grid and the chosen model alike",
    )
    args = parser.parse_args()
    acceleration = None if args.acceleration == "none" else args.acceleration
    X = simulate(args.n)
    print(
        f"{len(X)} rows × {X.shape[1]} columns, G = 1..{args.max_g}, 14 models, "
        f"acceleration={acceleration}"
    )
    warnings.simplefilter("ignore")
    t = time.perf_counter()
    search = gm.select_model(X, range(1, args.max_g + 1), random_state=0,
                             acceleration=acceleration)  # fmt: skip
    grid = time.perf_counter() - t
    k, ct = search.best_params_["n_components"], search.best_params_["covariance_type"]
    failed = len(search.errors_)
    print(f"select_model: {grid:.1f} s, chose {ct},{k} (BIC {search.best_.bic(X):.3f}); "
          f"{failed} fits failed")  # fmt: skip
    one_defaults, best_run, n_starts = _chosen_alone(X, k, ct, acceleration)
    print(f"chosen model alone: {one_defaults:.2f} s with its default starts ({n_starts} "
          f"distinct); {best_run:.2f} s for its best start's EM run")  # fmt: skip
    print(
        f"ratio grid / chosen model: {grid / one_defaults:.0f}× (default starts), "
        f"{grid / best_run:.0f}× (best start's run)"
    )
    if args.no_r or shutil.which("Rscript") is None:
        print("mclust: not measured (no R, or --no-r)")
        return
    work = Path(tempfile.mkdtemp(prefix="select-speed-"))
    np.savetxt(work / "X.csv", X, delimiter=",", header="a,b,c", comments="")
    (work / "t.R").write_text(R_SCRIPT)
    out = subprocess.run(
        ["Rscript", str(work / "t.R"), str(work / "X.csv"), str(args.max_g)],
        check=True,
        capture_output=True,
        text=True,
        timeout=7200,
    ).stdout
    model, g, bic, r_grid, r_one = out.split()
    print(
        f"mclust Mclust(X): {float(r_grid):.1f} s, chose {model},{g} (BIC {float(bic):.3f}); "
        f"its model alone {float(r_one):.2f} s"
    )
    print(f"select_model / Mclust(X): {grid / float(r_grid):.2f}")


def _chosen_alone(X: np.ndarray, k: int, ct: str,
                  acceleration: str | None) -> tuple[float, float, int]:  # fmt: skip
    """Seconds of the chosen model's default fit, its best start's share, the starts run."""
    bounds: dict[int, list[float]] = {}

    def record(init: int, n_iter: int, bound: float) -> None:
        bounds.setdefault(init, []).append(bound)

    fit = gm.GaussianMixture(k, covariance_type=ct, tol=1e-5, random_state=0, callback=record,
                             acceleration=acceleration)  # fmt: skip
    t0 = time.perf_counter()
    fit.fit(X)
    total = time.perf_counter() - t0
    winner = max(bounds, key=lambda i: bounds[i][-1])
    # an EM iteration of one model costs the same from any start: the winner's share
    share = len(bounds[winner]) / sum(len(b) for b in bounds.values())
    return total, total * share, len(bounds)


if __name__ == "__main__":
    main()
