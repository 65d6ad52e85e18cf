"""Time to the maximum: EM stops short where the likelihood is flat; SQUAREM and Newton do not
===========================================================================================

EM's ``tol`` bounds how much one step changes the log-likelihood, not how far
the fit is from the maximum, and where components overlap EM's steps shrink
long before it gets there.  A mixture of three gamma distributions shows it:
plain EM at ``tol=1e-8`` takes about 700 passes over the data and stops a
quarter of a log-likelihood unit below the maximum.  SQUAREM
(``acceleration="squarem"``) extrapolates EM's path and gets as far in a
seventh of the passes (its ``tol`` means the same, so it stops there too);
EM stopped at ``tol=1e-4`` and followed by Newton's method on the exact
Hessian (``refine="newton"``, derivatives by gradmix's AD) reaches the
maximum itself.  The picture shows each fit's distance from the maximum
along its passes.

Run:  uv run python examples/time_to_solution.py
"""

import time

import matplotlib
import numpy as np
from _common import output_dir  # noqa: E402

import gradmix as gm  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main() -> None:
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 3, 2000)
    X = rng.gamma(np.array([2.0, 5.0, 9.0])[labels], 1.0)[:, None]  # overlapping components
    ways = {
        "EM, tol=1e-8": {"tol": 1e-8},
        "SQUAREM, tol=1e-8": {"tol": 1e-8, "acceleration": "squarem"},
        "EM to 1e-4, then Newton": {"tol": 1e-4, "refine": "newton"},
    }
    fits = {}
    for name, kw in ways.items():
        t = time.perf_counter()
        model = gm.MixtureModel("gamma", 3, random_state=0, max_iter=100_000, **kw).fit(X)
        fits[name] = (model, time.perf_counter() - t)
    top = max(model.score(X) * len(X) for model, _ in fits.values())
    print(f"{'':26s} passes   seconds   log-likelihood   below the maximum")
    for name, (model, seconds) in fits.items():
        passes = f"{model.n_iter_}" + (f"+{model.n_refine_iter_}" if "Newton" in name else "")
        L = model.score(X) * len(X)
        print(f"{name:26s} {passes:>6s}   {seconds:7.3f}   {L:14.6f}   {top - L:.2e}")

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, (model, _) in fits.items():
        gap = top - np.asarray(model.lower_bounds_) * len(X)
        ax.semilogy(np.arange(1, len(gap) + 1), np.maximum(gap, 1e-12), label=name)
    ax.set_xscale("log")
    ax.set_xlabel("EM's passes over the data (after the last, Newton's result)")
    ax.set_ylabel("log-likelihood below the maximum")
    ax.set_title("A three-component gamma mixture: where each fit is, pass by pass")
    ax.legend()
    path = output_dir() / "time_to_solution.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    print(f"saved {path}")


if __name__ == "__main__":
    main()
