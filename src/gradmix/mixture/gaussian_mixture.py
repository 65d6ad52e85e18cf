"""GaussianMixture: a drop-in for scikit-learn's, fit by the statistics-based EM loop."""

from __future__ import annotations

import math
import warnings
from functools import partial
from numbers import Integral, Real
from pathlib import Path
from time import time
from typing import Any

import numpy as np
from scipy.special import logsumexp
from scipy.stats import norm
from sklearn.base import BaseEstimator, DensityMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from gradmix.mixture import device_em
from gradmix.mixture.arrays import DEVICE_MAX_MEMORY, Namespace, is_foreign, to_host, validated
from gradmix.mixture.covariance import CovarianceModel, get_model
from gradmix.mixture.dask_data import DaskData, is_dask, lazy_weighted_log_prob
from gradmix.mixture.data import DeviceData, HostData
from gradmix.mixture.em import Params, check_variances, chunk_rows, chunks, m_step
from gradmix.mixture.em import weighted_log_prob as _wlp
from gradmix.mixture.inference import (
    gradient_fit,
    newton_refine,
    parameter_covariance,
    params_from_theta,
)
from gradmix.mixture.likelihood import Parameterisation
from gradmix.mixture.streaming import RunningStats

__all__ = ["GaussianMixture"]

FREEZABLE = ("weights", "means", "covariances")
Data = HostData | DeviceData | DaskData


def _check_shape(param: np.ndarray, param_shape: tuple[int, ...], name: str) -> None:
    if param.shape != param_shape:
        raise ValueError(
            f"The parameter '{name}' should have the shape of {param_shape}, but got {param.shape}"
        )


def _check_weights(weights: Any, n_components: int) -> np.ndarray:
    weights = check_array(weights, dtype=[np.float64, np.float32], ensure_2d=False)
    _check_shape(weights, (n_components,), "weights")
    if np.any(weights < 0.0) or np.any(weights > 1.0):
        raise ValueError(
            "The parameter 'weights' should be in the range "
            f"[0, 1], but got max value {np.min(weights):.5f}, min value {np.max(weights):.5f}"
        )
    atol = 1e-6 if weights.dtype == np.float32 else 1e-8
    if not np.allclose(float(np.abs(1.0 - np.sum(weights))), 0.0, atol=atol):
        raise ValueError(
            "The parameter 'weights' should be normalized, but got sum(weights) = "
            f"{np.sum(weights):.5f}"
        )
    return weights


def _check_means(means: Any, n_components: int, n_features: int) -> np.ndarray:
    means = check_array(means, dtype=[np.float64, np.float32], ensure_2d=False)
    _check_shape(means, (n_components, n_features), "means")
    return means


def _check_precisions(
    precisions: Any,
    covariance_type: str,
    n_components: int,
    n_features: int,
    model: CovarianceModel,
) -> np.ndarray:
    precisions = check_array(
        precisions,
        dtype=[np.float64, np.float32],
        ensure_2d=False,
        allow_nd=covariance_type == "full",
    )
    _check_shape(
        precisions, model.precision_shape(n_components, n_features), f"{covariance_type} precision"
    )
    if covariance_type in ("diag", "spherical"):
        if np.any(precisions <= 0.0):
            raise ValueError(f"'{covariance_type} precision' should be positive")
    else:
        mats = precisions if covariance_type == "full" else precisions[None]
        for m in mats:
            if not (np.allclose(m, m.T) and np.all(np.linalg.eigvalsh(m) > 0.0)):
                raise ValueError(
                    f"'{covariance_type} precision' should be symmetric, positive-definite"
                )
    return precisions


