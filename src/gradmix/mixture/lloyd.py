"""k-means: EM with hard assignments (Lloyd's algorithm), on the executor seam.

Each pass assigns every row to its nearest centre — distances by one GEMM of
``[x, 1]`` against ``[-2cᵀ; |c|²]`` (the offsets ride in the product) — and
sums Σ w and Σ w x per cluster; the new centres are their ratio.  Empty
clusters take the points farthest from their centres, and convergence is
scikit-learn's (labels unchanged, or the centres' squared shift at most
``tol`` times the mean feature variance), so results equal
``sklearn.cluster.KMeans(algorithm="lloyd")`` from the same start.  This is
the limit of the Gaussian mixture's EM with equal spherical covariances
shrinking to zero.  Numpy data in memory whose distances' products are small
(few features or clusters) take scikit-learn's compiled iterations instead,
which numpy's passes cannot match there.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from array_api_compat import array_namespace, device
from scipy.spatial.distance import cdist
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.exceptions import ConvergenceWarning

from gradmix.mixture.arrays import to_host
from gradmix.mixture.executors import Chunk, Executor
from gradmix.mixture.executors.host import single_threaded_blas
from gradmix.mixture.ops import is_host, take_rows, to_float64
from gradmix.mixture.seeding import kmeans_plusplus

__all__ = ["KMeansResult", "assign_kernel", "distance_kernel", "kmeans", "lloyd",
           "nearest_inertia_kernel"]  # fmt: skip

# on the host, distances are computed in blocks this large (bytes), so that a block
# stays in cache between its GEMM and its argmin (1024 rows at K = 64 measured fastest)
CACHE_BYTES = 2**19
# Hamerly's bounds pay from about this many rows (below, keeping them costs more per pass
# than the distances they skip)
PRUNED_ROWS = 16384
# where the products do not dominate, k-means' passes over fewer rows than this run on one
# thread, which is quicker than two sharing them (20 passes, KMeans, 6 000 × 2, K = 3:
# 3.1 -> 2.1 ms; 10 000 × 8, K = 8: 11.1 -> 9.5 ms, measured when gradmix's own passes ran
# there; from COMPILED_FROM_ROWS on, the seeding and summary passes); where they do, the
# threads pay
ONE_THREAD_ROWS = 16384
# a one-hot (k, m) matrix is cheaper built and multiplied densely with the (m, d + 1) rows
# while its product takes at most this many multiply-adds; above, BLAS's threads on its
# long inner dimension and the zeros cost more than a sparse product (3 000 rows, d = 32,
# K = 16: 189 µs dense against 88 µs sparse; 1 000 rows, same d and K: 34 against 63)
DENSE_PRODUCT = 640_000
# scikit-learn's Lloyd iterations (compiled: each row's distances, nearest centre and sums
# in one loop) are faster than numpy passes over data in memory unless the distances'
# products dominate and Hamerly's bounds run: gradmix's (a GEMM per block, the bounds) won
# with at least 16 features and 16 clusters and d·K >= 512 (1.2-1.5x at 20 000-100 000
# rows), and lost by up to 4x below that (`benchmarks/kmeans_speed.py --grid`)
OWN_PASS_LEAST = 16
OWN_PASS_DK = 512
# ... and, without Hamerly's bounds (below PRUNED_ROWS), whatever the shape: from this many
# rows. Below, its loop's threads cost more than numpy's passes over the few rows take in
# the few iterations of a fit: a GaussianMixture's k-means start at 3 000 × 5, K = 3 took
# 6.0-7.3 ms by scikit-learn's, 3.0-3.4 ms by these passes. From 4 000 rows it was faster
# in every case timed (GaussianMixture starts at 5 000 × 8, K = 8: 8.6-10.1 against
# 12.8-21.7 ms; KMeans fits at 7 000 × 16, K = 16: 7.7-8.0 against 11.5-12.0 ms).
COMPILED_FROM_ROWS = 4096
# up to this many clusters the two nearest centres are found column by column: numpy's
# argmin along rows this short runs its loop once per row (20 000 rows at K = 2: 0.87 ms
# for the two nearest against 0.15 ms by columns; at K = 8 1.09 against 0.90, at 16 slower)
FEW_CLUSTERS = 8
# ... and the nearest alone only up to this many: one argmin is quicker from three on
# (3 000 rows at K = 8: 26 µs against 66 µs by columns; 20 000 rows at K = 2: 88 against 63)
FEW_CLUSTERS_NEAREST = 2


@dataclass
class KMeansResult:
    """Centres (centred, host), labels (in the data's kind), inertia and iterations."""

    centres: np.ndarray
    labels: Any
    inertia: float
    n_iter: int


def offsets_matrix(centres: np.ndarray) -> np.ndarray:
    """``[-2cᵀ; |c|²]``, shape (d + 1, k): ``[x, 1] @ B = |x - c|² - |x|²``."""
    return np.concatenate([-2.0 * centres.T, np.einsum("ij,ij->i", centres, centres)[None]])


def _labels(xp: Any, Xa: Any, B: Any) -> Any:
    """Index of the nearest centre of every row of ``Xa = [X, 1]``."""
    if not is_host(xp):
        return xp.argmin(Xa @ B, axis=1)
    m, k = Xa.shape[0], B.shape[1]
    block = max(256, CACHE_BYTES // (k * Xa.dtype.itemsize))
    labels = np.empty(m, dtype=np.int32)
    D = np.empty((min(block, m), k), dtype=Xa.dtype)
    least = np.empty(len(D), dtype=Xa.dtype) if k <= FEW_CLUSTERS_NEAREST else None
    for a in range(0, m, block):
        b = min(a + block, m)
        np.matmul(Xa[a:b], B, out=D[: b - a])
        if least is None:
            labels[a:b] = np.argmin(D[: b - a], axis=1)
        else:
            _least_by_columns(D[: b - a], labels[a:b], least[: b - a])
    return labels


def _least_by_columns(D: np.ndarray, index: np.ndarray, least: np.ndarray,
                     second: np.ndarray | None = None) -> None:  # fmt: skip
    """Each row's least entry of ``D`` (m, k) into ``least`` (m,) and its column into
    ``index`` (the first of equal ones, as ``np.argmin``), by a few elementwise passes
    per column; with ``second``, the least of the row's other entries (inf for k = 1)."""
    least[:] = D[:, 0]
    index[:] = 0
    if second is not None:
        second[:] = np.inf
        larger = np.empty_like(least)
    smaller = np.empty(len(D), dtype=bool)
    for j in range(1, D.shape[1]):
        column = D[:, j]
        if second is not None:
            np.maximum(least, column, out=larger)  # the larger of the two is a candidate
            np.minimum(second, larger, out=second)
        np.less(column, least, out=smaller)
        np.minimum(least, column, out=least)
        np.copyto(index, j, where=smaller)


def _cluster_sums(labels: np.ndarray, w: np.ndarray | None, Xa: np.ndarray,
                  k: int) -> np.ndarray:  # fmt: skip
    """Σ w [x, 1] per cluster (host; ``w`` None for unit weights): the hard
    responsibilities as a (k, m) matrix times ``Xa``, dense while it is small (building a
    sparse matrix costs 30-100 µs), else sparse in CSC form (one entry per column, built
    without sorting)."""
    m = len(labels)
    if m * k * Xa.shape[1] <= DENSE_PRODUCT:
        R = np.zeros((k, m), dtype=Xa.dtype)
        R[labels, np.arange(m)] = 1.0 if w is None else w
        return R @ Xa
    w = np.ones(m, dtype=Xa.dtype) if w is None else w
    return np.asarray(sp.csc_matrix((w, labels, np.arange(m + 1)), shape=(k, m)) @ Xa)


def assign_kernel(chunk: Chunk, B: Any) -> Any:
    """Nearest-centre labels (a per-row kernel)."""
    return _labels(chunk.xp, chunk.augmented(), B)


def _assign_sums_kernel(chunk: Chunk, B: Any) -> tuple[tuple[Any], Any]:
    """Labels, and Σ w [x, 1] per cluster: its last column is Σ w."""
    xp, Xa = chunk.xp, chunk.augmented()
    labels = _labels(xp, Xa, B)
    k = B.shape[1]
    if is_host(xp):
        return (_cluster_sums(labels, chunk.w, Xa, k),), labels
    w = chunk.weights()
    ids = xp.arange(k, device=device(Xa))
    R = xp.astype(labels[:, None] == ids[None, :], Xa.dtype) * w[:, None]
    return (xp.permute_dims(R, (1, 0)) @ Xa,), labels


def distance_kernel(chunk: Chunk, C: Any) -> Any:
    """|x - c_label(x)|² with the labels as the first aligned input."""
    xp = chunk.xp
    if is_host(xp):  # in cache-sized blocks: no temporaries of the chunk's size
        X, labels = chunk.X, chunk.aligned[0]
        out = np.empty(len(X), dtype=X.dtype)
        block = max(256, CACHE_BYTES // (8 * X.shape[1]))
        for a in range(0, len(X), block):
            diff = X[a : a + block] - np.take(C, labels[a : a + block], axis=0)
            out[a : a + block] = np.einsum("ij,ij->i", diff, diff)
        return out
    diff = chunk.X - xp.take(C, xp.astype(chunk.aligned[0], xp.int64), axis=0)
    return xp.sum(diff * diff, axis=1)


def _inertia_kernel(chunk: Chunk, C: Any) -> tuple[Any]:
    xp = chunk.xp
    d2 = to_float64(xp, distance_kernel(chunk, C))
    return (xp.sum(d2) if chunk.w is None else to_float64(xp, chunk.w) @ d2,)


def nearest_inertia_kernel(chunk: Chunk, B: Any, C: Any) -> tuple[Any]:
    """Σ w |x - c|² over the chunk, each row to its nearest centre (``B``: the centres'
    :func:`offsets_matrix`): the inertia of the labels the centres ``C`` give."""
    xp = chunk.xp
    labels = assign_kernel(chunk, B)
    return _inertia_kernel(Chunk(xp, chunk.X, chunk.w, chunk.start, chunk.stop, (labels,)), C)


def _moments_kernel(chunk: Chunk) -> tuple[Any, Any]:
    xp = chunk.xp
    X = to_float64(xp, chunk.X)
    return xp.sum(X, axis=0), xp.sum(X * X, axis=0)


def tolerance(ex: Executor, tol: float) -> float:
    """scikit-learn's absolute tolerance: ``tol`` times the mean (unweighted) variance."""
    if not tol:
        return 0.0
    s1, s2 = ex.map_reduce(_moments_kernel)
    var = s2 / ex.n - (s1 / ex.n) ** 2  # of centred data: nothing cancels
    return float(np.mean(var) * tol)


def _move_to_far_points(empty: np.ndarray, points: np.ndarray, weights: np.ndarray,
                        old_ids: np.ndarray, wk: np.ndarray, sx: np.ndarray) -> None:  # fmt: skip
    """Empty cluster ``empty[i]`` takes ``points[i]`` from cluster ``old_ids[i]`` (in place)."""
    for new_id, x, w, old_id in zip(empty, points, weights, old_ids, strict=True):
        sx[old_id] -= x * w
        sx[new_id] = x * w
        wk[new_id] = w
        wk[old_id] -= w


def _relocate_empty(ex: Executor, centres: np.ndarray, wk: np.ndarray, sx: np.ndarray,
                    labels: Any) -> None:  # fmt: skip
    """Move empty clusters to the points farthest from their centres (scikit-learn's rule)."""
    empty = np.flatnonzero(wk == 0)
    if len(empty) == 0:
        return
    if labels is None:  # not kept by the pass (Dask): recomputed lazily, block by block
        labels = ex.map_rows(assign_kernel, ex.put(offsets_matrix(centres)), dtype=np.int64)
    dist = ex.map_rows(distance_kernel, ex.put(centres), aligned=(labels,))
    far = ex.top(dist, len(empty))
    if ex.gather(dist, far[:1])[0] == 0:
        return
    _move_to_far_points(empty, ex.take(far).astype(np.float64), ex.weights_at(far),
                        ex.gather(labels, far).astype(np.intp), wk, sx)  # fmt: skip


def _new_centres(centres: np.ndarray, wk: np.ndarray, sx: np.ndarray) -> tuple[np.ndarray, float]:
    """Cluster means (empty clusters keep their centre) and the squared centre shift."""
    new = centres.copy()
    nonempty = wk > 0
    new[nonempty] = (sx[nonempty] / wk[nonempty, None]).astype(centres.dtype)
    return new, float(((new - centres) ** 2).sum())


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    xp = array_namespace(a)
    return bool(xp.all(a == b))


@dataclass
class _Bounds:
    """Hamerly's bounds per row (host): the label, an upper bound on the distance to its
    centre and a lower bound on the distance to every other centre."""

    labels: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    norms: np.ndarray  # |x|², to turn the GEMM's |x - c|² - |x|² into distances

    def aligned(self) -> tuple[np.ndarray, ...]:
        return self.labels, self.upper, self.lower, self.norms


@dataclass
class _Moves:
    """What the bounds need from one update of the centres to the next pass."""

    half_gap: np.ndarray  # (k,) half the distance from each centre to its nearest other
    shift: np.ndarray  # (k,) how far each centre moved
    other_shift: np.ndarray  # (k,) the largest move among the other centres
    margin: float  # more than the rounding error of a distance from the GEMM
    first: bool


def _moves(old: np.ndarray | None, centres: np.ndarray, radius: float) -> _Moves:
    c = centres.astype(np.float64)
    gaps = cdist(c, c)  # from differences: exact, unlike the GEMM's distances
    np.fill_diagonal(gaps, np.inf)
    shift = np.zeros(len(c)) if old is None else np.sqrt(np.sum((c - old) ** 2, axis=1))
    # |x|² - 2x·c + |c|² loses ~eps (|x| + |c|)² to rounding: bounds closer than this to
    # deciding are not trusted, so a skipped row is one Lloyd's GEMM would not move either
    eps = float(np.finfo(centres.dtype).eps)
    margin = 8.0 * np.sqrt(eps) * (radius + float(np.max(np.linalg.norm(c, axis=1))))
    order = np.argsort(shift)
    other = np.full(len(c), shift[order[-1]])
    if len(c) > 1:
        other[order[-1]] = shift[order[-2]]
    return _Moves(0.5 * gaps.min(axis=1), shift, other, margin, old is None)


def _pruned_kernel(chunk: Chunk, B: np.ndarray, moves: _Moves) -> tuple[Any, int]:
    """Lloyd's pass with Hamerly's pruning (host): distances only for rows whose bounds do
    not prove their label unchanged; the bounds and labels (aligned) are updated in place.

    Returns the change of the cluster sums Σ w [x, 1] (all of them on the first pass,
    as :func:`_assign_sums_kernel`; afterwards only the rows that changed cluster, out of
    the old and into the new) and how many labels changed."""
    Xa = chunk.augmented()
    labels, upper, lower, norms = chunk.aligned
    m, k = Xa.shape[0], B.shape[1]
    todo: Any = None  # every row, by contiguous blocks
    if moves.first:  # |x|², kept for the later passes
        norms[:] = np.einsum("ij,ij->i", chunk.X, chunk.X, dtype=np.float64)
    else:
        # (np.take: a quarter of the time of indexing, for these small tables)
        upper += np.take(moves.shift, labels)
        lower -= np.take(moves.other_shift, labels)
        gap = np.take(moves.half_gap, labels)
        todo = np.flatnonzero(upper + moves.margin >= np.maximum(gap, lower, out=gap))
        if len(todo) > m // 2:  # gathering most rows costs more than it saves
            todo = None
    count = m if todo is None else len(todo)
    # per block only the GEMM, the nearest centre and the two least distances (less |x|²):
    # the rest runs once over the chunk, where numpy's per-call cost vanishes
    new = np.empty(count, dtype=np.intp)
    both = np.empty((2, count), dtype=Xa.dtype)
    block = max(256, CACHE_BYTES // (k * Xa.dtype.itemsize))
    buffer = np.empty((block, k), dtype=Xa.dtype)  # reused: a fresh one faults its pages
    row_starts = np.arange(block) * k
    at = np.empty(block, dtype=np.intp)
    for a in range(0, count, block):
        b = min(a + block, count)
        D, starts, at_b = buffer[: b - a], row_starts[: b - a], at[: b - a]
        np.matmul(Xa[a:b] if todo is None else Xa[todo[a:b]], B, out=D)
        if k <= FEW_CLUSTERS:
            _least_by_columns(D, new[a:b], both[0, a:b], both[1, a:b])
            continue
        flat = D.reshape(-1)
        np.add(starts, np.argmin(D, axis=1, out=new[a:b]), out=at_b)
        np.take(flat, at_b, out=both[0, a:b], mode="clip")
        flat[at_b] = np.inf  # the second nearest is then the least of the others, found by
        np.add(starts, np.argmin(D, axis=1), out=at_b)  # argmin: numpy's min is 5x slower
        np.take(flat, at_b, out=both[1, a:b], mode="clip")
    rows: Any = slice(None) if todo is None else todo
    dist = both.astype(np.float64, copy=False)
    dist += norms[rows]
    np.sqrt(np.maximum(dist, 0.0, out=dist), out=dist)
    upper[rows], lower[rows] = dist
    w = chunk.weights()
    if moves.first:  # the sums of every row; later passes send only what moved
        labels[:] = new
        return _cluster_sums(labels, chunk.w, Xa, k), m
    was = labels[rows].copy()  # a view when every row was worked on
    changed = np.flatnonzero(new != was)
    labels[rows] = new
    moved = changed if todo is None else todo[changed]
    wr = w[moved]
    # one column per moved row: +w in its new cluster, -w in its old one (dense while it
    # is small: building a sparse matrix costs more than a few hundred columns)
    cols = np.arange(len(moved))
    if len(moved) <= 512:
        R = np.zeros((k, len(moved)), dtype=Xa.dtype)
        R[new[changed], cols] = wr
        R[was[changed], cols] = -wr
    else:
        R = sp.csc_matrix((np.stack([wr, -wr], axis=1).ravel(),
                           np.stack([new[changed], was[changed]], axis=1).ravel(),
                           2 * np.append(cols, len(moved))), shape=(k, len(moved)))  # fmt: skip
    return np.asarray(R @ Xa[moved]), len(moved)


def _lloyd_pruned(ex: Executor, centres: np.ndarray, max_iter: int, tol: float,
                  verbose: bool) -> tuple[np.ndarray, Any, bool, int]:  # fmt: skip
    """Lloyd's iterations on the host with Hamerly's bounds: the same passes, labels and
    centres, with most distances skipped once the labels settle.  The labels returned are
    final (those of the last pass when they stopped changing, else of the final centres)."""
    bounds = _Bounds(np.zeros(ex.n, dtype=np.int32), np.zeros(ex.n), np.zeros(ex.n),
                     np.zeros(ex.n))  # fmt: skip
    S = np.zeros((len(centres), ex.d + 1))  # Σ w [x, 1] per cluster of the current labels
    radius = 0.0  # max |x|, known after the first pass (which needs no margin)
    old: np.ndarray | None = None
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        moves = _moves(old, centres, radius)
        delta, changed = ex.map_reduce(_pruned_kernel,
                                       offsets_matrix(centres).astype(ex.dtype), moves,
                                       aligned=bounds.aligned())  # fmt: skip
        S = S + delta
        _say_inertia(verbose, ex, n_iter, centres)
        if moves.first:
            radius = float(np.sqrt(np.max(bounds.norms)))
        wk, sx = S[:, -1].copy(), S[:, :-1].copy()
        _relocate_empty(ex, centres, wk, sx, bounds.labels)
        old = centres.astype(np.float64)
        centres, shift = _new_centres(centres, wk, sx)
        if changed == 0 and n_iter > 1:
            _say_converged(verbose, n_iter)
            return centres, bounds.labels, True, n_iter
        if shift <= tol:
            _say_converged(verbose, n_iter, shift, tol)
            break
    if old is not None:  # the final centres' labels: one more pass, pruned like the others
        ex.map_reduce(_pruned_kernel, offsets_matrix(centres).astype(ex.dtype),
                      _moves(old, centres, radius), aligned=bounds.aligned())  # fmt: skip
    return centres, bounds.labels, True, n_iter


def lloyd(ex: Executor, centres: np.ndarray, max_iter: int, tol: float,
          verbose: bool = False) -> KMeansResult:  # fmt: skip
    """Lloyd iterations from centred ``centres`` (host, the data's dtype).

    ``tol`` is absolute (see :func:`tolerance`).  Labels come from the last
    pass when they stopped changing, else from one more assignment (lazily
    for Dask).  Data in memory on the host take Hamerly's pruning, which
    skips the distances that cannot change a label.  ``verbose``: print
    scikit-learn's messages (each iteration's inertia costs a pass more).
    """
    labels_old: Any = None
    labels: Any = None
    strict = False
    n_iter = 0
    pruned = ex.in_memory_numpy and ex.n >= PRUNED_ROWS
    if pruned:
        centres, labels, strict, n_iter = _lloyd_pruned(ex, centres, max_iter, tol, verbose)
    while n_iter < max_iter and not pruned:
        n_iter += 1
        (S,), labels = ex.map_reduce(_assign_sums_kernel, ex.put(offsets_matrix(centres)),
                                     keep_rows=np.int32)  # fmt: skip
        _say_inertia(verbose, ex, n_iter, centres)
        wk, sx = S[:, -1].copy(), S[:, :-1].copy()
        _relocate_empty(ex, centres, wk, sx, labels)
        centres, shift = _new_centres(centres, wk, sx)
        if _same(labels, labels_old):
            strict = True
            _say_converged(verbose, n_iter)
            break
        if shift <= tol:
            _say_converged(verbose, n_iter, shift, tol)
            break
        labels_old = labels
    if not strict or labels is None:
        labels = ex.map_rows(assign_kernel, ex.put(offsets_matrix(centres)), dtype=np.int32)
    (inertia,) = ex.map_reduce(_inertia_kernel, ex.put(centres), aligned=(labels,))
    return KMeansResult(centres, labels, float(inertia), n_iter)


def _say_inertia(verbose: bool, ex: Executor, n_iter: int, centres: np.ndarray) -> None:
    """scikit-learn's message after a pass: the inertia of its labels about the centres
    they were assigned to (iterations counted from 0, as there; a pass more)."""
    if not verbose:
        return
    (inertia,) = ex.map_reduce(nearest_inertia_kernel, ex.put(offsets_matrix(centres)),
                               ex.put(centres))  # fmt: skip
    print(f"Iteration {n_iter - 1}, inertia {float(inertia)}.")


def _say_converged(verbose: bool, n_iter: int, shift: float | None = None,
                   tol: float = 0.0) -> None:  # fmt: skip
    """scikit-learn's message at convergence: labels unchanged, or the centres' squared
    shift within the (absolute) tolerance."""
    if not verbose:
        return
    if shift is None:
        print(f"Converged at iteration {n_iter - 1}: strict convergence.")
    else:
        print(f"Converged at iteration {n_iter - 1}: center shift {shift} within tolerance "
              f"{tol}.")  # fmt: skip


def _initial_centres(ex: Executor, n_clusters: int, init: Any, random_state: Any) -> np.ndarray:
    """Centred initial centres on the host, by scikit-learn's rules."""
    if isinstance(init, str) and init == "k-means++":
        rows, w, _ = ex.seeding_data(random_state, 50 * n_clusters)
        picks = kmeans_plusplus(rows, n_clusters, w, random_state)
        centres = np.asarray(_host_rows(rows, picks))
    elif isinstance(init, str):  # "random": rows drawn with probability ∝ weight
        w = ex.all_weights().astype(np.float64)
        seeds = random_state.choice(ex.n, size=n_clusters, replace=False, p=w / w.sum())
        centres = ex.take(seeds)
    elif callable(init):
        rows, _, _ = ex.seeding_data(random_state, 50 * n_clusters)
        centres = _host_rows(init(rows, n_clusters, random_state=random_state), None)
    else:
        centres = np.asarray(init)
    return np.array(centres, dtype=ex.dtype)


def _compiled_lloyd_is_faster(ex: Executor, k: int) -> bool:
    """Whether scikit-learn's Lloyd iterations beat :func:`lloyd` on this data: numpy
    data in memory, without missing values, of more than a few rows, unless Hamerly's
    bounds run (:data:`PRUNED_ROWS`) where the distances' products dominate a pass (see
    :data:`OWN_PASS_DK`)."""
    return (ex.in_memory_numpy and not ex.has_missing and ex.n >= COMPILED_FROM_ROWS
            and (ex.n < PRUNED_ROWS or not _products_dominate(ex.d, k)))  # fmt: skip


def _products_dominate(d: int, k: int) -> bool:
    """Whether the distances' products dominate a pass over rows of ``d`` features with
    ``k`` clusters (see :data:`OWN_PASS_DK`): otherwise a pass does little per row."""
    return min(d, k) >= OWN_PASS_LEAST and d * k >= OWN_PASS_DK


def _scikit_learn_lloyd(ex: Executor, centres: np.ndarray, max_iter: int, tol: float,
                        verbose: bool) -> KMeansResult:  # fmt: skip
    """``sklearn.cluster.KMeans(algorithm="lloyd")`` from the centred ``centres`` on the
    executor's rows: the iterations :func:`lloyd` makes (the same labels, centres and
    count), in compiled code; ``tol`` relative, as there; ``verbose``: its own messages."""
    shift = ex.shift.astype(ex.dtype)
    with warnings.catch_warnings():
        # (too few distinct clusters: the estimators warn themselves where it matters)
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = SklearnKMeans(len(centres), init=centres + shift, n_init=1, max_iter=max_iter,
                              tol=tol, algorithm="lloyd", verbose=verbose)  # fmt: skip
        fitted = model.fit(ex.X, sample_weight=None if ex.unit_weights else ex.all_weights())
    return KMeansResult(np.asarray(fitted.cluster_centers_ - shift, dtype=ex.dtype),
                        fitted.labels_.astype(np.int32), float(fitted.inertia_),
                        int(fitted.n_iter_))  # fmt: skip


def _host_rows(rows: Any, picks: np.ndarray | None) -> np.ndarray:
    if picks is None:
        return to_host(rows)
    return to_host(take_rows(array_namespace(rows), rows, picks))


def kmeans(ex: Executor, n_clusters: int, *, init: Any = "k-means++", n_init: int = 1,
           max_iter: int = 300, tol: float = 1e-4, random_state: Any,
           on_start: Callable[[np.ndarray], None] | None = None,
           verbose: bool = False) -> KMeansResult:  # fmt: skip
    """The best (lowest inertia) of ``n_init`` Lloyd runs.

    Parameters
    ----------
    ex : Executor
    n_clusters : int
    init : {"k-means++", "random"}, callable or ndarray of shape (n_clusters, d)
        A callable gets the rows to seed on (centred), ``n_clusters`` and
        ``random_state``; an array holds centred centres.
    n_init, max_iter : int
    tol : float
        Relative tolerance (times the mean feature variance).
    random_state : numpy.random.RandomState
    on_start : callable, optional
        Called with each run's initial centres (for checks).
    verbose : bool
        Print scikit-learn's messages: each start, each iteration's inertia, and
        how it converged.

    Returns
    -------
    KMeansResult
    """
    light = ex.n < ONE_THREAD_ROWS and not _products_dominate(ex.d, n_clusters)
    with ex.one_thread() if light else contextlib.nullcontext():
        return _best_run(ex, n_clusters, init, n_init, max_iter, tol, random_state, on_start,
                         verbose)  # fmt: skip


def _best_run(ex: Executor, n_clusters: int, init: Any, n_init: int, max_iter: int, tol: float,
              random_state: Any, on_start: Callable[[np.ndarray], None] | None,
              verbose: bool) -> KMeansResult:  # fmt: skip
    """:func:`kmeans`'s runs, the best one."""
    compiled = _compiled_lloyd_is_faster(ex, n_clusters)
    tol_abs = 0.0 if compiled else tolerance(ex, tol)
    best: KMeansResult | None = None
    for _ in range(n_init):
        # (before scikit-learn's loop, BLAS's own threads, woken by the seeds' products,
        # would wait busily beside its OpenMP threads for the cores)
        with single_threaded_blas() if compiled else contextlib.nullcontext():
            centres = _initial_centres(ex, n_clusters, init, random_state)
        if on_start is not None:
            on_start(centres)
        if verbose and not compiled:  # (scikit-learn's loop says so itself)
            print("Initialization complete")
        result = (_scikit_learn_lloyd(ex, centres, max_iter, tol, verbose) if compiled
                  else lloyd(ex, centres, max_iter, tol_abs, verbose))  # fmt: skip
        if best is None or result.inertia < best.inertia:
            best = result
    assert best is not None
    return best
