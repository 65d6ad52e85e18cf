"""Every operation of the executor protocol against plain numpy: the host, array-API
(array-api-strict and CPU torch where installed) and Dask executors."""

import threading
import time

import array_api_strict
import dask.array as da
import numpy as np
import pytest
from sklearn.base import BaseEstimator

from gradmix.mixture.executors import Chunk, executor_for
from gradmix.mixture.executors.host import HostExecutor

N, D = 1037, 3  # rows that do not split evenly into chunks


class _Estimator(BaseEstimator):
    """What executor_for reads of an estimator: the features it was fit on."""


def _data(with_nan=False):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, D)) * [1.0, 5.0, 0.1] + [3.0, -2.0, 100.0]
    if with_nan:
        X[rng.random(X.shape) < 0.05] = np.nan
    w = rng.integers(0, 4, N).astype(float)
    return X, w


def _torch(X):
    torch = pytest.importorskip("torch")
    return torch.asarray(X)


KINDS = {
    "numpy": lambda X: X,
    "strict": array_api_strict.asarray,
    "torch": _torch,
    "dask": lambda X: da.from_array(X, chunks=300),
}


def executor(kind, weighted=True, **kw):
    X, w = _data(kw.pop("with_nan", False))
    ex = executor_for(KINDS[kind](X), w if weighted else None, estimator=_Estimator(),
                      bytes_per_row=lambda d, itemsize: 40_000,  # ~ 400-row chunks
                      max_memory=16 * 2**20, **kw)  # fmt: skip
    return ex, X, w


# kernels, written against xp as the mixture's are ----------------------------------------
def _sums(chunk: Chunk, scale):
    xp = chunk.xp
    return xp.sum(chunk.weights()[:, None] * chunk.X, axis=0) * scale, xp.sum(chunk.weights())


def _rows(chunk: Chunk):
    return chunk.xp.sum(chunk.X * chunk.X, axis=1)


def _cols(chunk: Chunk):
    xp = chunk.xp
    return xp.concat([chunk.X, xp.reshape(chunk.weights(), (-1, 1))], axis=1)


