"""Time to the likelihood's maximum for mixtures of other families: EM, SQUAREM, and EM
followed by Newton's method on the exact Hessian.

Run:  uv run python -m benchmarks.time_to_maximum [--repeats 1] [--tol 1e-8] [--loose 1e-4]

The fits of ``benchmarks/em_acceleration.py --family other`` (eight families on
simulated overlapping components, one k-means start each), four ways:

- plain EM to ``--tol``;
- SQUAREM to ``--tol`` (``acceleration="squarem"``);
- EM to ``--loose``, then trust-region Newton on the exact Hessian by AD
  (``refine="newton"``);
- SQUAREM to ``--loose``, then Newton.

Per fit: E-steps (+ Newton iterations), wall time (best of ``--repeats``, the
four alternating), and how far each ends below the best log-likelihood any of
them reached.  Then the median time ratio of plain EM to each, and the fits
where plain EM stops more than 0.01 below that best (EM crawling where the
likelihood is flat: its tolerance is on the change per step, not the distance
to the maximum).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import gradmix as gm
from benchmarks.em_acceleration import family_sets

#: a fit counts as stopped short when it ends this far below the best log-likelihood
SHORT = 0.01


def fit(family: object, K: int, X: np.ndarray, **kw: object) -> tuple[float, gm.MixtureModel]:
    model = gm.MixtureModel(family, K, init_params="kmeans", n_init=1, random_state=0,
                            max_iter=100_000, **kw)  # fmt: skip
    t = time.perf_counter()
    model.fit(X)
    return time.perf_counter() - t, model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--tol", type=float, default=1e-8)
    parser.add_argument("--loose", type=float, default=1e-4)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    ways = {
        "EM": {"tol": args.tol},
        "SQUAREM": {"tol": args.tol, "acceleration": "squarem"},
        "EM+Newton": {"tol": args.loose, "refine": "newton"},
        "SQUAREM+Newton": {"tol": args.loose, "acceleration": "squarem", "refine": "newton"},
    }
    print(f"plain EM and SQUAREM to tol={args.tol:g}; with Newton, EM to tol={args.loose:g} "
          f"first. Per way: E-steps(+Newton) seconds, and log L below the best")  # fmt: skip
    ratios: dict[str, list[float]] = {w: [] for w in ways if w != "EM"}
    short: list[tuple[str, int, float]] = []
    unconverged: list[tuple[str, int]] = []
    for name, family, X, ks in family_sets():
        for K in ks:
            best: dict[str, tuple[float, gm.MixtureModel]] = {}
            for _ in range(args.repeats):
                for way, kw in ways.items():
                    t, m = fit(family, K, X, **kw)
                    if way not in best or t < best[way][0]:
                        best[way] = (t, m)
            L = {w: m.score(X) * len(X) for w, (_, m) in best.items()}
            top = max(L.values())
            cells = []
            for way, (t, m) in best.items():
                steps = f"{m.n_iter_}" + (f"+{m.n_refine_iter_}" if "Newton" in way else "")
                cells.append(f"{way} {steps:>9s} {t:7.3f}s {L[way] - top:+.1e}")
                if way != "EM":
                    ratios[way].append(best["EM"][0] / t)
                if "Newton" in way and not m.refine_converged_:
                    unconverged.append((f"{name} {way}", K))
            if top - L["EM"] > SHORT:
                short.append((name, K, round(top - L["EM"], 3)))
            print(f"{name:12s} K={K}  " + "  ".join(cells))
    print()
    for way, r in ratios.items():
        print(f"plain EM time / {way} time: median {np.median(r):.2f}, smallest "
              f"{min(r):.2f}, largest {max(r):.2f}")  # fmt: skip
    print(f"plain EM stopped more than {SHORT} below the best in {len(short)} of "
          f"{len(ratios['SQUAREM'])} fits: {short}")  # fmt: skip
    print(f"Newton without a stationary point (an edge of the domain, or its iterations spent): "
          f"{unconverged or 'none'}")  # fmt: skip


if __name__ == "__main__":
    main()
