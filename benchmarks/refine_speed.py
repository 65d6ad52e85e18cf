"""Newton refinement and standard errors of Gaussian mixtures: seconds, and the results.

Run:  uv run python -m benchmarks.refine_speed [--large]

For a before/after figure run it alternately on two checkouts
(``PYTHONPATH=/path/to/other/src uv run python -m benchmarks.refine_speed``):
it prints the seconds of ``refine="newton"`` (3 000 simulated 2-D rows, full,
K = 5, ``reg_covar=0``, EM to ``tol=1e-4`` first) and of ``standard_errors``
(3 000 simulated 5-D rows, full, K = 4), and the refined log-likelihood and an
error to compare across checkouts.  ``--large`` adds the refinement on 20 000
simulated 5-D rows (minutes before 2026-12-08).
"""

from __future__ import annotations

import argparse
import time
import warnings

import gradmix as gm
from benchmarks.em_acceleration import data_sets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    sets = data_sets()
    names = ["sim 2-D 3k"] + (["sim 5-D 20k"] if args.large else [])
    for name in names:
        X = sets[name]
        t = time.perf_counter()
        m = gm.GaussianMixture(5, covariance_type="full", reg_covar=0, init_params="kmeans",
                               random_state=0, tol=1e-4, refine="newton",
                               max_iter=1000).fit(X)  # fmt: skip
        print(f"refine='newton', {name}, full, K = 5: {time.perf_counter() - t:.3f} s, "
              f"{m.n_refine_iter_} Newton steps, log L {m.score(X) * len(X):.9f}")  # fmt: skip
    Y = sets["sim 5-D 3k"]
    h = gm.GaussianMixture(4, covariance_type="full", random_state=0, tol=1e-8).fit(Y)
    t = time.perf_counter()
    se = h.standard_errors(Y)
    print(f"standard_errors, sim 5-D 3k, full, K = 4: {time.perf_counter() - t:.3f} s, "
          f"the first mean's {se['means'][0, 0]:.12f}")  # fmt: skip


if __name__ == "__main__":
    main()
