"""GaussianMixture and KMeans against scikit-learn: same start, same trajectory, same answer."""

import warnings

import numpy as np
import pytest
from sklearn.cluster import KMeans as SkKMeans
from sklearn.datasets import make_blobs
from sklearn.mixture import GaussianMixture as SkGMM

import gradmix as gm
from gradmix.datasets import load_old_faithful

TYPES = ["full", "tied", "diag", "spherical"]
# short fits (max_iter=1 starts, capped iterations) need not converge
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def blobs():
    X, _ = make_blobs(400, n_features=3, centers=4, cluster_std=[1.0, 1.5, 0.5, 2.0],
                      random_state=1)  # fmt: skip
    return X


DATA = {"faithful": load_old_faithful(), "blobs": blobs()}


def fit_both(X, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return gm.GaussianMixture(**kw).fit(X), SkGMM(**kw).fit(X)


def assert_same_fit(a, b, X, rtol=1e-10):
    np.testing.assert_allclose(a.lower_bounds_, b.lower_bounds_, rtol=rtol)
    assert a.n_iter_ == b.n_iter_ and a.converged_ == b.converged_
    scale = np.max(np.abs(X))
    np.testing.assert_allclose(a.weights_, b.weights_, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(a.means_, b.means_, rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(a.covariances_, b.covariances_, rtol=rtol * 100, atol=1e-12)
    np.testing.assert_allclose(a.precisions_, b.precisions_, rtol=rtol * 100, atol=1e-10)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-10)
    np.testing.assert_allclose(a.score_samples(X), b.score_samples(X), rtol=rtol)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    assert a.bic(X) == pytest.approx(b.bic(X), rel=rtol)
    assert a.aic(X) == pytest.approx(b.aic(X), rel=rtol)


@pytest.mark.parametrize("data", sorted(DATA))
@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("init_params", ["kmeans", "random"])
def test_trajectory_matches_sklearn(data, covariance_type, init_params):
    X = DATA[data]
    a, b = fit_both(X, n_components=3, covariance_type=covariance_type,
                    init_params=init_params, random_state=0, tol=1e-6, max_iter=60)  # fmt: skip
    assert_same_fit(a, b, X)


@pytest.mark.parametrize("init_params", ["k-means++", "random_from_data"])
def test_full_with_one_point_inits_matches_sklearn(init_params):
    X = DATA["faithful"]
    a, b = fit_both(X, n_components=3, init_params=init_params, random_state=0, tol=1e-6,
                    max_iter=60)  # fmt: skip
    assert_same_fit(a, b, X)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_same_starting_parameters_same_trajectory(covariance_type):
    """Given sklearn's own starting parameters, every covariance type follows its trajectory."""
    X = DATA["blobs"]
    start = SkGMM(3, covariance_type=covariance_type, max_iter=1, random_state=3,
                  init_params="k-means++").fit(X)  # fmt: skip
    kw = dict(n_components=3, covariance_type=covariance_type, weights_init=start.weights_,
              means_init=start.means_, precisions_init=start.precisions_, tol=1e-8,
              max_iter=40)  # fmt: skip
    a, b = fit_both(X, **kw)
    assert_same_fit(a, b, X)


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
@pytest.mark.parametrize("init_params", ["k-means++", "random_from_data"])
def test_one_point_inits_diag_spherical(covariance_type, init_params):
    """From one-point components, scikit-learn's first steps cancel digits (its own result moves
    by ~1e-5 when the data are translated); gradmix's do not. The fits end at the same point."""
    X = DATA["faithful"]
    kw = dict(n_components=3, covariance_type=covariance_type, init_params=init_params,
              random_state=0, tol=1e-8, max_iter=60)  # fmt: skip
    a, b = fit_both(X, **kw)
    _, b_shifted = fit_both(X - X.mean(axis=0), **kw)
    sk_drift = np.max(np.abs(np.subtract(b.lower_bounds_, b_shifted.lower_bounds_)))
    ours = np.max(np.abs(np.subtract(a.lower_bounds_, b.lower_bounds_)))
    assert ours <= 2 * sk_drift
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-10)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-10)
    a_shifted = gm.GaussianMixture(**kw).fit(X - X.mean(axis=0) + 1e6)
    np.testing.assert_allclose(a.lower_bounds_, a_shifted.lower_bounds_, rtol=1e-10)


def test_n_init_matches_sklearn_up_to_ties():
    """The best of several starts: when two starts reach the same optimum (components
    permuted) their lower bounds tie to ~1e-15, and which one wins is rounding; the
    fitted mixture is the same up to the order of its components."""
    X = DATA["blobs"]
    a, b = fit_both(X, n_components=4, n_init=3, random_state=2, tol=1e-6)
    assert a.lower_bound_ == pytest.approx(b.lower_bound_, rel=1e-10)
    order_a, order_b = np.argsort(a.means_[:, 0]), np.argsort(b.means_[:, 0])
    np.testing.assert_allclose(a.means_[order_a], b.means_[order_b], rtol=1e-8)
    np.testing.assert_allclose(a.weights_[order_a], b.weights_[order_b], rtol=1e-8)
    np.testing.assert_allclose(a.score_samples(X), b.score_samples(X), rtol=1e-10)


def test_warm_start_matches_sklearn():
    X = DATA["blobs"]
    kw = dict(n_components=4, warm_start=True, max_iter=3, random_state=2)
    a, b = gm.GaussianMixture(**kw), SkGMM(**kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(3):
            a.fit(X)
            b.fit(X)
    assert_same_fit(a, b, X)


def test_sample_matches_sklearn():
    X = DATA["blobs"]
    for ct in TYPES:
        a, b = fit_both(X, n_components=3, covariance_type=ct, random_state=5)
        xa, ya = a.sample(50)
        xb, yb = b.sample(50)
        np.testing.assert_allclose(xa, xb, rtol=1e-8, atol=1e-8)
        np.testing.assert_array_equal(ya, yb)


@pytest.mark.parametrize("init", ["k-means++", "random"])
@pytest.mark.parametrize("seed", [0, 1])
def test_kmeans_matches_sklearn(init, seed):
    X, _ = make_blobs(1500, n_features=4, centers=5, random_state=seed)
    a = gm.KMeans(5, init=init, random_state=seed).fit(X)
    b = SkKMeans(5, init=init, random_state=seed, algorithm="lloyd").fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.inertia_ == pytest.approx(b.inertia_, rel=1e-10)
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=1e-10)
    np.testing.assert_allclose(a.transform(X), b.transform(X), rtol=1e-8, atol=1e-8)
    assert a.score(X) == pytest.approx(b.score(X), rel=1e-10)
    np.testing.assert_array_equal(a.predict(X[:50]), b.predict(X[:50]))


def test_kmeans_from_given_centres_and_weights():
    X, _ = make_blobs(800, n_features=3, centers=4, random_state=3)
    w = np.random.default_rng(0).uniform(0.5, 2.0, len(X))
    init = X[:4]
    a = gm.KMeans(4, init=init, n_init=1).fit(X, sample_weight=w)
    b = SkKMeans(4, init=init, n_init=1).fit(X, sample_weight=w)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.inertia_ == pytest.approx(b.inertia_, rel=1e-10)
    assert a.n_iter_ == b.n_iter_
