"""scikit-learn's own estimator checks."""

import warnings

from sklearn.cluster import KMeans as SkKMeans
from sklearn.utils.estimator_checks import check_estimator

import gradmix as gm


def failures(estimator):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, on_fail=None)
    return {r["check_name"] for r in results if r["status"] == "failed"}


def test_gaussian_mixture_passes_every_check():
    assert failures(gm.GaussianMixture()) == set()


def test_kmeans_fails_only_what_sklearn_kmeans_fails():
    ours = failures(gm.KMeans())
    assert ours <= failures(SkKMeans())
    assert ours <= {"check_sample_weight_equivalence_on_dense_data"}


def test_student_t_mixture_passes_every_check():
    assert failures(gm.StudentTMixture()) == set()


def test_mixture_discriminant_analysis_passes_every_check():
    # a few models keep the checks' many small fits quick; the estimator's code is the same
    assert failures(gm.MixtureDiscriminantAnalysis(
        "EDDA", covariance_types=("EEE", "VVV", "VEV"))) == set()  # fmt: skip
    assert failures(gm.MixtureDiscriminantAnalysis(
        n_components=(1, 2), covariance_types=("VVV", "EII"), random_state=0)) == set()  # fmt: skip
