"""Dask arrays: the same fits as in memory, on the threaded scheduler and on a
LocalCluster of worker processes (with a worker killed mid-fit), and out of core."""

import os
import signal
import subprocess
import sys
import warnings

import dask.array as da
import numpy as np
import pytest
from benchmarks.gmm_dask import OUT_OF_CORE
from distributed import Client, LocalCluster

import gradmix as gm
from gradmix.mixture.executors import dask as dask_executor

TYPES = ["full", "tied", "diag", "spherical"]
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def mixture(n=6000, seed=0):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(size=(n // 2, 3)), rng.normal(size=(n // 3, 3)) * 0.5 + 4,
                        rng.normal(size=(n - n // 2 - n // 3, 3)) * 0.3 + [0, 5, 1]])  # fmt: skip
    return X[rng.permutation(len(X))]


def start_from(X, covariance_type):
    m = gm.GaussianMixture(3, covariance_type=covariance_type, max_iter=2, random_state=1).fit(X)
    return dict(weights_init=m.weights_, means_init=m.means_, precisions_init=m.precisions_)


def assert_same(a, b, rtol=1e-10):
    assert len(a.lower_bounds_) == len(b.lower_bounds_)
    np.testing.assert_allclose(b.lower_bounds_, a.lower_bounds_, rtol=rtol)
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_threaded_scheduler_equals_in_memory_from_the_same_start(covariance_type):
    X = mixture()
    kw = dict(n_components=3, covariance_type=covariance_type, tol=1e-9,
              **start_from(X, covariance_type))  # fmt: skip
    a = gm.GaussianMixture(**kw).fit(X)
    b = gm.GaussianMixture(**kw).fit(da.from_array(X, chunks=(700, 3)))
    assert_same(a, b)
    Xd = da.from_array(X, chunks=(1000, 3))
    labels = b.predict(Xd)
    assert isinstance(labels, da.Array)
    np.testing.assert_array_equal(labels.compute(), a.predict(X))
    np.testing.assert_allclose(b.predict_proba(Xd).compute(), a.predict_proba(X), atol=1e-10)
    np.testing.assert_allclose(b.score_samples(Xd).compute(), a.score_samples(X), rtol=1e-10)
    assert b.score(Xd) == pytest.approx(a.score(X), rel=1e-12)


def test_point_initialisations_and_sample_weights_match():
    X = mixture(3000, 2)
    w = np.random.default_rng(3).integers(0, 3, len(X)).astype(float)
    kw = dict(n_components=3, init_params="random_from_data", random_state=0, tol=1e-9)
    a = gm.GaussianMixture(**kw).fit(X, sample_weight=w)
    b = gm.GaussianMixture(**kw).fit(da.from_array(X, chunks=500),
                                     sample_weight=da.from_array(w, chunks=500))  # fmt: skip
    assert_same(a, b, rtol=1e-9)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random"])
def test_data_dependent_initialisations_seed_on_a_sample(init_params, monkeypatch):
    # a sample of 400 rows seeds k-means++ (the data never gather in one place)
    monkeypatch.setattr(dask_executor, "SAMPLE_ROWS", 400)
    X = mixture(8000, 4)
    ref = gm.GaussianMixture(3, random_state=0, tol=1e-8).fit(X)
    m = gm.GaussianMixture(3, init_params=init_params, random_state=0, tol=1e-8)
    m.fit(da.from_array(X, chunks=1000))
    assert m.lower_bound_ == pytest.approx(ref.lower_bound_, rel=1e-6)


def test_kmeans_on_dask_equals_in_memory_from_the_same_centres():
    X = mixture(5000, 5)
    init = X[:4]
    a = gm.KMeans(4, init=init, n_init=1, tol=0).fit(X)
    b = gm.KMeans(4, init=init, n_init=1, tol=0).fit(da.from_array(X, chunks=800))
    np.testing.assert_allclose(b.cluster_centers_, a.cluster_centers_, rtol=1e-10)
    assert b.inertia_ == pytest.approx(a.inertia_, rel=1e-10)
    assert isinstance(b.labels_, da.Array)
    np.testing.assert_array_equal(b.labels_.compute(), a.labels_)
    Xd = da.from_array(X, chunks=800)
    np.testing.assert_array_equal(b.predict(Xd).compute(), a.predict(X))
    np.testing.assert_allclose(b.transform(Xd).compute(), a.transform(X), rtol=1e-9)
    assert b.score(Xd) == pytest.approx(a.score(X), rel=1e-10)
    seeded = gm.KMeans(3, random_state=0).fit(da.from_array(X, chunks=800))
    assert seeded.inertia_ == pytest.approx(gm.KMeans(3, random_state=0).fit(X).inertia_, rel=1e-3)


def test_bad_dask_input_is_a_clear_error():
    X = mixture(600)
    X[5, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        gm.GaussianMixture(2).fit(da.from_array(X, chunks=100))
    with pytest.raises(ValueError, match="2D"):
        gm.GaussianMixture(2).fit(da.zeros(10, chunks=5))
    with pytest.raises(ValueError, match="numpy data"):
        gm.GaussianMixture(2, refine="newton").fit(da.from_array(mixture(600), chunks=100))


@pytest.fixture(scope="module")
def client():
    """A LocalCluster of two worker processes on loopback, started and stopped here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)  # fmt: skip
        client = Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.mark.slow
@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_local_cluster_of_processes_equals_in_memory(client, covariance_type):
    X = mixture()
    kw = dict(n_components=3, covariance_type=covariance_type, tol=1e-9,
              **start_from(X, covariance_type))  # fmt: skip
    a = gm.GaussianMixture(**kw).fit(X)
    b = gm.GaussianMixture(**kw).fit(da.from_array(X, chunks=(700, 3)))
    assert_same(a, b)
    km_a = gm.KMeans(3, init=X[:3], n_init=1).fit(X)
    km_b = gm.KMeans(3, init=X[:3], n_init=1).fit(da.from_array(X, chunks=(700, 3)))
    np.testing.assert_allclose(km_b.cluster_centers_, km_a.cluster_centers_, rtol=1e-10)


def test_small_data_are_persisted_on_the_workers(client):
    data = dask_executor.DaskExecutor(da.from_array(mixture(1000), chunks=200), None, 1000)
    assert data.persisted


def test_a_worker_killed_mid_fit_does_not_change_the_result(client):
    X = mixture(20_000, 7)
    Xd = da.from_array(X, chunks=(2000, 3))
    kw = dict(n_components=3, tol=0, max_iter=8, **start_from(X, "full"))
    undisturbed = gm.GaussianMixture(**kw).fit(Xd)
    pids = client.run(os.getpid)
    killed = []

    def kill_one_worker(init, n_iter, lower_bound):
        if n_iter == 3:
            os.kill(next(iter(pids.values())), signal.SIGKILL)
            killed.append(n_iter)

    disturbed = gm.GaussianMixture(**kw, callback=kill_one_worker).fit(Xd)
    assert killed == [3]
    assert client.run(os.getpid) != pids  # the nanny started a fresh worker process
    np.testing.assert_allclose(disturbed.lower_bounds_, undisturbed.lower_bounds_, rtol=1e-13)
    np.testing.assert_allclose(disturbed.means_, undisturbed.means_, rtol=1e-12)


@pytest.mark.slow
def test_out_of_core_fit_keeps_peak_memory_under_1_gib():
    # 20 000 000 x 16 float64 (2.4 GiB), generated lazily block by block; peak RSS measured
    # in a fresh process (VmHWM: its own peak; getrusage's maxrss would include this
    # process's memory, inherited across fork + exec)
    out = subprocess.run([sys.executable, "-c", OUT_OF_CORE, "2"], capture_output=True,
                         text=True, timeout=600, check=True)  # fmt: skip
    _, peak, lower_bound, m0, m1, nbytes = (float(v) for v in out.stdout.split())
    assert nbytes == 20_000_000 * 16 * 8
    assert peak < 2**30, f"peak RSS {peak / 2**20:.0f} MiB"
    assert m0 == pytest.approx(0.0, abs=0.01) and m1 == pytest.approx(3.0, abs=0.01)
    # two unit-variance components: mean log-likelihood ≈ -16/2 log(2πe) - log 2
    assert lower_bound == pytest.approx(-8 * np.log(2 * np.pi * np.e) - np.log(2), abs=0.01)


def test_kmeans_on_dask_keeps_the_in_memory_warnings_and_errors():
    X = mixture(600, 8)
    Xd = da.from_array(X, chunks=200)
    for Z in (X, Xd):
        with pytest.warns(RuntimeWarning, match="Explicit initial center position passed"):
            gm.KMeans(3, init=X[:3], n_init=4).fit(Z)
        with pytest.raises(ValueError, match=r"The shape of the initial centers \(2, 3\)"):
            gm.KMeans(3, init=X[:2]).fit(Z)


def test_random_start_on_dask_is_the_in_memory_start():
    # the random responsibilities are regenerated chunk by chunk from the generator's saved
    # states: the same stream as scikit-learn's one (n, K) draw, wherever the rows are
    X = mixture(3000, 9)
    kw = dict(n_components=3, init_params="random", random_state=4, tol=1e-9, max_iter=30)
    a = gm.GaussianMixture(**kw).fit(X)
    b = gm.GaussianMixture(**kw).fit(da.from_array(X, chunks=700))
    assert_same(a, b)
    c = gm.GaussianMixture(**kw, max_memory=20_000).fit(X)  # other chunk boundaries
    assert_same(a, c)
