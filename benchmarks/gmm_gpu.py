"""EM on a GPU: gradmix on CUDA tensors against scikit-learn on the CPU cores.

For a machine with an NVIDIA GPU and PyTorch (the project never needs one):

    PYTHONPATH=src:<dir with array_api_compat> python benchmarks/gmm_gpu.py

Such a machine may have no network: bring gradmix's one dependency it may
lack, array-api-compat (pure Python), as a wheel.  Here, in the repository's
root: ``echo /.whl/ >> .git/info/exclude`` and ``pip download --no-deps -d
.whl array-api-compat``.  Then, with ``.whl`` carried along, one command
there runs it all (this version has not run on a GPU yet, only its
full-covariance predecessor, on an H200: see RESULTS.md; at the default
sizes most of its time should go to scikit-learn's CPU fits)::

    python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
    PYTHONPATH=/tmp/site:src PYTHONUNBUFFERED=1 python3 benchmarks/gmm_gpu.py

``--device cpu`` tries the script on CPU tensors: on 2026-11-27 it ran end to
end that way (PyTorch 2.13.0 CPU, ``--n 20000 --sk-n 20000 --k 8 --d 8``).

Prints, for N x d data with K components, per-iteration EM times (difference
of a 1- and a 6-iteration fit from the same parameters) of

- gradmix on PyTorch CUDA tensors and on CuPy arrays (when CuPy is
  installed), float32 and float64, for each covariance type (``--types``),
  with each type's bound (benchmarks/bounds.py at the device's measured GEMM
  rate and copy bandwidth) and the peak device memory a fit adds above the
  data;
- full float32 on PyTorch at each chunk budget of ``--budgets`` (GiB,
  ``max_memory``): time against peak memory, for choosing the default;
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
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.cluster import KMeans as SkKMeans
from sklearn.mixture import GaussianMixture as SkGMM

import gradmix as gm
from gradmix.mixture.arrays import to_host

sys.path.insert(0, str(Path(__file__).parent))
from bounds import em_bytes, em_flops  # noqa: E402


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


def gpu_gemm_rate(dtype: torch.dtype, dev: torch.device, size: int = 4096) -> float:
    """FLOP/s of a large square product on the device, best of three."""
    A = torch.randn(size, size, dtype=dtype, device=dev)
    A @ A
    return 2.0 * size**3 / min(timed(lambda: A @ A)[0] for _ in range(3))


def gpu_bandwidth(dev: torch.device, nbytes: int = 2**30) -> float:
    """Bytes/s of a large device copy (read + write), best of three."""
    a = torch.empty(nbytes // 4, dtype=torch.float32, device=dev)
    b = torch.empty_like(a)
    b.copy_(a)
    return 2.0 * nbytes / min(timed(lambda: b.copy_(a))[0] for _ in range(3))


def peak_above_data(lib: str, fit, cupy) -> float:
    """Peak device memory a fit adds to what is allocated before it (bytes): PyTorch's
    peak statistic, or the bytes CuPy's pool holds after the fit (it keeps freed blocks,
    so after emptying it first that is the peak the fit reserved)."""
    if not torch.cuda.is_available():
        return float("nan")
    sync()
    if lib == "torch":
        torch.cuda.empty_cache()
        before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        fit()
        sync()
        return float(torch.cuda.max_memory_allocated() - before)
    pool = cupy.get_default_memory_pool()
    pool.free_all_blocks()
    before = pool.used_bytes()
    fit()
    sync()
    return float(pool.total_bytes() - before)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=2_000_000)
    p.add_argument("--d", type=int, default=32)
    p.add_argument("--k", type=int, default=64)
    p.add_argument("--sk-n", type=int, default=200_000)
    p.add_argument("--device", default="cuda", help="'cpu' to try the script without a GPU")
    p.add_argument("--types", default="full,tied,diag,spherical")
    p.add_argument("--budgets", default="0.25,0.5,1,2",
                   help="GiB per chunk (max_memory) to sweep, full float32")  # fmt: skip
    args = p.parse_args()
    if "full" not in args.types.split(","):
        p.error("--types must include full (the anchors are full-covariance fits)")
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
    rate = {
        name: gpu_gemm_rate(dt, dev)
        for name, dt in (("float32", torch.float32), ("float64", torch.float64))
    }
    bw = gpu_bandwidth(dev)
    print(f"GEMM {rate['float32'] / 1e12:.1f} TFLOP/s float32, {rate['float64'] / 1e12:.1f} "
          f"float64; copy bandwidth {bw / 1e9:.0f} GB/s")  # fmt: skip
    backends = [("torch", lambda Z: Z)]
    try:
        import cupy

        if dev.type == "cuda":
            backends.append(("cupy", cupy.asarray))
    except ImportError:
        cupy = None
        print("CuPy is not installed: PyTorch only")
    res = {}
    print(f"\n{'type':<10} {'library':<6} {'dtype':<8} {'s/iter':>8} {'bound':>8} "
          f"{'of bound':>8} {'peak above data':>16}")  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for ct in args.types.split(","):
            m = gm.GaussianMixture(
                K, covariance_type=ct, max_iter=3, init_params="random_from_data", random_state=0
            ).fit(X64)
            start = {"weights_init": to_host(m.weights_), "means_init": to_host(m.means_),
                     "precisions_init": to_host(m.precisions_)}  # fmt: skip
            for lib, convert in backends:
                for name, Xt in (("float32", X32), ("float64", X64)):
                    Z = convert(Xt)

                    def fit(it, Z=Z, ct=ct, start=start):
                        return gm.GaussianMixture(K, covariance_type=ct, max_iter=it, tol=0,
                                                  **start).fit(Z)  # fmt: skip

                    fit(1)  # warm-up: kernels, allocator
                    peak = peak_above_data(lib, lambda fit=fit: fit(3), cupy)
                    t, last = per_iter(fit)
                    res[ct, lib, name] = (t, last)
                    itemsize = 4 if name == "float32" else 8
                    bound = (em_flops(ct, N, d, K) / rate[name]
                             + em_bytes(N, d, K, itemsize) / bw)  # fmt: skip
                    print(f"{ct:<10} {lib:<6} {name:<8} {t:8.4f} {bound:8.4f} {bound / t:8.2f} "
                          f"{peak / 1e9:13.2f} GB")  # fmt: skip
            if ct == "full":
                full_start, full_chol = start, to_host(m.precisions_cholesky_)
    # the memory the chunks take against their speed: what the default budget should be
    print("\nchunk budget (max_memory), full float32 on PyTorch: s/iter, peak above data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for gib in (float(b) for b in args.budgets.split(",")):

            def fit_budget(it, gib=gib):
                return gm.GaussianMixture(K, max_iter=it, tol=0, max_memory=int(gib * 2**30),
                                          **full_start).fit(X32)  # fmt: skip

            fit_budget(1)
            peak = peak_above_data("torch", lambda f=fit_budget: f(3), None)
            print(f"  {gib:5.3g} GiB: {per_iter(fit_budget)[0]:.4f} s/iter, "
                  f"{peak / 1e9:.2f} GB")  # fmt: skip
    data_gb = X32.element_size() * X32.numel() / 1e9
    print(f"(data: {data_gb:.2f} GB in float32, {2 * data_gb:.2f} GB in float64)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start, U = full_start, full_chol
        hand = {}
        for name, Xt in (("float32", X32), ("float64", X64)):
            torch_em(Xt, start["weights_init"], start["means_init"], U, 1)
            hand[name] = per_iter(
                lambda it, Xt=Xt: torch_em(Xt, start["weights_init"], start["means_init"], U, it)
            )
            print(f"hand-written PyTorch full {name}: {hand[name][0]:.4f} s/iter")
        Xs = X[: args.sk_n]
        sk_kw = dict(n_components=K, tol=0, **start)
        t1 = min(timed(lambda: SkGMM(max_iter=1, **sk_kw).fit(Xs))[0] for _ in range(1))
        t3 = min(timed(lambda: SkGMM(max_iter=3, **sk_kw).fit(Xs))[0] for _ in range(1))
        sk = (t3 - t1) / 2 * N / args.sk_n
        print(f"scikit-learn CPU float64 full: {sk:.2f} s/iter (measured at N={args.sk_n}, "
              "scaled)")  # fmt: skip
    g32, g64 = res["full", "torch", "float32"], res["full", "torch", "float64"]
    lb32, lb64 = float(g32[1].lower_bound_), float(g64[1].lower_bound_)
    print("\nratios, full covariance (higher = gradmix faster)")
    print(f"  scikit-learn / gradmix float64: {sk / g64[0]:8.1f}")
    print(f"  scikit-learn / gradmix float32: {sk / g32[0]:8.1f}")
    print(f"  hand-written / gradmix float32: {hand['float32'][0] / g32[0]:8.2f}")
    print(f"  hand-written / gradmix float64: {hand['float64'][0] / g64[0]:8.2f}")
    print(f"  gradmix float64 / float32 time: {g64[0] / g32[0]:8.2f}")
    print(f"  lower bound float32 vs float64, relative: {abs(lb32 - lb64) / abs(lb64):.1e}")
    for ct in args.types.split(","):
        for name in ("float32", "float64"):
            if (ct, "cupy", name) in res:
                ratio = res[ct, "cupy", name][0] / res[ct, "torch", name][0]
                print(f"  CuPy / PyTorch time, {ct} {name}: {ratio:.2f}")

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
