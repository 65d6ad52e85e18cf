"""Initial parameters of a Gaussian mixture, written once on the executor seam.

scikit-learn's four starts — ``kmeans`` (the labels of one k-means run),
``k-means++`` and ``random_from_data`` (one row per component),
``random`` (uniform random responsibilities) — draw the same random numbers
as scikit-learn, so a fit starts where scikit-learn's does, whatever kind
of data it runs on.  mclust's ``hc`` classifies a sample of rows by
model-based hierarchical agglomeration; ``trimmed-kmeans`` by trimmed
k-means (:mod:`.trimmed`), leaving out the 10 % of rows farthest from every
centre (a start outliers do not move: Student-t mixtures' default).  Every start ends in the model's
own M-step from the statistics of its responsibilities; no (n, K) array of
them is ever held.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np
from array_api_compat import device

from gradmix.mixture.conjugate_prior import ConjugatePrior
from gradmix.mixture.covariance import CovarianceModel
from gradmix.mixture.em import OneHot, stats_from_labels, stats_from_source
from gradmix.mixture.executors import Chunk, Executor
from gradmix.mixture.hierarchical import HC_USE, MAX_ROWS, hierarchical_labels
from gradmix.mixture.lloyd import kmeans
from gradmix.mixture.maximisation import m_step
from gradmix.mixture.params import Params, Stats
from gradmix.mixture.seeding import kmeans_plusplus
from gradmix.mixture.trimmed import trimmed_kmeans

__all__ = ["AUTO_KMEANS_STARTS", "HC_USE", "INIT_PARAMS", "RandomResponsibilities",
           "SAMPLE_ROWS", "initial_params", "initial_stats", "shared_starts",
           "start_methods"]  # fmt: skip

INIT_PARAMS = ("auto", "kmeans", "k-means++", "random", "random_from_data", "hc",
               "trimmed-kmeans")  # fmt: skip
#: k-means starts that follow the hierarchical one under ``init_params="auto"``, at least
AUTO_KMEANS_STARTS = 4


def start_methods(init_params: str, mclust_model: bool, n_init: int) -> list[str]:
    """The initialisation of each start of a fit.

    ``"auto"`` is scikit-learn's k-means for scikit-learn's model names (the same
    numbers as scikit-learn), and for mclust's models mclust's hierarchical start
    followed by k-means starts (``max(n_init, AUTO_KMEANS_STARTS)`` of them), the
    best of which is kept: hc alone reaches mclust's optimum on most data, k-means
    where the tree's partition is a poor start.  Any other value is used for every
    one of the ``n_init`` starts.
    """
    if init_params != "auto":
        return [init_params] * n_init
    if not mclust_model:
        return ["kmeans"] * n_init
    return ["hc"] + ["kmeans"] * max(n_init, AUTO_KMEANS_STARTS)


#: rows trimmed k-means reads at most, a random sample beyond
SAMPLE_ROWS = 5000


class RandomResponsibilities:
    """Uniform random responsibilities, normalised per row: scikit-learn's ``random`` start.

    scikit-learn draws one (n, K) array from the ``RandomState``; the draws of
    every chunk are that stream's rows, regenerated from the generator's state
    saved where the chunk starts, so any chunk can be drawn anywhere, in any
    order, any number of times.
    """

    def __init__(self, states: dict[int, Any]):
        self.states = states

    @classmethod
    def draw(
        cls, random_state: Any, bounds: list[tuple[int, int]], K: int
    ) -> RandomResponsibilities:
        """Save the state at every chunk's start, advancing ``random_state`` past all draws."""
        states = {}
        for a, b in bounds:
            states[a] = random_state.get_state()
            random_state.uniform(size=(b - a, K))
        return cls(states)

    def for_rows(self, start: int, stop: int) -> RandomResponsibilities:
        return RandomResponsibilities({a: s for a, s in self.states.items() if start <= a < stop})

    def __call__(self, chunk: Chunk, K: int) -> Any:
        rs = np.random.RandomState()
        rs.set_state(self.states[chunk.start])
        r = rs.uniform(size=(chunk.stop - chunk.start, K))
        r /= r.sum(axis=1)[:, None]
        return chunk.xp.asarray(r, dtype=chunk.X.dtype, device=device(chunk.X))


#: the k-means starts computed in a :func:`shared_starts` block, or None outside one
_SHARED: ContextVar[dict[tuple[Any, ...], tuple[Any, Any]] | None] = ContextVar(
    "gradmix_shared_starts", default=None
)


@contextmanager
def shared_starts() -> Iterator[None]:
    """Within the block, fits to the same rows share their k-means starts.

    A k-means start is a function of the rows, K and the random generator's
    state.  A model search fits many covariance models to the same rows from
    the same seed, so each clustering is computed once: its labels, and the
    state it leaves the generator in, are replayed for every later fit that
    asks for the same one — the same numbers as computing it again.  The
    labels are held only while the block runs.
    """
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def _digest(*parts: Any) -> str:
    h = hashlib.sha1()
    for part in parts:
        h.update(np.ascontiguousarray(part).tobytes() if isinstance(part, np.ndarray)
                 else repr(part).encode())  # fmt: skip
    return h.hexdigest()


