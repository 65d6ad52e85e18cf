"""GaussianMixture: a drop-in for scikit-learn's, on the EM loop over sufficient statistics.

The estimator validates its parameters and data, holds scikit-learn's
contract (the best of ``n_init`` starts, warnings, verbose messages, fitted
attributes) and delegates: the data to an executor
(:func:`~gradmix.mixture.executors.executor_for`), the starts to
:mod:`.initialisation`, the iterations to :mod:`.em`, the covariance model's
mathematics to its unit in :mod:`.covariance`, the AD uses of the likelihood
to :mod:`.inference`.
"""

from __future__ import annotations

import math
import warnings
from collections import namedtuple
from numbers import Integral
from typing import Any

import numpy as np
from array_api_compat import array_namespace
from sklearn.base import _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as _SklearnGMM
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Hidden, Interval, InvalidParameterError, StrOptions
from sklearn.utils.validation import check_is_fitted

from gradmix.mixture import inference, persistence
from gradmix.mixture.arrays import is_foreign, to_host
from gradmix.mixture.covariance import (
    DEFAULT_COVARIANCE,
    MODELS,
    SKLEARN_NAMES,
    DiagonalFamily,
    free_parameters,
    get_model,
)
from gradmix.mixture.em import (
    Params,
    check_variances,
    e_step,
    m_step,
    per_row,
    run_em,
)
from gradmix.mixture.executors import Chunk, Executor
from gradmix.mixture.initialisation import initial_params
from gradmix.mixture.missing import (
    filled_with_centre,
    impute_kernel,
    missing_e_step,
    missing_label_kernel,
    missing_log_max_kernel,
    missing_per_row,
    missing_proba_kernel,
    missing_score_kernel,
)
from gradmix.mixture.mixture_base import (
    MixtureBase,
    label_kernel,
    log_prob_kernel,
    proba_kernel,
    score_kernel,
)
from gradmix.mixture.ops import logsumexp_rows
from gradmix.mixture.streaming import RunningStats

__all__ = ["CovarianceFactors", "GaussianMixture"]

FREEZABLE = ("weights", "means", "covariances")


#: mclust's decomposition Σ_k = λ_k D_k A_k D_kᵀ of the fitted covariances
CovarianceFactors = namedtuple("CovarianceFactors", ["volume", "shape", "orientation"])

FITTED = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_",
          "converged_", "n_iter_", "lower_bound_", "lower_bounds_", "n_features_in_",
          "feature_names_in_")  # fmt: skip


def _saved_shapes(model: GaussianMixture) -> dict[str, tuple[int, ...] | None]:
    K, d = model.n_components, model.n_features_in_
    cov = get_model(model.covariance_type).public_shape(K, d)
    return {"weights_": (K,), "means_": (K, d), "covariances_": cov, "precisions_": cov,
            "precisions_cholesky_": cov, "converged_": (), "n_iter_": (), "lower_bound_": (),
            "lower_bounds_": None, "feature_names_in_": (d,)}  # fmt: skip


def _check_saved(model: GaussianMixture) -> None:
    """A loaded model's values make a mixture: weights, precision factors, consistency."""
    w = np.asarray(model.weights_)
    atol = 1e-5 if w.dtype == np.float32 else 1e-8
    if np.any(w < 0) or abs(float(np.sum(w, dtype=np.float64)) - 1.0) > atol:
        raise ValueError("weights_ are not non-negative numbers summing to one")
    unit = get_model(model.covariance_type)
    U = np.asarray(unit.from_public(model.precisions_cholesky_), dtype=np.float64)
    if np.any(unit.variances(U) <= 0):
        raise ValueError("precisions_cholesky_ has a diagonal entry that is not positive")
    if U.ndim >= 2 and U.shape[-1] == U.shape[-2] and np.any(np.tril(U, -1)):
        if not isinstance(unit, DiagonalFamily):
            raise ValueError("precisions_cholesky_ is not upper triangular")
    rtol = 1e-4 if w.dtype == np.float32 else 1e-8
    precisions = unit.precisions(U)
    covariances = unit.covariances_from_cholesky(U)
    for name, expected in (("precisions_", precisions), ("covariances_", covariances)):
        got = np.asarray(unit.from_public(getattr(model, name)), dtype=np.float64)
        if not np.allclose(got, expected, rtol=rtol, atol=rtol * np.max(np.abs(expected))):
            raise ValueError(f"{name} do not match precisions_cholesky_")


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


