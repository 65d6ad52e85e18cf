"""Newton's method with exact derivatives (the lecture's motivation)
=================================================================

Run:  uv run python examples/newton.py
"""

import numpy as np

from gradmix.solve import newton


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


if __name__ == "__main__":
    main()
