"""Student-t mixtures: recovery, the ECM's ascent, the Gaussian limit, an outside implementation
(studenttmixture), robustness to outliers, the estimator surface, bad input."""

import warnings

import array_api_strict
import dask.array as da
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import digamma

import gradmix as gm
from gradmix.datasets import load_old_faithful
from gradmix.mixture.arrays import to_host
from gradmix.mixture.components.student_t import log_normaliser, solve_dof
from gradmix.mixture.covariance import MCLUST_NAMES
from scipy import stats
from tests.mixture.test_models import has_structure, random_model_covariances

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def t_mixture(letters, n, nu, seed, d=3):
    """n rows from a three-component t mixture whose scales follow ``letters``."""
    rng = np.random.default_rng(seed)
    scale = random_model_covariances(letters, 3, d, rng) * 0.5
    means = np.array([[0.0, 0.0, 0.0], [8.0, 0.0, 1.0], [0.0, 8.0, -1.0]])[:, :d]
    weights = np.array([0.45, 0.35, 0.2])
    z = rng.choice(3, size=n, p=weights)
    X = np.empty((n, d))
    for k in range(3):
        rows = z == k
        X[rows] = stats.multivariate_t(means[k], scale[k], df=nu, seed=rng).rvs(int(rows.sum()))
    return X, means, weights, scale


def matched(fitted_means, means):
    order = [int(np.argmin(np.sum((fitted_means - mu) ** 2, axis=1))) for mu in means]
    assert sorted(order) == list(range(len(means)))
    return order


# ------------------------------------------------------------------ the density and the ν step
def test_log_density_is_scipys_multivariate_t():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3)) * 3
    m = gm.StudentTMixture(2, covariance_type="VVV", dof=3.5, random_state=0,
                           max_iter=3).fit(X)  # fmt: skip
    ref = sum(w * stats.multivariate_t(mu, S, df=3.5).pdf(X)
              for w, mu, S in zip(m.weights_, m.means_, m.covariances_, strict=True))  # fmt: skip
    np.testing.assert_allclose(m.score_samples(X), np.log(ref), rtol=1e-12)


@pytest.mark.parametrize("nu", [0.5, 1.0, 4.0, 1e3, 1e8, 1e15])
@pytest.mark.parametrize("p", [1, 2, 30])
def test_the_normaliser_is_accurate_for_any_degrees_of_freedom(nu, p):
    # log Γ((ν+p)/2) - log Γ(ν/2) - p/2 log(νπ) by mpmath-free means: the series of
    # log Γ(a + h) - log Γ(a) - h log a ~ h(h-1)/(2a) for large a, scipy's gammaln below
    a, h = nu / 2, p / 2
    if nu < 1e6:
        from scipy.special import gammaln

        ref = gammaln(a + h) - gammaln(a) - p / 2 * np.log(nu * np.pi)
    else:
        ref = h * np.log(a) + h * (h - 1) / (2 * a) - p / 2 * np.log(nu * np.pi)
    assert log_normaliser(np.array([nu]), p)[0] == pytest.approx(ref, rel=1e-13, abs=1e-13)
    # the normal limit, to O(p²/ν)
    if nu >= 1e8:
        limit = -p / 2 * np.log(2 * np.pi)
        assert log_normaliser(np.array([nu]), p)[0] == pytest.approx(limit, abs=p * p / nu)


def test_dof_equation_is_solved_within_its_bounds():
    c = np.array([-1.05, -1.2, -2.0, -1.0001, -30.0])
    nu = solve_dof(c, np.full(5, 50.0), (1.0, 200.0))
    g = np.log(nu / 2) + 1 - digamma(nu / 2) + c
    inside = (nu > 1.0) & (nu < 200.0)
    np.testing.assert_allclose(g[inside], 0.0, atol=1e-12)
    # beyond the bounds: the bound the root lies past (the left side decreases in ν)
    assert nu[3] == 200.0 and g[3] > 0
    assert nu[4] == 1.0 and g[4] < 0


