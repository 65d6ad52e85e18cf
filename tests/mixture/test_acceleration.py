"""acceleration="squarem": EM's fixed point in fewer E-steps, never below EM's path."""

import warnings
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.utils._param_validation import InvalidParameterError

import gradmix as gm
from gradmix.datasets import load_old_faithful
from gradmix.mixture.acceleration import MixtureCoordinates, run_squarem
from gradmix.mixture.components import Gaussian, StudentT
from gradmix.mixture.covariance import MCLUST_NAMES, get_model
from gradmix.mixture.params import Params

DATA = Path(__file__).parent / "data"
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def fit(X, K, ct, acceleration, **kw):
    kw = {"init_params": "kmeans", "random_state": 0, "tol": 1e-10, "max_iter": 5000,
          "reg_covar": 0.0, **kw}  # fmt: skip
    return gm.GaussianMixture(K, covariance_type=ct, acceleration=acceleration, **kw).fit(X)


@pytest.mark.parametrize("ct", MCLUST_NAMES)
def test_squarem_reaches_plain_ems_optimum_in_fewer_e_steps(ct):
    X = load_old_faithful()
    plain, fast = fit(X, 3, ct, None), fit(X, 3, ct, "squarem")
    L_plain, L_fast = plain.lower_bound_ * len(X), fast.lower_bound_ * len(X)
    assert L_fast >= L_plain - 1e-8 * abs(L_plain)  # as high as plain EM's (1e-8 relative)
    assert fast.converged_
    assert fast.n_iter_ <= plain.n_iter_
    bounds = np.asarray(fast.lower_bounds_)
    assert len(bounds) == fast.n_iter_  # one entry per E-step, rejected jumps included
    assert np.all(np.diff(bounds) >= -1e-12 * np.abs(bounds[1:]))
    # the same fixed point, and no farther from it than plain EM stops: the exact optimum
    # by Newton's method on the exact Hessian (where the model has free coordinates)
    try:
        exact = fit(X, 3, ct, None, refine="newton")
    except ValueError as exc:
        assert "constrains orientations" in str(exc)
        return
    for name in ("weights_", "means_", "covariances_"):
        ours, theirs = getattr(fast, name), getattr(plain, name)
        truth = getattr(exact, name)
        # (where both are at the optimum to 1e-6 relative, either may be the closer)
        limit = max(np.max(np.abs(theirs - truth)), 1e-6 * np.max(np.abs(truth)))
        assert np.max(np.abs(ours - truth)) <= limit, name


def test_squarem_cuts_the_e_steps_where_components_overlap():
    # faithful with 4 full components converges slowly: hundreds of plain EM steps
    X = load_old_faithful()
    plain, fast = fit(X, 4, "VVV", None), fit(X, 4, "VVV", "squarem")
    assert plain.n_iter_ > 100
    assert fast.n_iter_ < plain.n_iter_ / 2
    assert fast.score(X) >= plain.score(X) - 1e-10


