"""MixtureModel per EM iteration: a Poisson mixture against a hand-written numpy EM and
pomegranate, a user's family against the built-in's Newton route, and where the time goes.

Run:  uv run python benchmarks/family_speed.py [--n 1000000] [--d 10] [--k 8]
      (pomegranate's row: `uv pip install pomegranate` first; it is not a dependency)

Per-iteration time is (t(4 iterations) - t(1 iteration)) / 3, best of --repeat
alternating rounds, every contender from the same start (weights and rates of
three EM iterations).  Ratios are against the hand-written numpy EM (one GEMM
for the log-densities, log-sum-exp, the closed-form M-step), measured in the
same run.  Then: a user's Poisson family (its five-line logpdf, the Newton
M-step on exact derivatives) against the built-in family through the same
Newton route (``m_step="newton"``), the split of one Newton pass between the
log-densities and the derivatives, and the memory a fit adds.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import warnings

import numpy as np
from scipy.special import gammaln, logsumexp

import gradmix as gm
from gradmix.mixture.families.newton import Layout, derivatives


def numpy_em(X: np.ndarray, w: np.ndarray, lam: np.ndarray, n_iter: int) -> float:
    """The hand-written anchor: EM for independent Poisson features."""
    const = gammaln(X + 1.0).sum(axis=1)
    ll = -np.inf
    for _ in range(n_iter):
        wlp = X @ np.log(lam).T - lam.sum(axis=1) + np.log(w) - const[:, None]
        lse = logsumexp(wlp, axis=1)
        r = np.exp(wlp - lse[:, None])
        nk = r.sum(axis=0)
        w, lam = nk / len(X), (r.T @ X) / nk[:, None]
        ll = float(lse.mean())
    return ll


def timed(f: object, *args: object) -> float:
    t = time.perf_counter()
    f(*args)  # type: ignore[operator]
    return time.perf_counter() - t


def per_iteration(runs: dict[str, object], repeat: int) -> dict[str, float]:
    best1 = {name: np.inf for name in runs}
    best4 = dict(best1)
    for _ in range(repeat):
        for name, run in runs.items():
            best1[name] = min(best1[name], timed(run, 1))
            best4[name] = min(best4[name], timed(run, 4))
    return {name: (best4[name] - best1[name]) / 3 for name in runs}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--d", type=int, default=10)
    p.add_argument("--k", type=int, default=8)
    p.add_argument("--repeat", type=int, default=2)
    a = p.parse_args()
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    rates = rng.uniform(1, 20, size=(a.k, a.d))
    X = rng.poisson(rates[rng.integers(0, a.k, a.n)]).astype(np.float64)
    start = gm.MixtureModel("poisson", a.k, max_iter=3, random_state=0).fit(X)
    w0, lam0 = start.weights_, start.params_["lam"]
    kw = dict(n_components=a.k, weights_init=w0, params_init={"lam": lam0}, tol=0)
    user = gm.Family(lambda x, lam: np.sum(x * np.log(lam) - lam, axis=1),
                     {"lam": (("d",), "positive")})  # fmt: skip

    runs: dict[str, object] = {
        "numpy EM": lambda it: numpy_em(X, w0, lam0, it),
        "gradmix": lambda it: gm.MixtureModel("poisson", max_iter=it, **kw).fit(X),
    }
    try:
        import torch
        from pomegranate.distributions import Poisson as PomPoisson
        from pomegranate.gmm import GeneralMixtureModel

        Xt = torch.as_tensor(X, dtype=torch.float32)

        def pomegranate(it: int) -> None:
            dists = [PomPoisson(lambdas=torch.as_tensor(lam, dtype=torch.float32))
                     for lam in lam0]  # fmt: skip
            GeneralMixtureModel(dists, priors=torch.as_tensor(w0, dtype=torch.float32),
                                max_iter=it, tol=0.0, verbose=False).fit(Xt)  # fmt: skip

        runs["pomegranate"] = pomegranate
    except ImportError:
        print("(pomegranate is not installed: `uv pip install pomegranate` for its row)")
    print(f"Poisson mixture, N={a.n} d={a.d} K={a.k}, float64 (pomegranate float32)")
    best = per_iteration(runs, a.repeat)
    for name, t in best.items():
        print(f"  {name:<12} {t:8.3f} s/it   {t / best['numpy EM']:6.2f}x numpy EM")

    newton = {
        "built-in, Newton": lambda it: gm.MixtureModel("poisson", max_iter=it, m_step="newton",
                                                       **kw).fit(X),
        "user family": lambda it: gm.MixtureModel(user, max_iter=it, **kw).fit(X),
    }  # fmt: skip
    nb = per_iteration(newton, a.repeat)
    print("\nthe Newton route (exact derivatives of Σ r log f, one Newton step per pass)")
    for name, t in nb.items():
        print(f"  {name:<17} {t:8.3f} s/it   {t / best['gradmix']:6.2f}x the built-in's closed "
              f"form, {t / nb['built-in, Newton']:5.2f}x the built-in's Newton route")  # fmt: skip

    # where a Newton pass's time goes, on one chunk of 20 000 rows
    chunk = X[:20_000]
    layout = Layout(user, a.k, a.d)
    theta = {"lam": lam0}
    z = layout.pack(theta)
    W = np.full((len(chunk), a.k), 1.0 / a.k)
    t_log = min(timed(user.log_prob, chunk, theta) for _ in range(3))
    t_der = min(timed(derivatives, layout, z, chunk, W) for _ in range(3))
    print(f"\none chunk of {len(chunk)} rows: log-densities {t_log * 1e3:.1f} ms, value, "
          f"gradient and Hessian of Q {t_der * 1e3:.1f} ms ({t_der / t_log:.0f}x)")  # fmt: skip

    # memory in a fresh process: the peak a fit adds above the loaded data
    out = subprocess.run([sys.executable, "-c", MEMORY, str(a.n), str(a.d), str(a.k)],
                         capture_output=True, text=True, check=True)  # fmt: skip
    data_mb, closed_mb, user_mb = (float(v) for v in out.stdout.split())
    print(f"peak memory a fit adds above the data ({data_mb:.0f} MB): built-in "
          f"{closed_mb:.0f} MB, user family (Newton) {user_mb:.0f} MB")  # fmt: skip


MEMORY = r"""
import sys, warnings
import numpy as np
import gradmix as gm
n, d, k = (int(v) for v in sys.argv[1:4])
warnings.simplefilter("ignore")
def peak():
    line = next(l for l in open("/proc/self/status") if l.startswith("VmHWM"))
    return int(line.split()[1]) / 1024
rng = np.random.default_rng(0)
rates = rng.uniform(1, 20, size=(k, d))
X = np.empty((n, d))
for s in range(0, n, 50_000):
    m = min(50_000, n - s)
    X[s : s + m] = rng.poisson(rates[rng.integers(0, k, m)])
base = peak()
gm.MixtureModel("poisson", k, max_iter=3, random_state=0).fit(X)
closed = peak() - base
user = gm.Family(lambda x, lam: np.sum(x * np.log(lam) - lam, axis=1),
                 {"lam": (("d",), "positive")})
gm.MixtureModel(user, k, max_iter=2, random_state=0).fit(X)
print(X.nbytes / 2**20, closed, peak() - base)
"""


if __name__ == "__main__":
    main()
