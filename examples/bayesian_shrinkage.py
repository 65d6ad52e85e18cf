"""Bayesian shrinkage of the weights: a Dirichlet-process mixture
================================================================

A variational Gaussian mixture with ten components, fit to data from three:
the Dirichlet-process prior shrinks the weights of the components the data do
not need, update by update, so the number of components need not be chosen.
The picture follows every weight; the printout counts the components above
1 %.

Run:  uv run python examples/bayesian_shrinkage.py
"""

import matplotlib
import numpy as np
from _common import output_dir

import gradmix as gm
from gradmix.plot import plot_weight_shrinkage

matplotlib.use("Agg")


def main() -> None:
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [5.0, 1.0], [1.0, 6.0]])
    X = np.vstack([rng.normal(c, 0.8, size=(150, 2)) for c in centres])
    ax, model = plot_weight_shrinkage(X, n_components=10, max_iter=200)
    print("weights", np.round(np.sort(model.weights_)[::-1], 4))
    big = int(np.sum(model.weights_ > 0.01))
    print(f"components above 1 %: {big} (the data have 3)")
    refit = gm.BayesianGaussianMixture(n_components=10, random_state=0).fit(X)
    print(f"a fit to convergence keeps {int(np.sum(refit.weights_ > 0.01))} above 1 %")
    path = output_dir() / "bayesian_shrinkage.png"
    ax.figure.savefig(path, dpi=100, bbox_inches="tight")
    print(f"saved {path}")


if __name__ == "__main__":
    main()