def test_a_jump_stays_above_the_ridge():
    """A jump whose covariance is narrower than reg_covar allows scored above EM's step
    from it (a regression: hypothesis found the objective falling by 2.8e-3)."""
    X = np.loadtxt(DATA / "squarem_below_ridge.csv", delimiter=",")
    model = gm.GaussianMixture(
        4,
        covariance_type="full",
        init_params="random",
        reg_covar=1e-6,
        random_state=93339,
        tol=0,
        max_iter=25,
        acceleration="squarem",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
    bounds = np.asarray(model.lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-12 * np.abs(bounds[1:]))
    # an eigenvalue at the ridge comes back from eigvalsh within its rounding, a few eps
    # times the matrix's norm (1e-16 here); the jump that broke the ridge put one at 9.3e-7
    cov = model.covariances_
    rounding = 8 * np.finfo(float).eps * np.linalg.norm(cov, 2, axis=(1, 2))
    assert np.all(np.linalg.eigvalsh(cov).min(axis=1) >= 1e-6 - rounding)


class _Settings:
    max_iter, on_iteration, tol = 2000, None, 1e-8

    def converged(self, previous, bound):
        return abs(bound - previous) < self.tol


class _Line:
    def vector(self, theta):
        return np.array([theta])

    def params(self, z, like):
        return float(z[0])


@pytest.mark.parametrize("peak", [0.5, 0.9, 1.5])
def test_squarem_stops_where_em_stops_when_the_fixed_point_is_not_the_peak(peak):
    """A map whose fixed point (1) is not where the objective peaks, as EM's where its
    ridge binds: EM's steps first raise the objective, then lower it.  Jumps judged by
    the objective went past EM's path and were pulled back (604 E-steps where plain
    EM takes 486, for the peak at 0.5); SQUAREM now takes plain steps from EM's first
    fall, and stops within the steps plain EM takes, where plain EM's criterion holds."""

    def step(theta):
        return 1.0 + 0.97 * (theta - 1.0), -((theta - peak) ** 2)

    settings = _Settings()
    theta, plain = -3.0, 0
    previous = -np.inf
    while True:
        theta, bound = step(theta)
        plain += 1
        if settings.converged(previous, bound):
            break
        previous = bound
    state, trajectory, converged = run_squarem(step, -3.0, settings, _Line())
    assert converged and len(trajectory) <= plain
    assert abs(state - 1.0) <= abs(theta - 1.0) + 1e-6


@pytest.mark.parametrize("ct", ["full", "tied", "diag", "spherical", "VEV", "EVI"])
def test_jumps_are_mixtures_em_can_reach(ct):
    """Extrapolated covariances below the ridge come back to it; those above stay."""
    reg = 1e-3
    X = load_old_faithful()
    start = fit(X, 3, ct, None, max_iter=3, reg_covar=reg)
    unit = get_model(ct)
    K, d = start.means_.shape
    cov = unit.from_public(start.covariances_)
    params = Params(start.weights_, start.means_, cov, unit.precision_cholesky(cov))
    coords = MixtureCoordinates(Gaussian(unit), float(len(X)), reg_covar=reg)
    z = coords.vector(params)
    same = coords.params(z, params)  # EM's own point: every eigenvalue above the ridge
    np.testing.assert_allclose(same.covariances, cov, rtol=1e-9)
    # every covariance a millionfold narrower: far below the ridge
    narrow = z.copy()
    narrow[K + K * d :] = unit.unconstrained(cov * 1e-6).ravel()
    jump = coords.params(narrow, params)
    eig = np.linalg.eigvalsh(unit.to_matrices(np.asarray(jump.covariances), K, d))
    assert eig.min() >= reg * (1 - 1e-9)


@pytest.mark.parametrize(("dof", "K"), [("free", 2), ("shared", 2), (4.0, 3)])
def test_squarem_for_student_t_mixtures(dof, K):
    """The degrees of freedom move with the jumps (free, shared) or stay (fixed); the
    optimum is plain ECM's, in far fewer E-steps."""
    X = load_old_faithful()
    kw = dict(covariance_type="diag", dof=dof, random_state=0, tol=1e-8, max_iter=5000)
    plain = gm.StudentTMixture(K, **kw).fit(X)
    fast = gm.StudentTMixture(K, acceleration="squarem", **kw).fit(X)
    assert fast.converged_ and fast.n_iter_ < plain.n_iter_ / 2
    L_plain, L_fast = plain.score(X) * len(X), fast.score(X) * len(X)
    assert L_fast >= L_plain - 1e-8 * abs(L_plain)
    bounds = np.asarray(fast.lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:]))  # the ν solve's rounding
    nu = fast.degrees_of_freedom_
    if dof == 4.0:
        assert np.all(nu == 4.0)
    else:
        np.testing.assert_allclose(nu, plain.degrees_of_freedom_, rtol=1e-2)
        assert np.all((nu >= 1.0) & (nu <= 200.0))
        if dof == "shared":
            assert np.all(nu == nu[0])


def test_squarem_for_t_mixtures_on_dask_and_with_noise():
    X = load_iris().data
    kw = dict(covariance_type="VVI", random_state=0, tol=1e-8, max_iter=3000,
              acceleration="squarem")  # fmt: skip
    ref = gm.StudentTMixture(3, **kw).fit(X)
    on_dask = gm.StudentTMixture(3, **kw).fit(da.from_array(X, chunks=50))
    assert on_dask.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(on_dask.lower_bounds_, ref.lower_bounds_, rtol=1e-8)
    noisy = gm.StudentTMixture(3, noise=np.arange(len(X)) % 25 == 0, **kw).fit(X)
    bounds = np.asarray(noisy.lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:]))
    assert 0 < noisy.noise_weight_ < 1


