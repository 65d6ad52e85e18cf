"""GaussianMixture(missing="em"): EM with missing values against a row-by-row reference
(scipy's marginal densities and the textbook conditional moments), its invariants, and
recovery of a known mixture."""

import warnings

import array_api_strict
import dask.array as da
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.exceptions import ConvergenceWarning

import gradmix as gm

TYPES = ["full", "tied", "diag", "spherical"]
MEANS = np.array([[0.0, 0.0, 0.0], [5.0, 5.0, 0.0], [0.0, 6.0, 4.0]])
COVS = np.array([[[1.0, 0.5, 0.0], [0.5, 1.0, 0.3], [0.0, 0.3, 1.0]], np.eye(3) * 0.5,
                 [[2.0, 0.0, 0.8], [0.0, 1.0, 0.0], [0.8, 0.0, 1.0]]])  # fmt: skip
WEIGHTS = np.array([0.3, 0.45, 0.25])


def mixture_data(n, seed=0, fraction=0.2):
    rng = np.random.default_rng(seed)
    labels = rng.choice(3, size=n, p=WEIGHTS)
    X = np.stack([rng.multivariate_normal(MEANS[k], COVS[k]) for k in labels])
    holes = rng.random(X.shape) < fraction
    Xm = X.copy()
    Xm[holes] = np.nan
    return X, Xm, holes


def start(covariance_type):
    """A shared start in the fitted attributes' layout of ``covariance_type``."""
    precisions = np.linalg.inv(COVS * 1.3)
    given = {"full": precisions, "tied": np.linalg.inv(np.mean(COVS, axis=0)),
             "diag": np.diagonal(precisions, axis1=1, axis2=2).copy(),
             "spherical": np.diagonal(precisions, axis1=1, axis2=2).mean(axis=1)}  # fmt: skip
    return dict(weights_init=np.array([0.4, 0.3, 0.3]), means_init=MEANS + 0.3,
                precisions_init=given[covariance_type])  # fmt: skip


def full_covariances(model):
    c, kind = model.covariances_, model.covariance_type
    if kind == "tied":
        return np.broadcast_to(c, (3, 3, 3))
    if kind == "diag":
        return c[:, :, None] * np.eye(3)
    if kind == "spherical":
        return c[:, None, None] * np.eye(3)
    return c


