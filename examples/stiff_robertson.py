"""Stiff ODEs with exact Jacobians: Robertson's kinetics and a Brusselator
=======================================================================

Run:  uv run python examples/stiff_robertson.py        (GRADMIX_FULL=1 for t = 1e11, N = 200)

Implicit methods need ∂f/∂y. scipy estimates it by finite differences unless
given one; gradmix.solve.solve_ivp gives the exact Jacobian from forward-mode
AD (one batched sweep per Jacobian).  The picture is Robertson's kinetics
over many decades of time, the intermediate species scaled by 10⁴ as Hairer
and Wanner draw it.
"""

import time

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from _common import full_run, output_dir
from scipy.integrate import solve_ivp as scipy_solve_ivp

from gradmix.solve import solve_ivp

matplotlib.use("Agg")


def robertson(t, y):
    y1, y2, y3 = y[0], y[1], y[2]
    return np.stack([
        -0.04 * y1 + 1e4 * y2 * y3,
        0.04 * y1 - 1e4 * y2 * y3 - 3e7 * y2**2,
        3e7 * y2**2,
    ])  # fmt: skip


def brusselator(t, y, alpha=0.02):
    """1-D reaction-diffusion (Hairer & Wanner), u = 1 and v = 3 on the boundary."""
    n = y.shape[0] // 2
    u, v = y[:n], y[n:]
    c = alpha * (n + 1) ** 2
    up = np.concatenate([[1.0], u, [1.0]])
    vp = np.concatenate([[3.0], v, [3.0]])
    du = 1 + u * u * v - 4 * u + c * (up[:-2] - 2 * u + up[2:])
    dv = 3 * u - u * u * v + c * (vp[:-2] - 2 * v + vp[2:])
    return np.concatenate([du, dv])


def run_robertson(t_end: float) -> tuple[np.ndarray, np.ndarray]:
    y0 = np.array([1.0, 0.0, 0.0])
    t0 = time.perf_counter()
    sol = solve_ivp(robertson, (0, t_end), y0, rtol=1e-8, atol=1e-12)
    elapsed = time.perf_counter() - t0
    ref = scipy_solve_ivp(robertson, (0, t_end), y0, method="Radau", rtol=1e-12, atol=1e-16,
                          jac=lambda t, y: np.array([[-0.04, 1e4 * y[2], 1e4 * y[1]],
                                                     [0.04, -1e4 * y[2] - 6e7 * y[1], -1e4 * y[1]],
                                                     [0.0, 6e7 * y[1], 0.0]]))  # fmt: skip
    err = np.max(np.abs(sol.y[:, -1] - ref.y[:, -1]) / (np.abs(ref.y[:, -1]) + 1e-20))
    print(f"Robertson to t = {t_end:.0e} (Radau, exact Jacobian): y = {sol.y[:, -1]}")
    print(f"  steps {sol.t.size - 1}, f evaluations {sol.nfev}, Jacobians {sol.njev}, "
          f"{elapsed:.2f} s, relative error against a tight reference {err:.1e}")  # fmt: skip
    return sol.t, sol.y


def run_brusselator(n: int) -> dict[str, float]:
    x = np.arange(1, n + 1) / (n + 1)
    y0 = np.concatenate([1 + np.sin(2 * np.pi * x), np.full(n, 3.0)])
    t_span = (0.0, 10.0)
    ref = solve_ivp(brusselator, t_span, y0, rtol=1e-10, atol=1e-12)
    rows = {}
    print(f"\nBrusselator, N = {n} grid points ({2 * n} unknowns), Radau to t = 10:")
    print(f"  {'Jacobian':<22} {'time s':>7} {'steps':>6} {'f calls':>8} {'Jacobians':>9} "
          f"{'max error':>10}")  # fmt: skip
    calls = [0]

    def counted(t, y):
        calls[0] += 1  # every call, the finite-difference ones included
        return brusselator(t, y)

    for label, runner in (
        ("exact (gradmix AD)", lambda: solve_ivp(counted, t_span, y0, rtol=1e-6, atol=1e-9)),
        ("finite differences", lambda: scipy_solve_ivp(counted, t_span, y0, method="Radau",
                                                       rtol=1e-6, atol=1e-9)),
    ):  # fmt: skip
        calls[0] = 0
        t0 = time.perf_counter()
        sol = runner()
        elapsed = time.perf_counter() - t0
        err = float(np.max(np.abs(sol.y[:, -1] - ref.y[:, -1])))
        rows[label] = elapsed
        print(f"  {label:<22} {elapsed:7.2f} {sol.t.size - 1:6d} {calls[0]:8d} {sol.njev:9d} "
              f"{err:10.1e}")  # fmt: skip
    return rows


def main() -> None:
    full = full_run()
    t, y = run_robertson(1e11 if full else 1e5)
    run_brusselator(200 if full else 100)

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for values, label in ((y[0], "y1"), (1e4 * y[1], "10⁴ · y2"), (y[2], "y3")):
        ax.semilogx(t[1:], values[1:], ".-", markersize=3, label=label)
    ax.set_xlabel("t")
    ax.set_ylabel("concentration")
    ax.set_title(f"Robertson's kinetics, Radau with AD Jacobians ({t.size - 1} steps)")
    ax.legend()
    path = output_dir() / "stiff_robertson.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(f"saved {path}")


if __name__ == "__main__":
    main()
