"""Array-API inputs: same results as numpy, in the input's namespace.

They run on array-api-strict, on JAX's CPU arrays (the dev group has JAX) and,
where PyTorch is installed, on CPU tensors too (CI installs PyTorch's CPU build
where the machine keeps its wheel: see .ci/run).
"""

import importlib.util

import array_api_strict
import numpy as np
import pytest

import gradmix as gm
from gradmix.mixture.arrays import to_host

TYPES = ["full", "tied", "diag", "spherical"]
INITS = ["kmeans", "k-means++", "random", "random_from_data"]
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
# JAX's eager dispatch makes its fits the slowest: they run with the slow tests
NAMESPACES = ["array_api_strict"] + [
    pytest.param(name, marks=pytest.mark.slow) if name == "jax" else name
    for name in ("jax", "torch")
    if importlib.util.find_spec(name)
]


@pytest.fixture(params=NAMESPACES)
def xps(request):
    """The namespace under test."""
    if request.param == "torch":
        import torch

        return torch
    if request.param == "jax":
        import jax
        import jax.numpy as jnp

        # gradmix sums in float64, which JAX offers only with x64 on (see
        # test_jax_without_x64_is_refused); the data may still be float32
        jax.config.update("jax_enable_x64", True)
        return jnp
    return array_api_strict


def is_array_of(xps, a):
    return type(a) is type(xps.asarray(0.0))


def data(seed=0):
    rng = np.random.default_rng(seed)
    return np.concatenate(
        [
            rng.normal(size=(150, 3)),
            rng.normal(size=(100, 3)) * 0.5 + 4,
            rng.normal(size=(50, 3)) * 0.2 + [0, 5, 1],
        ]
    )


def fit_both(xps, X, **kw):
    a = gm.GaussianMixture(**kw).fit(X)
    b = gm.GaussianMixture(**kw).fit(xps.asarray(X))
    return a, b