def _aligned(chunk: Chunk):
    return chunk.aligned[0] * 2.0


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_centre_total_weight_and_shape(kind):
    ex, X, w = executor(kind)
    assert (ex.n, ex.d) == (N, D)
    assert ex.total_weight == pytest.approx(np.sum(w))
    np.testing.assert_allclose(ex.shift, np.average(X, axis=0, weights=w), rtol=1e-12)
    assert len(ex.bounds()) > 2 and ex.bounds()[0][0] == 0 and ex.bounds()[-1][1] == N
    assert all(a < b for a, b in ex.bounds())


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_map_reduce_sums_over_every_chunk(kind):
    ex, X, w = executor(kind)
    total, weight = ex.map_reduce(_sums, 2.0)
    np.testing.assert_allclose(total, 2.0 * w @ (X - ex.shift), rtol=1e-10, atol=1e-9)
    assert weight == pytest.approx(np.sum(w))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_map_rows_gives_per_row_results_in_the_inputs_kind(kind):
    ex, X, w = executor(kind)
    rows = ex.map_rows(_rows)
    assert type(rows).__module__.split(".")[0] == type(KINDS[kind](X)).__module__.split(".")[0]
    np.testing.assert_allclose(ex.to_host(rows), np.sum((X - ex.shift) ** 2, axis=1), rtol=1e-12)
    wide = ex.to_host(ex.map_rows(_cols, cols=D + 1))
    np.testing.assert_allclose(wide, np.c_[X - ex.shift, w], rtol=1e-12, atol=1e-12)
    labels = ex.map_rows(_rows, dtype=np.int64)
    assert ex.to_host(labels).dtype == np.int64


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_aligned_inputs_are_cut_to_each_chunk(kind):
    ex, X, w = executor(kind)
    per_row = np.arange(N, dtype=float)
    np.testing.assert_allclose(ex.to_host(ex.map_rows(_aligned, aligned=(ex.put(per_row),))),
                               2.0 * per_row)  # fmt: skip


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_take_weights_gather_and_top(kind):
    ex, X, w = executor(kind)
    idx = np.array([5, 0, N - 1, 400, 5])
    np.testing.assert_allclose(ex.take(idx), X[idx] - ex.shift, rtol=1e-12)
    np.testing.assert_array_equal(ex.weights_at(idx), w[idx])
    np.testing.assert_array_equal(ex.all_weights(), w)
    values = ex.map_rows(_rows)
    np.testing.assert_allclose(ex.gather(values, idx), np.sum((X[idx] - ex.shift) ** 2, axis=1))
    host = np.sum((X - ex.shift) ** 2, axis=1)
    top = ex.top(values, 7)
    np.testing.assert_array_equal(np.sort(top), np.sort(np.argsort(host)[-7:]))
    np.testing.assert_array_equal(host[top], np.sort(host[top])[::-1])  # largest first


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_put_output_and_to_host_round_trip(kind):
    ex, X, w = executor(kind)
    a = np.linspace(0, 1, 6).reshape(2, 3)
    out = ex.output(a)
    assert type(out).__module__.split(".")[0] == type(KINDS[kind](X)).__module__.split(".")[0] \
        or kind == "dask"  # Dask's fitted attributes are numpy arrays  # fmt: skip
    np.testing.assert_allclose(ex.to_host(out), a)
    np.testing.assert_allclose(ex.to_host(ex.put(a)), a)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_seeding_data_subset_and_fill_missing(kind):
    ex, X, w = executor(kind)
    rows, weights, sample = ex.seeding_data(np.random.RandomState(0), 10)
    picked = np.arange(N) if sample is None else sample
    np.testing.assert_allclose(np.asarray(ex.to_host(rows)), X[picked] - ex.shift, rtol=1e-12)
    np.testing.assert_array_equal(weights, w[picked])
    idx = np.array([3, 1, 700])
    np.testing.assert_allclose(ex.to_host(ex.subset(idx)), X[idx])
    if kind in ("numpy", "dask"):  # NaN is let in where missing='em' runs
        exm, Xm, _ = executor(kind, with_nan=True, allow_missing=True)
        assert exm.has_missing
        filled = exm.to_host(exm.fill_missing(np.array([1.0, 2.0, 3.0])))
        np.testing.assert_array_equal(filled, np.where(np.isnan(Xm), [1.0, 2.0, 3.0], Xm))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_variance_floor_and_bad_input(kind):
    ex, X, w = executor(kind, weighted=False)
    assert ex.unit_weights and ex.total_weight == N
    floor = ex.var_floor
    # (16 eps m)² with m between the largest magnitude and that of the centred rows plus
    # the centre's (what one pass over centred rows bounds it by)
    resolution = np.sqrt(floor) / (16 * np.finfo(float).eps)
    largest = np.max(np.abs(X), axis=0)
    assert np.all(resolution >= largest * (1 - 1e-12))
    assert np.all(resolution <= np.max(np.abs(X - ex.shift), axis=0) + np.abs(ex.shift) + 1e-9)
    bad = X.copy()
    bad[3, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        executor_for(KINDS[kind](bad), None, estimator=_Estimator(),
                     bytes_per_row=lambda d, s: 64).map_reduce(_sums, 1.0)  # fmt: skip


def _order_sensitive(chunk: Chunk, delays):
    # chunks finish out of order (their sleeps differ), and their float sums round
    # differently in any other order of addition
    time.sleep(delays[chunk.start // 4000])
    return (np.sum(chunk.X[:, 0]), np.sum(chunk.X * chunk.X, axis=0)), chunk.X[:, 0] > 0


def test_host_sums_do_not_depend_on_threads_or_which_chunk_finishes_first():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(48_000, 3)) * 10.0 ** rng.uniform(-8, 8, size=(48_000, 1))
    expected = None
    for threads in (1, 2, 3, 4, 4):
        ex = HostExecutor(X, None, 4000, n_threads=threads)
        assert ex.bounds() == [(a, a + 4000) for a in range(0, 48_000, 4000)]
        delays = rng.uniform(0, 0.004, size=12)
        (first, second), positive = ex.map_reduce(_order_sensitive, delays, keep_rows=bool)
        np.testing.assert_array_equal(positive, X[:, 0] - ex.shift[0] > 0)
        # chunk by chunk, in order: the same numbers bit for bit however many threads ran
        Xc = X - ex.shift
        in_order = [(np.sum(Xc[a : a + 4000, 0]), np.sum(Xc[a : a + 4000] ** 2, axis=0))
                    for a in range(0, 48_000, 4000)]  # fmt: skip
        want = in_order[0]
        for part in in_order[1:]:
            want = (want[0] + part[0], want[1] + part[1])
        assert first == want[0] and np.array_equal(second, want[1])
        if expected is not None:
            assert first == expected[0] and np.array_equal(second, expected[1])
        expected = (first, second)


def _rows_and_augmented(chunk: Chunk):
    return (np.sum(chunk.X, axis=0), np.sum(chunk.augmented(), axis=0)), chunk.X[:, 0]


@pytest.mark.parametrize("one_pass", [False, True])
def test_a_single_chunk_is_centred_once_and_read_the_same_in_every_pass(one_pass):
    # data of one chunk keep their centred rows and [X - shift, 1] for every pass (unless
    # the executor serves one pass): every pass reads X - shift, as chunks do
    rng = np.random.default_rng(6)
    X = rng.normal(size=(3000, 3)) * [1.0, 1e3, 1e-3] + [5.0, -2e4, 3.0]
    given = X.copy()
    ex = HostExecutor(X, None, 3000, one_pass=one_pass)
    assert ex.bounds() == [(0, 3000)]
    Xc = X - ex.shift
    for _ in range(2):  # a second pass reads the same rows
        (sum_x, sum_a), first = ex.map_reduce(_rows_and_augmented, keep_rows=np.float64)
        np.testing.assert_array_equal(first, Xc[:, 0])
        np.testing.assert_array_equal(sum_x, np.sum(Xc, axis=0))
        np.testing.assert_array_equal(sum_a[:-1], sum_x)
        assert sum_a[-1] == 3000.0
    np.testing.assert_array_equal(ex.take(np.array([0, 2999])), Xc[[0, 2999]])
    rows, _, _ = ex.seeding_data(np.random.default_rng(0), 10)
    np.testing.assert_array_equal(rows, Xc)
    if not one_pass:  # the kept rows: a seeding function cannot write them
        assert not rows.flags.writeable
    np.testing.assert_array_equal(X, given)  # the caller's array is never written


def _thread_and_sums(chunk: Chunk):
    return [threading.get_ident()], np.sum(chunk.X, axis=0)  # (lists add up by concatenating)


def test_one_thread_runs_every_chunk_on_the_callers_thread_then_restores_the_threads():
    """k-means' light passes over a few thousand rows run on one thread (two sharing them
    cost more than they save); the executor's threads come back afterwards, and the
    same sums come out either way."""
    X = np.random.default_rng(6).normal(size=(12_000, 2))
    ex = HostExecutor(X, None, 3000, n_threads=2)
    assert len(ex.bounds()) == 4
    with ex.one_thread():
        threads, inside = ex.map_reduce(_thread_and_sums)
    assert set(threads) == {threading.get_ident()}
    assert ex.threads == 2
    threads, outside = ex.map_reduce(_thread_and_sums)
    assert threading.get_ident() not in threads  # the pool's threads, as before
    np.testing.assert_array_equal(inside, outside)
