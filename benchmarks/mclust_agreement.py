"""How often gradmix's defaults reach R mclust's log-likelihood, fit by fit.

Run:  uv run python benchmarks/mclust_agreement.py [--data faithful,iris,diabetes,banknote]
          [--max-g 6] [--mclust FITS.csv] [--path defaults|select] [--acceleration squarem]
          [--prior]

Needs R with mclust (``apt-get install r-cran-mclust``) unless ``--mclust`` names
a CSV of its fits (columns data, model, G, loglik) written by an earlier run.
For each data set (faithful and iris as R ships them; mclust's diabetes,
banknote and thyroid; scikit-learn's wine), each of mclust's 14 models and
G = 1..max-g, R fits ``Mclust(X, G = G, modelNames = model)``; gradmix fits
``GaussianMixture(G, covariance_type=model, random_state=0)`` with its
defaults (``--path select``: the fits of one ``select_model(X, range(1, max_g + 1),
random_state=0)`` per data set, mclust's own workflow).  A fit counts as
matched when gradmix's log-likelihood is at least mclust's minus 1e-6 of its
size.  Prints the fraction and the fits short of it.

``--prior``: both sides fit with mclust's conjugate prior (R's ``prior =
priorControl()``, gradmix's ``prior="default"``).  A posterior mode is not a
maximum of the likelihood, so there the BIC values (mclust's, at the
posterior mode) are compared: equal to 1e-4 relative, or lower or higher; and
each data set's choice over the grid (R's ``Mclust(X, G = 1:max-g, prior =
priorControl())`` against ``select_model(..., prior="default")``).
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_wine

import gradmix as gm

R_SCRIPT = r"""
library(mclust)
args <- commandArgs(trailingOnly = TRUE)
out <- args[1]; maxg <- as.integer(args[2]); dir <- args[3]
prior <- if (length(args) > 3 && args[4] == "prior") priorControl() else NULL
data(diabetes); data(banknote); data(thyroid)
sets <- list(faithful = faithful, iris = iris[, 1:4], diabetes = diabetes[, 2:4],
             banknote = banknote[, 2:7], thyroid = thyroid[, 2:6],
             wine = read.csv(file.path(dir, "wine.csv")))
