"""A mixture fit on a Dask array, block by block
=============================================

Data that do not fit in memory: a Dask array generated block by block (here
three overlapping clusters in two dimensions).  ``GaussianMixture.fit`` takes
it as it is: each block contributes its sufficient statistics, they are
summed, and the M-step runs on the client, so memory holds a few blocks at a
time.  A ``distributed.Client`` makes the blocks run on its workers (here a
local one of threads; on a cluster nothing else changes).  The printout
compares the fit with the in-memory fit of the same rows from the same start
(they agree to rounding: the blocks' sums are the in-memory sums, grouped
otherwise); the picture draws the fitted components over a density of a
sample of the rows.

Run:  uv run python examples/dask_fit.py     (GRADMIX_FULL=1 for 20 million rows)
"""

import dask.array as da
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from _common import full_run, output_dir
from distributed import Client, LocalCluster

import gradmix as gm
from gradmix.plot import plot_ellipses

matplotlib.use("Agg")

CENTRES = np.array([[0.0, 0.0], [3.0, 1.0], [1.0, 3.5]])
# a rough start for both fits, run to a tight tolerance: equal weights, these means,
# unit covariances (a start given in full: the covariances of a start from means alone
# come from a k-means partition, which the Dask path finds its own way)
START = dict(weights_init=np.full(3, 1 / 3), means_init=[[1.0, 0.0], [2.0, 2.0], [0.0, 2.0]],
             precisions_init=np.stack([np.eye(2)] * 3), tol=1e-8, max_iter=1000)  # fmt: skip


def clusters(n: int, chunk: int) -> da.Array:
    """Three clusters, row i in cluster i % 3, generated lazily block by block."""
    noise = da.random.RandomState(0).normal(size=(n, 2), chunks=(chunk, 2))
    which = da.arange(n, chunks=chunk) % 3
    return noise * 0.8 + da.from_array(CENTRES)[which]


def main() -> None:
    n = 20_000_000 if full_run() else 300_000
    X = clusters(n, chunk=n // 10)
    print(f"{n} rows in {X.numblocks[0]} blocks of {X.chunks[0][0]} "
          f"({X.nbytes / 2**20:.0f} MiB in all)")  # fmt: skip
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=None) as cluster, Client(cluster):  # fmt: skip
        model = gm.GaussianMixture(3, **START).fit(X)
        labels = model.predict(X)  # lazy, like X
        counts = np.bincount(labels.compute(), minlength=3)
    order = np.argsort(model.means_[:, 0] + 10 * model.means_[:, 1])
    print(f"EM on the blocks: {model.n_iter_} iterations, converged = {model.converged_}")
    print("means", np.round(model.means_[order], 3).tolist())
    print("rows per component", counts[order].tolist())
    if not full_run():
        here = gm.GaussianMixture(3, **START).fit(X.compute())
        gap = np.max(np.abs(here.means_ - model.means_))
        print(f"largest difference from the in-memory fit's means: {gap:.1e}")

    sample = X[:20_000].compute()  # rows cycle through the clusters
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.hexbin(sample[:, 0], sample[:, 1], gridsize=60, cmap="Greys", mincnt=1)
    plot_ellipses(ax, model)
    ax.set_title(f"3 components fit to {n:,} rows on a Dask array")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    path = output_dir() / "dask_fit.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(f"saved {path}")


if __name__ == "__main__":
    main()
