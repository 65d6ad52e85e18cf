"""prior=: mclust's conjugate prior (Fraley & Raftery 2007) against R mclust's fits."""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_iris

import gradmix as gm
from gradmix.datasets import load_old_faithful
from gradmix.mixture.covariance import MCLUST_NAMES

FITS = pd.read_csv(Path(__file__).parent / "data" / "mclust_prior_fits.csv", comment="#")


def _data(name):
    if name == "iris":
        return load_iris().data
    return load_old_faithful()[:, :1]


def _mclust_fit(data, model, G):
    rows = FITS[(FITS.data == data) & (FITS.model == model) & (FITS.G == G)]
    d = int(rows[rows.what == "mean"].i.max())
    value = {w: rows[rows.what == w] for w in ("pro", "mean", "sigma", "loglik")}
    pro = value["pro"].sort_values("k").value.to_numpy()
    mean = np.zeros((G, d))
    mean[value["mean"].k - 1, value["mean"].i - 1] = value["mean"].value
    sigma = np.zeros((G, d, d))
    s = value["sigma"]
    sigma[s.k - 1, s.i - 1, s.j - 1] = s.value
    return pro, mean, sigma, float(value["loglik"].value.iloc[0])


CASES = sorted({(r.data, r.model, r.G) for r in FITS.itertuples()})


@pytest.mark.parametrize("data,model,G", CASES)
def test_mclusts_posterior_mode_is_our_fixed_point(data, model, G):
    # started at the posterior mode mclust converged to (1e-12), EM with the same prior
    # must stay there: a different M-step (another count, scale or shrinkage) moves the
    # log-likelihood by 0.03 to 1 on these fits
    X = _data(data)
    pro, mean, sigma, loglik = _mclust_fit(data, model, G)
    ours = gm.GaussianMixture(G, covariance_type=model, prior="default", weights_init=pro,
                              means_init=mean, precisions_init=np.linalg.inv(sigma),
                              reg_covar=0.0, tol=1e-12, max_iter=2000).fit(X)  # fmt: skip
    # mclust's EEI reports its means unshrunk and takes the next E-step from them (the
    # prior's pull on them is 5e-4 here); we keep the posterior mode's, which EM increases,
    # so EEI's fixed point differs by design: log-likelihood 0.004 (1.1e-5) at G = 3, means
    # 1.2e-3, variances 7e-4 relative
    eei = model == "EEI"
    assert ours.score(X) * len(X) == pytest.approx(loglik, rel=2e-5 if eei else 1e-9)
    np.testing.assert_allclose(ours.means_, mean, atol=2e-3 if eei else 1e-6)
    np.testing.assert_allclose(ours.covariances_.reshape(sigma.shape), sigma,
                               rtol=1e-3 if eei else 1e-6, atol=1e-9)  # fmt: skip
    # BIC is mclust's: the log-likelihood at the posterior mode, the usual parameter count
    n_par = ours._n_parameters()
    assert ours.bic(X) == pytest.approx(-2 * loglik + n_par * np.log(len(X)),
                                        rel=2e-5 if eei else 1e-9)  # fmt: skip


def test_one_component_is_mclusts_single_gaussian_estimate():
    # mclustBIC(iris[, 1:4], G = 1, prior = priorControl()) (mclust 6.0.0): G = 1 uses the
    # spherical, diagonal or ellipsoidal single-Gaussian estimate for every model
    expected = {"EII": -1804.184604, "VII": -1804.184604, "EEI": -1522.709022,
                "VEI": -1522.709022, "EVI": -1522.709022, "VVI": -1522.709022,
                "EEE": -831.494923, "EEV": -831.494923, "VEV": -831.494923,
                "VVV": -831.494923}  # fmt: skip
    X = load_iris().data
    for model, bic in expected.items():
        fit = gm.GaussianMixture(1, covariance_type=model, prior="default", reg_covar=0.0,
                                 tol=1e-10).fit(X)  # fmt: skip
        assert -fit.bic(X) == pytest.approx(bic, abs=1e-5), model


def test_select_model_with_the_prior_chooses_mclusts_model():
    # mclustBIC(faithful, G = 1:9, prior = priorControl()) chooses EEE, 3 with BIC
    # -2314.549 (mclust 6.0.0)
    X = load_old_faithful()
    sel = gm.select_model(X, range(2, 5), ("EEE", "VVV", "EEI"), prior="default", random_state=0)
    assert sel.best_params_ == {"n_components": 3, "covariance_type": "EEE"}
    # select_model's fits stop at its own tolerance, here nearer the posterior mode
    # (BIC 2314.5183 when run to 1e-10) than mclust's stopping rule left it
    assert 2314.5183 < sel.top(1)[0][2] <= 2314.549242
    # from mclust's start (its tree) and with its stopping rule, the fit is mclust's
    fit = gm.GaussianMixture(3, covariance_type="EEE", prior="default", init_params="hc",
                             tol="mclust", reg_covar=0.0).fit(X)  # fmt: skip
    assert fit.bic(X) == pytest.approx(2314.549242, abs=1e-6)


