"""Old Faithful with holes: EM on the observed values, imputation, and the complete fit
====================================================================================

Real data have missing entries. Remove 20 % of the Old Faithful values at
random, then compare three ways of fitting the 2-component mixture:

- gradmix's ``missing="em"`` (Ghahramani & Jordan): every row's observed
  values count, through its marginal density and the conditional moments of
  what is missing;
- dropping every row with a hole (what scikit-learn leaves you to do);
- filling holes with the column means before an ordinary fit.

The fit on the complete data is the reference. The imputation of the holes
(the mixture's conditional expectation) is compared with column-mean filling
by RMSE against the values that were removed. The picture shows the
complete data, the rows with holes placed where the fitted mixture expects
them, and the fitted ellipses of the complete-data and missing-value fits.

Run:  uv run python examples/faithful_missing.py      (GRADMIX_FULL=1: 50 random hole patterns)
"""

import warnings

import matplotlib
import numpy as np
from _common import full_run, output_dir  # noqa: E402

import gradmix as gm  # noqa: E402
from gradmix import plot  # noqa: E402
from gradmix.datasets import load_old_faithful  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FRACTION = 0.2


def with_holes(X, seed):
    holes = np.random.default_rng(seed).random(X.shape) < FRACTION
    return np.where(holes, np.nan, X), holes


def ordered(model):
    """Components in the order of their eruption time (short, long)."""
    return np.argsort(model.means_[:, 0])


def mean_error(model, reference, scale):
    """The largest difference of the component means, in standard deviations of each column."""
    gap = model.means_[ordered(model)] - reference.means_[ordered(reference)]
    return np.abs(gap / scale).max()


def compare(X, seed):
    """Errors of the three fits' means against the complete-data fit, and imputation RMSEs."""
    Xm, holes = with_holes(X, seed)
    reference = gm.GaussianMixture(2, random_state=0).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # rows with no value left: counted below
        em = gm.GaussianMixture(2, missing="em", random_state=0).fit(Xm)
    complete_rows = ~np.isnan(Xm).any(axis=1)
    dropped = gm.GaussianMixture(2, random_state=0).fit(Xm[complete_rows])
    column_mean = np.where(holes, np.nanmean(Xm, axis=0), Xm)
    filled = gm.GaussianMixture(2, random_state=0).fit(column_mean)
    imputed = em.impute(Xm)
    rmse = {name: np.sqrt(np.mean(((Z - X)[holes] / X.std(axis=0)[np.nonzero(holes)[1]]) ** 2))
            for name, Z in (("mixture", imputed), ("column mean", column_mean))}  # fmt: skip
    errors = {name: mean_error(m, reference, X.std(axis=0))
              for name, m in (("missing='em'", em), ("rows with holes dropped", dropped),
                              ("holes as column means", filled))}  # fmt: skip
    return errors, rmse, (Xm, holes, reference, em, imputed)


def main() -> None:
    X = load_old_faithful()
    errors, rmse, (Xm, holes, reference, em, imputed) = compare(X, seed=0)
    n_rows = int(np.isnan(Xm).any(axis=1).sum())
    n_empty = int(np.isnan(Xm).all(axis=1).sum())
    print(f"Old Faithful, {X.shape[0]} eruptions: {int(holes.sum())} of {holes.size} values "
          f"({holes.mean():.0%}) removed at random, in {n_rows} rows ({n_empty} with no value "
          "left, which no method can use)\n")  # fmt: skip
    print(
        "largest error of the component means against the complete-data fit "
        "(in standard deviations of each column):"
    )
    for name, err in errors.items():
        print(f"  {name:<26} {err:.4f}")
    print("\nimputation of the removed values, RMSE in standard deviations of each column:")
    for name, err in rmse.items():
        print(f"  {name:<26} {err:.3f}")
    print(
        f"\ncomplete-data fit : weights {np.round(reference.weights_[ordered(reference)], 3)}"
        f"  means {np.round(reference.means_[ordered(reference)], 2).tolist()}"
    )
    print(f"missing-value fit : weights {np.round(em.weights_[ordered(em)], 3)}"
          f"  means {np.round(em.means_[ordered(em)], 2).tolist()}")  # fmt: skip

    if full_run():
        results = [compare(X, seed) for seed in range(1, 51)]
        print("\nover 50 random hole patterns (median):")
        for name in errors:
            print(f"  mean error, {name:<26} {np.median([r[0][name] for r in results]):.4f}")
        for name in rmse:
            print(f"  imputation RMSE, {name:<20} {np.median([r[1][name] for r in results]):.3f}")

    fig, ax = plt.subplots(figsize=(7, 5.2))
    whole = ~np.isnan(Xm).any(axis=1)
    ax.scatter(*X[whole].T, s=10, color="0.55", label="complete rows")
    ax.scatter(*imputed[~whole].T, s=22, marker="+", color="tab:purple",
               label="rows with holes, imputed")  # fmt: skip
    plot.plot_ellipses(ax, reference, n_std=(2.0,), colors=["0.2", "0.2"], lw=1.2)
    plot.plot_ellipses(ax, em, n_std=(2.0,), colors=["tab:orange", "tab:orange"])
    ax.plot([], [], color="0.2", label="complete-data fit (2 sd)")
    ax.plot([], [], color="tab:orange", label="fit with 20 % missing (2 sd)")
    ax.set_xlabel("eruption (minutes)")
    ax.set_ylabel("waiting (minutes)")
    ax.set_title("Old Faithful with 20 % of the values removed: EM on what is observed")
    ax.legend(loc="upper left", fontsize=8)
    path = output_dir() / "faithful_missing.png"
    fig.savefig(path, dpi=120, bbox_inches="tight")
    print(f"\nsaved {path}")


if __name__ == "__main__":
    main()
