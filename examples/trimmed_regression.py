"""Least trimmed squares: a sort inside the objective, compiled
=============================================================

A line through points of which a fifth are gross outliers at high leverage.
Ordinary least squares follows them. Least trimmed squares (Rousseeuw, 1984)
minimises the sum of the ``h`` smallest squared residuals, so its objective
sorts: which residuals count depends on the coefficients. ``gm.compile``
records the sort's order as an operation of the generated program, so the
compiled value and gradient are right at every coefficient vector, not only
at the one it was traced at. The objective is piecewise quadratic with many
local minima; as in FAST-LTS, BFGS starts from lines through random pairs of
points, and the best end wins. The printout checks the compiled gradient
against eager mode and central differences, and gives both fits against the
true line.

Run:  uv run python examples/trimmed_regression.py     (GRADMIX_FULL=1: 5 000 points)
"""

import time

import matplotlib
import numpy as np
from _common import full_run, output_dir
from scipy.optimize import minimize

import gradmix as gm

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

TRUTH = np.array([2.0, 0.5])  # intercept, slope


def data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points on the true line with noise; a fifth replaced by outliers far below it."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 10.0, n)
    y = TRUTH[0] + TRUTH[1] * x + rng.normal(scale=0.5, size=n)
    bad = rng.random(n) < 0.2
    x[bad] = rng.uniform(8.0, 10.0, bad.sum())
    y[bad] = rng.normal(-4.0, 1.0, bad.sum())
    return np.column_stack([np.ones(n), x]), y, bad


def main() -> None:
    n = 5000 if full_run() else 300
    X, y, bad = data(n)
    h = int(0.75 * n)  # the residuals that count: more than the good rows' share is unsafe

    def trimmed(beta: np.ndarray) -> np.ndarray:
        return np.sum(np.sort((y - X @ beta) ** 2)[:h])

    vg = gm.compile(trimmed, np.zeros(2))  # traced once, at β = 0

    # the program recomputes the order: right away from the trace point too
    beta = np.array([1.0, 0.8])
    _, grad = vg(beta)
    eager = gm.grad(trimmed)(beta)
    central = gm.divided_difference(trimmed, beta, 1e-6, "central")
    print(f"at beta = {beta}: compiled gradient {grad}, eager {eager}, central {central}")
    rel = np.max(np.abs(grad - central)) / np.max(np.abs(grad))
    print(f"  |compiled - eager| = {np.max(np.abs(grad - eager)):.1e}, "
          f"|compiled - central| / |grad| = {rel:.1e}")  # fmt: skip

    rng = np.random.default_rng(1)
    best = None
    for _ in range(20):  # lines through random pairs of points
        i, j = rng.choice(n, 2, replace=False)
        start = np.linalg.solve(X[[i, j]], y[[i, j]])
        res = minimize(vg, start, jac=True, method="BFGS")
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    ols = np.linalg.lstsq(X, y, rcond=None)[0]
    print(f"truth: intercept {TRUTH[0]:.3f}, slope {TRUTH[1]:.3f}")
    print(f"OLS:   intercept {ols[0]:.3f}, slope {ols[1]:.3f}")
    print(f"LTS:   intercept {best.x[0]:.3f}, slope {best.x[1]:.3f} (h = {h} of {n} residuals)")

    t_f = min(_time(lambda: trimmed(best.x)) for _ in range(20))
    t_c = min(_time(lambda: vg(best.x)) for _ in range(20))
    t_e = min(_time(lambda: gm.value_and_grad(trimmed)(best.x)) for _ in range(20))
    print(f"time / time of the objective: compiled value and gradient {t_c / t_f:.1f}, "
          f"eager {t_e / t_f:.1f}")  # fmt: skip

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(X[~bad, 1], y[~bad], s=6, color="0.5", label="points")
    ax.scatter(X[bad, 1], y[bad], s=6, color="tab:red", label="outliers")
    grid = np.array([0.0, 10.0])
    ax.plot(grid, ols[0] + ols[1] * grid, color="tab:orange", label="least squares")
    ax.plot(grid, best.x[0] + best.x[1] * grid, color="tab:blue", label="least trimmed squares")
    ax.plot(grid, TRUTH[0] + TRUTH[1] * grid, "k--", lw=1, label="true line")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(fontsize=8)
    ax.set_title("A sort in the objective, compiled with gm.compile")
    fig.savefig(output_dir() / "trimmed_regression.png", dpi=100, bbox_inches="tight")


def _time(fn: object) -> float:
    t = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