# ------------------------------------------------------------------ recovery and the ascent
@pytest.mark.parametrize("letters", ["VVV", "EEE", "VVI", "EII", "VEV", "EVE"])
def test_recovers_the_parameters_and_degrees_of_freedom(letters):
    X, means, weights, scale = t_mixture(letters, 20_000, 4.0, seed=MCLUST_NAMES.index(letters))
    m = gm.StudentTMixture(3, covariance_type=letters, tol=1e-7, max_iter=1000,
                           random_state=0).fit(X)  # fmt: skip
    order = matched(m.means_, means)
    np.testing.assert_allclose(m.degrees_of_freedom_, 4.0, atol=1.0)
    np.testing.assert_allclose(m.means_[order], means, atol=0.1)
    np.testing.assert_allclose(m.weights_[order], weights, atol=0.02)
    rel = np.linalg.norm(m.covariances_[order] - scale, axis=(1, 2)) / \
        np.linalg.norm(scale, axis=(1, 2))  # fmt: skip
    assert np.all(rel < 0.1), rel
    assert has_structure(m.covariances_, letters, rtol=1e-6)
    shared = gm.StudentTMixture(3, covariance_type=letters, dof="shared", tol=1e-7,
                                max_iter=1000, random_state=0).fit(X)  # fmt: skip
    assert np.ptp(shared.degrees_of_freedom_) == 0
    assert shared.degrees_of_freedom_[0] == pytest.approx(4.0, abs=1.0)


@st.composite
def heavy_tailed(draw):
    seed = draw(st.integers(0, 2**31 - 1))
    K = draw(st.integers(1, 3))
    d = draw(st.integers(1, 3))
    n = draw(st.integers(max(12 * K, 20), 150))
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=draw(st.floats(1.0, 8.0)), size=(K, d))
    nu = draw(st.floats(1.5, 30.0))
    X = centres[rng.integers(0, K, n)] + rng.standard_t(nu, size=(n, d)) * rng.uniform(0.3, 2, d)
    return X, K, seed


@settings(max_examples=60, deadline=None)
@given(heavy_tailed(), st.sampled_from(MCLUST_NAMES), st.sampled_from(["free", "shared", 5.0]),
       st.sampled_from(["kmeans", "trimmed-kmeans", "random"]),
       st.sampled_from([None, "squarem"]))  # fmt: skip
def test_ecm_never_decreases_the_likelihood(data, letters, dof, init_params, acceleration):
    """ECM's ascent property, which holds without a ridge (as for EM in
    test_em_properties.py): hypothesis found the log-likelihood of a VVE fit with the
    default reg_covar falling by 4.1e-4 a row (K = 3, d = 3, 97 rows, ν = 5, a
    component's smallest eigenvalue at twice the ridge); with reg_covar = 1e-8 the same
    fit rises at every step."""
    X, K, seed = data
    name = {"E": "E", "V": "V"}.get(letters[0]) if X.shape[1] == 1 else letters
    model = gm.StudentTMixture(K, covariance_type=name, dof=dof, init_params=init_params,
                               random_state=seed, tol=0, max_iter=25, reg_covar=0.0,
                               acceleration=acceleration)  # fmt: skip
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X)
    except ValueError as exc:  # a component collapsed with reg_covar=0: scikit-learn's error
        assert "ill-defined empirical covariance" in str(exc)
        return
    lb = np.asarray(model.lower_bounds_)
    assert np.all(np.diff(lb) >= -1e-9 * np.maximum(1.0, np.abs(lb[1:])))
    assert np.all((model.degrees_of_freedom_ >= 1.0) & (model.degrees_of_freedom_ <= 200.0))
    resp = model.predict_proba(X)
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical", "VEV", "EVE",
                                             "VVE", "EEV", "VEI"])  # fmt: skip
