"""Newton's method with exact derivatives (the lecture's motivation)
=================================================================

Newton's own cubic and a 2-D system, each derivative by forward-mode AD.
The picture shows the quadratic convergence: the number of correct digits
doubles at every step until rounding stops it.

Run:  uv run python examples/newton.py
"""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from _common import output_dir

from gradmix.solve import newton

matplotlib.use("Agg")


def main() -> None:
    # Newton's own example (1669): x³ - 2x - 5 = 0, from x0 = 2
    root = 2.0945514815423265
    r = newton(lambda x: x**3 - 2 * x - 5, 2.0)
    print("x^3 - 2x - 5 = 0 from x0 = 2 (derivative by forward-mode AD)")
    for k, x in enumerate(r.iterates):
        err = abs(x - root)
        digits = 16 if err == 0 else -np.log10(err / root)
        print(f"  step {k}: x = {x:.16f}   |f(x)| = {abs(x**3 - 2 * x - 5):.1e}   "
              f"correct digits {min(digits, 16):4.1f}")  # fmt: skip
    print(f"  gradmix: x = {r.x:.16f} after {r.iterations} steps, converged = {r.converged}")
    print("  residual history:", ", ".join(f"{v:.1e}" for v in r.residuals))

    # a 2-D system: a circle of radius 2 meets the curve y = 1 - exp(x)
    def F(v):
        return np.array([v[0] ** 2 + v[1] ** 2 - 4, np.exp(v[0]) + v[1] - 1])

    r2 = newton(F, np.array([1.0, -1.7]))
    print(f"\nsystem: x = {r2.x}, |F| = {np.max(np.abs(F(r2.x))):.1e}, "
          f"{r2.iterations} steps, residuals {[f'{v:.1e}' for v in r2.residuals]}")  # fmt: skip

    fig, ax = plt.subplots(figsize=(6, 4))
    floor = 1e-17  # a residual of exactly 0 is drawn at the bottom
    ax.semilogy(np.maximum(r.residuals, floor), "o-", label="x³ - 2x - 5 = 0")
    ax.semilogy(np.maximum(r2.residuals, floor), "s-", label="circle ∩ (y = 1 - eˣ)")
    ax.set_ylim(floor / 3, 100)
    ax.set_xlabel("Newton step")
    ax.set_ylabel("residual |F(x)|")
    ax.set_title("Quadratic convergence with AD derivatives")
    ax.legend()
    path = output_dir() / "newton.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(f"saved {path}")


if __name__ == "__main__":
    main()
