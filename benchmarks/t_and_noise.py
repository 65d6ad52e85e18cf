"""Student-t mixtures and mclust's noise component: the figures RESULTS.md quotes.

Run:  uv run python benchmarks/t_and_noise.py [--seeds 10]

1. Degrees of freedom recovered from t mixtures (ν = 4, K = 3, d = 3,
   n = 20 000) drawn with each scale model's own structure.
2. Robustness: three clusters with 5 % of the rows replaced by points uniform
   over ten times the data's range; the largest distance from a true mean
   to the fitted ones, for a Gaussian mixture, a Student-t mixture and a
   Gaussian mixture with a noise component, over ``--seeds`` data sets.
3. The noise component against mclust 6.0.0 (figures computed with R, as in
   tests/mixture/test_noise.py): Old Faithful with 50 uniform points, from
   the same noise mask, at mclust's stopping rule and at scikit-learn's
   default tolerance.

The timing ratios (a t or noise iteration against a Gaussian one) are in
``gmm_speed.py``'s output.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

import gradmix as gm
from gradmix.datasets import load_old_faithful
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.mixture.test_models import random_model_covariances  # noqa: E402

MEANS3 = np.array([[0.0, 0.0, 0.0], [8.0, 0.0, 1.0], [0.0, 8.0, -1.0]])
MEANS2 = np.array([[0.0, 0.0], [5.0, 5.0], [0.0, 8.0]])
MCLUST = {"VVV": (-1456.8909866698, 57), "EEE": (-1469.6384677766, 61),
          "VII": (-1646.1434453477, 271), "EEI": (-1474.9647467193, 65),
          "VEV": (-1461.8893574529, 49)}  # fmt: skip


def recovery(letters: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scale = random_model_covariances(letters, 3, 3, rng) * 0.5
    z = rng.choice(3, size=20_000, p=[0.45, 0.35, 0.2])
    X = np.empty((20_000, 3))
    for k in range(3):
        X[z == k] = stats.multivariate_t(MEANS3[k], scale[k], df=4.0, seed=rng).rvs(
            int(np.sum(z == k)))  # fmt: skip
    m = gm.StudentTMixture(3, covariance_type=letters, tol=1e-7, max_iter=1000,
                           random_state=0).fit(X)  # fmt: skip
    return np.sort(m.degrees_of_freedom_)


def outliers(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.multivariate_normal(m, 0.8 * np.eye(2), 600) for m in MEANS2])
    lo, hi = X.min(axis=0), X.max(axis=0)
    rows = rng.choice(len(X), int(0.05 * len(X)), replace=False)
    X[rows] = (lo + hi) / 2 + (rng.random((len(rows), 2)) - 0.5) * 10 * (hi - lo)
    fits = (gm.GaussianMixture(3, random_state=seed), gm.StudentTMixture(3, random_state=seed),
            gm.GaussianMixture(3, noise=True, random_state=seed))  # fmt: skip
    return np.array([max(np.min(np.linalg.norm(f.fit(X).means_ - mu, axis=1)) for mu in MEANS2)
                     for f in fits])  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", type=int, default=10)
    args = p.parse_args()
    warnings.simplefilter("ignore")
    print("1. degrees of freedom fitted to t mixtures with ν = 4 (n = 20 000, K = 3, d = 3)")
    for i, letters in enumerate(("VVV", "EEE", "VVI", "EII", "VEV", "EVE")):
        print(f"   {letters}: {np.round(recovery(letters, 100 + i), 2)}")
    print(f"\n2. 5 % outliers over 10x the range, largest mean error over {args.seeds} data sets")
    errors = np.array([outliers(s) for s in range(args.seeds)])
    for j, name in enumerate(("Gaussian mixture", "Student-t mixture", "Gaussian + noise")):
        e = errors[:, j]
        print(f"   {name:<20} median {np.median(e):.3f}   max {np.max(e):.3f}")
    print("\n3. noise component from mclust's mask: log-likelihood and noise rows, "
          "mclust 6.0.0 / gradmix")  # fmt: skip
    X = load_old_faithful()
    Y = np.vstack([X, np.random.default_rng(2026).uniform(X.min(0), X.max(0), size=(50, 2))])
    mask = np.r_[np.zeros(272, bool), np.ones(50, bool)]
    for name, (loglik, n_noise) in MCLUST.items():
        rule = gm.GaussianMixture(2, covariance_type=name, noise=mask, init_params="hc",
                                  tol=4.5e-5).fit(Y)  # fmt: skip
        plain = gm.GaussianMixture(2, covariance_type=name, noise=mask, random_state=0).fit(Y)
        print(
            f"   {name}: mclust {loglik:.3f} ({n_noise})   gradmix at mclust's rule "
            f"{rule.score(Y) * len(Y):.3f} ({np.sum(rule.predict(Y) == -1)})   "
            f"defaults {plain.score(Y) * len(Y):.3f} ({np.sum(plain.predict(Y) == -1)})"
        )


if __name__ == "__main__":
    main()