def test_the_prior_rescues_fits_that_collapse_without_it():
    # many components on few rows: without the prior a component collapses onto a pair of
    # points; with it the fit goes through and is a proper density
    X = load_iris().data[::5]  # 30 rows, 4 features
    with pytest.raises(ValueError, match="ill-defined"):
        gm.GaussianMixture(9, covariance_type="VVV", reg_covar=0.0, init_params="hc").fit(X)
    fit = gm.GaussianMixture(9, covariance_type="VVV", reg_covar=0.0, init_params="hc",
                             prior="default").fit(X)  # fmt: skip
    assert np.all(np.linalg.eigvalsh(fit.covariances_) > 0)
    assert np.isfinite(fit.bic(X))


@settings(max_examples=15, deadline=None)
@given(model=st.sampled_from(MCLUST_NAMES), k=st.integers(2, 4), seed=st.integers(0, 2**16))
def test_em_increases_log_likelihood_plus_log_prior(model, k, seed):
    rng = np.random.default_rng(seed)
    X = np.r_[rng.normal(size=(40, 2)), rng.normal(size=(40, 2)) * 0.5 + 2.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = gm.GaussianMixture(k, covariance_type=model, prior="default", tol=0.0, max_iter=30,
                                 random_state=seed, init_params="random").fit(X)  # fmt: skip
    bounds = np.asarray(fit.lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-10 * np.abs(bounds[1:]))


def test_hyperparameters_are_used():
    X = load_iris().data
    base = gm.GaussianMixture(3, covariance_type="VVV", prior="default", random_state=0).fit(X)
    # a heavier prior pulls the means towards the prior mean and inflates the covariances
    heavy = gm.GaussianMixture(3, covariance_type="VVV", random_state=0,
                               prior={"shrinkage": 50.0, "dof": 60.0}).fit(X)  # fmt: skip
    centre = X.mean(axis=0)
    spread = lambda m: np.linalg.norm(m.means_ - centre, axis=1).sum()  # noqa: E731
    assert spread(heavy) < spread(base)
    # shrinkage 0: the means are the responsibility-weighted means of the data
    flat = gm.GaussianMixture(2, covariance_type="VVI", random_state=0,
                              prior={"shrinkage": 0.0}).fit(X)  # fmt: skip
    resp = flat.predict_proba(X)
    np.testing.assert_allclose(flat.means_, resp.T @ X / resp.sum(axis=0)[:, None], rtol=1e-3)


def test_bad_priors_are_value_errors():
    X = load_iris().data
    for prior, match in [({"shrinkage": -1.0}, "shrinkage"), ({"dof": 0.0}, "dof"),
                         ({"scale": -2.0}, "scale"), ({"scale": np.eye(4) * -1}, "definite"),
                         ({"mean": [1.0, 2.0]}, "shape"), ({"alpha": 1.0}, "unknown"),
                         ({"dof": float("nan")}, "finite")]:  # fmt: skip
        with pytest.raises(ValueError, match=match):
            gm.GaussianMixture(2, covariance_type="VVV", prior=prior).fit(X)
    with pytest.raises(ValueError, match="prior"):
        gm.GaussianMixture(2, prior="flat").fit(X)
    with pytest.raises(ValueError, match="positive number"):
        gm.GaussianMixture(2, covariance_type="VVI", prior={"scale": np.eye(4)}).fit(X)
    fit = gm.GaussianMixture(2, prior="default", random_state=0).fit(X)
    with pytest.raises(ValueError, match="prior"):
        fit.standard_errors(X)
    for options in ({"solver": "gradient"}, {"refine": "newton"}):
        with pytest.raises(ValueError, match="prior"):
            gm.GaussianMixture(2, prior="default", **options).fit(X)
    with pytest.raises(ValueError, match="prior"):
        gm.GaussianMixture(2, prior="default").partial_fit(X)


def test_a_model_with_a_prior_saves_and_loads(tmp_path):
    X = load_iris().data
    prior = {"shrinkage": 0.1, "mean": X.mean(axis=0), "scale": np.cov(X.T) / 4}
    fit = gm.GaussianMixture(2, covariance_type="VEV", prior=prior, random_state=0).fit(X)
    path = fit.save(tmp_path / "m")
    back = gm.load(path)
    assert back.get_params()["prior"]["shrinkage"] == 0.1
    np.testing.assert_array_equal(back.get_params()["prior"]["scale"], prior["scale"])
    np.testing.assert_array_equal(back.predict_proba(X), fit.predict_proba(X))


def test_select_model_with_a_prior_searches_the_models_mclust_fits_with_one():
    # Mclust(X, prior = priorControl()) gives NA for EVE, VEE, VVE and EVV (mclust 6.0.0
    # has no prior for them); named, they take VVV's form
    X = load_old_faithful()
    sel = gm.select_model(X, [2], prior="default", random_state=0)
    fitted = {ct for _, ct in sel.models_}
    assert fitted == {"EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "EEV", "VEV", "VVV"}
    named = gm.select_model(X, [2], ["VVE"], prior="default", random_state=0)
    assert set(named.models_) == {(2, "VVE")}
    assert len(gm.select_model(X, [2], random_state=0).models_) == 14
