"""MixtureDiscriminantAnalysis (mclust's MclustDA/EDDA) against LDA, QDA and mclust."""

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis, QuadraticDiscriminantAnalysis
from sklearn.model_selection import train_test_split

import gradmix as gm


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def test_edda_with_eee_is_lda_and_with_vvv_is_qda(iris):
    X, y = iris
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    for model, reference in (("EEE", LinearDiscriminantAnalysis()),
                             ("VVV", QuadraticDiscriminantAnalysis())):  # fmt: skip
        ours = gm.MixtureDiscriminantAnalysis("EDDA", covariance_types=[model]).fit(Xtr, ytr)
        theirs = reference.fit(Xtr, ytr)
        np.testing.assert_allclose(ours.predict_proba(Xte), theirs.predict_proba(Xte),
                                   atol=1e-10)  # fmt: skip
        np.testing.assert_array_equal(ours.predict(Xte), theirs.predict(Xte))


def test_edda_chooses_mclusts_model_on_iris(iris):
    # R mclust 6.0.0 (Debian's r-cran-mclust, R 4.2.2): da <- MclustDA(iris[, 1:4],
    # iris$Species, modelType = "EDDA") chooses VEV; da$bic = -555.8024, da$loglik =
    # -187.7097 with 36 parameters; 3 of 150 training rows misclassified
    X, y = iris
    clf = gm.MixtureDiscriminantAnalysis("EDDA").fit(X, y)
    assert clf.models_["covariance_type"] == "VEV"
    assert clf.bic_ == pytest.approx(555.8024, abs=1e-4)
    assert np.sum(clf.predict(X) != y) == 3
    assert set(clf.bic_table_) == set(gm.mixture.covariance.MCLUST_NAMES)
    assert clf.bic_ == min(v for v in clf.bic_table_.values() if np.isfinite(v))


def test_mclustda_fits_a_mixture_per_class(iris):
    X, y = iris
    clf = gm.MixtureDiscriminantAnalysis(
        n_components=range(1, 3), covariance_types=("VVV", "VVI"), random_state=0
    ).fit(X, y)
    assert set(clf.models_) == {0, 1, 2}
    assert all(isinstance(m, gm.GaussianMixture) for m in clf.models_.values())
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # the posterior is prior_c f_c(x) normalised
    joint = np.column_stack([np.exp(clf.models_[c].score_samples(X)) for c in range(3)]) / 3
    np.testing.assert_allclose(proba, joint / joint.sum(axis=1, keepdims=True), rtol=1e-9)
    assert clf.score(X, y) > 0.95


def test_bad_input(iris):
    X, y = iris
    with pytest.raises(ValueError, match="at least 2 rows"):
        gm.MixtureDiscriminantAnalysis("EDDA").fit(X[:101], y[:101])
    with pytest.raises(ValueError, match="at least 2 classes"):
        gm.MixtureDiscriminantAnalysis("EDDA").fit(X[:50], y[:50])
    with pytest.raises(ValueError, match="model_type"):
        gm.MixtureDiscriminantAnalysis("LDA").fit(X, y)
    clf = gm.MixtureDiscriminantAnalysis("EDDA").fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :2])
