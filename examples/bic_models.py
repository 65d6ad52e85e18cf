"""Choosing a covariance model by BIC: mclust's fourteen models
==============================================================

``gradmix.select_model`` fits each of mclust's fourteen covariance models with
one to six components, as R's ``Mclust(X)`` does, and keeps the best by BIC
(in scikit-learn's sign: lower is better).  The picture is mclust's BIC plot;
the printout gives the three best models, and the fits left out because a
component sat on tied values (waiting times are whole minutes).

Run:  uv run python examples/bic_models.py
"""

import matplotlib
from _common import output_dir

import gradmix as gm
from gradmix.datasets import load_old_faithful

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main() -> None:
    X = load_old_faithful()
    result = gm.select_model(X, n_components=range(1, 7), random_state=0)
    print("the three best fits (mclust's summary):")
    for model, k, bic in result.top(3):
        print(f"  {model},{k}  BIC {bic:.3f}")
    for (k, model), why in result.errors_.items():
        print(f"  left out: {model},{k}: {why}")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    result.plot(ax=ax)
    ax.set_title("BIC of mclust's fourteen models on Old Faithful")
    path = output_dir() / "bic_models.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(f"saved {path}")


if __name__ == "__main__":
    main()
