"""BayesianGaussianMixture against scikit-learn's: same trajectory from the same start,
same attributes, same messages; and gradmix's extras (weights, float32, offsets, Dask,
array API, saving)."""

import re
import warnings

import array_api_strict
import dask.array as da
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture as SkBGM

import gradmix as gm
from gradmix.datasets import load_old_faithful
from gradmix.mixture.arrays import to_host
from gradmix.mixture.covariance import get_model
from gradmix.mixture.variational import PosteriorCoordinates
from tests.mixture.test_check_estimator import failures

TYPES = ["full", "tied", "diag", "spherical"]
PRIORS = ["dirichlet_process", "dirichlet_distribution"]
ATTRIBUTES = ["weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_",
              "mean_precision_", "degrees_of_freedom_", "mean_prior_",
              "covariance_prior_"]  # fmt: skip


def blobs(seed=0, n=(300, 200, 100)):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0, 0], [4, 4, 4], [0, 6, 0]])
    return np.vstack([rng.normal(size=(m, 3)) * s + c
                      for m, s, c in zip(n, (1.0, 0.5, 1.0), centres, strict=True)])  # fmt: skip


def fit_both(X, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return SkBGM(**kw).fit(X), gm.BayesianGaussianMixture(**kw).fit(X)


def assert_same(a, b, rtol=1e-10):
    np.testing.assert_allclose(np.ravel(a.lower_bounds_), b.lower_bounds_, rtol=rtol)
    for name in ATTRIBUTES:
        expected = getattr(a, name)
        atol = rtol * np.max(np.abs(expected))
        np.testing.assert_allclose(to_host(getattr(b, name)), expected, rtol=rtol, atol=atol,
                                   err_msg=name)  # fmt: skip
    np.testing.assert_allclose(np.asarray(b.weight_concentration_, dtype=float),
                               np.asarray(a.weight_concentration_), rtol=rtol)  # fmt: skip
    assert (a.n_iter_, a.converged_) == (b.n_iter_, b.converged_)


# Not tied from one row per component: gradmix's tied statistic weights rows by their
# total responsibility, scikit-learn's counts every row whatever its responsibilities
# (a deliberate difference of the statistic, the same in GaussianMixture; see
# docs/architecture.md)
STARTS = [(c, i) for c in TYPES for i in ("kmeans", "random", "k-means++", "random_from_data")
          if not (c == "tied" and i in ("k-means++", "random_from_data"))]  # fmt: skip


@pytest.mark.parametrize(("covariance_type", "init_params"), STARTS)
@pytest.mark.parametrize("prior_type", PRIORS)
def test_trajectory_equals_sklearn_from_the_same_start(covariance_type, prior_type, init_params):
    kw = dict(n_components=5, covariance_type=covariance_type, init_params=init_params,
              weight_concentration_prior_type=prior_type, random_state=1, max_iter=40,
              tol=0.0)  # fmt: skip
    a, b = fit_both(blobs(), **kw)
    assert_same(a, b)
    X = blobs(seed=5)
    np.testing.assert_array_equal(b.predict(X), a.predict(X))
    np.testing.assert_allclose(b.predict_proba(X), a.predict_proba(X), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b.score_samples(X), a.score_samples(X), rtol=1e-10)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_given_priors_equal_sklearn(covariance_type):
    d = 3
    given = {"full": np.eye(d) * 2 + 0.3, "tied": np.eye(d) * 2 + 0.3,
             "diag": np.array([1.0, 2.0, 0.5]), "spherical": 1.7}[covariance_type]  # fmt: skip
    kw = dict(n_components=4, covariance_type=covariance_type, random_state=0, max_iter=25,
              tol=0.0, weight_concentration_prior=0.01, mean_precision_prior=0.3,
              mean_prior=np.array([1.0, -1.0, 2.0]), degrees_of_freedom_prior=4.5,
              covariance_prior=given, reg_covar=1e-4)  # fmt: skip
    a, b = fit_both(blobs(2), **kw)
    assert_same(a, b)
    for name in ("weight_concentration_prior_", "mean_precision_prior_",
                 "degrees_of_freedom_prior_"):  # fmt: skip
        assert getattr(b, name) == getattr(a, name)


def test_n_init_and_warm_start_follow_sklearn():
    X = blobs(3)
    a, b = fit_both(X, n_components=4, n_init=3, random_state=0, tol=1e-8, max_iter=200)
    assert b.lower_bound_ == pytest.approx(float(np.ravel(a.lower_bound_)[0]), rel=1e-10)
    kw = dict(n_components=3, warm_start=True, max_iter=5, random_state=0, tol=0.0)
    a, b = SkBGM(**kw), gm.BayesianGaussianMixture(**kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(3):
            a.fit(X)
            b.fit(X)
    assert_same(a, b)


@pytest.mark.parametrize("acceleration", [None, "squarem"])
def test_lower_bound_never_decreases(acceleration):
    """scikit-learn's test_monotonic_likelihood: the bound rises at every update."""
    rng = np.random.default_rng(7)
    for covariance_type in TYPES:
        for prior_type in PRIORS:
            X = blobs(int(rng.integers(100)))
            m = gm.BayesianGaussianMixture(n_components=6, covariance_type=covariance_type,
                                           weight_concentration_prior_type=prior_type,
                                           random_state=0, tol=1e-7, max_iter=300,
                                           acceleration=acceleration)  # fmt: skip
            m.fit(X)
            steps = np.diff(m.lower_bounds_)
            assert np.all(steps >= -1e-9 * np.abs(m.lower_bound_)), (covariance_type, prior_type)


@pytest.mark.parametrize("prior_type", PRIORS)
@pytest.mark.parametrize("covariance_type", TYPES)
def test_squarem_reaches_the_same_bound_in_fewer_updates(covariance_type, prior_type):
    X = load_old_faithful()
    kw = dict(n_components=5, covariance_type=covariance_type, random_state=0, tol=1e-8,
              max_iter=5000, weight_concentration_prior_type=prior_type)  # fmt: skip
    plain = gm.BayesianGaussianMixture(**kw).fit(X)
    fast = gm.BayesianGaussianMixture(acceleration="squarem", **kw).fit(X)
    assert fast.converged_ and fast.n_iter_ < plain.n_iter_
    assert len(fast.lower_bounds_) == fast.n_iter_
    # the same optimum (one fit, spherical, ends at a better one: 0.29 higher, relatively)
    assert fast.lower_bound_ >= plain.lower_bound_ - 1e-8 * abs(plain.lower_bound_)
    if fast.lower_bound_ - plain.lower_bound_ < 1e-8 * abs(plain.lower_bound_):
        np.testing.assert_allclose(np.sort(fast.weights_), np.sort(plain.weights_), atol=1e-4)


def test_posterior_coordinates_round_trip():
    X = load_old_faithful()
    for covariance_type in TYPES:
        m = gm.BayesianGaussianMixture(n_components=3, covariance_type=covariance_type,
                                       random_state=0).fit(X)  # fmt: skip
        post = m._posterior(np.zeros(2))
        coords = PosteriorCoordinates(get_model(covariance_type))
        back = coords.params(coords.vector(post), post)
        for name in ("weight_concentration", "mean_precision", "means", "degrees_of_freedom",
                     "covariances", "precisions_cholesky"):  # fmt: skip
            np.testing.assert_allclose(getattr(back, name), getattr(post, name), rtol=1e-12)
        far = coords.vector(post)
        far[:] = 800.0  # exp overflows: no posterior there
        assert coords.params(far, post) is None


def test_check_estimator_passes():
    assert failures(gm.BayesianGaussianMixture()) == set()


def message(fn):
    with pytest.raises(ValueError) as info:
        fn()
    return str(info.value)


@pytest.mark.parametrize(
    "kw",
    [
        dict(degrees_of_freedom_prior=1.5),
        dict(mean_prior=np.zeros(2)),
        dict(covariance_type="full", covariance_prior=np.eye(2)),
        dict(covariance_type="tied", covariance_prior=-np.eye(3)),
        dict(covariance_type="diag", covariance_prior=np.array([1.0, -1.0, 1.0])),
        dict(covariance_type="diag", covariance_prior=np.ones(4)),
        dict(weight_concentration_prior_type="stick"),
        dict(covariance_prior=-1.0, covariance_type="spherical"),
        dict(n_components=700),
    ],
)
def test_errors_are_sklearns_word_for_word(kw):
    X = blobs()
    ours = message(lambda: gm.BayesianGaussianMixture(**kw).fit(X))
    theirs = message(lambda: SkBGM(**kw).fit(X))
    assert ours == theirs


def test_sample_weight_equals_repeated_rows():
    X = blobs(4, n=(40, 30, 20))
    w = np.random.default_rng(0).integers(0, 4, len(X))
    kw = dict(n_components=3, init_params="random", random_state=0, max_iter=30, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # the random start draws per row: give both fits the same start instead
        a = gm.BayesianGaussianMixture(**{**kw, "init_params": "kmeans"})
        a.fit(np.repeat(X, w, axis=0))
        b = gm.BayesianGaussianMixture(**{**kw, "init_params": "kmeans"})
        b.fit(X, sample_weight=w.astype(float))
    # k-means on repeated rows and on weighted rows are the same algorithm
    np.testing.assert_allclose(b.lower_bounds_, a.lower_bounds_, rtol=1e-9)
    np.testing.assert_allclose(b.means_, a.means_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b.covariance_prior_, a.covariance_prior_, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_float32_stays_float32(covariance_type):
    X = blobs()
    kw = dict(n_components=4, covariance_type=covariance_type, random_state=0, tol=1e-6)
    m64 = gm.BayesianGaussianMixture(**kw).fit(X)
    m32 = gm.BayesianGaussianMixture(**kw).fit(X.astype(np.float32))
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "mean_precision_"):
        assert getattr(m32, name).dtype == np.float32, name
    assert m32.predict_proba(X.astype(np.float32)).dtype == np.float32
    assert m32.lower_bound_ == pytest.approx(m64.lower_bound_, rel=1e-5)
    np.testing.assert_allclose(m32.means_, m64.means_, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_offset_gives_the_same_bounds(covariance_type):
    X = blobs()
    kw = dict(n_components=4, covariance_type=covariance_type, random_state=0, max_iter=30,
              tol=0.0)  # fmt: skip
    a = gm.BayesianGaussianMixture(**kw).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        b = gm.BayesianGaussianMixture(**kw).fit(X + 1e6)
        sk = SkBGM(**kw).fit(X + 1e6)
    np.testing.assert_allclose(b.lower_bounds_, a.lower_bounds_, rtol=1e-10)
    np.testing.assert_allclose(b.means_ - 1e6, a.means_, atol=1e-8)
    # scikit-learn itself loses digits there: the comparison is not vacuous
    assert np.max(np.abs(np.ravel(sk.lower_bounds_) - a.lower_bounds_)) > \
        10 * np.max(np.abs(np.subtract(b.lower_bounds_, a.lower_bounds_)))  # fmt: skip


def test_unneeded_components_shrink_away():
    X = blobs(n=(400, 300, 300))
    m = gm.BayesianGaussianMixture(n_components=10, weight_concentration_prior=1e-3,
                                   random_state=0, max_iter=500, tol=1e-6).fit(X)  # fmt: skip
    assert m.n_effective_components_ == 3
    assert np.sort(m.weights_)[-3:].sum() > 0.99


@pytest.mark.parametrize("covariance_type", TYPES)
def test_dask_and_array_api_equal_numpy(covariance_type):
    X = blobs()
    # the random start is drawn per row alike everywhere (Dask's k-means++ seeds on a sample)
    kw = dict(n_components=4, covariance_type=covariance_type, random_state=0, tol=0.0,
              max_iter=30, init_params="random")  # fmt: skip
    a = gm.BayesianGaussianMixture(**kw).fit(X)
    b = gm.BayesianGaussianMixture(**kw).fit(da.from_array(X, chunks=(250, 3)))
    c = gm.BayesianGaussianMixture(**kw).fit(array_api_strict.asarray(X))
    assert isinstance(c.means_, type(array_api_strict.asarray(0.0)))
    for other in (b, c):
        np.testing.assert_allclose(other.lower_bounds_, a.lower_bounds_, rtol=1e-10)
        np.testing.assert_allclose(to_host(other.means_), a.means_, rtol=1e-9, atol=1e-12)
    labels = c.predict(array_api_strict.asarray(X))
    np.testing.assert_array_equal(to_host(labels), a.predict(X))


def test_squarem_on_dask_and_array_api_equals_numpy():
    X = blobs()
    kw = dict(n_components=4, random_state=0, tol=1e-8, max_iter=2000, init_params="random",
              acceleration="squarem")  # fmt: skip
    a = gm.BayesianGaussianMixture(**kw).fit(X)
    b = gm.BayesianGaussianMixture(**kw).fit(da.from_array(X, chunks=(250, 3)))
    c = gm.BayesianGaussianMixture(**kw).fit(array_api_strict.asarray(X))
    for other in (b, c):
        assert other.n_iter_ == a.n_iter_
        np.testing.assert_allclose(other.lower_bounds_, a.lower_bounds_, rtol=1e-9)
        np.testing.assert_allclose(to_host(other.means_), a.means_, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("prior_type", PRIORS)
@pytest.mark.parametrize("covariance_type", TYPES)
def test_save_and_load(tmp_path, prior_type, covariance_type):
    X = blobs()
    m = gm.BayesianGaussianMixture(n_components=3, covariance_type=covariance_type,
                                   weight_concentration_prior_type=prior_type,
                                   random_state=0).fit(X)  # fmt: skip
    loaded = gm.load(m.save(tmp_path / "bgm"))
    assert type(loaded.weight_concentration_) is type(m.weight_concentration_)
    assert type(loaded.degrees_of_freedom_) is type(m.degrees_of_freedom_)
    np.testing.assert_array_equal(loaded.predict_proba(X), m.predict_proba(X))
    assert loaded.get_params() == m.get_params()


def test_a_tampered_file_is_refused(tmp_path):
    m = gm.BayesianGaussianMixture(n_components=3, random_state=0).fit(blobs())
    m.mean_precision_ = -m.mean_precision_
    path = m.save(tmp_path / "bad")
    with pytest.raises(ValueError, match=re.escape(str(path))):
        gm.load(path)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_covariances_and_precisions_are_inverse(covariance_type):
    """scikit-learn's test_check_covariance_precision."""
    m = gm.BayesianGaussianMixture(n_components=3, covariance_type=covariance_type,
                                   random_state=0).fit(blobs())  # fmt: skip
    cov, prec = m.covariances_, m.precisions_
    if covariance_type == "full":
        for c, p in zip(cov, prec, strict=True):
            np.testing.assert_allclose(c @ p, np.eye(3), atol=1e-10)
    elif covariance_type == "tied":
        np.testing.assert_allclose(cov @ prec, np.eye(3), atol=1e-10)
    else:
        np.testing.assert_allclose(cov * prec, np.ones_like(cov), atol=1e-10)


def test_predict_agrees_with_fit_predict_and_predict_proba():
    X = blobs(8)
    m = gm.BayesianGaussianMixture(n_components=5, random_state=0, max_iter=300, tol=1e-6)
    labels = m.fit_predict(X)
    np.testing.assert_array_equal(labels, m.predict(X))
    np.testing.assert_array_equal(m.predict(X), np.argmax(m.predict_proba(X), axis=1))
    np.testing.assert_allclose(m.predict_proba(X).sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_identical_rows_follow_scikit_learn(covariance_type):
    # k-means leaves one component empty; scikit-learn's update puts an empty
    # component's mean at the data's origin (its sum over n_k + 10 eps), which decides
    # where the mass goes: the same path here, not one that splits the rows in two
    X = np.tile([[1.0, 2.0]], (50, 1))
    kw = dict(n_components=2, covariance_type=covariance_type, random_state=0)
    ours = gm.BayesianGaussianMixture(**kw).fit(X)
    theirs = SkBGM(**kw).fit(X)
    np.testing.assert_allclose(ours.weights_, theirs.weights_, rtol=1e-6)
    assert ours.n_iter_ == theirs.n_iter_
