"""Inputs that used to give a plausible wrong answer, a NaN or a traceback (issue 27):
each now gives the right answer, checked against scikit-learn or a closed form, or a
clear error."""

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture as SkGMM

import gradmix as gm
from gradmix.mixture.covariance import CollapsedComponentError

X = np.random.default_rng(0).normal(size=(60, 2)) + np.repeat([[0.0, 0.0], [6.0, 6.0]], 30, 0)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical", "VEV"])
def test_points_beyond_float_range_raise_instead_of_nan(covariance_type):
    g = gm.GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X)
    far = np.array([[1e160, 1e160], [-1e200, 3.0]])
    with pytest.raises(ValueError, match="overflow float64"):
        g.predict_proba(far)
    with pytest.raises(ValueError, match="overflow float64"):
        g.predict(far)
    if covariance_type in ("full", "tied", "diag", "spherical"):
        # far but representable: scikit-learn's answer from the same parameters
        sk = SkGMM(
            2,
            covariance_type=covariance_type,
            weights_init=g.weights_,
            means_init=g.means_,
            precisions_init=g.precisions_,
            max_iter=1,
        ).fit(X)
        sk.weights_, sk.means_, sk.precisions_cholesky_ = (
            g.weights_, g.means_, g.precisions_cholesky_)  # fmt: skip
        near = np.array([[1e10, 1e10], [-1e12, 3.0], [40.0, -30.0]])
        np.testing.assert_allclose(g.predict_proba(near), sk.predict_proba(near), atol=1e-12)
        np.testing.assert_array_equal(g.predict(near), sk.predict(near))


def test_a_noise_component_takes_the_far_points():
    g = gm.GaussianMixture(2, noise=True, random_state=0).fit(X)
    assert list(g.predict(np.array([[1e160, 1e160]]))) == [-1]


@pytest.mark.parametrize("scale", [1e154, 1e300])
@pytest.mark.parametrize("estimator", [gm.GaussianMixture, gm.StudentTMixture])
def test_data_whose_squares_overflow_say_so(scale, estimator):
    with pytest.raises(ValueError, match="overflow float64.*rescale X"):
        estimator(n_components=2, random_state=0).fit(X * scale)
    # 1e140 is fine: the same clustering as the unscaled data
    small = estimator(n_components=2, random_state=0).fit(X)
    big = estimator(n_components=2, random_state=0).fit(X * 1e140)
    np.testing.assert_array_equal(small.predict(X), big.predict(X * 1e140))


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda g: None, "2 features, but X has 4"),
        (lambda g: g.set_params(covariance_type="diag"), "covariance_type='diag' needs"),
        (lambda g: g.set_params(n_components=3), "fit of 2 components, but n_components = 3"),
    ],
)
def test_warm_start_on_another_shape_says_what_differs(change, message):
    g = gm.GaussianMixture(2, warm_start=True, random_state=0).fit(X)
    change(g)
    data = np.c_[X, X] if "features" in message else X
    with pytest.raises(ValueError, match=message):
        g.fit(data)


def test_warm_start_into_a_model_of_the_same_layout_continues():
    g = gm.GaussianMixture(2, warm_start=True, random_state=0).fit(X)
    g.set_params(covariance_type="VVV").fit(X)
    assert g.converged_


def test_sample_zero_names_n_samples():
    with pytest.raises(ValueError, match="'n_samples': 0 "):
        gm.GaussianMixture(2, random_state=0).fit(X).sample(0)


def test_newton_refinement_on_constant_data_raises_as_gradient_does():
    const = np.ones((20, 2))
    with pytest.raises(CollapsedComponentError):
        gm.GaussianMixture(1, solver="gradient").fit(const)
    with pytest.raises(CollapsedComponentError):
        gm.GaussianMixture(1, refine="newton").fit(const)
    with pytest.raises(CollapsedComponentError):
        gm.GaussianMixture(1, refine="newton", covariance_type="diag").fit(
            np.c_[np.ones(20), np.arange(20.0)]
        )


def test_missing_values_count_only_usable_rows():
    data = np.full((10, 2), np.nan)
    data[:3] = [[1.0, 2.0], [3.0, 4.0], [5.0, 7.0]]
    with pytest.raises(ValueError, match="n_samples = 3 \\(of 10 rows, 7 have no observed"):
        gm.GaussianMixture(4, missing="em").fit(data)
