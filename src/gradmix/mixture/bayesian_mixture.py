"""BayesianGaussianMixture: a drop-in for scikit-learn's, on EM's statistics.

The estimator holds scikit-learn's contract (parameters, priors, messages,
``n_init``, warnings, fitted attributes) and delegates: the data to an
executor, the start to :mod:`.initialisation` (the same responsibilities as
scikit-learn's), the updates and the lower bound to :mod:`.variational`,
which runs EM's E-step kernel with the variational terms.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
from sklearn.base import _fit_context
from sklearn.mixture import BayesianGaussianMixture as _SklearnBGM
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from gradmix.mixture import persistence
from gradmix.mixture.acceleration import ACCELERATIONS
from gradmix.mixture.arrays import to_host
from gradmix.mixture.covariance import DEFAULT_COVARIANCE, get_model
from gradmix.mixture.em import data_moments, per_row
from gradmix.mixture.executors import Executor
from gradmix.mixture.initialisation import initial_stats
from gradmix.mixture.mixture_base import MixtureBase, label_kernel
from gradmix.mixture.params import Params
from gradmix.mixture.validation import check_shape, host_values
from gradmix.mixture.variational import (
    Posterior,
    Priors,
    mixing_weights,
    posterior,
    run_variational,
    vb_params,
)

__all__ = ["BayesianGaussianMixture"]

FITTED = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_",
          "converged_", "n_iter_", "lower_bound_", "lower_bounds_", "n_features_in_",
          "feature_names_in_", "weight_concentration_prior_", "weight_concentration_",
          "mean_precision_prior_", "mean_precision_", "mean_prior_",
          "degrees_of_freedom_prior_", "degrees_of_freedom_", "covariance_prior_")  # fmt: skip


def _saved_shapes(model: BayesianGaussianMixture) -> dict[str, tuple[int, ...] | None]:
    K, d = model.n_components, model.n_features_in_
    unit = get_model(model.covariance_type)
    cov = unit.public_shape(K, d)
    dp = model.weight_concentration_prior_type == "dirichlet_process"
    return {"weights_": (K,), "means_": (K, d), "covariances_": cov, "precisions_": cov,
            "precisions_cholesky_": cov, "converged_": (), "n_iter_": (), "lower_bound_": (),
            "lower_bounds_": None, "feature_names_in_": (d,),
            "weight_concentration_prior_": (), "weight_concentration_": (2, K) if dp else (K,),
            "mean_precision_prior_": (), "mean_precision_": (K,), "mean_prior_": (d,),
            "degrees_of_freedom_prior_": (),
            "degrees_of_freedom_": () if unit.pooled else (K,),
            "covariance_prior_": unit.component_shape(d)}  # fmt: skip


def _check_saved(model: BayesianGaussianMixture) -> None:
    """A loaded model's values make a posterior; restores scikit-learn's Python types."""
    for name in ("weight_concentration_prior_", "mean_precision_prior_",
                 "degrees_of_freedom_prior_"):  # fmt: skip
        value = getattr(model, name)
        setattr(model, name, value if isinstance(value, int) else float(value))
    unit = get_model(model.covariance_type)
    if unit.pooled:
        model.degrees_of_freedom_ = float(model.degrees_of_freedom_)
    if np.ndim(model.covariance_prior_) == 0:
        model.covariance_prior_ = float(model.covariance_prior_)
    wc = np.asarray(model.weight_concentration_)
    positive = ("weight_concentration_prior_", "mean_precision_prior_", "mean_precision_")
    if np.any(wc <= 0) or any(np.any(np.asarray(getattr(model, n)) <= 0) for n in positive):
        raise ValueError("the posterior's concentrations and precisions are not positive")
    if model.weight_concentration_prior_type == "dirichlet_process":
        model.weight_concentration_ = (wc[0], wc[1])
    d = model.n_features_in_
    if np.any(np.asarray(model.degrees_of_freedom_) <= d - 1):
        raise ValueError(f"degrees_of_freedom_ are not above n_features - 1 = {d - 1}")
    post = model._posterior(np.zeros(d))
    expected = mixing_weights(post, model._priors_of_attributes(np.zeros(d)))
    if not np.allclose(model.weights_, expected, rtol=1e-4, atol=1e-7):
        raise ValueError("weights_ do not match weight_concentration_")
    U = np.asarray(unit.from_public(model.precisions_cholesky_), dtype=np.float64)
    C = unit.covariances_from_cholesky(U)
    if np.any(unit.variances(U) <= 0) or not np.allclose(
        unit.from_public(model.covariances_), C, rtol=1e-4, atol=1e-4 * np.max(np.abs(C))
    ):
        raise ValueError("covariances_ do not match precisions_cholesky_")


@persistence.register(persistence.Schema(FITTED, _saved_shapes, _check_saved))
class BayesianGaussianMixture(MixtureBase):
    """Variational Bayesian estimation of a Gaussian mixture.

    A drop-in replacement for :class:`sklearn.mixture.BayesianGaussianMixture`:
    the same parameters, priors, attributes, errors and the same lower-bound
    trajectory from the same start.  It runs on gradmix's E-step (chunked,
    centred, any kind of array), so it adds what ``GaussianMixture`` adds:
    ``sample_weight``, float32 kept float32, results that do not depend on
    where the data sit, GPU tensors and Dask arrays, ``save``/``load``.

    With a Dirichlet-process prior (the default) and a small
    ``weight_concentration_prior``, the weights of components the data do not
    need shrink towards zero: ``n_components`` is an upper bound.

    Parameters
    ----------
    n_components : int, default=1
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    tol : float, default=1e-3
        Convergence threshold on the change of the lower bound.
    reg_covar : float, default=1e-6
    max_iter : int, default=100
    n_init : int, default=1
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default="kmeans"
        (gradmix also takes ``"hc"``, as ``GaussianMixture`` does.)
    weight_concentration_prior_type : {"dirichlet_process", "dirichlet_distribution"}
    weight_concentration_prior : float, optional
        γ₀; default ``1 / n_components``.
    mean_precision_prior : float, optional
        β₀; default 1.
    mean_prior : array of shape (n_features,), optional
        m₀; default the data's (weighted) mean.
    degrees_of_freedom_prior : float, optional
        ν₀ > n_features - 1; default ``n_features``.
    covariance_prior : float or array, optional
        The Wishart's prior covariance: (d, d) for full and tied, (d,) for
        diag, a float for spherical; default from the data's covariance.
    random_state, warm_start, verbose, verbose_interval
        As in scikit-learn.
    max_memory : int, optional
        (gradmix) Bytes of temporaries per chunk of rows.
    callback : callable, optional
        (gradmix) ``callback(init, n_iter, lower_bound)`` after every update.
    acceleration : {None, "squarem"}, default=None
        (gradmix) As in :class:`GaussianMixture`: SQUAREM's jumps along the
        updates' path, in log concentrations, log precisions, means,
        log(ν - d + 1) and the Wishart scales' log-Cholesky factors, kept
        where the lower bound after the update from the jump is at least the
        plain update's, so ``lower_bounds_`` never decreases.  ``n_iter_``
        counts every update.

    Attributes
    ----------
    weights_, means_, covariances_, precisions_, precisions_cholesky_
        The posterior's expectations, in scikit-learn's shapes.
    weight_concentration_ : tuple of two (K,) arrays, or (K,) array
        The Beta parameters of the stick-breaking weights, or the Dirichlet's.
    mean_precision_ : ndarray of shape (K,)
    degrees_of_freedom_ : ndarray of shape (K,), or float for ``"tied"``
    weight_concentration_prior_, mean_precision_prior_, mean_prior_,
    degrees_of_freedom_prior_, covariance_prior_
        The priors used.
    converged_, n_iter_, lower_bound_, lower_bounds_, n_features_in_, feature_names_in_

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [4, 2], [12, 4], [10, 7]], dtype=float)
    >>> bgm = gm.BayesianGaussianMixture(n_components=2, random_state=42).fit(X)
    >>> bgm.means_.round(2)  # as scikit-learn's
    array([[2.5 , 2.29],
           [8.46, 4.52]])
    >>> bgm.predict(np.array([[0.0, 0.0], [9.0, 3.0]]))
    array([0, 1])
    """

    lower_bound_: float

    _parameter_constraints: dict[str, list[Any]] = {
        **_SklearnBGM._parameter_constraints,
        "init_params": [*_SklearnBGM._parameter_constraints["init_params"],
                        Hidden(StrOptions({"hc", "trimmed-kmeans"}))],
        "max_memory": [Interval(Integral, 1, None, closed="left"), None],
        "callback": [callable, None],
        "acceleration": [StrOptions(set(ACCELERATIONS)), None],
    }  # fmt: skip

    def __init__(
        self,
        *,
        n_components: int = 1,
        covariance_type: str = DEFAULT_COVARIANCE,
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        weight_concentration_prior_type: str = "dirichlet_process",
        weight_concentration_prior: float | None = None,
        mean_precision_prior: float | None = None,
        mean_prior: Any = None,
        degrees_of_freedom_prior: float | None = None,
        covariance_prior: Any = None,
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        max_memory: int | None = None,
        callback: Any = None,
        acceleration: str | None = None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.max_memory = max_memory
        self.callback = callback
        self.acceleration = acceleration

    # ------------------------------------------------------------------ priors
    def _set_priors(self, ex: Executor) -> Priors:
        """scikit-learn's prior attributes (checked as scikit-learn checks them), centred."""
        d, dtype = ex.d, ex.dtype
        host = host_values(self, ("mean_prior", "covariance_prior"))
        self.weight_concentration_prior_ = (1.0 / self.n_components
                                            if self.weight_concentration_prior is None
                                            else self.weight_concentration_prior)  # fmt: skip
        self.mean_precision_prior_ = (1.0 if self.mean_precision_prior is None
                                      else self.mean_precision_prior)  # fmt: skip
        # the data's mean and covariance: one pass, unless both priors are given
        defaults = host["mean_prior"] is None or host["covariance_prior"] is None
        mean, cov = data_moments(ex) if defaults else (np.zeros(d), None)
        if host["mean_prior"] is None:
            self.mean_prior_ = (mean + ex.shift).astype(dtype)
        else:
            self.mean_prior_ = check_array(host["mean_prior"], dtype=[np.float64, np.float32],
                                           ensure_2d=False)  # fmt: skip
            check_shape(self.mean_prior_, (d,), "means")
            mean = np.asarray(self.mean_prior_, dtype=np.float64) - ex.shift
        self.degrees_of_freedom_prior_: float
        if self.degrees_of_freedom_prior is None:
            self.degrees_of_freedom_prior_ = d
        elif self.degrees_of_freedom_prior > d - 1.0:
            self.degrees_of_freedom_prior_ = self.degrees_of_freedom_prior
        else:
            raise ValueError(
                "The parameter 'degrees_of_freedom_prior' should be greater than "
                f"{d - 1}, but got {self.degrees_of_freedom_prior:.3f}."
            )
        self.covariance_prior_ = self._covariance_prior(host["covariance_prior"], cov, d)
        return self._priors_of_attributes(ex.shift, mean)

    def _covariance_prior(self, given: Any, cov: np.ndarray | None, d: int) -> Any:
        model = self._model
        if given is None:
            assert cov is not None
            return model.component_from_covariance(cov)
        if np.ndim(given) == 0:
            return given  # a float, checked by the parameter constraints
        prior = check_array(given, dtype=[np.float64, np.float32], ensure_2d=False)
        return model.check_component(prior, d)

    def _priors_of_attributes(self, shift: np.ndarray, mean: np.ndarray | None = None) -> Priors:
        if mean is None:
            mean = np.asarray(to_host(self.mean_prior_), dtype=np.float64) - shift
        return Priors(self.weight_concentration_prior_type,
                      float(self.weight_concentration_prior_), float(self.mean_precision_prior_),
                      mean, float(self.degrees_of_freedom_prior_),
                      np.asarray(self.covariance_prior_, dtype=np.float64), -shift)  # fmt: skip

    # --------------------------------------------------------------- parameters
    def _posterior(self, shift: np.ndarray) -> Posterior:
        """The fitted posterior (host, float64), centred by ``shift``."""
        model, K = self._model, self.n_components
        wc = self.weight_concentration_
        wc = np.stack([to_host(w) for w in wc]) if isinstance(wc, tuple) else to_host(wc)
        nu = np.broadcast_to(np.asarray(to_host(self.degrees_of_freedom_), np.float64), (K,))
        return Posterior(np.asarray(wc, np.float64),
                         np.asarray(to_host(self.mean_precision_), np.float64),
                         np.asarray(to_host(self.means_), np.float64) - shift, nu.copy(),
                         np.asarray(model.from_public(to_host(self.covariances_)), np.float64),
                         np.asarray(model.from_public(to_host(self.precisions_cholesky_)),
                                    np.float64))  # fmt: skip

    def _params(self, shift: np.ndarray, dtype: Any) -> Params:
        return vb_params(self._posterior(shift), self._priors_of_attributes(shift), dtype)

    def _set_fitted(self, post: Posterior, priors: Priors, shift: np.ndarray,
                    ex: Executor) -> None:  # fmt: skip
        dtype = ex.dtype
        p = vb_params(post, priors, dtype)
        self._set_covariances(p, shift, ex)
        self.weights_ = ex.output(p.weights)
        wc = post.weight_concentration.astype(dtype)
        self.weight_concentration_ = (
            (ex.output(wc[0]), ex.output(wc[1])) if wc.ndim == 2 else ex.output(wc)
        )
        self.mean_precision_ = ex.output(post.mean_precision.astype(dtype))
        nu = post.degrees_of_freedom.astype(dtype)
        self.degrees_of_freedom_ = float(nu[0]) if self._model.pooled else ex.output(nu)

    # ------------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        """Estimate the posterior using X and predict the labels for X.

        Returns
        -------
        labels : array of shape (n_samples,)
            In ``X``'s kind (numpy, the same array library, or a Dask array).
        """
        ex = self._fit_executor(X, sample_weight)
        model, K = self._model, self.n_components
        priors = self._set_priors(ex)
        random_state = check_random_state(self.random_state)

        def start(init: int) -> Posterior:
            stats = initial_stats(ex, model, self.init_params, K, random_state, init)
            return posterior(model, stats, priors, self.reg_covar, ex.dtype)

        def run(init: int, post: Posterior, bound: float) -> tuple[Posterior, list[float], bool]:
            settings = self._settings(init)
            settings.acceleration = self.acceleration
            return run_variational(ex, model, post, priors, settings, bound)

        best = self._best_of_starts(start, lambda: self._posterior(ex.shift), run)
        self._set_fitted(best, priors, ex.shift, ex)
        return per_row(ex, self._family, vb_params(best, priors, ex.dtype), label_kernel,
                       dtype=np.int64)  # fmt: skip

    @property
    def n_effective_components_(self) -> int:
        """(gradmix) Components whose expected weight is at least 1 %."""
        check_is_fitted(self)
        return int(np.sum(to_host(self.weights_) >= 0.01))