def _kmeans_labels(ex: Executor, K: int, random_state: Any) -> Any:
    """The labels of one k-means++ start (shared within :func:`shared_starts`)."""
    shared = _SHARED.get()
    if shared is None:
        return kmeans(ex, K, init="k-means++", n_init=1, random_state=random_state).labels
    probe = np.unique(np.linspace(0, ex.n - 1, 16).astype(np.int64))
    kind, keys, pos, has_gauss, gauss = random_state.get_state()
    key = (_digest(type(ex).__name__, ex.n, ex.d, ex.total_weight, ex.shift, ex.take(probe),
                   ex.weights_at(probe)),
           K, _digest(kind, keys, pos, has_gauss, gauss))  # fmt: skip
    if key not in shared:
        labels = kmeans(ex, K, init="k-means++", n_init=1, random_state=random_state).labels
        shared[key] = (labels, random_state.get_state())
    labels, after = shared[key]
    random_state.set_state(after)
    return labels


def _from_points(ex: Executor, model: CovarianceModel, indices: np.ndarray, K: int) -> Stats:
    """The statistics of one row per component."""
    return stats_from_labels(model, ex.take(indices), ex.weights_at(indices), np.arange(K), K,
                             ex.total_weight)  # fmt: skip


def initial_stats(ex: Executor, model: CovarianceModel, init_params: str, K: int, random_state: Any,
                  attempt: int = 0, hc_use: str = "SVD") -> Stats:  # fmt: skip
    """The statistics of the initial responsibilities ``init_params`` gives.

    ``attempt`` counts the hierarchical starts of one fit: the tree is
    deterministic, so its further starts agglomerate random halves of the rows.
    ``hc_use`` is mclust's ``hcUse``, the rows' transformation (see
    :func:`gradmix.mixture.hierarchical.hc_transform`).
    """
    if init_params == "random_from_data":
        return _from_points(ex, model, random_state.choice(ex.n, size=K, replace=False), K)
    if init_params == "k-means++":
        # scikit-learn seeds on unweighted rows; a Dask array on a sample of them
        rows, _, sample = ex.seeding_data(random_state, 50 * K)
        picks = kmeans_plusplus(rows, K, None, random_state)
        return _from_points(ex, model, picks if sample is None else sample[picks], K)
    if init_params == "kmeans":
        labels = _kmeans_labels(ex, K, random_state)
        return stats_from_source(ex, model, OneHot(), K, aligned=(labels,))
    if init_params == "random":
        source = RandomResponsibilities.draw(random_state, ex.bounds(), K)
        return stats_from_source(ex, model, source, K)
    if init_params == "hc":
        idx = _sample(ex, MAX_ROWS, random_state)
        if attempt > 0:
            idx = np.sort(random_state.choice(idx, max(len(idx) // 2, K), replace=False))
        rows, w = ex.take(idx), ex.weights_at(idx)
        labels = hierarchical_labels(rows, K, hc_use)
        return stats_from_labels(model, rows, w, labels, K, float(np.sum(w)))
    if init_params == "trimmed-kmeans":
        idx = _sample(ex, SAMPLE_ROWS, random_state)
        rows, w = ex.take(idx), ex.weights_at(idx)
        kept, labels = trimmed_kmeans(rows, K, None if ex.unit_weights else w, random_state)
        return stats_from_labels(model, rows[kept], w[kept], labels[kept], K,
                                 float(np.sum(w[kept])))  # fmt: skip
    raise ValueError(f"unknown init_params {init_params!r}")


def _sample(ex: Executor, size: int, random_state: Any) -> np.ndarray:
    """All row indices, or a sorted random sample of ``size`` of them."""
    if ex.n <= size:
        return np.arange(ex.n)
    return np.sort(random_state.choice(ex.n, size, replace=False))


def initial_params(ex: Executor, model: CovarianceModel, K: int, init_params: str,
                   random_state: Any, reg_covar: float, weights: np.ndarray | None = None,
                   means: np.ndarray | None = None, precisions: np.ndarray | None = None,
                   attempt: int = 0, hc_use: str = "SVD",
                   prior: ConjugatePrior | None = None) -> Params:  # fmt: skip
    """Starting parameters: given ones, and the initialisation's M-step for the rest.

    Parameters
    ----------
    weights, means, precisions : ndarray, optional
        Given starting values (``means`` centred, ``precisions`` compact).
    attempt : int
        Which of the fit's hierarchical starts this is.
    hc_use : str
        mclust's ``hcUse`` for the hierarchical start.
    prior : ConjugatePrior, optional
        The fit's prior: the first M-step is the posterior mode's too (as mclust's).
    """
    dtype = ex.dtype
    if weights is None or means is None or precisions is None:
        stats = initial_stats(ex, model, init_params, K, random_state, attempt, hc_use)
        params = m_step(model, stats, reg_covar, dtype, normalise_by_total=True,
                        var_floor=ex.var_floor, covariances=precisions is None,
                        prior=prior)  # fmt: skip
    else:
        params = Params(weights, means, None, np.empty(0))
    if weights is not None:
        params.weights = np.asarray(weights, dtype=dtype)
    if means is not None:
        params.means = np.asarray(means, dtype=dtype)
    if precisions is not None:
        prec_chol = model.cholesky_from_precisions(np.asarray(precisions, dtype=np.float64))
        params.covariances = model.covariances_from_cholesky(prec_chol).astype(dtype)
        params.precisions_cholesky = prec_chol.astype(dtype)
    return params
