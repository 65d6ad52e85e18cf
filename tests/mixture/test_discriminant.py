"""MixtureDiscriminantAnalysis (mclust's MclustDA/EDDA) against LDA, QDA and mclust."""

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis, QuadraticDiscriminantAnalysis
from sklearn.exceptions import NotFittedError
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
    assert clf.covariance_type_ == "VEV"
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
    assert all(m.covariance_type in ("VVV", "VVI", "XXX", "XXI") for m in clf.models_.values())
    assert clf.n_components_.tolist() == [m.n_components for m in clf.models_.values()]
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


@pytest.mark.parametrize("model_type", ["EDDA", "MclustDA"])
def test_a_saved_classifier_predicts_as_the_fitted_one(iris, tmp_path, model_type):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]  # text labels
    clf = gm.MixtureDiscriminantAnalysis(model_type, n_components=range(1, 3),
                                         random_state=0).fit(X, names)  # fmt: skip
    loaded = gm.load(clf.save(tmp_path / "da"))
    assert loaded.get_params() == {**clf.get_params(), "n_components": (1, 2)}
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.covariance_types_.tolist() == clf.covariance_types_.tolist()
    with pytest.raises(FileExistsError):
        clf.save(tmp_path / "da.npz")


@pytest.mark.parametrize("change, needle", [
    (lambda m: m.update(priors_=np.array([0.5, 0.5, 0.5])), "priors_ are not positive"),
    (lambda m: m.update(weights_=2 * m["weights_"]), "weights_ are not positive"),
    (lambda m: m.update(covariance_types_=np.array(["XYZ"] * 3)), "unknown models ['XYZ']"),
    (lambda m: m.update(covariances_=-m["covariances_"]), "not positive definite"),
    (lambda m: m.update(n_components_=np.array([1, 1, 2])), "weights_ has shape (3,), expected"),
    (lambda m: m.update(classes_=np.array([0, 0, 1])), "distinct labels"),
])  # fmt: skip
def test_crafted_classifier_files_are_refused(iris, tmp_path, change, needle):
    X, y = iris
    path = gm.MixtureDiscriminantAnalysis("EDDA").fit(X, y).save(tmp_path / "da")
    with np.load(path) as f:
        members = {k: f[k] for k in f.files}
    change(members)
    np.savez(tmp_path / "bad.npz", **members)
    with pytest.raises(ValueError, match="not a gradmix model file") as err:
        gm.load(tmp_path / "bad.npz")
    assert needle in str(err.value)


def test_score_refuses_labels_never_trained_on(iris):
    X, y = iris
    clf = gm.MixtureDiscriminantAnalysis("EDDA").fit(X, y)
    with pytest.raises(ValueError, match=r"not trained on: \[7\]"):
        clf.score(X, np.where(y == 2, 7, y))


def _mclust_da_cases():
    path = Path(__file__).with_name("data") / "mclust_da.csv"
    with open(path) as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


def _labelled(name):
    if name == "iris":
        data = load_iris()
        return data.data, data.target_names[data.target]
    path = Path(__file__).with_name("data") / f"{name}.csv"
    frame = pd.read_csv(path, comment="#")
    return frame.iloc[:, 1:].to_numpy(float), frame.iloc[:, 0].to_numpy()


@pytest.mark.parametrize("case", [
    pytest.param(c, id=f"{c['data']}-{c['type']}",
                 marks=[pytest.mark.slow] if (c["data"], c["type"]) == ("banknote", "MclustDA")
                 else [])  # 11 s: with the slow tests
    for c in _mclust_da_cases()
])  # fmt: skip
def test_mclustda_and_edda_choose_mclusts_models_and_errors(case):
    # R mclust 6.0.0's MclustDA on a fixed 70 % training split (provenance in the file)
    X, y = _labelled(case["data"])
    train = np.array(case["train_rows"].split(), dtype=int) - 1
    test = np.setdiff1d(np.arange(len(X)), train)
    clf = gm.MixtureDiscriminantAnalysis(case["type"], random_state=0).fit(X[train], y[train])
    chosen = " ".join(
        f"{t}:{k}" for t, k in zip(clf.covariance_types_, clf.n_components_, strict=True)
    )
    assert chosen == case["models"]
    errors = int(np.sum(clf.predict(X[test]) != y[test]))
    assert abs(errors - int(case["test_errors"])) <= 1
    # mclust's BIC (its sign flipped); EM and iterative M-steps stop by mclust's rule
    # (relative change 1e-5) there, converged here
    assert clf.bic_ == pytest.approx(-float(case["bic"]), rel=1e-4)


def test_cross_validation_refits_the_chosen_model_fold_by_fold(iris):
    # EDDA with VVV is QDA: on the same folds, cross-validated probabilities are QDA's
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    X, y = iris
    clf = gm.MixtureDiscriminantAnalysis("EDDA", covariance_types=["VVV"]).fit(X, y)
    cv = gm.cross_validate_da(clf, X, y, n_folds=5, random_state=3)
    folds = StratifiedKFold(5, shuffle=True, random_state=3)
    theirs = cross_val_predict(QuadraticDiscriminantAnalysis(), X, y, cv=folds,
                               method="predict_proba")  # fmt: skip
    np.testing.assert_allclose(cv.proba, theirs, atol=1e-10)
    assert cv.error == pytest.approx(np.mean(theirs.argmax(axis=1) != y))
    truth = np.eye(3)[y]
    assert cv.brier == pytest.approx(np.mean(np.sum((theirs - truth) ** 2, axis=1)) / 2)
    assert cv.se_error > 0 and cv.se_brier > 0


@pytest.mark.slow  # 10 s
def test_cross_validation_of_mclustda_is_near_mclusts(iris):
    # R mclust 6.0.0: cvMclustDA(MclustDA(iris[, 1:4], iris$Species), nfold = 10) gives
    # ce = 0.0267 (se 0.0147) and brier 0.018 to 0.021 over seeds 1-3
    X, y = iris
    clf = gm.MixtureDiscriminantAnalysis(random_state=0).fit(X, y)
    cv = gm.cross_validate_da(clf, X, y, random_state=0)
    assert abs(cv.error - 0.0267) <= 2 * 0.0147
    assert 0.005 < cv.brier < 0.04
    assert cv.classification.shape == (150,) and cv.proba.shape == (150, 3)


def test_cross_validation_refuses_bad_input(iris):
    X, y = iris
    clf = gm.MixtureDiscriminantAnalysis("EDDA").fit(X, y)
    with pytest.raises(ValueError, match="n_folds must be an integer from 2"):
        gm.cross_validate_da(clf, X, y, n_folds=51)
    with pytest.raises(ValueError, match="not trained on"):
        gm.cross_validate_da(clf, X, np.where(y == 2, 9, y))
    with pytest.raises(ValueError, match="features"):
        gm.cross_validate_da(clf, X[:, :3], y)
    with pytest.raises(NotFittedError):
        gm.cross_validate_da(gm.MixtureDiscriminantAnalysis(), X, y)
