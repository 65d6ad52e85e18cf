"""Sparse Jacobians and Hessians: detection, colours and evaluation against the alternatives.

Run:  uv run python benchmarks/sparse_ad.py [--sizes 32 64 128] [--stiff 64] [--repeat 5]

1. Brusselator 2-D (n = 2N², periodic), for each N: the time of f; pattern
   detection; colouring; the number of colours against networkx's best greedy
   colouring (largest-first, smallest-last, DSATUR) of the same column
   intersection graph (DSATUR only up to 10 000 vertices, where networkx's
   implementation is quadratic); one sparse Jacobian against dense ``gm.jacfwd`` (where
   it fits in memory) and against scipy's finite differences with the same
   sparsity (``approx_derivative(..., sparsity=(pattern, groups))``); the
   largest error against the dense Jacobian (or against central differences).
2. A banded optimisation problem (the chained Rosenbrock function and a
   pentadiagonal quartic, n = 2000 and 20 000): Hessian pattern detection;
   colours against networkx's best greedy colouring of the distance-2 graph
   (a star colouring); the sparse Hessian against dense ``gm.hessian`` where
   it fits and against finite differences of the exact gradient with the same
   sparsity; exactness.
3. Stiff solve: Brusselator 2-D at ``--stiff`` N by ``solve_ivp(method="BDF")``
   over t in [0, 11.5] (the DifferentialEquations.jl tutorial's span; the
   forcing switches on at t = 1.1): gradmix's exact sparse Jacobian
   (``gradmix.solve.ode_jacobian``) against scipy's finite differences with
   ``jac_sparsity``; wall time, Jacobian evaluations, LU factorisations, and
   the largest difference between the two solutions.

Times are best of ``--repeat``; every ratio is against a contender timed in
the same run.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.integrate
import scipy.sparse as sp
from scipy.optimize._numdiff import approx_derivative, group_columns

import gradmix as gm
from gradmix.ad.colouring import column_colouring, star_colouring
from gradmix.solve import ode_jacobian


def brusselator(n: int) -> tuple[Callable[..., Any], np.ndarray]:
    """The 2-D Brusselator of the Julia sparse-AD papers, on an n × n periodic grid."""
    xy = np.linspace(0, 1, n)
    dx = xy[1] - xy[0]
    X, Y = np.meshgrid(xy, xy, indexing="ij")  # noqa: N806
    spot = (X - 0.3) ** 2 + (Y - 0.6) ** 2 <= 0.1**2
    k = 10.0 / dx**2

    def lap(z: Any) -> Any:
        return np.roll(z, 1, 0) + np.roll(z, -1, 0) + np.roll(z, 1, 1) + np.roll(z, -1, 1) - 4 * z

    def f(u: Any, t: float = 0.0) -> Any:
        a, b = u.reshape(2, n, n)
        forcing = np.where(spot & (t >= 1.1), 5.0, 0.0)
        da = k * lap(a) + b * a**2 - 4.4 * a + 1.0 + forcing
        db = k * lap(b) + 3.4 * a - b * a**2
        return np.stack([da, db]).reshape(-1)

    u0 = np.stack([22 * (Y * (1 - Y)) ** 1.5, 27 * (X * (1 - X)) ** 1.5]).reshape(-1)
    return f, u0


def best(repeat: int, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> float:
    """The best of ``repeat`` timings of ``fn(*args, **kwargs)``."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(*args, **kwargs)
        times.append(time.perf_counter() - t)
    return min(times)


def networkx_colours(graph: sp.sparray) -> int | None:
    try:
        import networkx as nx
    except ImportError:
        return None
    g = nx.Graph()
    g.add_nodes_from(range(graph.shape[0]))
    rows, cols = sp.csr_array(graph).nonzero()
    keep = rows < cols
    g.add_edges_from(zip(rows[keep].tolist(), cols[keep].tolist(), strict=True))
    # networkx's DSATUR is quadratic in the number of vertices: left out above 10 000
    orders = ("largest_first", "smallest_last") + (("DSATUR",) if graph.shape[0] <= 10_000 else ())
    return min(max(nx.greedy_color(g, s).values()) + 1 for s in orders)