class GaussianMixture(DensityMixin, BaseEstimator):
    """Gaussian mixture model fit by expectation–maximization.

    A drop-in replacement for :class:`sklearn.mixture.GaussianMixture`: the
    same parameters, attributes, methods, errors and warnings, and the same
    results from the same start.  The E-step accumulates sufficient
    statistics chunk by chunk (bounded memory, all components at once) on
    internally centred data, so results do not depend on where the data sit.

    Parameters
    ----------
    n_components : int, default=1
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    tol : float, default=1e-3
        Convergence threshold on the change of the mean log-likelihood.
    reg_covar : float, default=1e-6
        Added to the diagonal of covariances.
    max_iter : int, default=100
    n_init : int, default=1
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default="kmeans"
    weights_init : array of shape (n_components,), optional
    means_init : array of shape (n_components, n_features), optional
    precisions_init : array, optional
        Shape (K, d, d), (d, d), (K, d) or (K,) by covariance type.
    random_state : int, RandomState or None
    warm_start : bool, default=False
    verbose : int, default=0
    verbose_interval : int, default=10
    freeze : tuple of {"weights", "means", "covariances"}, default=()
        (gradmix) Parameters held at their initial values during EM.
    max_memory : int, optional
        (gradmix) Bytes of temporaries per chunk of rows (default 64 MiB).
    callback : callable, optional
        (gradmix) Called as ``callback(init, n_iter, lower_bound)`` after every
        EM iteration (progress bars, logging).
    solver : {"em", "gradient"}, default="em"
        (gradmix) ``"gradient"`` maximises the log-likelihood itself by L-BFGS
        on exact AD gradients (free parameters: softmax logits, means,
        log-diagonal precision Cholesky factors) from the same initialisation;
        ``max_iter`` and ``tol`` then count and test L-BFGS iterations.  It
        ignores ``reg_covar`` (the likelihood has no such term) and ``freeze``.
    refine : {"newton"} or None, default=None
        (gradmix) After EM, trust-region Newton steps on the exact Hessian of
        the log-likelihood: quadratic convergence to the maximum EM approaches
        linearly.  The result maximises the likelihood without ``reg_covar``
        (pass ``reg_covar=0`` for EM to share that fixed point).  Numpy data only.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    covariances_, precisions_, precisions_cholesky_ : ndarray
        Shapes by covariance type, as in scikit-learn.
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Mean log-likelihood of the best fit.
    lower_bounds_ : list of float
        The trajectory of the best initialisation (with ``refine``, the
        refined value appended).
    n_refine_iter_, refine_converged_ : int, bool
        Newton iterations and whether they reached a stationary point (only
        with ``refine="newton"``).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fit on data with string column names.

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> X = np.r_[np.random.default_rng(0).normal(size=(100, 2)), 5 + np.zeros((1, 2))]
    >>> gm.GaussianMixture(2, random_state=0).fit(X).weights_.round(2)
    array([0.99, 0.01])
    """

    lower_bound_: float
    _running: RunningStats | None = None  # partial_fit's stream

    _parameter_constraints: dict[str, list[Any]] = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init_params": [StrOptions({"kmeans", "random", "random_from_data", "k-means++"})],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "verbose_interval": [Interval(Integral, 1, None, closed="left")],
        "covariance_type": [StrOptions({"full", "tied", "diag", "spherical"})],
        "weights_init": ["array-like", None],
        "means_init": ["array-like", None],
        "precisions_init": ["array-like", None],
        "freeze": [tuple, list],
        "max_memory": [Interval(Integral, 1, None, closed="left"), None],
        "callback": [callable, None],
        "solver": [StrOptions({"em", "gradient"})],
        "refine": [StrOptions({"newton"}), None],
    }

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        weights_init: Any = None,
        means_init: Any = None,
        precisions_init: Any = None,
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        freeze: tuple[str, ...] = (),
        max_memory: int | None = None,
        callback: Any = None,
        solver: str = "em",
        refine: str | None = None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.freeze = freeze
        self.max_memory = max_memory
        self.callback = callback
        self.solver = solver
        self.refine = refine

    # ------------------------------------------------------------------ helpers
    @property
    def _model(self) -> CovarianceModel:
        return get_model(self.covariance_type)

    def _rows(self, X: Any, ns: Namespace | None = None) -> int:
        K, d = self.n_components, int(X.shape[1])
        per_row = {"full": K * d + d * (d + 1) // 2, "tied": 2 * K + d}.get(
            self.covariance_type, 2 * K + d
        )
        itemsize = np.dtype(ns.np_dtype if ns is not None else X.dtype).itemsize
        budget = self.max_memory
        if budget is None and ns is not None:
            budget = DEVICE_MAX_MEMORY
        n = X.shape[0] if np.isfinite(X.shape[0]) else 2**62  # Dask: maybe unknown yet
        return chunk_rows(int(n), (per_row + 4 * K) * itemsize, budget)

    def _check_parameters(self, X: np.ndarray) -> None:
        n_features = X.shape[1]
        for name in ("weights_init", "means_init", "precisions_init"):
            if is_foreign(getattr(self, name)):  # given as tensors: checked on the host
                setattr(self, name, to_host(getattr(self, name)))
        bad = set(self.freeze) - set(FREEZABLE)
        if bad:
            raise ValueError(f"freeze may only name {FREEZABLE}, got {sorted(bad)}")
        if self.weights_init is not None:
            self.weights_init = _check_weights(self.weights_init, self.n_components)
        if self.means_init is not None:
            self.means_init = _check_means(self.means_init, self.n_components, n_features)
        if self.precisions_init is not None:
            self.precisions_init = _check_precisions(
                self.precisions_init,
                self.covariance_type,
                self.n_components,
                n_features,
                self._model,
            )

    def _initial_params(self, data: Data, random_state: Any) -> Params:
        model, dtype, shift = self._model, data.dtype, data.shift
        given = (self.weights_init, self.means_init, self.precisions_init)
        if any(g is None for g in given):
            stats = data.initial_stats(model, self.init_params, self.n_components, random_state)
            nk = stats.nk + 10 * np.finfo(dtype).eps
            weights = nk / stats.weight
            means = stats.sx / nk[:, None]
            cov = model.covariances(nk, means, stats.second, self.reg_covar, stats.ref, means)
            cov = cov.astype(dtype)
            check_variances(model, cov, data.var_floor)
        if self.weights_init is not None:
            weights = self.weights_init
        if self.means_init is not None:
            means = self.means_init - shift
        if self.precisions_init is None:
            prec_chol = model.precision_cholesky(cov)
        else:
            prec_chol = model.cholesky_from_precisions(np.asarray(self.precisions_init))
            cov = model.covariances_from_cholesky(prec_chol)
        return Params(
            np.asarray(weights, dtype=dtype),
            np.asarray(means, dtype=dtype),
            np.asarray(cov, dtype=dtype),
            np.asarray(prec_chol, dtype=dtype),
        )

    def _params(self, shift: np.ndarray, dtype: Any) -> Params:
        """The fitted parameters (as host arrays), centred by ``shift``."""
        h = self._host
        return Params(
            h("weights_").astype(dtype),
            (h("means_") - shift).astype(dtype),
            h("covariances_"),
            h("precisions_cholesky_").astype(dtype),
        )

    def _host(self, name: str) -> np.ndarray:
        """A fitted attribute as a numpy array, whichever namespace it lives in."""
        return to_host(getattr(self, name))

    def _set_params_from(self, p: Params, shift: np.ndarray, ns: Namespace | None) -> None:
        """Fitted attributes from host parameters, in the data's namespace."""
        put = (lambda a: a) if ns is None else ns.put
        self.weights_ = put(p.weights)
        self.means_ = put(p.means + shift.astype(p.means.dtype))
        self.covariances_ = put(p.covariances)
        self.precisions_cholesky_ = put(p.precisions_cholesky)
        self.precisions_ = put(self._model.precisions(p.precisions_cholesky))

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> GaussianMixture:
        """Estimate model parameters with the EM algorithm.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            (gradmix) Non-negative weights; integer weights fit exactly like
            repeated rows.

        Returns
        -------
        self : GaussianMixture
        """
        self.fit_predict(X, y, sample_weight=sample_weight)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        """Estimate model parameters using X and predict the labels for X.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            In ``X``'s namespace.
        """
        self._running = None  # a fit ends any partial_fit stream
        data, ns = self._data(X, sample_weight)
        if (self.solver == "gradient" or self.refine is not None) and not isinstance(
            data, HostData
        ):
            raise ValueError(
                "solver='gradient' and refine='newton' differentiate the likelihood with "
                "gradmix's numpy AD: pass numpy data (e.g. X.cpu().numpy())"
            )
        if self.solver == "gradient" and self.freeze:
            raise ValueError("freeze is an EM option; solver='gradient' moves all parameters")
        model, dtype, shift = self._model, data.dtype, data.shift
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        n_init = self.n_init if do_init else 1
        max_lower_bound = -np.inf
        best_lower_bounds: list[float] = []
        best: Params | None = None
        best_n_iter = 0
        self.converged_ = False
        random_state = check_random_state(self.random_state)

        for init in range(n_init):
            self._print_verbose_msg_init_beg(init)
            if do_init:
                params = self._initial_params(data, random_state)
            else:
                params = self._params(shift, dtype)
            if self.max_iter == 0:
                best, best_n_iter = params, 0
                continue
            lower_bound = -np.inf if do_init else float(self.lower_bound_)
            if self.solver == "gradient":
                params, current, converged = self._gradient(data, params, init)
            else:
                params, current, converged = self._em(data, params, init, lower_bound)
            lower_bound = current[-1]
            self._print_verbose_msg_init_end(lower_bound, converged)
            if lower_bound > max_lower_bound or max_lower_bound == -np.inf:
                max_lower_bound = lower_bound
                best, best_n_iter = params, len(current)
                best_lower_bounds = current
                self.converged_ = converged

        if not self.converged_ and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. "
                "Try different init parameters, or increase max_iter, "
                "tol, or check for degenerate data.",
                ConvergenceWarning,
                stacklevel=2,
            )
        assert best is not None
        if self.refine == "newton" and self.max_iter > 0:
            best, max_lower_bound = self._newton(data, best)
            best_lower_bounds = best_lower_bounds + [max_lower_bound]
        self._set_params_from(best, shift, ns)
        self.n_iter_ = best_n_iter
        self.lower_bound_ = max_lower_bound
        self.lower_bounds_ = best_lower_bounds
        return data.labels(model, best)

    def partial_fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> GaussianMixture:
        """Update the model with one mini-batch: stepwise (online) EM.

        The first call initialises from ``*_init`` or by ``init_params`` on the
        batch and fixes the stream's centre (the batch's mean); every call then
        runs one E-step on the batch, blends its statistics into the running
        ones with step size ``γ_t = (t + 1)^-0.6`` (``γ_1 = 1``) and runs the
        M-step on them (see :mod:`gradmix.mixture.streaming`).  Batches should
        be shuffled samples of the data.  ``warm_start`` is irrelevant here;
        ``fit`` starts afresh.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self : GaussianMixture
            ``n_iter_`` counts the batches, ``lower_bound_`` is the mean
            log-likelihood of the latest batch before its update and
            ``lower_bounds_`` the history.
        """
        self._validate_params()
        first = self._running is None
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=first,
                          ensure_min_samples=1)  # fmt: skip
        w = _check_sample_weight(sample_weight, X, dtype=X.dtype, ensure_non_negative=True)
        model = self._model
        if first:
            if X.shape[0] < self.n_components and self.weights_init is None:
                raise ValueError(
                    "the first batch must hold at least n_components samples "
                    f"({X.shape[0]} < {self.n_components})"
                )
            self._check_parameters(X)
            data = HostData(X, w, self._rows(X))
            params = self._initial_params(data, check_random_state(self.random_state))
            self._running = RunningStats.empty(model, self.n_components, X.shape[1])
            self._stream_shift = data.shift
            self.lower_bounds_ = []
        else:
            data = HostData(X, w, self._rows(X), shift=self._stream_shift)
            params = self._params(self._stream_shift, data.dtype)
        stats = data.e_step(model, params)
        if stats.weight <= 0:
            raise ValueError("the batch has zero total sample weight")
        running = self._running
        assert running is not None
        running.update(model, stats)
        params = m_step(model, running.as_stats(), self.reg_covar, data.dtype,
                        var_floor=data.var_floor)  # fmt: skip
        self._set_params_from(params, self._stream_shift, None)
        self.lower_bound_ = stats.log_lik / stats.weight
        self.lower_bounds_.append(self.lower_bound_)
        self.n_iter_ = running.t
        self.converged_ = False
        return self

    def _em(
        self, data: Data, params: Params, init: int, lower_bound: float
    ) -> tuple[Params, list[float], bool]:
        """EM iterations from ``params`` until the lower bound changes by less than ``tol``."""
        model, start = self._model, params.copy()
        current: list[float] = []
        for n_iter in range(1, self.max_iter + 1):
            prev_lower_bound = lower_bound
            stats = data.e_step(model, params)
            params = m_step(
                model,
                stats,
                self.reg_covar,
                data.dtype,
                frozen=start,
                freeze=frozenset(self.freeze),
                var_floor=data.var_floor,
            )
            lower_bound = stats.log_lik / stats.weight
            current.append(lower_bound)
            change = lower_bound - prev_lower_bound
            self._print_verbose_msg_iter_end(n_iter, change)
            if self.callback is not None:
                self.callback(init, n_iter, lower_bound)
            if abs(change) < self.tol:
                return params, current, True
        return params, current, False

    def _likelihood_args(self, data: HostData) -> tuple[Parameterisation, np.ndarray, Any]:
        par = Parameterisation(self.covariance_type, self.n_components, data.d)
        X = np.asarray(data.centred(), dtype=np.float64)
        return par, X, (None if np.all(data.w == 1) else np.asarray(data.w, dtype=np.float64))

    def _gradient(self, data: Data, params: Params, init: int) -> tuple[Params, list[float], bool]:
        """L-BFGS on the exact gradient of the log-likelihood from ``params``."""
        assert isinstance(data, HostData)
        par, X, w = self._likelihood_args(data)
        theta = par.pack(params.weights, params.means, params.precisions_cholesky)
        callback = None if self.callback is None else partial(self.callback, init)
        theta, current, converged = gradient_fit(par, theta, X, w, self.tol, self.max_iter,
                                                 callback)  # fmt: skip
        return params_from_theta(par, theta, self._model, data.dtype), current, converged

    def _newton(self, data: Data, params: Params) -> tuple[Params, float]:
        """Trust-region Newton on the exact Hessian from EM's result."""
        assert isinstance(data, HostData)
        par, X, w = self._likelihood_args(data)
        theta0 = par.pack(params.weights, params.means, params.precisions_cholesky)
        theta, self.n_refine_iter_, self.refine_converged_ = newton_refine(par, theta0, X, w)
        if not self.refine_converged_:
            warnings.warn(
                "Newton refinement did not reach a stationary point; the result is the "
                "best point it found.",
                ConvergenceWarning,
                stacklevel=3,
            )
        total = X.shape[0] if w is None else float(np.sum(w))
        lower_bound = float(par.log_likelihood(theta, X, w)) / total
        return params_from_theta(par, theta, self._model, data.dtype), lower_bound

    def _data(self, X: Any, sample_weight: Any) -> tuple[Data, Namespace | None]:
        """Validated, centred data (and their namespace unless numpy or Dask)."""
        ns = None
        if is_dask(X):
            if X.ndim != 2:
                raise ValueError(f"Expected 2D array, got {X.ndim}D array instead")
            data = DaskData(X, sample_weight, self._rows(X))
            self.n_features_in_ = data.d
            self.__dict__.pop("feature_names_in_", None)
            if data.n < max(2, self.n_components):
                raise ValueError(
                    f"Expected n_samples >= max(2, n_components) but got "
                    f"n_components = {self.n_components}, n_samples = {data.n}"
                )
            self._check_parameters(data.X)
            return data, None
        if is_foreign(X):
            ns, X = validated(X)
            self.n_features_in_ = X.shape[1]
            self.__dict__.pop("feature_names_in_", None)
            if X.shape[0] < 2:
                raise ValueError(
                    f"Found array with {X.shape[0]} sample(s) (shape={tuple(X.shape)}) while a "
                    "minimum of 2 is required."
                )
        else:
            X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2)
        n = X.shape[0]
        if n < self.n_components:
            raise ValueError(
                "Expected n_samples >= n_components "
                f"but got n_components = {self.n_components}, "
                f"n_samples = {n}"
            )
        self._check_parameters(X)
        if ns is None:
            w = _check_sample_weight(sample_weight, X, dtype=X.dtype, ensure_non_negative=True)
            return HostData(X, w, self._rows(X)), None
        w_host = np.ones(n) if sample_weight is None else to_host(sample_weight)
        w_host = _check_sample_weight(w_host, np.empty((n, 0)), ensure_non_negative=True)
        return DeviceData(ns, X, ns.put(w_host), self._rows(X, ns)), ns

    # -------------------------------------------------------------- inference
    def _weighted_log_prob(self, X: Any) -> tuple[Any, Any]:
        """log π_k + log N(x | μ_k, Σ_k), computed about the means' centre.

        Returns the (n, K) array and the namespace of ``X`` (numpy's ``np``
        for host data), where the result lives.
        """
        check_is_fitted(self)
        shift = self._host("means_").mean(axis=0)
        if is_dask(X):
            import dask.array as da

            if X.ndim != 2 or X.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has shape {X.shape}, but GaussianMixture is expecting "
                    f"{self.n_features_in_} features as input."
                )
            dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else np.float64
            p = self._params(shift, dtype)
            wlp = lazy_weighted_log_prob(X.astype(dtype), shift, self._model, p, self._rows(X))
            return wlp, da
        if is_foreign(X):
            ns, X = validated(X, self.n_features_in_, "GaussianMixture")
            p = self._params(shift, ns.np_dtype)
            Xc = X - ns.put(shift)
            return device_em.weighted_log_prob(ns, self._model, Xc, p, self._rows(X, ns)), ns.xp
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        p = self._params(shift, X.dtype)
        Xc = X - shift.astype(X.dtype)
        out = np.empty((X.shape[0], self.n_components), dtype=X.dtype)
        for sl in chunks(X.shape[0], self._rows(X)):
            out[sl] = _wlp(self._model, Xc[sl], p)
        return out, np

    def score_samples(self, X: Any) -> Any:
        """Log-likelihood of each sample, shape (n_samples,), in ``X``'s namespace."""
        wlp, xp = self._weighted_log_prob(X)
        if xp is np:
            return logsumexp(wlp, axis=1)
        m = xp.max(wlp, axis=1, keepdims=True)
        return xp.log(xp.sum(xp.exp(wlp - m), axis=1)) + m[:, 0]

    def score(self, X: Any, y: Any = None) -> float:
        """Mean log-likelihood of ``X`` under the model."""
        return float(np.mean(to_host(self.score_samples(X))))

    def predict(self, X: Any) -> Any:
        """Most probable component of each sample, shape (n_samples,)."""
        wlp, xp = self._weighted_log_prob(X)
        return xp.argmax(wlp, axis=1)

    def predict_proba(self, X: Any) -> Any:
        """Responsibilities, shape (n_samples, n_components); rows sum to one."""
        wlp, xp = self._weighted_log_prob(X)
        if xp is np:
            with np.errstate(under="ignore"):
                return np.exp(wlp - logsumexp(wlp, axis=1)[:, None])
        m = xp.max(wlp, axis=1, keepdims=True)
        e = xp.exp(wlp - m)
        return e / xp.sum(e, axis=1, keepdims=True)

    def sample(self, n_samples: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Draw samples from the fitted mixture.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            Component labels.
        """
        check_is_fitted(self)
        if n_samples < 1:
            raise ValueError(
                "Invalid value for 'n_samples': %d . The sampling requires at "  # noqa: UP031
                "least one sample." % (self.n_components)
            )
        means = self._host("means_")
        _, n_features = means.shape
        cov: Any = self._host("covariances_")
        rng = check_random_state(self.random_state)
        n_samples_comp = rng.multinomial(n_samples, self._host("weights_"))
        if self.covariance_type == "full":
            X = np.vstack(
                [
                    rng.multivariate_normal(mean, cov, int(s))
                    for mean, cov, s in zip(means, cov, n_samples_comp, strict=True)
                ]
            )
        elif self.covariance_type == "tied":
            X = np.vstack(
                [
                    rng.multivariate_normal(mean, cov, int(s))
                    for mean, s in zip(means, n_samples_comp, strict=True)
                ]
            )
        else:
            X = np.vstack(
                [
                    mean + rng.standard_normal(size=(s, n_features)) * np.sqrt(cov)
                    for mean, cov, s in zip(means, cov, n_samples_comp, strict=True)
                ]
            )
        y = np.concatenate([np.full(s, j, dtype=np.int64) for j, s in enumerate(n_samples_comp)])
        return X.astype(np.float64), y

    def _n_parameters(self) -> int:
        """Number of free parameters of the model."""
        K, d = self.means_.shape  # the shape of any namespace's array
        cov = self._model.n_parameters(K, d)
        return int(cov + d * K + K - 1)

    def bic(self, X: Any) -> float:
        """Bayesian information criterion on ``X`` (lower is better)."""
        n = np.shape(X)[0]
        return -2 * self.score(X) * n + self._n_parameters() * math.log(n)

    def aic(self, X: Any) -> float:
        """Akaike information criterion on ``X`` (lower is better)."""
        return -2 * self.score(X) * np.shape(X)[0] + 2 * self._n_parameters()

    # ------------------------------------------------------- inference (AD)
    def standard_errors(self, X: Any, sample_weight: Any = None) -> dict[str, np.ndarray]:
        """Standard errors of the fitted parameters from the observed information.

        The negative Hessian of the log-likelihood of ``X`` (exact, by AD) at
        the fitted parameters, in free coordinates (softmax logits — so the
        weights' sum-to-one constraint is respected —, means, log-diagonal
        precision Cholesky factors), is inverted and mapped to the natural
        parameters by the delta method with the AD Jacobian.  Asymptotic
        (Wald) errors: meaningful at a maximum of the likelihood of ``X``
        (fit with ``reg_covar=0`` or ``refine="newton"`` for the exact one).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data the model was fit to.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        dict
            ``"weights"`` (K,), ``"means"`` (K, d), ``"covariances"`` (shape of
            ``covariances_``): standard errors, entry by entry.

        Raises
        ------
        ValueError
            If the information matrix is singular (e.g. a component on a single
            point) or the model has too many parameters for an exact Hessian.
        """
        cov = self._natural_covariance(X, sample_weight)
        par = Parameterisation(self.covariance_type, self.n_components, self.n_features_in_)
        return par.split(np.sqrt(np.maximum(np.diag(cov), 0.0)))

    def _natural_covariance(self, X: Any, sample_weight: Any) -> np.ndarray:
        """Delta-method covariance of ``[weights, means, covariances]`` (flattened)."""
        check_is_fitted(self)
        X = validate_data(self, to_host(X) if is_foreign(X) else X, reset=False,
                          dtype=[np.float64])  # fmt: skip
        w = None
        if sample_weight is not None:
            w = _check_sample_weight(to_host(sample_weight) if is_foreign(sample_weight)
                                     else sample_weight, X, ensure_non_negative=True)  # fmt: skip
        par = Parameterisation(self.covariance_type, self.n_components, X.shape[1])
        shift = X.mean(axis=0)  # centred: the same Hessian, fewer rounding errors
        theta = par.pack(self._host("weights_"), self._host("means_") - shift,
                         self._host("precisions_cholesky_"))  # fmt: skip
        return parameter_covariance(par, theta, X - shift, w)

    def confidence_intervals(
        self, X: Any, level: float = 0.95, sample_weight: Any = None
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Wald confidence intervals ``estimate ± z·se`` for the fitted parameters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        level : float, default=0.95
            Coverage, in (0, 1).
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        dict
            For ``"weights"``, ``"means"``, ``"covariances"``: ``(lower, upper)``,
            each shaped like the fitted attribute.
        """
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must lie in (0, 1), got {level}")
        se = self.standard_errors(X, sample_weight)
        z = float(norm.ppf(0.5 + level / 2))
        out = {}
        for name in ("weights", "means", "covariances"):
            est = self._host(name + "_")
            out[name] = (est - z * se[name], est + z * se[name])
        return out

    # ------------------------------------------------------------ persistence
    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Save the fitted model as ``.npz`` (no pickle); see :func:`gradmix.load`."""
        from gradmix.mixture.persistence import save

        return save(self, path, overwrite=overwrite)

    # ------------------------------------------------------------- verbosity
    def _print_verbose_msg_init_beg(self, n_init: int) -> None:
        if self.verbose >= 1:
            print(f"Initialization {n_init}")
            self._init_prev_time = self._iter_prev_time = time()

    def _print_verbose_msg_iter_end(self, n_iter: int, diff_ll: float) -> None:
        if n_iter % self.verbose_interval == 0:
            if self.verbose == 1:
                print(f"  Iteration {n_iter}")
            elif self.verbose >= 2:
                cur = time()
                print(
                    f"  Iteration {n_iter}\t time lapse {cur - self._iter_prev_time:.5f}s\t "
                    f"ll change {diff_ll:.5f}"
                )
                self._iter_prev_time = cur

    def _print_verbose_msg_init_end(self, lb: float, converged: bool) -> None:
        msg = "converged" if converged else "did not converge"
        if self.verbose == 1:
            print(f"Initialization {msg}.")
        elif self.verbose >= 2:
            t = time() - self._init_prev_time
            print(f"Initialization {msg}. time lapse {t:.5f}s\t lower bound {lb:.5f}.")
