"""select_model: BIC/AIC/ICL over a grid of K and covariance types."""

import sys
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

import gradmix as gm
from gradmix.datasets import load_old_faithful
from gradmix.mixture.em_estimator import on_tied_values
from gradmix.mixture.selection import criterion_value

matplotlib.use("Agg")


def separated(seed=0, n=150):
    """Three well-separated clusters with different diagonal spreads."""
    rng = np.random.default_rng(seed)
    scales = np.array([[1.0, 0.3], [0.4, 1.2], [0.8, 0.8]])
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [5.0, 9.0]])
    parts = [c + s * rng.normal(size=(n, 2)) for c, s in zip(centres, scales, strict=True)]
    return np.concatenate(parts)


@pytest.mark.parametrize("criterion", ["bic", "icl"])
def test_picks_the_true_number_of_components_and_type(criterion):
    X = separated()
    res = gm.select_model(X, range(1, 6), ("spherical", "diag", "full"), criterion=criterion,
                          random_state=0)  # fmt: skip
    assert res.best_params_ == {"n_components": 3, "covariance_type": "diag"}
    assert res.best_.n_components == 3 and res.best_.covariance_type == "diag"
    table = res.table_
    assert isinstance(table, pd.DataFrame)
    assert list(table.index) == [1, 2, 3, 4, 5]
    assert list(table.columns) == ["spherical", "diag", "full"]
    assert table.loc[3, "diag"] == pytest.approx(np.nanmin(table.values))
    assert table.loc[3, "diag"] == pytest.approx(criterion_value(res.best_, X, criterion))


def test_icl_on_a_known_case():
    # ICL = BIC - 2 Σ log max_k r_ik; with scikit-learn's predict_proba as reference
    X = separated(1)
    m = gm.GaussianMixture(2, random_state=0).fit(X)
    expected = m.bic(X) - 2 * np.sum(np.log(np.max(m.predict_proba(X), axis=1)))
    assert criterion_value(m, X, "icl") == pytest.approx(expected, rel=1e-12)
    # well separated: the classification is nearly certain, so ICL ≈ BIC
    three = gm.GaussianMixture(3, random_state=0).fit(X)
    assert 0 <= criterion_value(three, X, "icl") - three.bic(X) < 1e-3
    # overlapping components pay the entropy penalty
    rng = np.random.default_rng(3)
    Y = rng.normal(size=(400, 1))
    two = gm.GaussianMixture(2, random_state=0).fit(Y)
    assert criterion_value(two, Y, "icl") - two.bic(Y) > 50


def test_aic_matches_the_estimator():
    X = separated()
    res = gm.select_model(X, [2, 3], ("full",), criterion="aic", random_state=0)
    assert res.values[1, 0] == pytest.approx(res.models_[(3, "full")].aic(X))


def test_structured_array_without_pandas(monkeypatch):
    X = separated()
    res = gm.select_model(X, [1, 2], ("diag", "tied"), random_state=0)
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now fails
    table = res.table_
    assert table.dtype.names == ("n_components", "diag", "tied")
    np.testing.assert_array_equal(table["n_components"], [1, 2])
    np.testing.assert_allclose(table["tied"], res.values[:, 1])


def test_failed_fits_are_reported_not_fatal():
    X = separated(n=3)  # 9 points: 12 components cannot be fit
    res = gm.select_model(X, [1, 12], ("spherical",), random_state=0)
    assert np.isnan(res.values[1, 0]) and (12, "spherical") in res.errors_
    assert res.best_params_["n_components"] == 1
    with pytest.raises(ValueError, match="criterion"):
        gm.select_model(X, [1], criterion="dic")
    with pytest.raises(ValueError, match="unknown covariance types"):
        gm.select_model(X, [1], covariance_types=("full", "banded"))
    with pytest.raises(ValueError, match="positive"):
        gm.select_model(X, [0, 1])


def test_plot_draws_one_curve_per_type(tmp_path):
    res = gm.select_model(separated(), range(1, 4), ("diag", "full"), random_state=0)
    ax = res.plot()
    assert len(ax.lines) == 3  # two curves and the star
    assert "BIC" in ax.get_ylabel()
    ax.figure.savefig(tmp_path / "selection.png")
    assert (tmp_path / "selection.png").stat().st_size > 1000


def test_dask_and_array_api_inputs_give_the_same_table():
    import array_api_strict
    import dask.array as da

    X = separated(2, n=60)
    kw = dict(n_components=[1, 2, 3], covariance_types=("diag",), criterion="icl",
              random_state=0, init_params="random_from_data")  # fmt: skip
    ref = gm.select_model(X, **kw).values
    for Z in (da.from_array(X, chunks=50), array_api_strict.asarray(X)):
        np.testing.assert_allclose(gm.select_model(Z, **kw).values, ref, rtol=1e-10)


def test_defaults_are_mclusts_fourteen_models_and_picture():
    X = separated(4, n=40)
    res = gm.select_model(X, range(1, 3), random_state=0)
    from gradmix.mixture.covariance import MCLUST_NAMES

    assert res.covariance_types == list(MCLUST_NAMES)
    assert list(res.table_.columns) == list(MCLUST_NAMES)
    ax = res.plot()
    assert len(ax.lines) == 15  # one line per model, and the star
    assert len({line.get_marker() for line in ax.lines[:14]}) == 14
    best = res.top(3)
    assert best[0][:2] == (res.best_params_["covariance_type"], res.best_params_["n_components"])
    assert [v for _, _, v in best] == sorted(v for _, _, v in best)