def _log_max_kernel(chunk: Chunk, model: Any, co: Any) -> Any:
    """log max_k r_ik of every row: the classification part of ICL."""
    xp = chunk.xp
    wlp = log_prob_kernel(chunk, model, co)
    return xp.max(wlp, axis=1) - logsumexp_rows(xp, wlp)


#: the prediction kernels' counterparts for rows with missing entries
MISSING_KERNELS = {label_kernel: missing_label_kernel, proba_kernel: missing_proba_kernel,
                   score_kernel: missing_score_kernel,
                   _log_max_kernel: missing_log_max_kernel}  # fmt: skip


@persistence.register(persistence.Schema(FITTED, _saved_shapes, _check_saved))
class GaussianMixture(MixtureBase):
    """Gaussian mixture model fit by expectation–maximization.

    A drop-in replacement for :class:`sklearn.mixture.GaussianMixture`: the
    same parameters, attributes, methods, errors and warnings, and the same
    results from the same start.  The E-step accumulates sufficient
    statistics chunk by chunk (bounded memory, all components at once) on
    internally centred data, so results do not depend on where the data sit.
    numpy arrays, GPU tensors (any array-API array) and Dask arrays are fit
    by the same code; fitted attributes and predictions come back in the
    input's kind.

    Parameters
    ----------
    n_components : int, default=1
    covariance_type : str, default="full"
        scikit-learn's ``"full"``, ``"tied"``, ``"diag"``, ``"spherical"``, or
        any of mclust's fourteen models ``Σ_k = λ_k D_k A_k D_kᵀ`` named by
        whether volume, shape and orientation are Equal, Variable or the
        Identity: ``"EII"``, ``"VII"``, ``"EEI"``, ``"VEI"``, ``"EVI"``,
        ``"VVI"``, ``"EEE"``, ``"EVE"``, ``"VEE"``, ``"VVE"``, ``"EEV"``,
        ``"VEV"``, ``"EVV"``, ``"VVV"`` (``"E"``/``"V"`` for 1-D data).
        scikit-learn's names are VVV, EEE, VVI and VII with scikit-learn's
        attribute shapes; mclust's names give (K, d, d) attributes.
    tol : float, default=1e-3
        Convergence threshold on the change of the mean log-likelihood.
    reg_covar : float, default=1e-6
        Added to the diagonal of covariances (for mclust's models: n_k·reg_covar
        to each component's scatter before the constrained estimate).
    max_iter : int, default=100
    n_init : int, default=1
    init_params : {"kmeans", "k-means++", "random", "random_from_data", "hc"}, default="kmeans"
        ``"hc"`` (gradmix): mclust's start, model-based hierarchical
        agglomeration of (a sample of at most 2000) rows; with ``n_init > 1``
        the further starts agglomerate random halves of those rows.
    weights_init : array of shape (n_components,), optional
    means_init : array of shape (n_components, n_features), optional
    precisions_init : array, optional
        In the shape of ``precisions_``.
    random_state : int, RandomState or None
    warm_start : bool, default=False
    verbose : int, default=0
    verbose_interval : int, default=10
    freeze : tuple of {"weights", "means", "covariances"}, default=()
        (gradmix) Parameters held at their initial values during EM.
    max_memory : int, optional
        (gradmix) Bytes of temporaries per chunk of rows (default 16 MiB).
    callback : callable, optional
        (gradmix) Called as ``callback(init, n_iter, lower_bound)`` after every
        EM iteration (progress bars, logging).
    solver : {"em", "gradient"}, default="em"
        (gradmix) ``"gradient"`` maximises the log-likelihood itself by L-BFGS
        on exact AD gradients of the model's free parameters from the same
        initialisation; ``max_iter`` and ``tol`` then count and test L-BFGS
        iterations.  It ignores ``reg_covar`` (the likelihood has no such
        term); it cannot hold parameters frozen.
    refine : {"newton"} or None, default=None
        (gradmix) After EM, trust-region Newton steps on the exact Hessian of
        the log-likelihood: quadratic convergence to the maximum EM approaches
        linearly.  The result maximises the likelihood without ``reg_covar``
        (pass ``reg_covar=0`` for EM to share that fixed point).  Numpy data only.
    missing : {"error", "em"}, default="error"
        (gradmix) ``"error"`` rejects NaN entries (scikit-learn's behaviour).
        ``"em"`` treats them as missing at random and fits by EM on the
        observed entries (Ghahramani & Jordan 1994): each row's marginal
        density over its observed coordinates in the E-step, the conditional
        moments of its missing ones in the M-step.  Rows with no observed
        entry are left out, with a warning.  ``predict``, ``predict_proba``
        and ``score_samples`` then accept NaN too, and :meth:`impute` fills
        them in.  numpy and Dask data; EM only (no ``solver="gradient"``,
        ``refine``, ``partial_fit`` on data with NaN).

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    covariances_, precisions_, precisions_cholesky_ : ndarray
        Shapes as in scikit-learn for its names, (K, d, d) for mclust's.
    covariance_factors_ : CovarianceFactors
        (gradmix) ``volume`` (K,), ``shape`` (K, d) and ``orientation``
        (K, d, d) of mclust's decomposition, equal factors repeated.
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
    >>> gm.GaussianMixture(2, random_state=0).fit(X).weights_.round(2)  # as scikit-learn's
    array([0.88, 0.12])
    """

    lower_bound_: float
    _running: RunningStats | None = None  # partial_fit's stream: statistics, centre, start
    _stream_shift: np.ndarray
    _stream_start: Params

    # scikit-learn's own constraints, so that its error messages come out word for word
    # (a set's order in a message is the set's own); gradmix's options are hidden there
    # and named in a sentence appended to the message (see _validate_params)
    _parameter_constraints: dict[str, list[Any]] = {
        **_SklearnGMM._parameter_constraints,
        "init_params": [*_SklearnGMM._parameter_constraints["init_params"],
                        Hidden(StrOptions({"hc"}))],
        "covariance_type": [*_SklearnGMM._parameter_constraints["covariance_type"],
                            Hidden(StrOptions(set(MODELS) - set(SKLEARN_NAMES)))],
        "freeze": [tuple, list],
        "max_memory": [Interval(Integral, 1, None, closed="left"), None],
        "callback": [callable, None],
        "solver": [StrOptions({"em", "gradient"})],
        "refine": [StrOptions({"newton"}), None],
        "missing": [StrOptions({"error", "em"})],
    }  # fmt: skip

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = DEFAULT_COVARIANCE,
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
        missing: str = "error",
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
        self.missing = missing

    # ------------------------------------------------------------------ helpers
    def _validate_params(self) -> None:
        try:
            super()._validate_params()
        except InvalidParameterError as exc:
            extra = {
                "'covariance_type'": f"mclust's models {', '.join(MODELS)}",
                "'init_params'": "'hc' (model-based hierarchical agglomeration)",
            }
            for key, more in extra.items():
                if key in str(exc):
                    raise InvalidParameterError(f"{exc} gradmix also takes {more}.") from None
            raise

    def _check_parameters(self, n_features: int) -> dict[str, Any]:
        """Validated starting values (compact precisions), and checks of the options."""
        model = self._model
        model.check_data(n_features)
        bad = set(self.freeze) - set(FREEZABLE)
        if bad:
            raise ValueError(f"freeze may only name {FREEZABLE}, got {sorted(bad)}")
        if self.solver == "gradient" and self.freeze:
            raise ValueError("freeze is an EM option; solver='gradient' moves all parameters")
        if self.refine is not None and self.freeze:
            raise ValueError("freeze is an EM option; refine='newton' moves all parameters")
        given: dict[str, Any] = {"weights": None, "means": None, "precisions": None}
        host = {n: to_host(getattr(self, n)) if is_foreign(getattr(self, n)) else getattr(self, n)
                for n in ("weights_init", "means_init", "precisions_init")}  # fmt: skip
        K = self.n_components
        if host["weights_init"] is not None:
            given["weights"] = _check_weights(host["weights_init"], K)
        if host["means_init"] is not None:
            given["means"] = _check_means(host["means_init"], K, n_features)
        if host["precisions_init"] is not None:
            P = check_array(host["precisions_init"], dtype=[np.float64, np.float32],
                            ensure_2d=False, allow_nd=True)  # fmt: skip
            given["precisions"] = model.check_precisions(P, K, n_features)
        return given

    def _start(self, ex: Executor, given: dict[str, Any], random_state: Any,
               attempt: int = 0) -> Params:  # fmt: skip
        means = None if given["means"] is None else given["means"] - ex.shift
        return initial_params(ex, self._model, self.n_components, self.init_params, random_state,
                              self.reg_covar, given["weights"], means, given["precisions"],
                              attempt)  # fmt: skip

    def _params(self, shift: np.ndarray, dtype: Any) -> Params:
        """The fitted parameters (host arrays, compact covariances), centred by ``shift``."""
        model = self._model
        prec_chol = model.from_public(to_host(self.precisions_cholesky_))
        return Params(to_host(self.weights_).astype(dtype),
                      (to_host(self.means_) - shift).astype(dtype),
                      model.from_public(to_host(self.covariances_)),
                      np.asarray(prec_chol).astype(dtype))  # fmt: skip

    def _set_fitted(self, p: Params, shift: np.ndarray, ex: Executor) -> None:
        """Fitted attributes from host parameters, in the data's kind and the model's layout."""
        self.weights_ = ex.output(p.weights)
        self._set_covariances(p, shift, ex)

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> GaussianMixture:
        """Estimate model parameters with the EM algorithm.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            numpy, any array-API array (GPU tensors) or a Dask array.
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
        labels : array of shape (n_samples,)
            In ``X``'s kind (numpy, the same array library, or a Dask array).
        """
        self._running = None  # a fit ends any partial_fit stream
        ex = self._fit_executor(X, sample_weight)
        given = self._check_parameters(ex.d)
        start_ex: Executor = ex
        estep: Any = e_step
        if ex.has_missing:
            start_ex, estep = self._missing_setup(ex, sample_weight), missing_e_step
        rows = None
        if self.solver == "gradient" or self.refine is not None:
            rows = inference.numpy_rows(ex)
        random_state = check_random_state(self.random_state)

        def run(init: int, params: Params, bound: float) -> tuple[Params, list[float], bool]:
            if rows is not None and self.solver == "gradient":
                callback = None if self.callback is None else \
                    (lambda n, lb: self.callback(init, n, lb))  # fmt: skip
                result = inference.gradient_fit(self.covariance_type, params, *rows, ex.dtype,
                                                self.tol, self.max_iter, callback)  # fmt: skip
                # the likelihood is unbounded on collapsed data: the same check as EM's
                check_variances(self._model, result[0].covariances, ex.var_floor)
                return result
            return run_em(ex, self._model, params,
                          self._settings(init, frozenset(self.freeze)), bound, estep)  # fmt: skip

        best = self._best_of_starts(
            lambda init: self._start(start_ex, given, random_state, init),
            lambda: self._params(ex.shift, ex.dtype), run)  # fmt: skip
        if self.refine == "newton" and self.max_iter > 0 and rows is not None:
            best, self.lower_bound_ = self._newton(best, rows, ex)
            self.lower_bounds_ = self.lower_bounds_ + [self.lower_bound_]
        self._set_fitted(best, ex.shift, ex)
        return self._rows_of(ex, best, label_kernel, None, np.int64)

    def _missing_setup(self, ex: Executor, sample_weight: Any) -> Executor:
        """Checks for a fit on data with NaN; the data with NaN as the column means, for
        the initialisation."""
        if self.solver == "gradient" or self.refine is not None:
            raise ValueError("missing='em' fits by EM: solver='gradient' and refine='newton' "
                             "need data without missing values")  # fmt: skip
        assert ex.observed is not None
        if ex.observed.empty_rows:
            warnings.warn(f"{ex.observed.empty_rows} rows have no observed value and are "
                          "left out of the fit", UserWarning, stacklevel=5)  # fmt: skip
        filled = filled_with_centre(ex.X, ex.shift)
        return self._executor(filled, sample_weight, reset=False, shift=ex.shift)

    def _rows_of(self, ex: Executor, params: Params, kernel: Any, cols: int | None,
                 dtype: Any = None) -> Any:  # fmt: skip
        """``per_row`` with the missing-value kernels where rows may hold NaN."""
        if self.missing == "em" and ex.numpy_chunks:
            return missing_per_row(ex, self._model, params, MISSING_KERNELS[kernel], cols, dtype)
        return per_row(ex, self._model, params, kernel, cols, dtype)

    def _per_row(self, X: Any, kernel: Any, cols: int | None, dtype: Any = None) -> Any:
        ex, params = self._predicting(X)
        return self._rows_of(ex, params, kernel, cols, dtype)

    def impute(self, X: Any) -> Any:
        """(gradmix) ``X`` with its NaN entries replaced by their conditional expectation.

        E[x_m | x_o] = Σ_k r_k(x_o) (μ_km + Σ_kmo Σ_koo⁻¹ (x_o - μ_ko)) under the
        fitted mixture, with r_k(x_o) the responsibilities given the observed
        entries; a row with nothing observed gets the mixture's mean.  Observed
        entries are returned unchanged.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            numpy or Dask, with NaN where values are missing.

        Returns
        -------
        ndarray or dask array of shape (n_samples, n_features)
            A new array (``X`` is not modified).
        """
        ex, params = self._predicting(X, allow_missing=True)
        centred = missing_per_row(ex, self._model, params, impute_kernel, ex.d, ex.dtype)
        filled = centred + ex.shift.astype(ex.dtype)
        xp = array_namespace(filled)  # numpy or dask.array: observed entries stay exact
        return xp.where(xp.isnan(ex.X), filled, ex.X)

    def _newton(self, params: Params, rows: tuple[np.ndarray, Any],
                ex: Executor) -> tuple[Params, float]:  # fmt: skip
        """Trust-region Newton on the exact Hessian from EM's result."""
        params, lower_bound, self.n_refine_iter_, self.refine_converged_ = \
            inference.newton_refine(self.covariance_type, params, *rows, ex.dtype)  # fmt: skip
        check_variances(self._model, params.covariances, ex.var_floor)
        if not self.refine_converged_:
            warnings.warn(
                "Newton refinement did not reach a stationary point; the result is the "
                "best point it found.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return params, lower_bound

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
        shift = None if first else self._stream_shift
        ex = self._executor(X, sample_weight, reset=first, shift=shift)
        if ex.has_missing:
            raise ValueError("partial_fit does not take missing values (NaN); fit with "
                             "missing='em' does")  # fmt: skip
        model = self._model
        if first:
            given = self._check_parameters(ex.d)
            if ex.n < self.n_components and given["weights"] is None:
                raise ValueError(
                    "the first batch must hold at least n_components samples "
                    f"({ex.n} < {self.n_components})"
                )
            params = self._start(ex, given, check_random_state(self.random_state))
            self._running = RunningStats.empty(model, self.n_components, ex.d)
            self._stream_shift = ex.shift
            self._stream_start = params.copy()
            self.lower_bounds_ = []
        else:
            params = self._params(self._stream_shift, ex.dtype)
        stats = e_step(ex, model, params)
        if stats.weight <= 0:
            raise ValueError("the batch has zero total sample weight")
        running = self._running
        assert running is not None
        running.update(model, stats)
        params = m_step(model, running.as_stats(), self.reg_covar, ex.dtype,
                        frozen=self._stream_start, freeze=frozenset(self.freeze),
                        var_floor=ex.var_floor,
                        previous=None if params.covariances is None else
                        np.asarray(params.covariances, dtype=np.float64))  # fmt: skip
        self._set_fitted(params, self._stream_shift, ex)
        self.lower_bound_ = stats.log_lik / stats.weight
        self.lower_bounds_.append(self.lower_bound_)
        self.n_iter_ = running.t
        self.converged_ = False
        return self

    # ------------------------------------------------------------- criteria
    def _n_parameters(self) -> int:
        """Number of free parameters of the model (mclust's count)."""
        K, d = self.means_.shape  # the shape of any namespace's array
        return free_parameters(self.covariance_type, K, d)

    def bic(self, X: Any) -> float:
        """Bayesian information criterion on ``X`` (lower is better; mclust's BIC negated)."""
        n = np.shape(X)[0]
        return -2 * self.score(X) * n + self._n_parameters() * math.log(n)

    def aic(self, X: Any) -> float:
        """Akaike information criterion on ``X`` (lower is better)."""
        return -2 * self.score(X) * np.shape(X)[0] + 2 * self._n_parameters()

    def icl(self, X: Any) -> float:
        """(gradmix) Integrated completed likelihood: ``bic(X) - 2 Σᵢ log maxₖ rᵢₖ``.

        BIC plus the entropy of the classification (Biernacki, Celeux & Govaert
        2000, as mclust computes it with hard assignments; mclust reports it
        negated): lower is better, and it prefers well-separated components.
        """
        log_max = float(np.sum(to_host(self._per_row(X, _log_max_kernel, None))))
        return float(self.bic(X) - 2.0 * log_max)

    @property
    def covariance_factors_(self) -> CovarianceFactors:
        """(gradmix) mclust's ``Σ_k = λ_k D_k A_k D_kᵀ``: volume (K,), shape (K, d),
        orientation (K, d, d); factors the model makes equal are repeated."""
        check_is_fitted(self)
        K, d = self.means_.shape
        cov = self._model.from_public(to_host(self.covariances_))
        return CovarianceFactors(*self._model.factors(cov, K, d))

    # ------------------------------------------------------- inference (AD)
    def standard_errors(self, X: Any, sample_weight: Any = None) -> dict[str, np.ndarray]:
        """Standard errors of the fitted parameters from the observed information.

        The negative Hessian of the log-likelihood of ``X`` (exact, by AD) at
        the fitted parameters, in the model's free coordinates (softmax logits
        — so the weights' sum-to-one constraint is respected —, means,
        log-volumes and log-shapes or unit-determinant triangles), is inverted
        and mapped to the natural parameters by the delta method with the AD
        Jacobian.  Asymptotic (Wald) errors: meaningful at a maximum of the
        likelihood of ``X`` (fit with ``reg_covar=0`` or ``refine="newton"``
        for the exact one).

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
            point), the model has too many parameters for an exact Hessian, or
            the covariance model has no free parameterisation here.
        """
        return inference.standard_errors(self, X, sample_weight)

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
        return inference.confidence_intervals(self, X, level, sample_weight)
