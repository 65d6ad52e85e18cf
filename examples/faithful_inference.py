"""Inference on Old Faithful: model choice, standard errors, Newton after EM
=========================================================================

The lecture ends with the marginal likelihood of a mixture and "we will have
to do gradient ascent"; EM is the easier route. gradmix differentiates that
likelihood exactly, so after EM it can (1) choose the model by BIC/ICL over a
grid, (2) give standard errors from the observed information, and (3) finish
EM's slow linear convergence with a few Newton steps.

Run:  uv run python examples/faithful_inference.py      (GRADMIX_FULL=1: larger grid)
"""

import time
import warnings

import matplotlib
import numpy as np
from _common import full_run, output_dir  # noqa: E402

import gradmix as gm  # noqa: E402
from gradmix.datasets import load_old_faithful  # noqa: E402

matplotlib.use("Agg")


def timed(make):
    t = time.perf_counter()
    out = make()
    return out, time.perf_counter() - t


def em_against_newton(X, label, **kw):
    """EM to tol 1e-13 against EM to 1e-3 followed by Newton; same start, reg_covar 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        slow, t_slow = timed(lambda: gm.GaussianMixture(tol=1e-13, max_iter=200_000,
                                                        reg_covar=0, **kw).fit(X))  # fmt: skip
        fast, t_fast = timed(lambda: gm.GaussianMixture(refine="newton", reg_covar=0,
                                                        **kw).fit(X))  # fmt: skip
    gap = np.max(np.abs(slow.means_ - fast.means_))
    print(f"{label}:\n"
          f"  EM to tol 1e-13    : {slow.n_iter_:6d} EM iterations, {t_slow:6.3f} s, "
          f"mean log-lik {slow.lower_bound_:.13f}\n"
          f"  EM to 1e-3 + Newton: {fast.n_iter_:6d} EM + {fast.n_refine_iter_} Newton "
          f"iterations, {t_fast:6.3f} s, mean log-lik {fast.lower_bound_:.13f}\n"
          f"  (means differ by {gap:.1e}: EM at tol 1e-13 is still that far from the "
          f"maximum Newton reaches)")  # fmt: skip


def main() -> None:
    X = load_old_faithful()
    ks = range(1, 10) if full_run() else range(1, 6)
    sel = gm.select_model(X, ks, criterion="bic", random_state=0)
    print("BIC (lower is better) per number of components and covariance type:")
    print(sel.table_.round(1).to_string())
    print(f"best: {sel.best_params_}")
    ax = sel.plot()
    path = output_dir() / "faithful_selection.png"
    ax.figure.savefig(path, dpi=120, bbox_inches="tight")
    print(f"saved {path}")

    icl = gm.select_model(X, ks, criterion="icl", random_state=0)
    print(f"ICL's choice: {icl.best_params_}")

    # the selected model, refined to the exact maximum, with standard errors
    best = sel.best_params_
    model = gm.GaussianMixture(best["n_components"], covariance_type=best["covariance_type"],
                               reg_covar=0, refine="newton", random_state=0).fit(X)  # fmt: skip
    se = model.standard_errors(X)
    ci = model.confidence_intervals(X, level=0.95)
    print(f"\n{best['n_components']} components, {best['covariance_type']} covariance "
          "(eruption minutes, waiting minutes): estimate ± standard error")  # fmt: skip
    for k in range(model.n_components):
        w, sw = model.weights_[k], se["weights"][k]
        m, sm = model.means_[k], se["means"][k]
        print(f"  component {k}: weight {w:.3f} ± {sw:.3f}   "
              f"mean ({m[0]:.3f} ± {sm[0]:.3f}, {m[1]:.2f} ± {sm[1]:.2f})   "
              f"95% CI of the waiting mean [{ci['means'][0][k, 1]:.2f}, "
              f"{ci['means'][1][k, 1]:.2f}]")  # fmt: skip
    cov, scov = np.atleast_3d(model.covariances_), np.atleast_3d(se["covariances"])
    print("  covariance entries ± se:", np.array2string(cov.ravel(), precision=3),
          "±", np.array2string(scov.ravel(), precision=3))  # fmt: skip

    print()
    em_against_newton(X, "Old Faithful, K = 3, full", n_components=3, random_state=0)
    # a harder case: two heavily overlapping components, where EM crawls
    rng = np.random.default_rng(0)
    n = 20_000 if full_run() else 2_000
    A = np.array([[1.2, 0.3], [0.0, 0.8]])
    Y = np.concatenate([rng.normal(size=(n // 2, 2)), rng.normal(size=(n // 2, 2)) @ A + 1.5])
    em_against_newton(Y, f"two overlapping components, n = {n}, full", n_components=2,
                      random_state=0)  # fmt: skip


if __name__ == "__main__":
    main()