def reference_step(X, weights, means, covs, covariance_type, reg_covar):
    """One Ghahramani–Jordan EM iteration, row by row: the observed-data log-likelihood
    (mean over rows with an observed entry) and the updated parameters."""
    K, d = means.shape
    nk, sx, S, lls = np.zeros(K), np.zeros((K, d)), np.zeros((K, d, d)), []
    xhat_all, C_all, r_all = [], [], []
    for x in X:
        o = ~np.isnan(x)
        if not o.any():
            continue
        m = ~o
        logp = np.array([np.log(weights[k]) + multivariate_normal(
            means[k][o], covs[k][np.ix_(o, o)]).logpdf(x[o]) for k in range(K)])  # fmt: skip
        lls.append(logsumexp(logp))
        r = np.exp(logp - logsumexp(logp))
        xhat, C = np.zeros((K, d)), np.zeros((K, d, d))
        for k in range(K):
            B = covs[k][np.ix_(m, o)] @ np.linalg.inv(covs[k][np.ix_(o, o)])
            xhat[k, o] = x[o]
            xhat[k, m] = means[k][m] + B @ (x[o] - means[k][o])
            C[k][np.ix_(m, m)] = covs[k][np.ix_(m, m)] - B @ covs[k][np.ix_(o, m)]
        xhat_all.append(xhat), C_all.append(C), r_all.append(r)
    for xhat, r in zip(xhat_all, r_all, strict=True):
        nk += r
        sx += r[:, None] * xhat
    new_means = sx / nk[:, None]
    for xhat, C, r in zip(xhat_all, C_all, r_all, strict=True):
        D = xhat - new_means
        S += r[:, None, None] * (D[:, :, None] * D[:, None, :] + C)
    cov = S / nk[:, None, None]
    if covariance_type == "tied":
        cov = np.broadcast_to(S.sum(axis=0) / nk.sum(), (K, d, d))
    elif covariance_type == "diag":
        cov = np.diagonal(cov, axis1=1, axis2=2)[:, :, None] * np.eye(d)
    elif covariance_type == "spherical":
        cov = np.diagonal(cov, axis1=1, axis2=2).mean(axis=1)[:, None, None] * np.eye(d)
    return np.mean(lls), nk / nk.sum(), new_means, cov + reg_covar * np.eye(d)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_one_iteration_equals_the_row_by_row_reference(covariance_type):
    _, Xm, _ = mixture_data(150, seed=1, fraction=0.3)
    Xm[3] = np.nan  # a row with nothing observed is left out
    kw = dict(n_components=3, covariance_type=covariance_type, missing="em", reg_covar=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = gm.GaussianMixture(max_iter=0, **kw, **start(covariance_type)).fit(Xm)
        one = gm.GaussianMixture(max_iter=1, **kw, **start(covariance_type)).fit(Xm)
    ll, w, mu, cov = reference_step(Xm, first.weights_, first.means_, full_covariances(first),
                                    covariance_type, 1e-4)  # fmt: skip
    assert one.lower_bounds_[0] == pytest.approx(ll, rel=1e-12)
    np.testing.assert_allclose(one.weights_, w, rtol=1e-11)
    np.testing.assert_allclose(one.means_, mu, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(full_covariances(one), cov, rtol=1e-10, atol=1e-12)


def test_predictions_and_imputation_equal_the_reference():
    X, Xm, holes = mixture_data(400, seed=2)
    m = gm.GaussianMixture(3, missing="em", random_state=0).fit(Xm)
    covs = full_covariances(m)
    T = Xm[:60].copy()
    T[5] = np.nan
    expected_lp, expected_fill = [], T.copy()
    for i, x in enumerate(T):
        o = ~np.isnan(x)
        logp = np.log(m.weights_) + np.array(
            [multivariate_normal(m.means_[k][o], covs[k][np.ix_(o, o)]).logpdf(x[o]) if o.any()
             else 0.0 for k in range(3)])  # fmt: skip
        expected_lp.append(logp)
        r = np.exp(logp - logsumexp(logp))
        if (~o).any():
            cond = [m.means_[k][~o] + (covs[k][np.ix_(~o, o)] @ np.linalg.solve(
                covs[k][np.ix_(o, o)], x[o] - m.means_[k][o]) if o.any() else 0.0)
                for k in range(3)]  # fmt: skip
            expected_fill[i, ~o] = r @ np.array(cond)
    expected_lp = np.array(expected_lp)
    np.testing.assert_allclose(m.score_samples(T), logsumexp(expected_lp, axis=1), rtol=1e-11)
    proba = np.exp(expected_lp - logsumexp(expected_lp, axis=1, keepdims=True))
    np.testing.assert_allclose(m.predict_proba(T), proba, rtol=1e-9, atol=1e-14)
    np.testing.assert_array_equal(m.predict(T), np.argmax(expected_lp, axis=1))
    assert m.icl(T) == pytest.approx(m.bic(T) - 2 * np.sum(np.log(proba.max(axis=1))), rel=1e-12)
    filled = m.impute(T)
    np.testing.assert_allclose(filled, expected_fill, rtol=1e-11, atol=1e-12)
    assert np.isnan(T).any()  # the input is not modified
    np.testing.assert_array_equal(filled[~np.isnan(T)], T[~np.isnan(T)])


@pytest.mark.parametrize("covariance_type", ["full", "diag", "VEV"])
def test_without_nan_it_is_exactly_the_ordinary_fit(covariance_type):
    X, _, _ = mixture_data(500)
    kw = dict(n_components=3, covariance_type=covariance_type, random_state=0)
    a = gm.GaussianMixture(**kw).fit(X)
    b = gm.GaussianMixture(missing="em", **kw).fit(X)
    assert a.lower_bounds_ == b.lower_bounds_
    np.testing.assert_array_equal(a.means_, b.means_)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), fraction=st.floats(0.05, 0.5),
       covariance_type=st.sampled_from(TYPES + ["VEI", "EVE"]))  # fmt: skip
def test_em_never_decreases_the_observed_likelihood(seed, fraction, covariance_type):
    _, Xm, _ = mixture_data(200, seed=seed, fraction=fraction)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = gm.GaussianMixture(3, covariance_type=covariance_type, missing="em", tol=0.0,
                               max_iter=25, random_state=seed).fit(Xm)  # fmt: skip
    steps = np.diff(m.lower_bounds_)
    assert np.all(steps >= -1e-9 * np.abs(m.lower_bounds_[-1])), steps.min()


def matched(model):
    order = [int(np.argmin(np.linalg.norm(model.means_ - mu, axis=1))) for mu in MEANS]
    assert sorted(order) == [0, 1, 2]
    return order


