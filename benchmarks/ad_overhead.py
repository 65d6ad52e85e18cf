"""Reverse-mode overhead: t(value_and_grad f) / t(f) against plain numpy f.

Run:  uv run python benchmarks/ad_overhead.py
      uv run --with autograd python benchmarks/ad_overhead.py   (adds HIPS autograd)

Two functions, as numpy users write them:
- the vectorised Rosenbrock function, n = 10**6;
- a Gaussian-mixture negative log-likelihood, N = 20 000, d = 8, K = 8.
Each time is the best of several repeats; the ratio is what is claimed.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable
from typing import Any

import numpy as np

import gradmix as gm


def rosen(x: Any) -> Any:
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def gmm_nll(params: Any, X: np.ndarray) -> Any:
    """Mixture NLL with precision-Cholesky parameters, written in plain numpy."""
    logits, means, L = params
    d = X.shape[1]
    log_w = logits - np.log(np.sum(np.exp(logits)))
    diff = X[:, None, :] - means[None, :, :]  # (N, K, d)
    z = np.einsum("nkd,kde->nke", diff, L)  # (N, K, d)
    log_det = np.sum(np.log(np.abs(np.diagonal(L, axis1=-1, axis2=-2))), axis=1)
    log_p = -0.5 * np.sum(z**2, axis=2) + log_det - 0.5 * d * np.log(2 * np.pi) + log_w
    m = np.max(log_p, axis=1, keepdims=True)
    return -np.sum(np.log(np.sum(np.exp(log_p - m), axis=1)) + m[:, 0])


def best(*fns: Callable[[], Any], rounds: int = 15) -> list[float]:
    """Best time of each function, measured alternately so machine noise hits all alike."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(rounds):
        for t, fn in zip(times, fns, strict=True):
            t.append(timeit.timeit(fn, number=1))
    return [min(t) for t in times]


def main() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0.5, 1.5, 10**6)
    N, d, K = 20_000, 8, 8
    X = rng.normal(size=(N, d))
    L = np.tril(rng.normal(scale=0.1, size=(K, d, d))) + np.eye(d)
    params = (rng.normal(size=K), rng.normal(size=(K, d)), L)
    cases = [
        ("rosenbrock n=1e6", rosen, (x,)),
        ("gmm nll N=2e4 d=8 K=8", lambda p: gmm_nll(p, X), (params,)),
    ]
    try:
        import autograd  # type: ignore[import-untyped]
        import autograd.numpy as anp  # type: ignore[import-untyped]
    except ImportError:
        autograd = None

    print(f"{'function':<24} {'t(f) ms':>9} {'t(vg) ms':>9} {'gradmix':>8} {'autograd':>9}")
    for name, f, args in cases:
        vg = gm.value_and_grad(f)
        fns = [lambda f=f, args=args: f(*args), lambda vg=vg, args=args: vg(*args)]
        if autograd is not None:
            # autograd needs its wrapped numpy: run the same code against it
            g = autograd.value_and_grad(_with_numpy(f, anp))
            fns.append(lambda g=g, args=args: g(*args))
        t_f, t_vg, *t_ag = best(*fns)
        ag = f"{t_ag[0] / t_f:9.2f}" if t_ag else ""
        print(f"{name:<24} {t_f * 1e3:9.2f} {t_vg * 1e3:9.2f} {t_vg / t_f:8.2f} {ag:>9}")


def _with_numpy(f: Callable[..., Any], module: Any) -> Callable[..., Any]:
    """Run ``f`` with this module's ``np`` bound to ``module`` (for autograd)."""

    def wrapped(*args: Any) -> Any:
        global np
        saved = np
        np = module
        try:
            return f(*args)
        finally:
            np = saved

    return wrapped


if __name__ == "__main__":
    main()
