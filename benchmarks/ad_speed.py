"""AD speed: t(gradient) / t(f) for scalar and vectorised code, and Hessians against autograd.

Run:  uv run --with autograd python -m benchmarks.ad_speed

- scalar Rosenbrock in a Python loop (n = 50), the inputs passed as a list of
  numpy scalars, a list of Python floats and an ndarray: eager reverse mode,
  gm.compile and forward mode (one jvp; jacfwd's 50 directions in one sweep),
  each against the plain Python function on the same input;
- vectorised Rosenbrock (n = 10⁶): eager and gm.compile, and its gradient written
  by hand in numpy, for scale; a GMM negative log-likelihood: eager;
- least trimmed squares (a sort inside, n = 10⁵): eager and gm.compile (traced at
  another point: the order is an operation of the program);
- Hessian of the vectorised Rosenbrock at n = 200: gm.hessian (forward over
  reverse, all directions in one batched sweep) against autograd.hessian.

Times run with Python's cycle collector on, as users run code (timeit turns it off).
"""

from __future__ import annotations

import gc
import timeit
from collections.abc import Callable
from typing import Any

import numpy as np

import gradmix as gm
from benchmarks.ad_overhead import gmm_nll, rosen


def rosen_loop(x: Any) -> Any:
    s = 0.0
    for i in range(len(x) - 1):
        s = s + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
    return s


def rosen_by_hand(x: np.ndarray) -> tuple[float, np.ndarray]:
    """Rosenbrock's value and gradient written out in numpy: what eager mode competes with."""
    a, b = x[:-1], x[1:]
    t, u = b - a * a, 1 - a
    g = np.zeros_like(x)
    g[1:] = 200.0 * t
    g[:-1] -= 2.0 * a * g[1:] + 2.0 * u
    return float(np.sum(100.0 * t * t + u * u)), g


def best(*fns: Callable[[], Any], rounds: int = 7, number: int = 1) -> list[float]:
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for t, fn in zip(times, fns, strict=True):
            # with the cycle collector on, as users run it (timeit turns it off)
            t.append(timeit.timeit(fn, setup="gc.enable()", number=number,
                                   globals={"gc": gc}) / number)  # fmt: skip
    return [min(t) for t in times]


def main() -> None:
    rng = np.random.default_rng(0)
    xa = rng.uniform(0.5, 1.5, 50)
    # the same 50 numbers three ways: numpy scalars (list(ndarray)), Python floats
    # (ndarray.tolist(), or a list typed in), and the array; f itself runs at different
    # speeds on them (numpy scalars' arithmetic is slower), so each ratio is against f on
    # the same input
    inputs = {"numpy-scalar list": list(xa), "float list": xa.tolist(), "ndarray": xa}
    vg_eager = gm.value_and_grad(rosen_loop)
    v = rng.normal(size=50)
    reference = vg_eager(xa)[1]
    print("scalar Rosenbrock (loop, n=50); t / t(f) on the same input:")
    print(f"  {'input':<18} {'t(f)':>8} {'value_and_grad':>15} {'gm.compile':>11} {'jvp':>6}")
    for name, x in inputs.items():
        vg_comp = gm.compile(rosen_loop, x)
        vx = v if type(x) is np.ndarray else list(v)
        for g in (vg_comp(x)[1], vg_eager(x)[1]):
            np.testing.assert_allclose(g, reference, rtol=1e-12)
        np.testing.assert_allclose(gm.jvp(rosen_loop, (x,), (vx,))[1], reference @ v, rtol=1e-12)
        t_f, t_e, t_c, t_j = best(
            lambda x=x: rosen_loop(x), lambda x=x: vg_eager(x),
            lambda x=x, c=vg_comp: c(x), lambda x=x, vx=vx: gm.jvp(rosen_loop, (x,), (vx,)),
            number=20,
        )  # fmt: skip
        print(f"  {name:<18} {t_f * 1e6:6.1f}us {t_e / t_f:14.1f}x {t_c / t_f:10.2f}x "
              f"{t_j / t_f:5.1f}x")  # fmt: skip
    t_f, t_jf = best(lambda: rosen_loop(xa), lambda: gm.jacfwd(rosen_loop)(xa), number=20)
    print(f"  jacfwd (50 directions in one sweep), ndarray: {t_jf / t_f:.1f}x")

    x = rng.uniform(0.5, 1.5, 10**6)
    vg, vc = gm.value_and_grad(rosen), gm.compile(rosen, x)
    for g in (vg(x)[1], vc(x)[1]):
        np.testing.assert_allclose(g, rosen_by_hand(x)[1], rtol=1e-12)
    t_f, t_g, t_c, t_h = best(lambda: rosen(x), lambda: vg(x), lambda: vc(x),
                              lambda: rosen_by_hand(x))  # fmt: skip
    print(f"vectorised Rosenbrock (n=1e6): eager {t_g / t_f:.2f}x   gm.compile {t_c / t_f:.2f}x   "
          f"(its gradient written by hand in numpy: {t_h / t_f:.2f}x)")  # fmt: skip
    N, d, K = 20_000, 8, 8
    X = rng.normal(size=(N, d))
    L = np.tril(rng.normal(scale=0.1, size=(K, d, d))) + np.eye(d)
    params = (rng.normal(size=K), rng.normal(size=(K, d)), L)
    vgm = gm.value_and_grad(lambda p: gmm_nll(p, X))
    t_f, t_g = best(lambda: gmm_nll(params, X), lambda: vgm(params))
    print(f"GMM negative log-likelihood (N=2e4, d=8, K=8): eager {t_g / t_f:.2f}x")

    # an ordering inside the objective: gm.compile records the argsort as an operation
    A = rng.normal(size=(100_000, 10))
    y = A @ rng.normal(size=10) + rng.standard_t(2, size=100_000)

    def trimmed(beta: Any) -> Any:  # least trimmed squares: the 90 % smallest residuals
        return np.sum(np.sort((y - A @ beta) ** 2)[:90_000])

    beta = rng.normal(size=10)
    vg_t, vc_t = gm.value_and_grad(trimmed), gm.compile(trimmed, rng.normal(size=10))
    np.testing.assert_allclose(vc_t(beta)[1], vg_t(beta)[1], rtol=1e-12)
    t_f, t_e, t_c = best(lambda: trimmed(beta), lambda: vg_t(beta), lambda: vc_t(beta))
    print(
        f"least trimmed squares (sort, n=1e5, d=10): eager {t_e / t_f:.2f}x   "
        f"gm.compile {t_c / t_f:.2f}x"
    )

    x200 = rng.uniform(0.5, 1.5, 200)
    H = gm.hessian(rosen)(x200)
    try:
        import autograd  # type: ignore[import-untyped]
        import autograd.numpy as anp  # type: ignore[import-untyped]
    except ImportError:
        print("Hessian n=200: install autograd in the benchmark environment to compare")
        return

    def rosen_ag(x: Any) -> Any:
        return anp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

    H_ag = autograd.hessian(rosen_ag)(x200)
    np.testing.assert_allclose(H, H_ag, rtol=1e-12, atol=1e-9)
    t_gm, t_ag = best(lambda: gm.hessian(rosen)(x200), lambda: autograd.hessian(rosen_ag)(x200),
                      rounds=3)  # fmt: skip
    print(f"Hessian of Rosenbrock, n=200: gradmix {t_gm * 1e3:.1f} ms, autograd "
          f"{t_ag * 1e3:.1f} ms: {t_ag / t_gm:.1f}x faster, same values")  # fmt: skip


if __name__ == "__main__":
    main()
