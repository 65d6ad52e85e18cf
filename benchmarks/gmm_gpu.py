"""EM on a GPU: gradmix on CUDA tensors against scikit-learn on the CPU cores.

For a machine with an NVIDIA GPU and PyTorch (the project never needs one):

    PYTHONPATH=src:<dir with array_api_compat> python benchmarks/gmm_gpu.py

Such a machine may have no network: bring gradmix's one dependency it may
lack, array-api-compat (pure Python), e.g. ``pip download --no-deps -d wheels
array-api-compat`` here and ``pip install --no-index wheels/*.whl`` there, or
a copy of the installed package directory on ``PYTHONPATH`` (as done for the
figures in RESULTS.md).  ``--device cpu`` tries the script on CPU tensors.

Prints, for N x d data with K full-covariance components, per-iteration EM
times (difference of a 1- and a 6-iteration fit from the same parameters) of

- gradmix on CUDA tensors, float32 and float64;
- a plain hand-written PyTorch EM (one batched GEMM for the quadratic forms,
  one for the second moments), the anchor a GPU user would write;
- scikit-learn on all CPU cores, measured at --sk-n rows and scaled to N
  (its per-iteration cost is linear in N);

and the ratios, plus k-means (gradmix on CUDA vs scikit-learn's Lloyd on the
CPU, same initial centres).  Lower bounds of the float32 and float64 fits are
compared (relative difference).
"""

from __future__ import annotations

import argparse
import math
import os
import time
import warnings

import numpy as np
import torch
from sklearn.cluster import KMeans as SkKMeans
from sklearn.mixture import GaussianMixture as SkGMM

import gradmix as gm
from gradmix.mixture.arrays import to_host


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(f):
    sync()
    t = time.perf_counter()
    out = f()
    sync()
    return time.perf_counter() - t, out


def per_iter(fit, repeat: int = 2, iters: int = 6) -> tuple[float, object]:
    """Per-iteration seconds: (t(iters) - t(1)) / (iters - 1), best of ``repeat``."""
    best = math.inf
    last = None
    for _ in range(repeat):
        t1, _ = timed(lambda: fit(1))
        tn, last = timed(lambda: fit(iters))
        best = min(best, (tn - t1) / (iters - 1))
    return best, last