@pytest.mark.slow
def test_a_fit_on_tied_values_does_not_win_the_search():
    # Old Faithful's waiting times are whole minutes: SQUAREM's jumps land VVI with 5
    # components on rows that share one (its variance there is reg_covar alone, and
    # its BIC 2220.9 beat every honest fit).  The search refits it by plain EM from the
    # same starts, and chooses mclust's EEE with 3 components (BIC 2314.3 in this sign)
    X = load_old_faithful()
    with pytest.warns(gm.TiedValuesWarning):
        tied = gm.GaussianMixture(5, covariance_type="VVI", random_state=0,
                                  acceleration="squarem", init_params="auto").fit(X)  # fmt: skip
    assert on_tied_values(tied)
    assert not on_tied_values(gm.GaussianMixture(3, covariance_type="EEE").fit(X))
    result = gm.select_model(X, n_components=range(1, 7), random_state=0)
    assert result.best_params_ == {"n_components": 3, "covariance_type": "EEE"}
    assert np.nanmin(result.values) == pytest.approx(2314.2957, abs=1e-3)
    vvi5 = result.models_[(5, "VVI")]
    assert not on_tied_values(vvi5)
    # R mclust 6.0.0, Mclust(faithful, G = 5, modelNames = "VVI"): loglik -1108.239
    assert vvi5.score(X) * len(X) >= -1108.239


# six rows in two dimensions (the CLI's smallest sensible input)
SIX = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0], [9.0, 10.0], [2.0, 1.0]])


def test_degenerate_fits_of_few_rows_are_left_out_and_the_others_are_mclusts():
    # R mclust 6.0.0, mclustBIC(X, G = 1:6) (VEE left out: mclust's meVEE stops with an
    # error on these rows), BIC in gradmix's sign: EEE with 5 and 6 components are NA
    # there (a singular pooled covariance); gradmix's EEE,5 and EEE,6 had sat on their
    # ridge (rounding left 2e-14 above it), and EEE,6's BIC of -86 won the search.
    # VII, VEI, VVI and EEE with 3 components collapsed from the best start, and were NA
    # where mclust has an honest optimum: the k-means start alone finds it.
    mclust = {(1, "EEE"): 50.86932, (2, "EEE"): 54.42153, (3, "EEE"): 57.84393,
              (3, "VII"): 61.40047, (3, "VEI"): 63.19223, (3, "VVI"): 66.77574,
              (2, "EEV"): 54.96249}  # fmt: skip
    res = gm.select_model(SIX, range(1, 7), random_state=0)
    for (k, name), bic in mclust.items():  # mclust's optimum or a better one
        assert res.values[k - 1, res.covariance_types.index(name)] <= bic + 1e-3
    for k in (5, 6):
        assert np.isnan(res.values[k - 1, res.covariance_types.index("EEE")])
        assert "tied values" in res.errors_[(k, "EEE")]
    assert not on_tied_values(res.best_)
    assert np.nanmin(res.values) <= 50.86932 + 1e-4  # at least as good as mclust's choice
    for model in res.models_.values():
        assert not on_tied_values(model)


def test_a_ridge_alone_is_recognised_at_the_datas_scale():
    # six singleton components: the pooled covariance is the ridge plus rounding of the
    # order of the data's variance times eps (2e-14 here), not of the ridge's own size
    with pytest.warns(gm.TiedValuesWarning):
        fit = gm.GaussianMixture(6, covariance_type="EEE", means_init=SIX, max_iter=3).fit(SIX)
    gap = np.min(np.linalg.eigvalsh(fit.covariances_)) - fit.reg_covar
    assert gap < 1e-12
    assert on_tied_values(fit)


def test_a_fit_on_tied_values_warns_and_a_sound_one_does_not():
    # VII with 3 components on the six rows: the best start puts a component on one
    # row (variance reg_covar alone); the user is told, as mclust would say NA
    with pytest.warns(gm.TiedValuesWarning, match="reg_covar"):
        fit = gm.GaussianMixture(3, covariance_type="VII", random_state=0).fit(SIX)
    assert on_tied_values(fit)
    X = np.random.default_rng(0).normal(size=(300, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error", gm.TiedValuesWarning)
        gm.GaussianMixture(3, covariance_type="VII", random_state=0).fit(X)
        gm.select_model(SIX, range(1, 4), random_state=0)  # leaves such fits out quietly


def test_a_family_fit_on_tied_values_does_not_win_the_search():
    # one log-normal sample rounded to two decimals (162 distinct values in 400): a
    # log-normal component on one value had its spread at the floor and a BIC of -65,
    # which beat the honest fits (574 for the one log-normal the data come from)
    rng = np.random.default_rng(0)
    x = np.round(np.exp(rng.normal(0.0, 0.5, 400)), 2)[:, None]
    result = gm.select_model(x, range(1, 5), families=("lognormal", "gamma"), random_state=0)
    assert result.best_params_ == {"n_components": 1, "family": "lognormal"}
    one = gm.MixtureModel("lognormal", 1).fit(x)
    assert np.nanmin(result.values) == pytest.approx(one.bic(x), rel=1e-9)
    for model in result.models_.values():
        assert not np.any(model.family_.concentrated(model.params_))