def jacobians(sizes: list[int], repeat: int) -> None:
    print("## Brusselator 2-D: sparse Jacobian")
    print(
        "| N | n | nnz | f (ms) | detection (ms, × f) | colouring (s) | colours | networkx |"
        " sparse J (ms, × f) | dense jacfwd (ms) | scipy FD, same sparsity (ms) | max error |"
    )
    print("| --- " * 12 + "|")
    for n_grid in sizes:
        f, u0 = brusselator(n_grid)
        n = u0.size
        tf = best(20 * repeat, f, u0)
        td = best(repeat, gm.jacobian_sparsity, f, u0)
        pattern = gm.jacobian_sparsity(f, u0)
        t = time.perf_counter()
        colours = column_colouring(pattern)
        tc = time.perf_counter() - t
        nx_colours = networkx_colours(sp.csr_array(pattern.T.astype(np.int32) @ pattern.astype(
            np.int32)))  # fmt: skip
        jac = gm.sparse_jacobian(f, u0)
        tj = best(repeat, jac, u0)
        j_sparse = jac(u0)
        groups = group_columns(pattern.toarray() if n <= 10_000 else sp.csc_matrix(pattern))
        tfd = best(repeat, approx_derivative, f, u0, method="2-point", sparsity=(pattern, groups))
        if n <= 2048:
            dense_f = gm.jacfwd(f)
            tdense = best(max(1, repeat // 2), dense_f, u0)
            err = float(np.max(np.abs(j_sparse.toarray() - dense_f(u0))))
            dense = f"{tdense * 1e3:.0f}"
        else:
            central = approx_derivative(f, u0, method="3-point", sparsity=(pattern, groups))
            err = float(abs(j_sparse - sp.csr_array(central)).max() / abs(j_sparse).max())
            dense = "(does not fit)"
        print(
            f"| {n_grid} | {n} | {pattern.nnz} | {tf * 1e3:.2f} | {td * 1e3:.1f} "
            f"({td / tf:.0f}×) | {tc:.2f} | {colours.max() + 1} | {nx_colours or '-'} | "
            f"{tj * 1e3:.1f} ({tj / tf:.0f}×) | {dense} | {tfd * 1e3:.1f} | {err:.1e} |"
        )


def chained_rosenbrock(x: Any) -> Any:
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def pentadiagonal(x: Any) -> Any:
    return np.sum((x[2:] + x[1:-1] - x[:-2] ** 2) ** 2) + np.sum(x**4) / 4


def hessians(repeat: int) -> None:
    print("\n## Banded Hessians")
    print(
        "| problem | n | f (ms) | detection (ms) | colours (star) | networkx distance-2 | "
        "sparse H (ms) | dense gm.hessian (ms) | FD of the gradient, same sparsity (ms) | "
        "max error |"
    )
    print("| --- " * 10 + "|")
    for name, fn in (("chained Rosenbrock", chained_rosenbrock), ("pentadiagonal", pentadiagonal)):
        for n in (2000, 20_000):
            x = np.linspace(-1, 1, n)
            tf = best(20 * repeat, fn, x)
            td = best(repeat, gm.hessian_sparsity, fn, x)
            pattern = gm.hessian_sparsity(fn, x)
            colours = star_colouring(pattern)
            square = sp.csr_array(pattern.astype(np.int32) @ pattern.astype(np.int32))
            nx_colours = networkx_colours(square)
            hess = gm.sparse_hessian(fn, x)
            th = best(repeat, hess, x)
            gradient = gm.grad(fn)
            groups = group_columns(sp.csc_matrix(pattern))
            tfd = best(
                repeat, approx_derivative, gradient, x, method="2-point", sparsity=(pattern, groups)
            )
            if n <= 2000:
                dense_h = gm.hessian(fn)
                tdense = best(1, dense_h, x)
                err = float(np.max(np.abs(hess(x).toarray() - dense_h(x))))
                dense = f"{tdense * 1e3:.0f}"
            else:
                fd = approx_derivative(gradient, x, method="3-point", sparsity=(pattern, groups))
                err = float(abs(hess(x) - sp.csr_array(fd)).max() / abs(hess(x)).max())
                dense = "(does not fit)"
            print(
                f"| {name} | {n} | {tf * 1e3:.2f} | {td * 1e3:.1f} | {colours.max() + 1} | "
                f"{nx_colours or '-'} | {th * 1e3:.1f} | {dense} | {tfd * 1e3:.1f} | {err:.1e} |"
            )


def stiff(n_grid: int) -> None:
    f, u0 = brusselator(n_grid)
    rhs = lambda t, y: f(y, t)  # noqa: E731
    pattern = gm.jacobian_sparsity(f, u0)
    print(
        f"\n## Stiff solve: Brusselator 2-D, N = {n_grid} ({u0.size} unknowns), BDF, "
        "t in [0, 11.5], rtol 1e-6, atol 1e-8"
    )
    print("| Jacobian | wall (s) | nfev | njev | nlu |")
    print("| --- | --- | --- | --- | --- |")
    runs = {}
    for name in ("gradmix exact sparse", "scipy FD, jac_sparsity"):
        extra = {"jac": ode_jacobian(rhs, u0.size)} if name.startswith("gradmix") else \
            {"jac_sparsity": pattern}  # fmt: skip
        t = time.perf_counter()
        sol = scipy.integrate.solve_ivp(rhs, (0, 11.5), u0, method="BDF", rtol=1e-6, atol=1e-8,
                                        **extra)  # fmt: skip
        wall = time.perf_counter() - t
        runs[name] = sol
        print(f"| {name} | {wall:.2f} | {sol.nfev} | {sol.njev} | {sol.nlu} |")
    a, b = runs.values()
    print(
        f"\nlargest difference of the final states: {np.max(np.abs(a.y[:, -1] - b.y[:, -1])):.1e}"
        f" (scale {np.max(np.abs(b.y[:, -1])):.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[32, 64, 128])
    parser.add_argument("--stiff", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    jacobians(args.sizes, args.repeat)
    hessians(args.repeat)
    if args.stiff:
        stiff(args.stiff)


if __name__ == "__main__":
    main()
