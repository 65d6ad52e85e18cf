"""Outliers: a Gaussian mixture, a Student-t mixture and mclust's noise component
==============================================================================

Three well-separated clusters (600 points each), then 5 % of the rows
replaced by points uniform over ten times the data's range. A Gaussian
mixture has no heavy tails: one of its three components goes to the
outliers and two clusters share one. A Student-t mixture keeps its three
components on the clusters and gives the outliers a small expected latent
scale (``outlier_scores_``): they weigh little in the fit. A Gaussian
mixture with a noise component absorbs them in a uniform component instead
(``predict`` labels them -1). The printout gives each fit's distance from
the true means; the picture shows the three fits.

Run:  uv run python examples/outliers.py      (GRADMIX_FULL=1: over 20 random data sets)
"""

import matplotlib
import numpy as np
from _common import full_run, output_dir  # noqa: E402

import gradmix as gm  # noqa: E402
from gradmix import plot  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MEANS = np.array([[0.0, 0.0], [5.0, 5.0], [0.0, 8.0]])


def data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The clusters with 5 % of rows replaced by outliers, and which rows those are."""
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.multivariate_normal(m, 0.8 * np.eye(2), 600) for m in MEANS])
    lo, hi = X.min(axis=0), X.max(axis=0)
    rows = rng.choice(len(X), int(0.05 * len(X)), replace=False)
    X[rows] = (lo + hi) / 2 + (rng.random((len(rows), 2)) - 0.5) * 10 * (hi - lo)
    outlier = np.zeros(len(X), dtype=bool)
    outlier[rows] = True
    return X, outlier


def worst_error(means: np.ndarray) -> float:
    """The largest distance from a true mean to the nearest fitted one."""
    return float(max(np.min(np.linalg.norm(means - mu, axis=1)) for mu in MEANS))


def fits(X: np.ndarray, seed: int) -> dict[str, gm.GaussianMixture | gm.StudentTMixture]:
    return {
        "Gaussian mixture": gm.GaussianMixture(3, random_state=seed).fit(X),
        "Student-t mixture": gm.StudentTMixture(3, random_state=seed).fit(X),
        "Gaussian + noise component": gm.GaussianMixture(3, noise=True, random_state=seed).fit(X),
    }


def main() -> None:
    X, outlier = data(0)
    models = fits(X, 0)
    print("largest distance from a true mean to the fitted ones:")
    for name, m in models.items():
        print(f"  {name:<28} {worst_error(m.means_):.3f}")
    t = models["Student-t mixture"]
    noisy = models["Gaussian + noise component"]
    print(f"\nStudent-t degrees of freedom: {np.round(t.degrees_of_freedom_, 2)}")
    print(f"median expected scale: outliers {np.median(t.outlier_scores_[outlier]):.3f}, "
          f"the others {np.median(t.outlier_scores_[~outlier]):.3f}")  # fmt: skip
    labels = noisy.predict(X)
    print(f"noise component: weight {noisy.noise_weight_:.3f}, "
          f"{np.mean(labels[outlier] == -1):.0%} of the outliers and "
          f"{np.mean(labels[~outlier] == -1):.1%} of the others labelled noise")  # fmt: skip

    if full_run():
        errors = np.array([[worst_error(m.means_) for m in fits(*data(s)[:1], s).values()]
                           for s in range(1, 21)])  # fmt: skip
        print("\nover 20 data sets, median of the largest error:")
        for name, err in zip(models, np.median(errors, axis=0), strict=True):
            print(f"  {name:<28} {err:.3f}")

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8), sharex=True, sharey=True)
    inner = ~outlier
    for ax, (name, m) in zip(axes, models.items(), strict=True):
        plot.plot_clusters(ax, X, m.predict(X), title=name)
        plot.plot_ellipses(ax, m, n_std=(2.0,))
        ax.set_xlim(X[inner, 0].min() - 4, X[inner, 0].max() + 4)
        ax.set_ylim(X[inner, 1].min() - 4, X[inner, 1].max() + 4)
        ax.plot(*MEANS.T, "k+", ms=14, mew=2)
    fig.suptitle("5 % of the rows replaced by outliers over ten times the range (+: true means)")
    path = output_dir() / "outliers.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    print(f"\nsaved {path}")


if __name__ == "__main__":
    main()
