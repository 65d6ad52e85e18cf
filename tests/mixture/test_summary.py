"""The summary table names the fitted model as mclust does (its ``mclustModelNames``)."""

import numpy as np
import pytest

import gradmix as gm


@pytest.mark.parametrize(
    ("d", "K", "covariance_type", "name"),
    [
        # in one dimension mclust's models are E and V (X with one component), whatever
        # the name the fit was asked for
        (1, 2, "full", "V: univariate, unequal variance"),
        (1, 2, "spherical", "V: univariate, unequal variance"),
        (1, 2, "tied", "E: univariate, equal variance"),
        (1, 3, "EEI", "E: univariate, equal variance"),
        (1, 1, "full", "X: univariate normal"),
        # one component: the models of a family coincide
        (2, 1, "full", "XXX: ellipsoidal multivariate normal"),
        (2, 1, "EEV", "XXX: ellipsoidal multivariate normal"),
        (2, 1, "diag", "XXI: diagonal multivariate normal"),
        (2, 1, "spherical", "XII: spherical multivariate normal"),
        (2, 2, "VEV", "VEV: ellipsoidal, equal shape"),
        (2, 2, "full", "VVV: ellipsoidal, varying volume, shape, and orientation"),
    ],
)
def test_the_model_has_mclusts_name(d, K, covariance_type, name):
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(size=(60, d)), rng.normal(size=(60, d)) + 5])
    model = gm.GaussianMixture(K, covariance_type=covariance_type, random_state=0).fit(X)
    lines = model.summary(X).splitlines()
    assert lines[1] == f"  model {name}"
    counts = f"{K} component{'s' if K > 1 else ''}, {covariance_type} covariance, " \
        f"{d} feature{'s' if d > 1 else ''}, 120 samples"  # fmt: skip
    assert lines[0] == f"Gaussian mixture: {counts}"


def test_a_family_mixture_lists_each_components_parameters():
    # (MixtureModel.summary raised AttributeError: 'covariance_type')
    rng = np.random.default_rng(1)
    X = np.c_[rng.gamma(2.0, 1.0, 300), rng.gamma(5.0, 0.5, 300)]
    model = gm.MixtureModel("gamma", 2, random_state=0).fit(X)
    lines = model.summary(X, ["dose", "time"]).splitlines()
    assert lines[0] == "gamma mixture: 2 components, 2 features, 300 samples"
    assert f"BIC {model.bic(X):.4f}" in lines[1]
    assert lines[4].split() == ["component", "weight", "shape", "dose", "shape", "time",
                                "rate", "dose", "rate", "time"]  # fmt: skip
    for k in range(2):
        row = [float(v) for v in lines[5 + k].split()[1:]]
        expected = [model.weights_[k], *model.params_["shape"][k], *model.params_["rate"][k]]
        np.testing.assert_allclose(row, expected, rtol=1e-5)
    gaussian = gm.MixtureModel("gaussian", 2, random_state=0).fit(X)
    assert gaussian.summary(X) == gaussian.estimator_.summary(X)
