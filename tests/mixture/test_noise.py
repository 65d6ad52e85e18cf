"""mclust's noise component: its hypervolume, fits from a noise mask against mclust 6.0.0,
Byers & Raftery's cleaning against prabclus' NNclean, predictions, sampling, bad input.

The reference figures were computed with R 4.2 (Debian's r-cran-mclust 6.0.0 and
r-cran-prabclus 2.3-2) on the same data, written by numpy to CSV with 17 digits:

    Y <- as.matrix(read.csv("faithful_noise.csv", header = FALSE))
    mask <- c(rep(FALSE, 272), rep(TRUE, 50))
    hypvol(Y); hypvol(faithful)
    fit <- Mclust(Y, G = 2, modelNames = m, initialization = list(noise = mask))
    fit$loglik; sum(fit$classification == 0); fit$df; fit$bic
    Mclust(Y, G = 2, modelNames = "VVV", initialization = list(noise = mask), Vinv = 1/500)
    which(NNclean(scale(Y), k = 5)$z == 0) - 1
"""

import warnings

import array_api_strict
import dask.array as da
import numpy as np
import pytest
from scipy.spatial import ConvexHull

import gradmix as gm
from gradmix.datasets import load_old_faithful
from gradmix.mixture.arrays import to_host
from gradmix.mixture.noise import nearest_neighbour_noise

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def faithful_with_noise():
    """Old Faithful and 50 points uniform over its bounding box, the last 50 rows."""
    X = load_old_faithful()
    rng = np.random.default_rng(2026)
    noise = rng.uniform(X.min(axis=0), X.max(axis=0), size=(50, 2))
    return np.vstack([X, noise]), np.r_[np.zeros(272, bool), np.ones(50, bool)]


# mclust 6.0.0, Mclust(Y, G = 2, modelNames, initialization = list(noise = mask)): its
# log-likelihood, rows classified as noise, parameters counted (mclust's df)
MCLUST = {
    "VVV": (-1456.8909866698, 57, 13),
    "EEE": (-1469.6384677766, 61, 10),
    "VII": (-1646.1434453477, 271, 9),
    "EEI": (-1474.9647467193, 65, 9),
    "VEV": (-1461.8893574529, 49, 12),
}


def test_hypervolume_is_mclusts_hypvol():
    Y, mask = faithful_with_noise()
    m = gm.GaussianMixture(2, noise=mask, random_state=0).fit(Y)
    assert m.hypervolume_ == pytest.approx(185.5, rel=1e-12)  # hypvol(Y)
    X = load_old_faithful()
    m = gm.GaussianMixture(1, noise=np.r_[np.zeros(271, bool), True]).fit(X)
    assert m.hypervolume_ == pytest.approx(131.8688010035, rel=1e-10)  # the principal axes' box
    Z = np.random.default_rng(5).normal(size=(100, 3)) @ np.array(
        [[1, 0.9, 0.2], [0, 1, 0.5], [0, 0, 1]])  # fmt: skip
    m = gm.GaussianMixture(1, noise=np.r_[np.zeros(99, bool), True]).fit(Z)
    assert m.hypervolume_ == pytest.approx(89.160989172797, rel=1e-10)
    box = gm.GaussianMixture(1, noise=np.r_[np.zeros(99, bool), True], hypervolume="box").fit(Z)
    assert box.hypervolume_ == pytest.approx(np.prod(np.ptp(Z, axis=0)), rel=1e-12)
    hull = gm.GaussianMixture(1, noise=np.r_[np.zeros(99, bool), True], hypervolume="hull").fit(Z)
    assert hull.hypervolume_ == pytest.approx(ConvexHull(Z).volume, rel=1e-12)
    assert not hasattr(hull, "noise_bounds_")  # a hull is no box to sample from


@pytest.mark.parametrize("name", sorted(MCLUST))
def test_fits_from_mclusts_noise_mask_match_mclust(name):
    Y, mask = faithful_with_noise()
    loglik, n_noise, df = MCLUST[name]
    # mclust's start (hc on the rows not marked) and its stopping rule (a relative change
    # of 1e-5 in the log-likelihood is about 4.5e-5 in its mean here)
    m = gm.GaussianMixture(2, covariance_type=name, noise=mask, init_params="hc",
                           tol=4.5e-5).fit(Y)  # fmt: skip
    assert m.score(Y) * len(Y) == pytest.approx(loglik, abs=0.05)
    assert abs(int(np.sum(m.predict(Y) == -1)) - n_noise) <= 3
    assert m.n_parameters_ == df
    assert m.bic(Y) == pytest.approx(-2 * m.score(Y) * len(Y) + df * np.log(len(Y)))
    # converged, the optimum is at least mclust's
    full = gm.GaussianMixture(2, covariance_type=name, noise=mask, init_params="hc",
                              tol=1e-10, max_iter=5000).fit(Y)  # fmt: skip
    assert full.score(Y) * len(Y) >= loglik - 1e-3


