"""EM on Old Faithful, one iteration at a time
=============================================

The lecture's picture: a two-component Gaussian mixture fit to the Old Faithful
geyser's eruptions and waiting times by EM, from a poor start.  Each panel is
one iteration: points coloured by their responsibilities, ellipses at one and
two standard deviations.  The printout compares the fit with scikit-learn's
from the same start.

Run:  uv run python examples/em_faithful.py
"""

import matplotlib
import numpy as np
from _common import output_dir
from sklearn.mixture import GaussianMixture as SkGMM

import gradmix as gm
from gradmix.datasets import load_old_faithful
from gradmix.plot import plot_em_iterations

matplotlib.use("Agg")


def main() -> None:
    X = load_old_faithful()
    X = (X - X.mean(axis=0)) / X.std(axis=0)  # standardised, as in the lecture
    start = np.array([[-1.5, 1.0], [1.5, -1.0]])  # a poor start, across the clusters
    fig = plot_em_iterations(X, means_init=start, iterations=(0, 1, 2, 4, 8, 30),
                             ncols=3, feature_names=("eruptions", "waiting"))  # fmt: skip
    ours = gm.GaussianMixture(2, means_init=start, random_state=0).fit(X)
    theirs = SkGMM(2, means_init=start, random_state=0).fit(X)
    print(f"gradmix       log-likelihood {ours.score(X) * len(X):.6f} in {ours.n_iter_} iterations")
    print(f"scikit-learn  log-likelihood {theirs.score(X) * len(X):.6f} in {theirs.n_iter_}")
    print("weights", np.round(ours.weights_, 4), "means", np.round(ours.means_, 3).tolist())
    path = output_dir() / "em_faithful.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(f"saved {path}")


if __name__ == "__main__":
    main()
