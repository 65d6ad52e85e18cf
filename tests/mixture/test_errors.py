"""Bad input gets scikit-learn's errors, word for word."""

import re
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGMM

import gradmix as gm

X = np.random.default_rng(0).normal(size=(50, 2))


def same_error(bad_X=X, **kw):
    """gradmix raises exactly what scikit-learn raises."""
    with pytest.raises(Exception) as sk:
        SkGMM(**kw).fit(bad_X)
    with pytest.raises(type(sk.value), match=re.escape(str(sk.value))):
        gm.GaussianMixture(**kw).fit(bad_X)
    return str(sk.value)


def test_nan_and_inf():
    Xn = X.copy()
    Xn[3, 1] = np.nan
    assert "NaN" in same_error(Xn, n_components=2)
    Xi = X.copy()
    Xi[0, 0] = np.inf
    assert "infinity" in same_error(Xi, n_components=2)


def test_empty_and_too_few_samples():
    same_error(np.empty((0, 2)), n_components=1)
    same_error(X[:1], n_components=1)
    assert "n_samples >= n_components" in same_error(X[:3], n_components=5)
    same_error(np.ones(5))  # 1-D


def test_bad_initial_parameters():
    assert "should have the shape" in same_error(n_components=2, means_init=np.zeros((3, 2)))
    same_error(n_components=2, weights_init=[0.5, 0.6])
    # scikit-learn's message swaps the two ("max value -0.50000, min value 1.50000")
    with pytest.raises(ValueError, match=r"min value -0\.50000, max value 1\.50000"):
        gm.GaussianMixture(n_components=2, weights_init=[1.5, -0.5]).fit(X)
    same_error(n_components=2, precisions_init=[[[1, 0], [0, -1]], [[1, 0], [0, 1]]])
    same_error(n_components=2, covariance_type="diag", precisions_init=[[1, 0], [1, 1]])
    same_error(n_components=2, covariance_type="spherical", precisions_init=[1.0])


def test_parameter_validation():
    same_error(n_components=0)
    same_error(covariance_type="round")
    same_error(init_params="best")
    same_error(tol=-1.0)


DEGENERATE = np.repeat([[1.0, 2.0], [3.0, 4.0]], 10, axis=0)


@pytest.mark.parametrize("covariance_type", ["full", "tied"])
def test_degenerate_data_without_regularisation(covariance_type):
    msg = same_error(DEGENERATE, n_components=2, reg_covar=0, covariance_type=covariance_type)
    assert "ill-defined empirical covariance" in msg


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_degenerate_diagonal_models_are_caught_too(covariance_type):
    # scikit-learn's one-pass variance leaves rounding noise (~1e-16) where the variance is
    # exactly zero, and carries on with precisions of ~1e16; gradmix computes the zero and
    # raises scikit-learn's own error
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        gm.GaussianMixture(2, reg_covar=0, covariance_type=covariance_type).fit(DEGENERATE)


def test_convergence_warning_and_unfitted():
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        gm.GaussianMixture(2, max_iter=1, random_state=0).fit(X)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        gm.GaussianMixture().predict(X)
    with pytest.raises(ValueError, match="n_samples"):
        gm.GaussianMixture(2, random_state=0).fit(X).sample(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gm.GaussianMixture(2, random_state=0).fit(X)


def test_wrong_number_of_features_at_predict():
    m = gm.GaussianMixture(2, random_state=0).fit(X)
    s = SkGMM(2, random_state=0).fit(X)
    with pytest.raises(ValueError) as sk:
        s.predict(np.ones((3, 3)))
    with pytest.raises(ValueError, match=re.escape(str(sk.value))):
        m.predict(np.ones((3, 3)))


def test_kmeans_errors():
    with pytest.raises(ValueError, match="n_samples=3 should be >= n_clusters=5"):
        gm.KMeans(5).fit(X[:3])
    with pytest.raises(ValueError, match="shape of the initial centers"):
        gm.KMeans(2, init=np.zeros((3, 2))).fit(X)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        gm.KMeans(2).fit(Xn)


def test_newton_refinement_cannot_move_frozen_parameters():
    with pytest.raises(ValueError, match="freeze is an EM option; refine='newton'"):
        gm.GaussianMixture(2, refine="newton", freeze=("weights",)).fit(X)


@pytest.mark.parametrize("kw", [{"solver": "gradient"}, {"refine": "newton"}])
def test_collapsed_data_fail_after_gradient_and_newton_as_after_em(kw):
    collapsed = np.ones((50, 2))
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        gm.GaussianMixture(1, **kw).fit(collapsed)


def test_points_far_away_have_log_density_minus_infinity_as_in_sklearn():
    rng = np.random.default_rng(0)
    Y = rng.normal(size=(300, 2)) @ np.array([[1.0, 0.9], [0.0, 0.3]])
    Y = np.r_[Y, Y + 5]
    ours, theirs = gm.GaussianMixture(2, random_state=0).fit(Y), SkGMM(2, random_state=0).fit(Y)
    far = np.array([[1e160, -1e160], [1e160, 1e160], [0.0, 0.0]])
    np.testing.assert_array_equal(ours.score_samples(far)[:2], [-np.inf, -np.inf])
    np.testing.assert_allclose(ours.score_samples(far), theirs.score_samples(far))
    # scikit-learn labels the two far rows 0 (argmax of -inf); their component is
    # undefined in float64, so gradmix refuses to name one
    with pytest.raises(ValueError, match="overflow float64"):
        ours.predict(far)


def test_parameter_types_are_checked():
    m = gm.GaussianMixture(2, random_state=0, reg_covar=0).fit(X)
    with pytest.raises(TypeError, match="level must be a float"):
        m.confidence_intervals(X, level="0.9")


def test_sparse_input_gets_sklearns_message():
    import scipy.sparse as sp

    with pytest.raises(TypeError, match="Sparse data was passed for X, but dense data is"):
        gm.KMeans(2).fit(sp.csr_matrix(X))
    with pytest.raises(TypeError, match="Sparse data was passed for X, but dense data is"):
        gm.GaussianMixture(2).fit(sp.csr_matrix(X))


def test_an_iterative_m_step_on_a_rank_deficient_scatter_is_the_collapse_error():
    # EVE with three components on 25 setosa rows and no ridge: a component's scatter has
    # rank below d; the orientation step's SVD failed with numpy's LinAlgError
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    rows = X[::2][y[::2] == 0]
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        gm.GaussianMixture(3, covariance_type="EVE", init_params="hc", reg_covar=0.0).fit(rows)