models <- c("EII","VII","EEI","VEI","EVI","VVI","EEE","EVE","VEE","VVE","EEV","VEV","EVV","VVV")
rows <- list()
for (name in names(sets)) {
  X <- as.matrix(sets[[name]])
  write.csv(X, file.path(dir, paste0(name, ".csv")), row.names = FALSE)
  for (mn in models) for (g in 1:maxg) {
    fit <- tryCatch(Mclust(X, G = g, modelNames = mn, prior = prior, verbose = FALSE),
                    error = function(e) NULL)
    ll <- if (is.null(fit)) NA else fit$loglik
    bic <- if (is.null(fit)) NA else -fit$bic
    rows[[length(rows) + 1]] <- data.frame(data = name, model = mn, G = g, loglik = ll, bic = bic)
  }
  best <- Mclust(X, G = 1:maxg, prior = prior, verbose = FALSE)
  rows[[length(rows) + 1]] <- data.frame(data = name, model = paste0("chosen:", best$modelName),
                                         G = best$G, loglik = best$loglik, bic = -best$bic)
}
write.csv(do.call(rbind, rows), out, row.names = FALSE)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="faithful,iris,diabetes,banknote")
    parser.add_argument("--max-g", type=int, default=6)
    parser.add_argument(
        "--mclust",
        help="a CSV of mclust's fits from an earlier run "
        "(the data sets it wrote are read from its folder)",
    )
    parser.add_argument("--path", choices=("defaults", "select"), default="defaults")
    parser.add_argument("--acceleration", choices=("squarem",), default=None)
    parser.add_argument("--prior", action="store_true", help="mclust's default conjugate prior")
    args = parser.parse_args()
    work = Path(args.mclust).parent if args.mclust else Path(tempfile.mkdtemp(prefix="mclust-"))
    np.savetxt(work / "wine.csv", load_wine().data, delimiter=",",
               header=",".join(f"v{i}" for i in range(13)), comments="")  # fmt: skip
    fits_path = Path(args.mclust) if args.mclust else work / "mclust_fits.csv"
    if not args.mclust:
        if shutil.which("Rscript") is None:
            raise SystemExit("needs R with mclust (apt-get install r-cran-mclust), or --mclust")
        (work / "fits.R").write_text(R_SCRIPT)
        subprocess.run(["Rscript", str(work / "fits.R"), str(fits_path), str(args.max_g),
                        str(work), "prior" if args.prior else "none"], check=True,
                       timeout=3600)  # fmt: skip
        print(f"mclust's fits: {fits_path}")
    wanted = set(args.data.split(","))
    rows = [r for r in csv.DictReader(open(fits_path)) if r["data"] in wanted
            and r["loglik"] not in ("NA", "") and int(r["G"]) <= args.max_g]  # fmt: skip
    if args.prior:
        compare_with_prior(rows, work, args.max_g)
        return
    rows = [r for r in rows if not r["model"].startswith("chosen:")]
    data: dict[str, np.ndarray] = {}
    selections: dict[str, gm.ModelSelection] = {}
    matched, short = 0, []
    started = time.perf_counter()
    extra = {"acceleration": args.acceleration} if args.acceleration else {}
    for r in rows:
        if r["data"] not in data:
            path = work / f"{r['data']}.csv"
            if not path.exists():
                raise SystemExit(f"{path} is missing: run without --mclust to write the data")
            data[r["data"]] = np.loadtxt(path, delimiter=",", skiprows=1)
        X, theirs, G = data[r["data"]], float(r["loglik"]), int(r["G"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = None
            if args.path == "select":
                if r["data"] not in selections:
                    selections[r["data"]] = gm.select_model(X, range(1, args.max_g + 1),
                                                            random_state=0, **extra)  # fmt: skip
                fit = selections[r["data"]].models_.get((G, r["model"]))
            else:
                try:
                    fit = gm.GaussianMixture(G, covariance_type=r["model"], random_state=0,
                                             **extra).fit(X)  # fmt: skip
                except ValueError:
                    pass
            ours = -np.inf if fit is None else fit.score(X) * len(X)
        if ours >= theirs - 1e-6 * abs(theirs):
            matched += 1
        else:
            short.append((r["data"], r["model"], int(r["G"]), round(theirs - ours, 4)))
    what = "select_model" if args.path == "select" else "gradmix's defaults"
    print(
        f"{what} reaches mclust's log-likelihood in {matched} of {len(rows)} fits "
        f"({100 * matched / max(len(rows), 1):.1f} %) in {time.perf_counter() - started:.0f} s"
    )
    for item in sorted(short, key=lambda s: -s[3]):
        print("  short:", item)


def compare_with_prior(rows: list[dict[str, str]], work: Path, max_g: int) -> None:
    """BIC values and choices with mclust's default prior on both sides."""
    same, lower, higher, failed = 0, [], [], []
    started = time.perf_counter()
    for name in dict.fromkeys(r["data"] for r in rows):
        X = np.loadtxt(work / f"{name}.csv", delimiter=",", skiprows=1)
        mine = [r for r in rows if r["data"] == name]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sel = gm.select_model(X, range(1, max_g + 1), prior="default", random_state=0)
            for r in (r for r in mine if not r["model"].startswith("chosen:")):
                theirs, G = float(r["bic"]), int(r["G"])
                try:
                    ours = gm.GaussianMixture(G, covariance_type=r["model"], prior="default",
                                              random_state=0).fit(X).bic(X)  # fmt: skip
                except ValueError:
                    failed.append((name, r["model"], G))
                    continue
                if abs(ours - theirs) <= 1e-4 * abs(theirs):
                    same += 1
                else:
                    (lower if ours < theirs else higher).append(
                        (name, r["model"], G, round(ours - theirs, 3))
                    )
        chosen = next(r for r in mine if r["model"].startswith("chosen:"))
        best = sel.best_params_
        print(
            f"{name}: mclust chooses {chosen['model'][7:]},{chosen['G']} "
            f"(BIC {float(chosen['bic']):.3f}); select_model chooses "
            f"{best['covariance_type']},{best['n_components']} (BIC {sel.top(1)[0][2]:.3f})"
        )
    total = same + len(lower) + len(higher) + len(failed)
    print(f"GaussianMixture(prior='default') BIC equal to mclust's (1e-4) in {same} of {total}, "
          f"lower in {len(lower)}, higher in {len(higher)}, failed in {len(failed)} "
          f"({time.perf_counter() - started:.0f} s)")  # fmt: skip
    for item in sorted(higher, key=lambda s: -s[3]):
        print("  higher:", item)
    for item in failed:
        print("  failed:", item)


if __name__ == "__main__":
    main()