def test_jumps_keep_the_degrees_of_freedom_in_their_bounds():
    X = load_old_faithful()
    t = gm.StudentTMixture(
        2, covariance_type="full", dof_bounds=(2.0, 50.0), random_state=0, max_iter=5
    ).fit(X)
    unit = get_model("full")
    params = Params(
        t.weights_,
        t.means_,
        t.covariances_,
        unit.precision_cholesky(t.covariances_),
        dof=t.degrees_of_freedom_,
    )
    coords = MixtureCoordinates(StudentT(unit, "free", (2.0, 50.0)), float(len(X)))
    z = coords.vector(params)
    assert len(z) == 2 + 2 * 2 + 2 * 4 + 2  # log-weights, means, log-Cholesky (2, 2, 2), log ν
    for log_nu, expected in ((np.log(1e6), 50.0), (np.log(1e-6), 2.0)):
        far = z.copy()
        far[-2:] = log_nu
        np.testing.assert_array_equal(coords.params(far, params).dof, [expected, expected])
    np.testing.assert_allclose(coords.params(z, params).dof, t.degrees_of_freedom_, rtol=1e-12)
    fixed = MixtureCoordinates(StudentT(unit, 7.0), float(len(X)))
    params.dof = np.array([7.0, 7.0])
    assert len(fixed.vector(params)) == len(z) - 2
    assert np.all(fixed.params(fixed.vector(params), params).dof == 7.0)


def test_squarem_on_dask_noise_and_missing_values():
    X = load_iris().data
    start = gm.GaussianMixture(3, covariance_type="VEV", max_iter=2, random_state=0).fit(X)
    given = {"weights_init": start.weights_, "means_init": start.means_,
             "precisions_init": start.precisions_}  # fmt: skip
    ref = fit(X, 3, "VEV", "squarem", **given)
    on_dask = fit(da.from_array(X, chunks=50), 3, "VEV", "squarem", **given)
    np.testing.assert_allclose(on_dask.lower_bounds_, ref.lower_bounds_, rtol=1e-8)
    assert ref.n_iter_ < fit(X, 3, "VEV", None, **given).n_iter_
    with_noise = fit(X, 3, "VVV", "squarem", noise=np.arange(len(X)) % 25 == 0, tol=1e-8)
    assert np.all(np.diff(with_noise.lower_bounds_) >= -1e-12)
    assert 0 < with_noise.noise_weight_ < 1
    holes = X.copy()
    holes[::7, 1] = np.nan
    plain = fit(holes, 2, "VVV", None, missing="em", tol=1e-8)
    fast = fit(holes, 2, "VVV", "squarem", missing="em", tol=1e-8)
    assert fast.lower_bound_ >= plain.lower_bound_ - 1e-8
    assert fast.n_iter_ < plain.n_iter_


def test_select_model_takes_the_acceleration():
    X = load_old_faithful()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search = gm.select_model(X, (2, 3), ("VVV", "EEE"), random_state=0,
                                 acceleration="squarem")  # fmt: skip
    assert search.best_params_ == {"n_components": 3, "covariance_type": "EEE"}  # mclust's


@pytest.mark.parametrize(
    "options, words",
    [({"freeze": ("weights",)}, "freeze"), ({"prior": "default"}, "prior"),
     ({"solver": "gradient"}, "solver='gradient'")],
)  # fmt: skip
def test_options_squarem_cannot_take_are_refused(options, words):
    X = load_iris().data
    with pytest.raises(ValueError, match=f"acceleration='squarem'.*{words}"):
        gm.GaussianMixture(2, acceleration="squarem", **options).fit(X)


def test_unknown_acceleration_and_partial_fit_are_refused():
    X = load_iris().data
    with pytest.raises(InvalidParameterError, match="acceleration"):
        gm.GaussianMixture(2, acceleration="anderson").fit(X)
    with pytest.raises(ValueError, match="partial_fit.*acceleration='squarem'"):
        gm.GaussianMixture(2, acceleration="squarem").partial_fit(X)
