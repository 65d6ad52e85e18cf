"""Rosenbrock in 50 dimensions: trust-region Newton with exact Hessians against BFGS
=================================================================================

Run:  uv run python examples/optimize_hessian.py
"""

import time

import numpy as np

from gradmix.solve import minimize


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def main() -> None:
    x0 = np.zeros(50)
    print("Rosenbrock, n = 50, from x = 0, tol = 1e-10")
    print(f"  {'method':<34} {'iterations':>10} {'f evals':>8} {'max |x - 1|':>12} {'time s':>7}")
    for label, method in (("trust-exact, exact Hessian", "trust-exact"),
                          ("Newton-CG, Hessian-vector products", "Newton-CG"),
                          ("BFGS, gradient only", "BFGS")):  # fmt: skip
        t0 = time.perf_counter()
        res = minimize(rosen, x0, method=method, tol=1e-10, options={"maxiter": 5000})
        elapsed = time.perf_counter() - t0
        print(f"  {label:<34} {res.nit:10d} {res.nfev:8d} {np.max(np.abs(res.x - 1)):12.1e} "
              f"{elapsed:7.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
