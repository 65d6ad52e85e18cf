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