def test_infinite_degrees_of_freedom_give_gaussian_mixtures_fit(covariance_type):
    X = load_old_faithful()
    kw = dict(n_components=3, covariance_type=covariance_type, random_state=0, tol=1e-10,
              max_iter=300, init_params="kmeans")  # fmt: skip
    g = gm.GaussianMixture(**kw).fit(X)
    t = gm.StudentTMixture(dof=1e8, **kw).fit(X)
    assert t.n_iter_ == g.n_iter_
    np.testing.assert_allclose(t.lower_bounds_, g.lower_bounds_, rtol=1e-6)
    np.testing.assert_allclose(t.means_, g.means_, rtol=1e-6)
    np.testing.assert_allclose(t.covariances_, g.covariances_, rtol=1e-6,
                               atol=1e-6 * np.max(np.abs(g.covariances_)))  # fmt: skip
    np.testing.assert_allclose(t.weights_, g.weights_, atol=1e-6)


# ------------------------------------------------------------------ an outside implementation
@pytest.mark.parametrize("fixed", [True, False])
def test_at_least_the_likelihood_of_studenttmixture_from_its_start(fixed):
    from sklearn.cluster import KMeans
    from studenttmixture import EMStudentMixture

    rng = np.random.default_rng(3)
    a = stats.multivariate_t([0, 0], [[1, 0.3], [0.3, 1]], df=3, seed=rng).rvs(300)
    b = stats.multivariate_t([5, 5], [[2, 0], [0, 0.5]], df=6, seed=rng).rvs(200)
    X = np.vstack([a, b])
    ref = EMStudentMixture(n_components=2, tol=1e-10, max_iter=5000, df=4.0, fixed_df=fixed,
                           random_state=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref.fit(X)
    assert ref.converged_
    # studenttmixture's start: scikit-learn's k-means centres (n_init=3), the data's covariance
    # (+ reg_covar) for every scale, equal weights, ν = 4
    centres = KMeans(n_clusters=2, n_init=3, random_state=0).fit(X).cluster_centers_
    scale = np.cov(X, rowvar=False) + 1e-6 * np.eye(2)
    m = gm.StudentTMixture(2, dof=4.0 if fixed else "free", dof_init=4.0, means_init=centres,
                           weights_init=[0.5, 0.5], precisions_init=np.linalg.inv([scale, scale]),
                           tol=1e-10, max_iter=5000, dof_bounds=(1e-3, 1e6)).fit(X)  # fmt: skip
    assert m.converged_
    assert m.score(X) >= ref.score(X) - 1e-8
    order = matched(m.means_, ref.location_)
    np.testing.assert_allclose(m.means_[order], ref.location_, atol=1e-4)
    np.testing.assert_allclose(m.degrees_of_freedom_[order], ref.df_, rtol=1e-3)


# ------------------------------------------------------------------ robustness
def with_outliers(seed=0, n=2000):
    rng = np.random.default_rng(seed)
    means = np.array([[0.0, 0.0], [5.0, 5.0], [0.0, 8.0]])
    X = np.vstack([rng.multivariate_normal(m, 0.8 * np.eye(2), n // 3) for m in means])
    lo, hi = X.min(axis=0), X.max(axis=0)
    m = int(0.05 * len(X))
    rows = rng.choice(len(X), m, replace=False)
    X[rows] = (lo + hi) / 2 + (rng.random((m, 2)) - 0.5) * 10 * (hi - lo)
    return X, means, rows


def mean_errors(fitted, means):
    return np.array([np.min(np.linalg.norm(fitted - mu, axis=1)) for mu in means])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_outliers_move_t_components_less_than_gaussian_ones(seed):
    X, means, rows = with_outliers(seed)
    g = gm.GaussianMixture(3, random_state=seed).fit(X)
    t = gm.StudentTMixture(3, random_state=seed).fit(X)
    eg, et = mean_errors(g.means_, means), mean_errors(t.means_, means)
    assert np.max(et) < 0.15 and np.max(et) < np.max(eg), (et, eg)
    # the outliers get the smallest expected scales: they weigh least in the fit
    scores = t.outlier_scores_
    assert np.median(scores[rows]) < 0.2 * np.median(np.delete(scores, rows))


# ------------------------------------------------------------------ the estimator surface
def test_missing_values_recover_the_complete_data_fit():
    X, means, _, _ = t_mixture("VVV", 3000, 5.0, seed=7)
    rng = np.random.default_rng(1)
    Xm = X.copy()
    Xm[rng.random(X.shape) < 0.1] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        m = gm.StudentTMixture(3, missing="em", random_state=0, tol=1e-7, max_iter=500).fit(Xm)
    order = matched(m.means_, means)
    np.testing.assert_allclose(m.means_[order], means, atol=0.2)
    np.testing.assert_allclose(m.degrees_of_freedom_, 5.0, atol=1.5)
    lb = np.asarray(m.lower_bounds_)
    assert np.all(np.diff(lb) >= -1e-9 * np.abs(lb[1:]))
    filled = m.impute(Xm)
    assert not np.isnan(filled).any()
    np.testing.assert_array_equal(filled[~np.isnan(Xm)], Xm[~np.isnan(Xm)])
    assert m.expected_scales(Xm).shape == (len(X),)
    # with nothing missing the missing-value E-step is the ordinary one
    a = gm.StudentTMixture(2, missing="em", random_state=0, max_iter=20).fit(X)
    b = gm.StudentTMixture(2, random_state=0, max_iter=20).fit(X)
    np.testing.assert_allclose(a.lower_bounds_, b.lower_bounds_, rtol=1e-12)


@pytest.mark.parametrize("kind", ["strict", "dask"])
def test_array_api_and_dask_inputs_give_the_numpy_fit(kind):
    X, _, _, _ = t_mixture("VEV", 1500, 4.0, seed=3)
    wrap = {"strict": array_api_strict.asarray, "dask": lambda a: da.from_array(a, chunks=400)}
    kw = dict(n_components=3, covariance_type="VEV", random_state=0, tol=1e-8, max_iter=100,
              init_params="kmeans")  # fmt: skip
    a = gm.StudentTMixture(**kw).fit(X)
    b = gm.StudentTMixture(**kw).fit(wrap[kind](X))
    np.testing.assert_allclose(b.lower_bounds_, a.lower_bounds_, rtol=1e-12)
    # Dask's k-means seeds on a sample: the same fit, its components in another order
    order = matched(to_host(b.means_), a.means_)
    np.testing.assert_allclose(to_host(b.degrees_of_freedom_)[order], a.degrees_of_freedom_,
                               rtol=1e-10)  # fmt: skip
    np.testing.assert_allclose(to_host(b.means_)[order], a.means_, rtol=1e-10, atol=1e-12)
    labels = to_host(b.predict(wrap[kind](X)))
    np.testing.assert_array_equal(np.argsort(order)[labels], a.predict(X))


def test_torch_tensors_give_the_numpy_fit():
    torch = pytest.importorskip("torch")
    X, _, _, _ = t_mixture("VVV", 1500, 4.0, seed=4)
    kw = dict(n_components=3, random_state=0, tol=1e-8, max_iter=100)
    a = gm.StudentTMixture(**kw).fit(X)
    b = gm.StudentTMixture(**kw).fit(torch.asarray(X))
    np.testing.assert_allclose(b.lower_bounds_, a.lower_bounds_, rtol=1e-12)
    assert isinstance(b.means_, torch.Tensor)


def test_sample_weight_equals_repeated_rows_and_n_init_keeps_the_best():
    X, _, _, _ = t_mixture("VVI", 400, 4.0, seed=5)
    w = np.random.default_rng(0).integers(0, 3, len(X))
    kw = dict(n_components=3, covariance_type="VVI", tol=1e-10, max_iter=300)
    start = gm.StudentTMixture(3, covariance_type="VVI", random_state=0, max_iter=1).fit(X)
    init = dict(means_init=start.means_, weights_init=start.weights_,
                precisions_init=start.precisions_)  # fmt: skip
    a = gm.StudentTMixture(**kw, **init).fit(X, sample_weight=w)
    b = gm.StudentTMixture(**kw, **init).fit(np.repeat(X, w, axis=0))
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-8)
    np.testing.assert_allclose(a.degrees_of_freedom_, b.degrees_of_freedom_, rtol=1e-8)
    one = gm.StudentTMixture(3, random_state=0, init_params="random").fit(X)
    five = gm.StudentTMixture(3, random_state=0, init_params="random", n_init=5).fit(X)
    assert five.lower_bound_ >= one.lower_bound_ - 1e-12


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data",
                                         "hc", "trimmed-kmeans"])  # fmt: skip
def test_every_start_and_warm_start(init_params):
    X = load_old_faithful()
    m = gm.StudentTMixture(2, covariance_type="EEE", init_params=init_params, random_state=0,
                           max_iter=5).fit(X)  # fmt: skip
    first = m.lower_bound_
    m.set_params(warm_start=True, max_iter=50).fit(X)
    assert m.lower_bounds_[0] >= first - 1e-12  # continued from the fitted parameters
    assert m.degrees_of_freedom_.shape == (2,)


def test_sampling_draws_from_the_fitted_t_mixture():
    X, means, _, scale = t_mixture("VVV", 3000, 4.0, seed=9, d=2)
    m = gm.StudentTMixture(3, covariance_type="VVV", random_state=0, tol=1e-6).fit(X)
    Y, y = m.sample(60_000)
    assert Y.shape == (60_000, 2) and set(np.unique(y)) == {0, 1, 2}
    for k in range(3):
        rows = Y[y == k]
        # a t's covariance is ν/(ν-2) times its scale matrix; its location is its median
        nu = m.degrees_of_freedom_[k]
        np.testing.assert_allclose(np.median(rows, axis=0), m.means_[k], atol=0.05)
        np.testing.assert_allclose(np.cov(rows.T), nu / (nu - 2) * m.covariances_[k], rtol=0.2)


def test_save_load_summary_and_criteria(tmp_path):
    X = load_old_faithful()
    m = gm.StudentTMixture(2, covariance_type="VEV", dof="shared", random_state=0).fit(X)
    path = m.save(tmp_path / "t")
    back = gm.load(path)
    assert isinstance(back, gm.StudentTMixture)
    np.testing.assert_array_equal(back.degrees_of_freedom_, m.degrees_of_freedom_)
    np.testing.assert_allclose(back.score_samples(X), m.score_samples(X), rtol=1e-14)
    # teigen's count: the Gaussian model's parameters and one ν (shared)
    g = gm.GaussianMixture(2, covariance_type="VEV", random_state=0).fit(X)
    assert m.n_parameters_ == g.n_parameters_ + 1
    free = gm.StudentTMixture(2, covariance_type="VEV", random_state=0).fit(X)
    assert free.n_parameters_ == g.n_parameters_ + 2
    assert m.bic(X) == pytest.approx(-2 * m.score(X) * len(X) + m.n_parameters_ * np.log(len(X)))
    text = m.summary(X)
    assert "Student-t mixture" in text and "degrees of freedom (shared)" in text
    # a file whose ν are not positive is refused
    import zipfile

    bad = tmp_path / "bad.npz"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "degrees_of_freedom_.npy":
                buf = __import__("io").BytesIO()
                np.save(buf, -m.degrees_of_freedom_)
                data = buf.getvalue()
            dst.writestr(item, data)
    with pytest.raises(ValueError, match="degrees_of_freedom_ are not positive"):
        gm.load(bad)


def test_select_model_compares_gaussian_and_t_families():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.standard_t(2.5, size=(400, 2)), rng.standard_t(2.5, size=(400, 2)) + 10])
    sel = gm.select_model(X, range(1, 4), ("VVV", "EII"), random_state=0,
                          families=("gaussian", "t"))  # fmt: skip
    assert sel.covariance_types == ["VVV", "EII", "t:VVV", "t:EII"]
    assert sel.best_params_["family"] == "t" and sel.best_params_["n_components"] == 2
    assert isinstance(sel.best_, gm.StudentTMixture)
    # heavy tails: every Gaussian fit needs more components or loses on BIC
    assert np.nanmin(sel.values[:, 2:]) < np.nanmin(sel.values[:, :2])