def test_recovers_a_known_mixture_with_20_percent_missing():
    X, Xm, holes = mixture_data(6000, seed=3)
    assert abs(holes.mean() - 0.2) < 0.01
    m = gm.GaussianMixture(3, missing="em", random_state=0, tol=1e-6).fit(Xm)
    order = matched(m)
    np.testing.assert_allclose(m.weights_[order], WEIGHTS, atol=0.02)
    np.testing.assert_allclose(m.means_[order], MEANS, atol=0.08)
    np.testing.assert_allclose(m.covariances_[order], COVS, atol=0.12)
    filled = m.impute(Xm)
    rmse = np.sqrt(np.mean((filled[holes] - X[holes]) ** 2))
    column_mean = np.where(holes, np.nanmean(Xm, axis=0), Xm)
    rmse_mean = np.sqrt(np.mean((column_mean[holes] - X[holes]) ** 2))
    assert rmse < 0.7 * rmse_mean, (rmse, rmse_mean)
    # dropping the incomplete rows (half of them, what one does without this) estimates worse
    complete = gm.GaussianMixture(3, random_state=0, tol=1e-6).fit(Xm[~holes.any(axis=1)])
    dropped = np.abs(complete.means_[matched(complete)] - MEANS).max()
    assert np.abs(m.means_[order] - MEANS).max() < dropped


def test_rows_with_nothing_observed_are_left_out_with_a_warning():
    _, Xm, _ = mixture_data(300, seed=4)
    kw = dict(n_components=3, missing="em", **start("full"), tol=0.0, max_iter=10)
    empty = int(np.isnan(Xm).all(axis=1).sum())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = gm.GaussianMixture(**kw).fit(Xm)
        with pytest.warns(UserWarning, match=f"{empty + 2} rows have no observed value"):
            b = gm.GaussianMixture(**kw).fit(np.vstack([Xm, np.full((2, 3), np.nan)]))
    np.testing.assert_allclose(b.lower_bounds_, a.lower_bounds_, rtol=1e-13)
    np.testing.assert_allclose(b.covariances_, a.covariances_, rtol=1e-12)


def test_sample_weight_equals_repeated_rows_and_dask_equals_numpy():
    _, Xm, _ = mixture_data(300, seed=5)
    w = np.random.default_rng(0).integers(0, 3, len(Xm))
    kw = dict(n_components=3, missing="em", **start("full"), tol=0.0, max_iter=15)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = gm.GaussianMixture(**kw).fit(np.repeat(Xm, w, axis=0))
        b = gm.GaussianMixture(**kw).fit(Xm, sample_weight=w.astype(float))
        c = gm.GaussianMixture(**kw).fit(da.from_array(Xm, chunks=(70, 3)))
        d = gm.GaussianMixture(**kw).fit(Xm)
    np.testing.assert_allclose(b.lower_bounds_, a.lower_bounds_, rtol=1e-10)
    np.testing.assert_allclose(b.means_, a.means_, rtol=1e-10)
    np.testing.assert_allclose(c.lower_bounds_, d.lower_bounds_, rtol=1e-12)
    np.testing.assert_allclose(c.covariances_, d.covariances_, rtol=1e-11)
    lazy = c.impute(da.from_array(Xm, chunks=(70, 3)))
    assert isinstance(lazy, da.Array)
    np.testing.assert_allclose(lazy.compute(), d.impute(Xm), rtol=1e-12)


def test_offset_and_float32():
    _, Xm, _ = mixture_data(400, seed=6)
    kw = dict(n_components=3, missing="em", random_state=0, tol=0.0, max_iter=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = gm.GaussianMixture(**kw).fit(Xm)
        b = gm.GaussianMixture(**kw).fit(Xm + 1e6)
        c = gm.GaussianMixture(**kw).fit(Xm.astype(np.float32))
    np.testing.assert_allclose(b.lower_bounds_, a.lower_bounds_, rtol=1e-9)
    assert c.means_.dtype == np.float32 and c.impute(Xm.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(c.lower_bounds_, a.lower_bounds_, rtol=1e-4)


def test_errors():
    _, Xm, _ = mixture_data(100, seed=7)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        gm.GaussianMixture(2).fit(Xm)  # scikit-learn's behaviour stays the default
    with pytest.raises(ValueError, match="solver='gradient'"):
        gm.GaussianMixture(2, missing="em", solver="gradient").fit(Xm)
    bad = Xm.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        gm.GaussianMixture(2, missing="em").fit(bad)
    bad = Xm.copy()
    bad[:, 1] = np.nan
    with pytest.raises(ValueError, match="no observed value in column 1"):
        gm.GaussianMixture(2, missing="em").fit(bad)
    with pytest.raises(ValueError, match="missing"):
        gm.GaussianMixture(2, missing="drop").fit(Xm)
    with pytest.raises(ValueError, match="partial_fit does not take missing values"):
        gm.GaussianMixture(2, missing="em", random_state=0).partial_fit(Xm)
    with pytest.raises(ValueError, match="runs on numpy and Dask arrays"):
        gm.GaussianMixture(2, missing="em").fit(array_api_strict.asarray(Xm))
