"""A tour of gradmix's AD on the lecture's examples
================================================

Dual numbers, reverse mode and Newton's method on the lecture's
f(x1, x2) = x1·x2 + sin(x1).  The pictures are the lecture's: the program's
graph with each node's value, tangent and adjoint (all computed by gradmix),
and the error of divided differences against the step h, where AD's error is
rounding alone.

Run:  uv run python examples/ad_tour.py
"""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from _common import output_dir

import gradmix as gm
from gradmix.plot import plot_divided_differences, plot_dual_program

matplotlib.use("Agg")


def f(x1, x2):
    return x1 * x2 + np.sin(x1)


def main() -> None:
    # forward mode: a dual number per input, all directions in one sweep
    y = f(gm.Dual(1.5, [1.0, 0.0]), gm.Dual(2.0, [0.0, 1.0]))
    print("f =", float(y.primal), " gradient by dual numbers =", y.tangent)

    # reverse mode: one backward sweep gives the whole gradient
    print("gradient by reverse mode =", gm.grad(f, argnums=(0, 1))(1.5, 2.0))

    # Newton's method, the lecture's motivation, with an exact derivative
    g = lambda x: x**3 - 2 * x - 5  # noqa: E731
    dg = gm.derivative(g)
    x = 2.0
    for k in range(6):
        x = x - g(x) / dg(x)
        print(f"Newton step {k + 1}: x = {x:.16f}  residual = {g(x):+.2e}")

    # divided differences against AD for x³ at 1 (exact derivative 3)
    for h in (1e-1, 1e-4, 1e-8, 1e-12):
        fd = gm.divided_difference(lambda t: t**3, 1.0, h, "forward")
        print(f"h = {h:.0e}: forward difference error {abs(fd - 3):.1e}")
    print("AD error:", abs(gm.derivative(lambda t: t**3)(1.0) - 3.0))

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    plot_dual_program(1.5, 2.0, ax=left)
    plot_divided_differences(lambda t: t**3, 1.0, exact=3.0, ax=right)
    path = output_dir() / "ad_tour.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(f"saved {path}")


if __name__ == "__main__":
    main()