def torch_em(X: torch.Tensor, weights, means, prec_chol, n_iter: int, reg: float = 1e-6):
    """A plain PyTorch EM for full covariances (scikit-learn's formulas, batched)."""
    n, d = X.shape
    K = means.shape[0]
    w = torch.as_tensor(weights, dtype=X.dtype, device=X.device)
    mu = torch.as_tensor(means, dtype=X.dtype, device=X.device)
    U = torch.as_tensor(prec_chol, dtype=X.dtype, device=X.device)
    eye = torch.eye(d, dtype=X.dtype, device=X.device)
    chunk = 250_000
    for _ in range(n_iter):
        log_det = torch.log(torch.diagonal(U, dim1=1, dim2=2)).sum(1)
        Uf = U.permute(1, 0, 2).reshape(d, K * d)
        muU = torch.einsum("kd,kde->ke", mu, U).reshape(K * d)
        nk = torch.zeros(K, dtype=X.dtype, device=X.device)
        sx = torch.zeros(K, d, dtype=X.dtype, device=X.device)
        S = torch.zeros(K, d, d, dtype=X.dtype, device=X.device)
        ll = torch.zeros((), dtype=torch.float64, device=X.device)
        for s in range(0, n, chunk):
            Xc = X[s : s + chunk]
            Y = (Xc @ Uf - muU).reshape(-1, K, d)
            lp = -0.5 * (Y * Y).sum(2) + log_det - 0.5 * d * math.log(2 * math.pi) + torch.log(w)
            lse = torch.logsumexp(lp, 1, keepdim=True)
            r = torch.exp(lp - lse)
            ll += lse.sum().double()
            nk += r.sum(0)
            sx += r.T @ Xc
            S += torch.einsum("nk,nd,ne->kde", r, Xc, Xc)
        nk = nk + 10 * torch.finfo(X.dtype).eps
        mu = sx / nk[:, None]
        cov = S / nk[:, None, None] - mu[:, :, None] * mu[:, None, :] + reg * eye
        L = torch.linalg.cholesky(cov)
        U = torch.linalg.solve_triangular(L, eye.expand(K, d, d), upper=False).transpose(1, 2)
        w = nk / n
    return float(ll) / n


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=2_000_000)
    p.add_argument("--d", type=int, default=32)
    p.add_argument("--k", type=int, default=64)
    p.add_argument("--sk-n", type=int, default=200_000)
    p.add_argument("--device", default="cuda", help="'cpu' to try the script without a GPU")
    args = p.parse_args()
    N, d, K = args.n, args.d, args.k
    dev = torch.device(args.device)
    card = torch.cuda.get_device_name(0) if dev.type == "cuda" else "none (CPU tensors)"
    print(f"GPU: {card}; CPU cores: {os.cpu_count()}; "
          f"torch {torch.__version__}; N={N} d={d} K={K} full")  # fmt: skip
    # correctness first: the device fit equals the numpy fit (all inits, float64)
    rng = np.random.default_rng(1)
    small = np.concatenate([rng.normal(size=(3000, 4)), rng.normal(size=(2000, 4)) + 3])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for init in ("kmeans", "k-means++", "random", "random_from_data"):
            kw = dict(n_components=3, init_params=init, random_state=0, tol=1e-10, max_iter=30)
            a = gm.GaussianMixture(**kw).fit(small)
            b = gm.GaussianMixture(**kw).fit(torch.asarray(small, device=dev))
            rel = np.max(
                np.abs(np.subtract(b.lower_bounds_, a.lower_bounds_)) / np.abs(a.lower_bounds_)
            )
            err = np.max(np.abs(to_host(b.means_) - a.means_))
            print(f"check {init:<16} {b.means_.device}: lower bounds rel diff {rel:.1e}, "
                  f"means max abs diff {err:.1e}, iterations {a.n_iter_}/{b.n_iter_}")  # fmt: skip
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=4, size=(K, d))
    X = centres[rng.integers(0, K, N)] + rng.normal(size=(N, d))
    X64 = torch.asarray(X, device=dev)
    X32 = X64.to(torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0, m = timed(lambda: gm.GaussianMixture(K, max_iter=3, init_params="random_from_data",
                                                 random_state=0).fit(X64))  # fmt: skip
        print(f"3 EM iterations from random_from_data on CUDA float64, with init: {t0:.2f} s")
        start = {"weights_init": to_host(m.weights_), "means_init": to_host(m.means_),
                 "precisions_init": to_host(m.precisions_)}  # fmt: skip

        def fit_gm(Xt):
            return lambda it: gm.GaussianMixture(K, max_iter=it, tol=0, **start).fit(Xt)

        res = {}
        for name, Xt in (("float32", X32), ("float64", X64)):
            fit_gm(Xt)(1)  # warm-up: kernels, allocator
            res[name] = per_iter(fit_gm(Xt))
            print(f"gradmix CUDA {name}: {res[name][0]:.4f} s/iter")
        U = to_host(m.precisions_cholesky_)
        hand = {}
        for name, Xt in (("float32", X32), ("float64", X64)):
            torch_em(Xt, start["weights_init"], start["means_init"], U, 1)
            hand[name] = per_iter(
                lambda it, Xt=Xt: torch_em(Xt, start["weights_init"], start["means_init"], U, it)
            )
            print(f"hand-written PyTorch {name}: {hand[name][0]:.4f} s/iter")
        Xs = X[: args.sk_n]
        sk_kw = dict(n_components=K, tol=0, **start)
        t1 = min(timed(lambda: SkGMM(max_iter=1, **sk_kw).fit(Xs))[0] for _ in range(1))
        t3 = min(timed(lambda: SkGMM(max_iter=3, **sk_kw).fit(Xs))[0] for _ in range(1))
        sk = (t3 - t1) / 2 * N / args.sk_n
        print(f"scikit-learn CPU float64: {sk:.2f} s/iter (measured at N={args.sk_n}, scaled)")
    lb32 = float(res["float32"][1].lower_bound_)
    lb64 = float(res["float64"][1].lower_bound_)
    print("\nratios (higher = gradmix faster)")
    print(f"  scikit-learn / gradmix float64: {sk / res['float64'][0]:8.1f}")
    print(f"  scikit-learn / gradmix float32: {sk / res['float32'][0]:8.1f}")
    print(f"  hand-written / gradmix float32: {hand['float32'][0] / res['float32'][0]:8.2f}")
    print(f"  hand-written / gradmix float64: {hand['float64'][0] / res['float64'][0]:8.2f}")
    print(f"  gradmix float64 / float32 time: {res['float64'][0] / res['float32'][0]:8.2f}")
    print(f"  lower bound float32 vs float64, relative: {abs(lb32 - lb64) / abs(lb64):.1e}")

    # k-means: the same initial centres, 10 Lloyd iterations each
    init = X[:K].copy()
    kw = dict(n_clusters=K, init=init, n_init=1, max_iter=10, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm.KMeans(**kw).fit(X32)
        tg, km = timed(lambda: gm.KMeans(**kw).fit(X64))
        tg32, _ = timed(lambda: gm.KMeans(**kw).fit(X32))
        ts, skm = timed(lambda: SkKMeans(**kw).fit(X))
    print(f"\nk-means, 10 Lloyd iterations: scikit-learn CPU {ts:.2f} s, gradmix CUDA float64 "
          f"{tg:.3f} s ({ts / tg:.1f}x), float32 {tg32:.3f} s ({ts / tg32:.1f}x); "
          f"inertia rel diff {abs(km.inertia_ - skm.inertia_) / skm.inertia_:.1e}")  # fmt: skip


if __name__ == "__main__":
    main()
