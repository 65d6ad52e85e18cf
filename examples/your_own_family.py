"""A mixture of a distribution you write yourself: skew-normal components in ten lines
===================================================================================

gradmix fits mixtures of any density written in numpy: name the parameters
and their domains, and the M-step is Newton's method on exact derivatives
that gradmix's AD takes of your code.  Here the skew-normal (Azzalini), which
scikit-learn, mclust and pomegranate do not have, fit to waiting times that
are skewed two ways.  The picture shows the histogram, the fitted mixture and
each component; the printout gives the parameters with standard errors from
the exact observed information.

Run:  uv run python examples/your_own_family.py
"""

import matplotlib
import numpy as np
from _common import output_dir  # noqa: E402

import gradmix as gm  # noqa: E402
import gradmix.scipy.special as sc  # noqa: E402
from scipy import stats

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


# ---- the whole family: its log-density, its parameters and their domains ----------------
def skew_normal(x, loc, scale, alpha):
    z = (x[:, 0] - loc) / scale
    return np.log(2 / scale) - 0.5 * np.log(2 * np.pi) - 0.5 * z**2 + sc.log_ndtr(alpha * z)


family = gm.Family(skew_normal, {"loc": "real", "scale": "positive", "alpha": "real"},
                   name="skew-normal")  # fmt: skip
# ------------------------------------------------------------------------------------------


def main() -> None:
    rng = np.random.default_rng(7)
    X = np.r_[stats.skewnorm.rvs(5, 2, 1.5, size=1200, random_state=rng),
              stats.skewnorm.rvs(-4, 12, 2.5, size=800, random_state=rng)][:, None]  # fmt: skip
    model = gm.MixtureModel(family, 2, random_state=0, tol=1e-8, max_iter=1000).fit(X)
    se = model.standard_errors(X)
    order = np.argsort(model.params_["loc"])
    print(f"converged {model.converged_} after {model.n_iter_} EM iterations, "
          f"log-likelihood {model.score(X) * len(X):.2f}, BIC {model.bic(X):.2f}")  # fmt: skip
    print("component   weight        loc          scale        alpha   (± standard errors)")
    for k in order:
        cells = [f"{model.weights_[k]:.3f}±{se['weights'][k]:.3f}"]
        cells += [f"{model.params_[n][k]:6.3f}±{se[n][k]:.3f}" for n in ("loc", "scale", "alpha")]
        print(f"    {k}       " + "   ".join(cells))
    print("truth: weights 0.6, 0.4; (loc, scale, alpha) (2, 1.5, 5) and (12, 2.5, -4)")

    gauss = gm.GaussianMixture(2, random_state=0).fit(X)
    print(f"a Gaussian mixture's BIC on the same data: {gauss.bic(X):.2f}")

    grid = np.linspace(X.min() - 1, X.max() + 1, 500)[:, None]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.hist(X[:, 0], bins=70, density=True, color="0.8", label="data")
    ax.plot(grid, np.exp(model.score_samples(grid)), color="k", lw=2, label="skew-normal mixture")
    for k in order:
        params = {n: model.params_[n][k] for n in model.params_}
        ax.plot(grid, model.weights_[k] * np.exp(skew_normal(grid, **params)), lw=1.3, ls="--",
                label=f"component {k}")  # fmt: skip
    ax.plot(grid, np.exp(gauss.score_samples(grid)), color="tab:red", lw=1,
            label="Gaussian mixture")  # fmt: skip
    ax.set_xlabel("x")
    ax.set_title("A mixture of the user's skew-normal family, fit by EM with AD M-steps")
    ax.legend(fontsize=8)
    path = output_dir() / "your_own_family.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    print(f"saved {path}")


if __name__ == "__main__":
    main()
