"""Five GradBench evals written in plain numpy: gradmix against autograd, JAX and PyTorch.

Run:  uv run --with autograd python benchmarks/gradbench_evals.py [--evals gmm,lse] [--quick]
      [--tools "gradmix,gradmix compile"]

The evals are the ones where #28 found gradmix behind (gmm, lse, kmeans, ode,
lstm), written here from their public specifications (the gradbench
repository's ``evals/*/README.md`` and the input generators of its
``python/gradbench/gradbench/evals/*/run.py``), once, generically over the
array namespace ``xp``: the same function is given numpy (gradmix, whose AD
traces numpy code), ``autograd.numpy``, ``jax.numpy`` (under ``jax.jit``, with
x64) and PyTorch through array-api-compat (eager, ``torch.autograd``).  JAX,
PyTorch and autograd are benchmark-only: each tool that does not import is
left out.

For every input the script checks that each tool's derivative equals gradmix
eager's (relative 1e-8) and that gradmix's equals central differences along a
random direction, then prints the derivative's time over the objective's (in
numpy) for each tool, best of several runs, and the ratio of gradmix's best
(eager or ``gm.compile``) to the best of JAX jit and PyTorch.

- **gmm**: the log posterior of a Gaussian mixture with a Wishart prior
  (ADBench's), its gradient with respect to the log-weights α (K), the means
  (K, D) and the precision factors (K, D + D(D−1)/2: log-diagonal, then the
  strict lower triangle column by column); n = 1000 rows.
- **lse**: log Σ exp(x) by the max trick, and its gradient.
- **kmeans**: Σᵢ minⱼ ‖pᵢ − cⱼ‖² and the Newton direction J / diag(H) (the
  Hessian is diagonal: its diagonal is H·1, a Hessian-vector product).
- **ode**: RK4 with s steps on y₀' = x₀, yᵢ' = (Σ_{j=1..i} xⱼ) yᵢ₋₁ over
  [0, 2] from 0, the gradient of the last entry of y(2) with respect to x.
  (Each RK4 step moves the nonzero entries of y four places down, so where
  n > 4s, as in GradBench's inputs, that entry and its gradient are 0; the
  work is the same, and the test checks the gradient where n ≤ 4s.)
- **lstm**: ADBench's LSTM with diagonal weights (l layers, b = 14 characters,
  a sequence of c steps): the mean log-softmax score of each next character,
  its gradient with respect to the main (2l, 4b) and extra (3, b) parameters.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import multigammaln

import gradmix as gm
from gradmix.ad.allocator import tune_allocator

Arrays = tuple[np.ndarray, ...]


# ---------------------------------------------------------------- the evals, in any xp
def lse(xp: Any, x: Any) -> Any:
    a = xp.max(x)
    return a + xp.log(xp.sum(xp.exp(x - a)))


def lse_columns(xp: Any, z: Any) -> Any:
    """log Σ exp over the first axis of a matrix, by the max trick."""
    a = xp.max(z, axis=0, keepdims=True)
    return a[0] + xp.log(xp.sum(xp.exp(z - a), axis=0))


def concat(xp: Any, parts: list[Any], axis: int = 0) -> Any:
    # autograd.numpy's concat is numpy's, unwrapped: concatenate first
    join = getattr(xp, "concatenate", None) or xp.concat
    return join(parts, axis=axis)


def gmm(xp: Any, params: tuple[Any, Any, Any], consts: dict[str, Any]) -> Any:
    alpha, means, icf = params
    x, upper, gamma, m = consts["x"], consts["upper"], consts["gamma"], consts["m"]
    n, d = x.shape
    q, off = icf[:, :d], icf[:, d:]
    # Q_kᵀ: exp(q) on the diagonal, the off-diagonal factors above it (`upper` picks
    # them out of [0, off...], so that the triangle is a gather, not an assignment)
    padded = concat(xp, [xp.zeros_like(off[:, :1]), off], axis=1)
    Qt = xp.reshape(padded[:, upper], (icf.shape[0], d, d)) + xp.exp(q)[:, :, None] * consts["eye"]
    centred = x[None, :, :] - means[:, None, :]  # (K, n, D)
    Qx = centred @ Qt  # the rows Q_k (x_i − μ_k)
    logpdf = alpha[:, None] + xp.sum(q, axis=1)[:, None] - 0.5 * xp.sum(Qx * Qx, axis=2)
    loglik = xp.sum(lse_columns(xp, logpdf)) - n * lse(xp, alpha)
    dof = d + m + 1
    frob = xp.sum(xp.exp(2.0 * q)) + xp.sum(off * off)
    prior = m * xp.sum(q) - 0.5 * gamma**2 * frob
    k = icf.shape[0]
    const = (-0.5 * n * d * math.log(2 * math.pi)
             + k * (dof * d * math.log(gamma) - 0.5 * d * dof * math.log(2.0)
                    - multigammaln(0.5 * dof, d)))  # fmt: skip
    return loglik + prior + const


def kmeans_cost(xp: Any, C: Any, consts: dict[str, Any]) -> Any:
    P = consts["points"]
    d2 = xp.sum(P * P, axis=1)[:, None] - 2.0 * (P @ C.T) + xp.sum(C * C, axis=1)[None, :]
    return xp.sum(xp.min(d2, axis=1))


def ode_last(xp: Any, x: Any, consts: dict[str, Any]) -> Any:
    s = consts["s"]
    h = 2.0 / s
    # the array API's cumulative_sum (PyTorch's cumsum wants dim=); numpy's and
    # autograd's cumsum, as autograd wraps no cumulative_sum
    plain = xp.__name__.split(".")[0] in ("numpy", "autograd")
    coef = xp.cumsum(x[1:]) if plain else xp.cumulative_sum(x[1:])  # Σ_{j=1..i} x_j for i = 1..n-1
    x0 = x[:1]

    def rate(y: Any) -> Any:
        return concat(xp, [x0, coef * y[:-1]])

    y = xp.zeros_like(x)
    for _ in range(s):
        k1 = rate(y)
        k2 = rate(y + 0.5 * h * k1)
        k3 = rate(y + 0.5 * h * k2)
        k4 = rate(y + h * k3)
        y = y + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return y[-1]


def lstm(xp: Any, params: tuple[Any, Any], consts: dict[str, Any]) -> Any:
    main, extra = params
    state, seq = consts["state"], consts["sequence"]
    b = seq.shape[1]
    layers = main.shape[0] // 2

    def sigmoid(z: Any) -> Any:
        return 1.0 / (1.0 + xp.exp(-z))

    hidden = [state[2 * i] for i in range(layers)]
    cell = [state[2 * i + 1] for i in range(layers)]
    total = 0.0
    for t in range(seq.shape[0] - 1):
        inp = seq[t] * extra[0]
        for i in range(layers):
            w, bias = main[2 * i], main[2 * i + 1]
            forget = sigmoid(inp * w[:b] + bias[:b])
            ingate = sigmoid(hidden[i] * w[b : 2 * b] + bias[b : 2 * b])
            outgate = sigmoid(inp * w[2 * b : 3 * b] + bias[2 * b : 3 * b])
            change = xp.tanh(hidden[i] * w[3 * b :] + bias[3 * b :])
            cell[i] = cell[i] * forget + ingate * change
            hidden[i] = outgate * xp.tanh(cell[i])
            inp = hidden[i]
        ypred = inp * extra[1] + extra[2]
        total = total + xp.sum(seq[t + 1] * (ypred - lse(xp, ypred)))
    return -total / ((seq.shape[0] - 1) * b)


# ---------------------------------------------------------------- inputs
def upper_index(d: int) -> np.ndarray:
    """(d·d,) positions in [0, off...] of Qᵀ's entries, where Q's strict lower triangle
    is filled column by column (ADBench's order) and 0 is the zero in front."""
    idx = np.zeros((d, d), dtype=np.int64)
    pos = 1
    for col in range(d):
        for row in range(col + 1, d):
            idx[col, row] = pos  # Q[row, col], transposed
            pos += 1
    return idx.ravel()


@dataclass
class Case:
    """One input of an eval: what is differentiated, the constants, and the function."""

    eval: str
    label: str
    params: Arrays  # the arguments differentiated
    consts: dict[str, Any]
    objective: Callable[..., Any]  # (xp, *params, consts) -> scalar
    direction: bool = False  # kmeans: J / diag(H) instead of the gradient
    skip: dict[str, str] = field(default_factory=dict)  # tool -> why it is left out


def gmm_case(d: int, k: int, n: int = 1000, seed: int = 31337) -> Case:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    means = rng.uniform(size=(k, d))
    q = rng.normal(size=(k, d))
    off = rng.normal(size=(k, d * (d - 1) // 2))
    alpha = rng.normal(size=k)
    consts = {"x": x, "upper": upper_index(d), "gamma": 1.0, "m": 0, "eye": np.eye(d)}
    return Case("gmm", f"d={d} k={k} n={n}", (alpha, means, np.hstack([q, off])), consts,
                lambda xp, a, mu, icf, c: gmm(xp, (a, mu, icf), c))  # fmt: skip


def lse_case(n: int) -> Case:
    x = np.random.default_rng(31337).random(n) * 200 - 100
    return Case("lse", f"n={n}", (x,), {}, lambda xp, x, c: lse(xp, x))


def kmeans_case(k: int, n: int, d: int) -> Case:
    points = np.random.default_rng(31337).random((n, d))
    return Case("kmeans", f"k={k} n={n} d={d}", (points[-k:].copy(),), {"points": points},
                lambda xp, C, c: kmeans_cost(xp, C, c), direction=True)  # fmt: skip


#: why JAX is left out of the longer loops
SLOW_XLA = {"jax jit": "XLA compiles the unrolled loop for minutes (a JAX user writes lax.scan)"}


def ode_case(n: int, s: int) -> Case:
    x = np.random.default_rng(31337).random(n)
    return Case("ode", f"n={n} s={s}", (x,), {"s": s}, lambda xp, x, c: ode_last(xp, x, c),
                skip=SLOW_XLA if s > 10 else {})  # fmt: skip


def lstm_case(layers: int, c: int, b: int = 14) -> Case:
    rng = np.random.default_rng(31337)
    main = rng.uniform(-1, 1, size=(2 * layers, 4 * b))
    extra = rng.uniform(-1, 1, size=(3, b))
    state = rng.uniform(-1, 1, size=(2 * layers, b))
    sequence = rng.uniform(-1, 1, size=(c, b))
    consts = {"state": state, "sequence": sequence}
    skip = SLOW_XLA if c > 64 else {}
    return Case("lstm", f"l={layers} c={c}", (main, extra), consts,
                lambda xp, m, e, cs: lstm(xp, (m, e), cs), skip=skip)  # fmt: skip


def cases(quick: bool) -> list[Case]:
    if quick:
        return [gmm_case(3, 4, n=200), lse_case(2500), kmeans_case(10, 1000, 8),
                ode_case(10, 3), lstm_case(2, 8)]  # fmt: skip
    return [
        *(gmm_case(d, k) for d, k in ((2, 5), (10, 25), (32, 50), (64, 100))),
        *(lse_case(n) for n in (2500, 80_000, 1_280_000)),
        *(
            kmeans_case(k, n, d)
            for k, n, d in ((10, 1000, 8), (100, 10_000, 16), (100, 100_000, 8))
        ),
        *(ode_case(n, s) for n, s in ((1000, 100), (10_000, 10), (100_000, 10))),
        *(lstm_case(layers, c) for layers, c in ((2, 1024), (4, 1024))),
    ]


# ---------------------------------------------------------------- the tools
def numpy_like(xp: Any, case: Case) -> Callable[..., Any]:
    return lambda *p: case.objective(xp, *p, case.consts)


def gradmix_eager(case: Case) -> Callable[[], Any]:
    f = numpy_like(np, case)
    argnums = tuple(range(len(case.params)))
    if case.direction:
        g = gm.grad(f)
        ones = np.ones_like(case.params[0])
        return lambda: (lambda gh: gh[0] / gh[1])(gm.jvp(g, case.params, (ones,)))
    vg = gm.value_and_grad(f, argnums=argnums)
    return lambda: vg(*case.params)[1]


def gradmix_compiled(case: Case) -> Callable[[], Any]:
    f = numpy_like(np, case)
    if case.direction:  # one program: the gradient (an auxiliary output) and H @ 1

        def sum_of_gradient(C: Any) -> Any:
            g = gm.grad(f)(C)
            return np.sum(g), g

        both = gm.compile(sum_of_gradient, *case.params, has_aux=True)
        return lambda: (lambda r: r[0][1] / r[1])(both(*case.params))
    vg = gm.compile(f, *case.params)
    return lambda: vg(*case.params)[1]


def autograd_tool(case: Case) -> Callable[[], Any]:
    import autograd
    import autograd.numpy as anp

    f = numpy_like(anp, case)
    if case.direction:
        g, hv = autograd.grad(f), autograd.hessian_vector_product(f)
        ones = np.ones_like(case.params[0])
        return lambda: g(*case.params) / hv(*case.params, ones)
    packed = lambda p: f(*p)  # noqa: E731
    vg = autograd.value_and_grad(packed)
    return lambda: vg(tuple(case.params))[1]


def jax_tool(case: Case) -> Callable[[], Any]:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    consts = {k: jnp.asarray(v) if isinstance(v, np.ndarray) else v for k, v in case.consts.items()}
    f = lambda *p: case.objective(jnp, *p, consts)  # noqa: E731
    params = tuple(jnp.asarray(p) for p in case.params)
    if case.direction:
        ones = jnp.ones_like(params[0])
        step = jax.jit(lambda C: (lambda gh: gh[0] / gh[1])(jax.jvp(jax.grad(f), (C,), (ones,))))
        return lambda: np.asarray(step(*params).block_until_ready())
    vg = jax.jit(jax.value_and_grad(f, argnums=tuple(range(len(params)))))
    return lambda: [np.asarray(g.block_until_ready()) for g in vg(*params)[1]]


def torch_tool(case: Case) -> Callable[[], Any]:
    import torch
    from array_api_compat import array_namespace

    consts = {k: torch.asarray(v) if isinstance(v, np.ndarray) else v
              for k, v in case.consts.items()}  # fmt: skip
    xp = array_namespace(torch.zeros(1))

    def run() -> Any:
        params = [torch.asarray(p).requires_grad_(True) for p in case.params]
        value = case.objective(xp, *params, consts)
        if case.direction:
            (g,) = torch.autograd.grad(value, params, create_graph=True)
            (h,) = torch.autograd.grad(g, params, grad_outputs=torch.ones_like(g))
            return (g / h).detach().numpy()
        return [g.numpy() for g in torch.autograd.grad(value, params)]

    return run


TOOLS: dict[str, tuple[str | None, Callable[[Case], Callable[[], Any]]]] = {
    "gradmix": (None, gradmix_eager),
    "gradmix compile": (None, gradmix_compiled),
    "autograd": ("autograd", autograd_tool),
    "jax jit": ("jax", jax_tool),
    "pytorch": ("torch", torch_tool),
}


# ---------------------------------------------------------------- measuring
def best_time(fn: Callable[[], Any], budget: float = 1.0, at_most: int = 50) -> float:
    """The best of at least 5 runs after ``budget`` seconds of warm-up runs.

    The warm-up is long because the first seconds of a process's work on arrays
    of tens of MB run up to 5× slower (fresh pages from the OS), in numpy, JAX and
    PyTorch alike; JAX compiles in its first call.
    """
    start = time.perf_counter()
    while True:
        fn()
        if time.perf_counter() - start > budget:
            break
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < at_most and (len(times) < 5 or time.perf_counter() - start < budget):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def flat(result: Any) -> np.ndarray:
    parts = result if isinstance(result, list | tuple) else [result]
    return np.concatenate([np.ravel(np.asarray(p, dtype=np.float64)) for p in parts])


def central_difference_check(case: Case, derivative: np.ndarray) -> float:
    """|FD − AD| / |AD| of the directional derivative along a random direction; for
    kmeans' direction, the largest difference from its closed form, each centre
    minus the mean of its points (J = 2 Σ (c − p), diag(H) = 2 × the count)."""
    if case.direction:
        (C,), P = case.params, case.consts["points"]
        nearest = np.argmin(((P[:, None, :] - C[None]) ** 2).sum(axis=2), axis=1)
        counts = np.bincount(nearest, minlength=len(C))[:, None]
        means = np.stack([P[nearest == j].sum(axis=0) for j in range(len(C))]) / counts
        exact = (C - means).ravel()
        return float(np.max(np.abs(derivative - exact)) / np.max(np.abs(exact)))
    f = numpy_like(np, case)
    rng = np.random.default_rng(1)
    v = [rng.normal(size=p.shape) for p in case.params]
    h = 1e-6 * max(1.0, max(float(np.max(np.abs(p))) for p in case.params))
    plus = f(*(p + h * dv for p, dv in zip(case.params, v, strict=True)))
    minus = f(*(p - h * dv for p, dv in zip(case.params, v, strict=True)))
    fd = (float(plus) - float(minus)) / (2 * h)
    ad = float(derivative @ np.concatenate([dv.ravel() for dv in v]))
    return abs(fd - ad) / max(abs(ad), 1e-300)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evals", default="gmm,lse,kmeans,ode,lstm")
    parser.add_argument("--quick", action="store_true", help="one small input per eval")
    parser.add_argument("--budget", type=float, default=1.0, help="seconds of runs per timing")
    parser.add_argument(
        "--tools",
        default=",".join(TOOLS),
        help="the tools to time, by name ('gradmix compile': an A/B of it)",
    )
    args = parser.parse_args()
    # gradmix's transforms keep freed memory for reuse (process-wide): measure f, and every
    # tool, in that state from the start, not f before the first transform and after
    tune_allocator()
    chosen = set(args.evals.split(","))
    wanted = set(args.tools.split(","))
    if wanted - set(TOOLS):
        parser.error(f"unknown tools {sorted(wanted - set(TOOLS))}; known: {', '.join(TOOLS)}")
    tools = {
        name: make
        for name, (module, make) in TOOLS.items()
        if name in wanted and (module is None or importlib.util.find_spec(module))
    }
    print(f"tools: {', '.join(tools)}; t(derivative) / t(objective in numpy), best of runs")
    header = f"{'eval':7s} {'input':20s} {'f (ms)':>9s} " + " ".join(f"{t:>16s}" for t in tools)
    print(header + "   gradmix / best of JAX, PyTorch")
    for case in cases(args.quick):
        if case.eval not in chosen:
            continue
        f = numpy_like(np, case)
        t_f = best_time(lambda: f(*case.params), args.budget)  # noqa: B023
        reference = flat(gradmix_eager(case)())
        fd_error = central_difference_check(case, reference)
        times: dict[str, float] = {}
        notes = []
        for name, make in tools.items():
            if name in case.skip:
                notes.append(f"{name}: left out: {case.skip[name]}")
                continue
            try:
                fn = make(case)
                got = flat(fn())
            except Exception as exc:  # a tool that cannot run this input: say so, go on
                notes.append(f"{name}: {type(exc).__name__}: {str(exc)[:80]}")
                continue
            err = np.max(np.abs(got - reference)) / max(np.max(np.abs(reference)), 1e-300)
            if err > 1e-8:
                notes.append(f"{name}: differs from gradmix by {err:.1e}")
            times[name] = best_time(fn, args.budget)
        cells = " ".join(f"{times[t] / t_f:15.2f}x" if t in times else f"{'—':>16s}"
                         for t in tools)  # fmt: skip
        ours = min((times[t] for t in ("gradmix", "gradmix compile") if t in times), default=np.nan)
        theirs = min((times[t] for t in ("jax jit", "pytorch") if t in times), default=np.nan)
        print(f"{case.eval:7s} {case.label:20s} {t_f * 1e3:9.3f} {cells}   {ours / theirs:6.2f}",
              flush=True)  # fmt: skip
        if fd_error > 1e-5:
            notes.append(f"central differences disagree with gradmix by {fd_error:.1e}")
        for note in notes:
            print(f"        {note}")


if __name__ == "__main__":
    main()