def test_a_given_hypervolume_is_mclusts_vinv():
    Y, mask = faithful_with_noise()
    m = gm.GaussianMixture(2, noise=mask, hypervolume=500, init_params="hc", tol=4.5e-5).fit(Y)
    assert m.hypervolume_ == 500
    assert m.score(Y) * len(Y) == pytest.approx(-1497.4743205143, abs=0.05)
    assert abs(int(np.sum(m.predict(Y) == -1)) - 18) <= 2


def test_predictions_carry_the_noise_component():
    Y, mask = faithful_with_noise()
    m = gm.GaussianMixture(2, noise=mask, random_state=0, tol=1e-8).fit(Y)
    proba = m.predict_proba(Y)
    assert proba.shape == (len(Y), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    labels = m.predict(Y)
    np.testing.assert_array_equal(labels, np.where(proba.argmax(axis=1) == 2, -1,
                                                   proba.argmax(axis=1)))  # fmt: skip
    assert m.weights_.sum() + m.noise_weight_ == pytest.approx(1.0, abs=1e-12)
    # the mixture density: Σ π_k N(x | k) + π_0 / V
    from scipy.stats import multivariate_normal

    dens = sum(w * multivariate_normal(mu, S).pdf(Y)
               for w, mu, S in zip(m.weights_, m.means_, m.covariances_, strict=True))  # fmt: skip
    dens = dens + m.noise_weight_ / m.hypervolume_
    np.testing.assert_allclose(m.score_samples(Y), np.log(dens), rtol=1e-12)
    # EM's ascent holds with the noise component too
    lb = np.asarray(m.lower_bounds_)
    assert np.all(np.diff(lb) >= -1e-12 * np.abs(lb[1:]))
    # the added points are mostly noise, the geyser's mostly not
    assert np.mean(labels[mask] == -1) > 0.7 and np.mean(labels[~mask] == -1) < 0.15
    assert m.icl(Y) >= m.bic(Y)


def test_nearest_neighbour_cleaning_agrees_with_nnclean():
    Y, mask = faithful_with_noise()
    # prabclus 2.3-2: which(NNclean(scale(Y), k = 5)$z == 0) - 1 (71 rows)
    nnclean = np.zeros(len(Y), bool)
    nnclean[[2, 5, 22, 23, 45, 46, 56, 57, 68, 75, 83, 100, 120, 132, 148, 150, 152, 154, 157,
             159, 160, 166, 169, 173, 196, 202, 210, 217, 239, 243, 248, 252, 264, 272, 273,
             274, 275, 276, 277, 279, 280, 281, 283, 284, 285, 286, 287, 289, 291, 292, 293,
             294, 295, 297, 298, 299, 301, 302, 303, 304, 306, 308, 310, 312, 313, 314, 315,
             316, 317, 320, 321]] = True  # fmt: skip
    ours = nearest_neighbour_noise(Y)
    assert np.mean(ours == nnclean) >= 0.97
    # noise=True starts from that guess
    m = gm.GaussianMixture(2, noise=True, random_state=0).fit(Y)
    assert np.mean(m.predict(Y)[mask] == -1) > 0.7


def test_student_t_mixtures_take_a_noise_component_and_data_of_every_kind():
    Y, mask = faithful_with_noise()
    kw = dict(n_components=2, noise=mask, random_state=0, tol=1e-8, init_params="kmeans")
    t = gm.StudentTMixture(**kw).fit(Y)
    assert t.predict_proba(Y).shape == (len(Y), 3)
    assert t.n_parameters_ == gm.GaussianMixture(**kw).fit(Y).n_parameters_ + 2
    a = gm.GaussianMixture(**kw).fit(Y)
    for wrapped in (array_api_strict.asarray(Y), da.from_array(Y, chunks=100)):
        b = gm.GaussianMixture(**kw).fit(wrapped)
        np.testing.assert_allclose(b.lower_bounds_, a.lower_bounds_, rtol=1e-12)
        assert b.noise_weight_ == pytest.approx(a.noise_weight_, rel=1e-10)
        np.testing.assert_array_equal(to_host(b.predict(wrapped)) == -1, a.predict(Y) == -1)


def test_sampling_draws_noise_from_the_box():
    Y, mask = faithful_with_noise()
    m = gm.GaussianMixture(2, noise=mask, random_state=0, hypervolume="box").fit(Y)
    S, y = m.sample(20_000)
    noise = S[y == -1]
    assert len(noise) / len(S) == pytest.approx(m.noise_weight_, abs=0.02)
    assert np.all(noise >= Y.min(axis=0) - 1e-9) and np.all(noise <= Y.max(axis=0) + 1e-9)
    np.testing.assert_allclose(noise.mean(axis=0), (Y.min(axis=0) + Y.max(axis=0)) / 2, rtol=0.02)
    hull = gm.GaussianMixture(2, noise=mask, random_state=0, hypervolume="hull").fit(Y)
    with pytest.raises(ValueError, match="sampling it needs the box"):
        hull.sample(10)


def test_save_and_load_keep_the_noise_component(tmp_path):
    Y, mask = faithful_with_noise()
    m = gm.GaussianMixture(2, noise=mask, random_state=0).fit(Y)
    back = gm.load(m.save(tmp_path / "m"))
    assert back.noise_weight_ == m.noise_weight_ and back.hypervolume_ == m.hypervolume_
    np.testing.assert_allclose(back.score_samples(Y), m.score_samples(Y), rtol=1e-14)
    np.testing.assert_array_equal(back.predict(Y), m.predict(Y))
    plain = gm.GaussianMixture(2, random_state=0).fit(Y)
    m.set_params(noise=None).fit(Y)  # refit without: no stale noise attributes
    assert not hasattr(m, "noise_weight_")
    np.testing.assert_allclose(m.score_samples(Y), plain.score_samples(Y))


@pytest.mark.parametrize("kw, message", [
    (dict(noise=np.zeros(5, bool)), "must have shape \\(322,\\)"),
    (dict(noise=np.zeros(322, int)), "boolean mask"),
    (dict(noise=np.ones(322, bool)), "marks every row"),
    (dict(noise=np.r_[np.zeros(1, bool), np.ones(321, bool)], n_components=2), "leaves 1 rows"),
    (dict(hypervolume=0.0), "'hypervolume' parameter of GaussianMixture must be"),
    (dict(hypervolume=-5.0), "'hypervolume' parameter of GaussianMixture must be"),
    (dict(hypervolume="sphere"), "'hypervolume' parameter of GaussianMixture must be"),
    (dict(solver="gradient"), "noise component is fit by EM"),
])  # fmt: skip
def test_bad_noise_input_gets_clear_messages(kw, message):
    Y, mask = faithful_with_noise()
    kw = {"noise": mask, "n_components": 2, **kw}
    with pytest.raises(ValueError, match=message):
        gm.GaussianMixture(**kw).fit(Y)


def test_noise_is_refused_where_it_has_no_meaning():
    Y, mask = faithful_with_noise()
    Ym = Y.copy()
    Ym[0, 0] = np.nan
    with pytest.raises(ValueError, match="noise component with missing='em'"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gm.GaussianMixture(2, noise=mask, missing="em").fit(Ym)
    with pytest.raises(ValueError, match="partial_fit does not take a noise component"):
        gm.GaussianMixture(2, noise=mask).partial_fit(Y)
    with pytest.raises(ValueError, match="hypervolume is zero"):
        gm.GaussianMixture(2, noise=mask, hypervolume="box").fit(np.c_[Y[:, 0], np.ones(322)])


def test_a_model_file_with_inconsistent_noise_fields_is_refused(tmp_path):
    import io
    import zipfile

    Y, mask = faithful_with_noise()
    path = gm.GaussianMixture(2, noise=mask, random_state=0).fit(Y).save(tmp_path / "m")

    def tampered(name, value):
        bad = tmp_path / f"bad-{name}.npz"
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(bad, "w") as dst:
            for item in src.infolist():
                data = src.read(item)
                if item.filename == f"{name}.npy":
                    buf = io.BytesIO()
                    np.save(buf, value)
                    data = buf.getvalue()
                dst.writestr(item, data)
        return bad

    with pytest.raises(ValueError, match="summing to one with noise_weight_"):
        gm.load(tampered("noise_weight_", np.float64(0.5)))
    with pytest.raises(ValueError, match="hypervolume_ is not positive"):
        gm.load(tampered("hypervolume_", np.float64(-1.0)))
    with pytest.raises(ValueError, match="not orthonormal"):
        gm.load(tampered("noise_axes_", 2 * np.eye(2)))
