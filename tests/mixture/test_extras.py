"""gradmix's extras: sample weights, frozen parameters, persistence, dtypes, data."""

import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import norm

import gradmix as gm
from gradmix.datasets import load_old_faithful

TYPES = ["full", "tied", "diag", "spherical"]
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(size=(n, 2)), rng.normal(size=(n, 2)) * 0.7 + [3, 1]])


@pytest.mark.parametrize("covariance_type", TYPES)
def test_integer_weights_equal_repeated_rows(covariance_type):
    X = data()
    counts = np.random.default_rng(1).integers(0, 4, len(X))
    start = gm.GaussianMixture(2, covariance_type=covariance_type, max_iter=1,
                               random_state=0).fit(X)  # fmt: skip
    kw = dict(n_components=2, covariance_type=covariance_type, weights_init=start.weights_,
              means_init=start.means_, precisions_init=start.precisions_, tol=1e-9)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = gm.GaussianMixture(**kw).fit(X, sample_weight=counts)
        b = gm.GaussianMixture(**kw).fit(np.repeat(X, counts, axis=0))
    np.testing.assert_allclose(a.lower_bounds_, b.lower_bounds_, rtol=1e-10)
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a.covariances_, b.covariances_, rtol=1e-9)
    np.testing.assert_allclose(a.weights_, b.weights_, rtol=1e-9)


def test_lectures_means_only_em():
    """Fixed unit variance, uniform weights: only the means move, as in the lecture."""
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.normal(-2, 1, 200), rng.normal(2.5, 1, 200)])[:, None]
    mu0 = np.array([[-0.5], [0.5]])
    model = gm.GaussianMixture(
        2, covariance_type="spherical", weights_init=[0.5, 0.5], precisions_init=[1.0, 1.0],
        means_init=mu0, freeze=("weights", "covariances"), max_iter=5, tol=0,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x)
    mu = mu0[:, 0].copy()
    for _ in range(5):  # the lecture's algorithm, by hand
        logp = norm.logpdf(x, mu, 1.0) + np.log(0.5)
        r = np.exp(logp - logsumexp(logp, axis=1, keepdims=True))
        mu = (r * x).sum(axis=0) / r.sum(axis=0)
    np.testing.assert_allclose(model.means_[:, 0], mu, rtol=1e-12)
    np.testing.assert_array_equal(model.weights_, [0.5, 0.5])
    np.testing.assert_allclose(model.covariances_, [1.0, 1.0])


@pytest.mark.parametrize("covariance_type", TYPES)
def test_frozen_means_give_spread_about_them(covariance_type):
    X = data()
    means = np.array([[0.0, 0.0], [3.0, 1.0]])
    m = gm.GaussianMixture(2, covariance_type=covariance_type, means_init=means,
                           freeze=("means",), random_state=0).fit(X)  # fmt: skip
    np.testing.assert_array_equal(m.means_, means)
    # the covariance M-step given fixed means: Σ r (x - m)(x - m)ᵀ / Σ r
    r = m.predict_proba(X)
    m2 = gm.GaussianMixture(2, covariance_type=covariance_type, weights_init=m.weights_,
                            means_init=means, precisions_init=m.precisions_,
                            freeze=("means",), max_iter=1, reg_covar=0).fit(X)  # fmt: skip
    d = X[:, None, :] - means[None]
    full = np.einsum("nk,nki,nkj->kij", r, d, d) / r.sum(axis=0)[:, None, None]
    expected = {
        "full": full,
        "tied": np.einsum("k,kij->ij", r.sum(axis=0), full) / r.sum(),
        "diag": np.diagonal(full, axis1=1, axis2=2),
        "spherical": np.diagonal(full, axis1=1, axis2=2).mean(axis=1),
    }[covariance_type]
    np.testing.assert_allclose(m2.covariances_, expected, rtol=1e-10)


def test_bad_freeze_name():
    with pytest.raises(ValueError, match="freeze"):
        gm.GaussianMixture(freeze=("variances",)).fit(data())


@pytest.mark.parametrize("covariance_type", TYPES)
def test_save_load_round_trip(tmp_path, covariance_type):
    X = data()
    m = gm.GaussianMixture(2, covariance_type=covariance_type, random_state=0,
                           freeze=()).fit(X)  # fmt: skip
    path = m.save(tmp_path / "model.npz")
    with np.load(path, allow_pickle=False) as f:  # readable without pickle
        assert "__meta__" in f.files
    m2 = gm.load(path)
    assert isinstance(m2, gm.GaussianMixture)
    assert m2.get_params() == m.get_params()
    np.testing.assert_array_equal(m2.predict_proba(X), m.predict_proba(X))
    assert m2.lower_bounds_ == m.lower_bounds_ and m2.converged_ == m.converged_
    with pytest.raises(FileExistsError):
        m.save(path)
    m.save(path, overwrite=True)


def test_save_load_kmeans_and_feature_names(tmp_path):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(data(), columns=["a", "b"])
    km = gm.KMeans(2, random_state=0).fit(df)
    km2 = gm.load(km.save(tmp_path / "km"))
    np.testing.assert_array_equal(km2.predict(df), km.predict(df))
    assert list(km2.feature_names_in_) == ["a", "b"]


def test_load_rejects_other_files(tmp_path):
    np.savez(tmp_path / "x.npz", a=np.ones(3))
    with pytest.raises(ValueError, match="not a gradmix model"):
        gm.load(tmp_path / "x.npz")
    (tmp_path / "y.npz").write_text("hello")
    with pytest.raises(ValueError, match="not a gradmix model"):
        gm.load(tmp_path / "y.npz")


@pytest.mark.parametrize("covariance_type", TYPES)
def test_float32_stays_float32(covariance_type):
    X = data().astype(np.float32)
    m32 = gm.GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X)
    m64 = gm.GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(
        X.astype(np.float64)
    )
    for attr in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert getattr(m32, attr).dtype == np.float32, attr
    assert m32.predict_proba(X).dtype == np.float32
    assert m32.lower_bound_ == pytest.approx(m64.lower_bound_, rel=1e-4)


def test_old_faithful():
    X = load_old_faithful()
    assert X.shape == (272, 2) and X.dtype == np.float64
    assert X[:, 0].min() > 1.5 and X[:, 1].max() < 100
    pytest.importorskip("pandas")
    df = load_old_faithful(as_frame=True)
    assert list(df.columns) == ["eruptions", "waiting"] and len(df) == 272