def test_standard_errors_match_central_differences_of_the_likelihood():
    X, _, _, _ = t_mixture("VVI", 600, 4.0, seed=11, d=2)
    m = gm.StudentTMixture(2, covariance_type="VVI", reg_covar=0, tol=1e-12, max_iter=3000,
                           random_state=0, init_params="kmeans").fit(X)  # fmt: skip
    se = m.standard_errors(X)
    assert set(se) == {"weights", "means", "covariances", "degrees_of_freedom"}
    assert np.all(se["degrees_of_freedom"] > 0)

    # the information for ν by central differences of the likelihood itself (scipy's t):
    # with the other parameters at their maximum, a lower bound of the Wald error
    def loglik(nu_k, k):
        nus = m.degrees_of_freedom_.copy()
        nus[k] = nu_k
        dens = sum(w * stats.multivariate_t(mu, np.diag(S), df=v).pdf(X)
                   for w, mu, S, v in zip(m.weights_, m.means_, m.covariances_, nus,
                                          strict=True))  # fmt: skip
        return np.sum(np.log(dens))

    for k in range(2):
        nu, h = m.degrees_of_freedom_[k], 1e-3 * m.degrees_of_freedom_[k]
        info = -(loglik(nu + h, k) - 2 * loglik(nu, k) + loglik(nu - h, k)) / h**2
        assert se["degrees_of_freedom"][k] >= 1 / np.sqrt(info) * (1 - 1e-3)
    lo, hi = m.confidence_intervals(X)["degrees_of_freedom"]
    assert np.all(lo < m.degrees_of_freedom_) and np.all(m.degrees_of_freedom_ < hi)