def assert_same_fit(xps, a, b, rtol=1e-9):
    assert len(a.lower_bounds_) == len(b.lower_bounds_)
    np.testing.assert_allclose(b.lower_bounds_, a.lower_bounds_, rtol=rtol)
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        got = getattr(b, name)
        assert is_array_of(xps, got), name
        np.testing.assert_allclose(to_host(got), getattr(a, name), rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("init_params", INITS)
def test_fit_equals_numpy_path(xps, covariance_type, init_params):
    X = data()
    a, b = fit_both(xps, X, n_components=3, covariance_type=covariance_type,
                    init_params=init_params, random_state=0, tol=1e-8)  # fmt: skip
    assert_same_fit(xps, a, b)
    Xs = xps.asarray(X)
    for method in ("predict", "predict_proba", "score_samples"):
        got = getattr(b, method)(Xs)
        assert is_array_of(xps, got)
        np.testing.assert_allclose(to_host(got), getattr(a, method)(X), rtol=1e-9, atol=1e-12)
    assert b.score(Xs) == pytest.approx(a.score(X), rel=1e-12)
    assert b.bic(Xs) == pytest.approx(a.bic(X), rel=1e-12)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_far_tight_component_takes_the_exact_path(xps, covariance_type):
    # a tight cluster far from the others: its statistics are taken about its own mean,
    # on the device exactly as on the host (some components well-, some ill-conditioned).
    # (tied pools its statistic about the centre, so there rounding order shows)
    rng = np.random.default_rng(3)
    X = np.concatenate([rng.normal(size=(200, 2)), 1e4 + 1e-3 * rng.normal(size=(60, 2))])
    X = X + [0.0, 2.0]
    a, b = fit_both(xps, X, n_components=3, covariance_type=covariance_type, random_state=1,
                    tol=1e-10, reg_covar=1e-9)  # fmt: skip
    assert_same_fit(xps, a, b, rtol=1e-8)


def test_sample_weight_float32_and_given_start(xps):
    X = data(1)
    w = np.random.default_rng(2).integers(0, 3, len(X)).astype(float)
    kw = dict(n_components=3, random_state=0, tol=1e-8)
    a = gm.GaussianMixture(**kw).fit(X, sample_weight=w)
    b = gm.GaussianMixture(**kw).fit(xps.asarray(X), sample_weight=xps.asarray(w))
    assert_same_fit(xps, a, b)
    start = dict(weights_init=a.weights_, means_init=xps.asarray(a.means_),
                 precisions_init=a.precisions_)  # fmt: skip
    c = gm.GaussianMixture(3, max_iter=3, **start).fit(X)
    d = gm.GaussianMixture(3, max_iter=3, **start).fit(xps.asarray(X))
    assert_same_fit(xps, c, d)
    X32 = X.astype(np.float32)
    e = gm.GaussianMixture(3, random_state=0).fit(X32)
    f = gm.GaussianMixture(3, random_state=0).fit(xps.asarray(X32))
    assert f.means_.dtype == xps.float32
    np.testing.assert_allclose(f.lower_bounds_, e.lower_bounds_, rtol=1e-5)


def test_warm_start_continues_on_device(xps):
    X = data()
    fits = []
    for Z in (X, xps.asarray(X)):
        m = gm.GaussianMixture(3, random_state=0, max_iter=2, warm_start=True, tol=0)
        m.fit(Z)
        m.fit(Z)  # two more iterations from where the first fit stopped
        fits.append(m)
    assert_same_fit(xps, *fits)


def test_squarem_equals_numpy_path(xps):
    X = data()
    kw = dict(n_components=4, random_state=0, tol=1e-8, max_iter=2000, acceleration="squarem")
    a = gm.GaussianMixture(**kw).fit(X)
    b = gm.GaussianMixture(**kw).fit(xps.asarray(X))
    assert a.converged_ and 20 < a.n_iter_ == b.n_iter_
    assert_same_fit(xps, a, b)


def test_squarem_for_t_mixtures_equals_numpy_path(xps):
    X = data()
    kw = dict(n_components=3, random_state=0, tol=1e-8, max_iter=2000, acceleration="squarem")
    a = gm.StudentTMixture(**kw).fit(X)
    b = gm.StudentTMixture(**kw).fit(xps.asarray(X))
    # the jumps (steps up to thousands of EM steps long here) magnify the namespaces'
    # different rounding: on array-api-strict to 1.4e-9 in the log-likelihoods and 3e-7
    # in the scale matrices, where plain ECM's paths agree to 4e-14 and 5e-12, and on
    # JAX the fit converged one E-step earlier (266 against 267), with ν 2e-6 apart.
    # Both ends lie within the tolerance's reach of the optimum (plain ECM's own end
    # differs from either by 1e-6 in the scales and 2e-6 in ν).
    assert a.converged_ and b.converged_ and abs(a.n_iter_ - b.n_iter_) <= 2
    assert b.lower_bound_ == pytest.approx(a.lower_bound_, rel=1e-9)
    # An end one E-step apart moves the scale matrices by ~2e-7 of their size: measured
    # against that size, not entry by entry (an off-diagonal entry near zero moved by
    # 2e-5 of itself where the fits stopped 266 and 267 E-steps in).
    for name in ("weights_", "means_", "covariances_"):
        want = getattr(a, name)
        np.testing.assert_allclose(to_host(getattr(b, name)), want, rtol=1e-5,
                                   atol=1e-5 * np.abs(want).max())  # fmt: skip
    np.testing.assert_allclose(b.degrees_of_freedom_, a.degrees_of_freedom_, rtol=1e-5)


@pytest.mark.parametrize("init", ["k-means++", "random", "array"])
def test_kmeans_equals_numpy_path(xps, init):
    X = data(4)
    w = np.random.default_rng(5).uniform(0.5, 2, len(X))
    start = X[[0, 160, 260, 5]]
    kw = dict(n_clusters=4, random_state=0, init=start if init == "array" else init)
    a = gm.KMeans(**kw).fit(X, sample_weight=w)
    b = gm.KMeans(**kw).fit(xps.asarray(X), sample_weight=xps.asarray(w))
    assert is_array_of(xps, b.cluster_centers_) and is_array_of(xps, b.labels_)
    np.testing.assert_allclose(to_host(b.cluster_centers_), a.cluster_centers_, rtol=1e-10)
    np.testing.assert_array_equal(to_host(b.labels_), a.labels_)
    assert b.inertia_ == pytest.approx(a.inertia_, rel=1e-10)
    assert b.n_iter_ == a.n_iter_
    Xs = xps.asarray(X)
    np.testing.assert_array_equal(to_host(b.predict(Xs)), a.predict(X))
    np.testing.assert_allclose(to_host(b.transform(Xs)), a.transform(X), rtol=1e-9)
    assert b.score(Xs) == pytest.approx(a.score(X), rel=1e-10)


def test_kmeans_relocates_empty_clusters_like_the_host(xps):
    X = np.repeat(data()[:40], 3, axis=0)
    start = np.concatenate([X[:3], [[50.0, 50.0, 50.0]]])  # the last centre catches nothing
    a = gm.KMeans(4, init=start).fit(X)
    b = gm.KMeans(4, init=start).fit(xps.asarray(X))
    np.testing.assert_allclose(to_host(b.cluster_centers_), a.cluster_centers_, rtol=1e-10)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 4.0]]), "NaN or infinity"),
        (np.arange(5.0), "Expected 2D array"),
        (np.ones((1, 2)), "minimum of 2"),
    ],
)
def test_bad_input_is_a_clear_error(xps, bad, match):
    with pytest.raises(ValueError, match=match):
        gm.GaussianMixture(1).fit(xps.asarray(bad))


def test_wrong_feature_count_at_predict(xps):
    m = gm.GaussianMixture(2, random_state=0).fit(xps.asarray(data()))
    with pytest.raises(ValueError, match="features"):
        m.predict(xps.asarray(np.ones((3, 2))))


def test_device_model_saves_and_loads(xps, tmp_path):
    m = gm.GaussianMixture(2, random_state=0).fit(xps.asarray(data()))
    loaded = gm.load(m.save(tmp_path / "m.npz"))
    np.testing.assert_allclose(loaded.means_, to_host(m.means_))


def test_jax_without_x64_is_refused():
    """JAX's default silently turns float64 into float32: refused, with the fix named."""
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    before = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", False)
    try:
        X = jnp.asarray(data(), dtype=jnp.float32)
        for model in (gm.GaussianMixture(2), gm.KMeans(2)):
            with pytest.raises(ValueError, match="jax_enable_x64"):
                model.fit(X)
    finally:
        jax.config.update("jax_enable_x64", before)
