"""Small data, where numpy's cost per call decides: gradmix against R mclust on its own data.

Run:  uv run python benchmarks/small_data_speed.py [--repeats 3] [--no-r]

On Old Faithful (272 rows, 2 columns) and iris (150 rows, 4 columns), in one
run on this machine, the best of ``--repeats`` wall times of:

- one EM iteration (E-step and M-step, ``gradmix.mixture.em.em_step``) at a
  fitted 3-component mixture, for scikit-learn's four models and three of
  mclust's iterative ones, in microseconds;
- k-means (``gm.KMeans(5, n_init=1)``) on Old Faithful, in milliseconds;
- ``gm.select_model(X, range(1, 10), random_state=0)``: mclust's 14 models ×
  G = 1..9 with gradmix's default starts;
- ``gm.bootstrap_lrt(faithful, "VVV", n_boot=99, max_components=3)``;
- with R and mclust installed (``--no-r`` skips it), ``Mclust(X)`` on the
  same grid and ``mclustBootstrapLRT(faithful, "VVV", nboot = 99, maxG = 3)``,
  and the ratios gradmix / mclust.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.datasets import load_iris

import gradmix as gm
from gradmix.datasets import load_old_faithful
from gradmix.mixture.em import EMSettings, em_step

R_SCRIPT = r"""
suppressMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
repeats <- as.integer(args[2])
best <- function(expr) {  # (an argument is evaluated once: time the expression itself)
  e <- substitute(expr); env <- parent.frame()
  min(replicate(repeats, system.time(eval(e, env))[["elapsed"]]))
}
for (name in c("faithful", "iris")) {
  X <- as.matrix(read.csv(file.path(args[1], paste0(name, ".csv"))))
  cat(sprintf("%s %.4f\n", name, best(Mclust(X, G = 1:9, verbose = FALSE))))
}
X <- as.matrix(read.csv(file.path(args[1], "faithful.csv")))
cat(sprintf("lrt %.4f\n", best(mclustBootstrapLRT(X, modelName = "VVV", nboot = 99, maxG = 3,
                                                  verbose = FALSE))))
"""

MODELS = ("full", "tied", "diag", "spherical", "VEV", "EVE", "VVE")


def best_time(f: Callable[[], object], repeats: int, number: int = 1) -> float:
    """The least of ``repeats`` wall times of ``number`` calls, per call (seconds)."""
    f()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(number):
            f()
        times.append((time.perf_counter() - t) / number)
    return min(times)


def em_iteration(X: np.ndarray, covariance_type: str, repeats: int) -> float:
    """Seconds per EM iteration at a fitted 3-component mixture."""
    model = gm.GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    ex = model._fit_executor(X, None)
    params = model._params(ex.shift, ex.dtype)
    settings = EMSettings(reg_covar=model.reg_covar, tol=1e-8, max_iter=1)
    return best_time(lambda: em_step(ex, model._family, params, settings), repeats, 300)


def mclust_times(data: dict[str, np.ndarray], repeats: int) -> dict[str, float] | None:
    if shutil.which("Rscript") is None:
        return None
    work = Path(tempfile.mkdtemp(prefix="small-data-"))
    for name, X in data.items():
        np.savetxt(work / f"{name}.csv", X, delimiter=",", comments="",
                   header=",".join(f"x{j}" for j in range(X.shape[1])))  # fmt: skip
    (work / "t.R").write_text(R_SCRIPT)
    out = subprocess.run(["Rscript", str(work / "t.R"), str(work), str(repeats)],
                         capture_output=True, text=True, timeout=3600)  # fmt: skip
    if out.returncode != 0:
        print(f"(R failed: {out.stderr.strip().splitlines()[-1:]})")
        return None
    return {key: float(value) for key, value in (line.split() for line in out.stdout.splitlines())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-r", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    data = {"faithful": load_old_faithful(), "iris": load_iris().data}
    print("one EM iteration, K = 3 (µs):")
    print(f"  {'':9s}" + "".join(f"{m:>10s}" for m in MODELS))
    for name, X in data.items():
        row = [em_iteration(X, m, args.repeats) * 1e6 for m in MODELS]
        print(f"  {name:9s}" + "".join(f"{t:10.0f}" for t in row))
    X = data["faithful"]
    km = best_time(lambda: gm.KMeans(5, n_init=1, random_state=0).fit(X), args.repeats, 20)
    print(f"k-means, faithful, K = 5: {km * 1e3:.2f} ms")
    ours = {name: best_time(lambda X=X: gm.select_model(X, range(1, 10), random_state=0),
                            args.repeats) for name, X in data.items()}  # fmt: skip
    ours["lrt"] = best_time(lambda: gm.bootstrap_lrt(X, "VVV", n_boot=99, max_components=3,
                                                     random_state=1), args.repeats)  # fmt: skip
    theirs = None if args.no_r else mclust_times(data, args.repeats)
    labels = {"faithful": "select_model, faithful, G = 1..9",
              "iris": "select_model, iris, G = 1..9",
              "lrt": "bootstrap_lrt, faithful, VVV, 99 replicates"}  # fmt: skip
    for key, label in labels.items():
        line = f"{label}: {ours[key]:.2f} s"
        if theirs is not None:
            line += f"; mclust {theirs[key]:.2f} s; gradmix / mclust {ours[key] / theirs[key]:.1f}"
        print(line)


if __name__ == "__main__":
    main()