def test_gradient_and_newton_reach_ecms_optimum():
    X, _, _, _ = t_mixture("VVV", 600, 4.0, seed=12, d=2)
    kw = dict(n_components=3, reg_covar=0, random_state=0, init_params="kmeans")
    em = gm.StudentTMixture(**kw, tol=1e-12, max_iter=20_000).fit(X)
    nt = gm.StudentTMixture(**kw, refine="newton").fit(X)
    gd = gm.StudentTMixture(**kw, solver="gradient", tol=1e-12, max_iter=5000).fit(X)
    assert nt.lower_bound_ == pytest.approx(em.lower_bound_, abs=1e-9)
    assert gd.lower_bound_ == pytest.approx(em.lower_bound_, abs=1e-6)
    np.testing.assert_allclose(nt.degrees_of_freedom_, em.degrees_of_freedom_, rtol=1e-4)


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("kw, message", [
    (dict(dof=0), "'dof' parameter of StudentTMixture must be"),
    (dict(dof=-3.0), "'dof' parameter of StudentTMixture must be"),
    (dict(dof="sometimes"), "'dof' parameter of StudentTMixture must be"),
    (dict(dof=np.inf), "'dof' parameter of StudentTMixture must be"),
    (dict(dof_bounds=(5.0, 2.0)), "0 < low < high"),
    (dict(dof_bounds=(0.0, 2.0)), "0 < low < high"),
    (dict(dof_bounds="wide"), "'dof_bounds' parameter of StudentTMixture must be"),
    (dict(dof_bounds=(1, "x")), "two numbers"),
    (dict(dof_bounds=(1, 2, 3)), "two numbers"),
    (dict(dof_init=500.0), "outside dof_bounds"),
    (dict(dof_init=-1.0), "'dof_init' parameter of StudentTMixture must be"),
])  # fmt: skip
def test_bad_parameters_get_clear_messages(kw, message):
    with pytest.raises(ValueError, match=message):
        gm.StudentTMixture(2, **kw).fit(load_old_faithful())


def test_collapsed_components_fail_as_gaussian_mixtures_do():
    X = np.r_[np.zeros((20, 2)), np.random.default_rng(0).normal(size=(30, 2))]
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        gm.StudentTMixture(2, reg_covar=0, init_params="kmeans", random_state=0).fit(X)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        gm.StudentTMixture(2).fit(np.r_[X, [[np.nan, 0.0]]])
