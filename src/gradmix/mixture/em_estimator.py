"""What the EM estimators share: GaussianMixture and StudentTMixture.

The estimator validates its parameters and data and holds scikit-learn's
contract (the best of ``n_init`` starts, warnings, verbose messages, fitted
attributes); it delegates the data to an executor
(:func:`~gradmix.mixture.executors.executor_for`), the starts to
:mod:`.initialisation`, the iterations to :mod:`.em` (or, with
``solver="gradient"``, to :mod:`.inference`), the component family's and the
covariance unit's mathematics to :mod:`.components` and :mod:`.covariance`,
rows with NaN to :mod:`.missing`, the noise component's volume and start to
:mod:`.noise`.
"""

from __future__ import annotations

import math
import warnings
from collections import namedtuple
from typing import Any

import numpy as np
from sklearn.base import _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted

from gradmix.mixture import inference, missing, noise
from gradmix.mixture.arrays import to_host
from gradmix.mixture.conjugate_prior import ConjugatePrior, check_prior_spec
from gradmix.mixture.covariance import MODELS, SKLEARN_NAMES, get_model, ill_defined_error
from gradmix.mixture.em import EStep, data_moments, e_step, run_em
from gradmix.mixture.executors import Executor
from gradmix.mixture.initialisation import initial_params, start_methods
from gradmix.mixture.maximisation import check_variances
from gradmix.mixture.missing import impute_kernel, missing_per_row
from gradmix.mixture.mixture_base import InformationCriteria, MixtureBase, label_kernel
from gradmix.mixture.params import Params
from gradmix.mixture.validation import check_means, check_weights, host_values

#: ``tol="auto"`` for scikit-learn's names and for mclust's models
SKLEARN_TOL, MCLUST_TOL = 1e-3, 1e-5

__all__ = [
    "CovarianceFactors",
    "EMMixtureBase",
    "FREEZABLE",
    "NOISE_ATTRIBUTES",
    "TiedValuesWarning",
    "on_tied_values",
]

FREEZABLE = ("weights", "means", "covariances")

#: mclust's decomposition Σ_k = λ_k D_k A_k D_kᵀ of the fitted covariances
CovarianceFactors = namedtuple("CovarianceFactors", ["volume", "shape", "orientation"])

#: fitted attributes of the noise component (only a model fit with one has them)
NOISE_ATTRIBUTES = ("noise_weight_", "hypervolume_", "noise_axes_", "noise_bounds_")


class TiedValuesWarning(UserWarning):
    """A fitted component sits on tied values: its variance in some direction is
    ``reg_covar`` alone (mclust reports such a fit as NA; ``select_model`` leaves it
    out)."""


def on_tied_values(model: MixtureBase) -> bool:
    """Whether a component of a fitted model sits on tied values: its covariance's
    smallest eigenvalue is ``reg_covar`` alone (no spread of the data in that
    direction, as for rows that share a rounded coordinate).

    Such a fit's likelihood is large only because ``reg_covar`` bounds a
    degenerate one, so its BIC would win a model search for the wrong reason
    (mclust, without ``reg_covar``, finds those fits singular: NA).

    "Alone" allows for rounding at the data's scale: the statistics are sums of
    squares of the data about their centre, so a zero spread comes out as a few
    ulps of the data's variance (which the fit's weights, means and covariances
    give back), not of the component's.
    """
    reg = float(getattr(model, "reg_covar", 0.0) or 0.0)
    cov = getattr(model, "covariances_", None)
    if reg <= 0 or cov is None:
        return False
    unit = get_model(model.covariance_type)
    means = np.asarray(to_host(model.means_), np.float64)
    weights = np.asarray(to_host(model.weights_), np.float64)
    K, d = means.shape
    matrices = unit.to_matrices(unit.from_public(np.asarray(to_host(cov), np.float64)), K, d)
    # the data's total variance, by the law of total variance at EM's fixed point
    centre = weights @ means
    spread = weights @ (np.trace(matrices, axis1=-2, axis2=-1) + np.sum((means - centre) ** 2, 1))
    scale = max(float(np.max(np.abs(matrices))), float(spread))
    smallest = float(np.min(np.linalg.eigvalsh(matrices)))
    return bool(smallest <= reg + 64 * np.finfo(np.float64).eps * scale)


class EMMixtureBase(InformationCriteria):
    """The shared half of :class:`GaussianMixture` and :class:`StudentTMixture`."""

    init_params: str
    weights_init: Any
    means_init: Any
    precisions_init: Any
    freeze: tuple[str, ...]
    solver: str
    refine: str | None
    missing: str
    noise: Any
    hypervolume: Any

    noise_weight_: float
    hypervolume_: float

    # ------------------------------------------------------------------ checks
    def _validate_params(self) -> None:
        try:
            super()._validate_params()
        except InvalidParameterError as exc:
            extra = {
                "'covariance_type'": f"mclust's models {', '.join(MODELS)}",
                "'init_params'": "'hc' (model-based hierarchical agglomeration) and "
                                 "'trimmed-kmeans'",
            }  # fmt: skip
            for key, more in extra.items():
                if key in str(exc):
                    raise InvalidParameterError(f"{exc} gradmix also takes {more}.") from None
            raise

    def _check_parameters(self, ex: Executor) -> dict[str, Any]:
        """Validated starting values (compact precisions), the noise mask, and checks of
        the options."""
        model = self._model
        n_features = ex.d
        model.check_data(n_features)
        bad = set(self.freeze) - set(FREEZABLE)
        if bad:
            raise ValueError(f"freeze may only name {FREEZABLE}, got {sorted(bad)}")
        if self.solver == "gradient" and self.freeze:
            raise ValueError("freeze is an EM option; solver='gradient' moves all parameters")
        if self.refine is not None and self.freeze:
            raise ValueError("freeze is an EM option; refine='newton' moves all parameters")
        acceleration = getattr(self, "acceleration", None)
        clashes = {"freeze": bool(self.freeze), "prior": getattr(self, "prior", None) is not None,
                   "solver='gradient'": self.solver == "gradient"}  # fmt: skip
        clash = [name for name, on in clashes.items() if on]
        if acceleration is not None and clash:
            raise ValueError(f"acceleration={acceleration!r} extrapolates every parameter of "
                             f"EM's path by the likelihood alone; it does not take "
                             f"{' or '.join(clash)}")  # fmt: skip
        noise.check_hypervolume(self.hypervolume)
        given: dict[str, Any] = {"weights": None, "means": None, "precisions": None,
                                 "noise": noise.check_noise(self.noise, ex.n)}  # fmt: skip
        host = host_values(self, ("weights_init", "means_init", "precisions_init"))
        K = self.n_components
        if host["weights_init"] is not None:
            given["weights"] = check_weights(host["weights_init"], K)
        if host["means_init"] is not None:
            given["means"] = check_means(host["means_init"], K, n_features)
        if host["precisions_init"] is not None:
            P = check_array(host["precisions_init"], dtype=[np.float64, np.float32],
                            ensure_2d=False, allow_nd=True)  # fmt: skip
            given["precisions"] = model.check_precisions(P, K, n_features)
        return given

    def _only_by_complete_data_em(self, ex: Executor, what: str, why_not_missing: str) -> None:
        """Raise if ``what`` meets missing values, ``solver="gradient"`` or ``refine``."""
        if ex.has_missing:
            raise ValueError(f"{what} with missing='em' is not supported: {why_not_missing}")
        if self.solver == "gradient" or self.refine is not None:
            raise ValueError(f"{what} is fit by EM: solver='gradient' and refine='newton' "
                             "do not take it")  # fmt: skip

    def _conjugate_prior(self, ex: Executor) -> ConjugatePrior | None:
        """The ``prior`` for this fit's data, model and number of components (None: the
        maximum-likelihood fit)."""
        spec = check_prior_spec(getattr(self, "prior", None))
        if spec is None:
            return None
        self._only_by_complete_data_em(ex, "a prior", "its default hyperparameters are "
                                       "moments of complete data")  # fmt: skip
        mean, cov = data_moments(ex)
        return ConjugatePrior.for_model(spec, self._model, self.n_components, mean, cov,
                                        np.asarray(ex.shift, dtype=np.float64))  # fmt: skip

    # ------------------------------------------------------------------ the start
    def _noise_setup(self, ex: Executor, given: dict[str, Any]) -> None:
        """The noise component's volume and its initial rows (``given["noise"]``), once
        per fit; the fitted attributes for them."""
        for name in NOISE_ATTRIBUTES:
            self.__dict__.pop(name, None)
        mask = given["noise"]
        if mask is None:
            return
        self._only_by_complete_data_em(ex, "a noise component", "its density over a row's "
                                       "observed coordinates is undefined")  # fmt: skip
        log_volume, region = noise.hypervolume(ex, self.hypervolume, None)
        if not -700 < log_volume < 700:
            raise ValueError(f"the data's hypervolume exp({log_volume:.1f}) is not representable "
                             "in floating point; pass hypervolume")  # fmt: skip
        if mask is True:
            rows = ex.take(np.arange(ex.n)).astype(np.float64)
            mask = noise.nearest_neighbour_noise(rows, random_state=self.random_state)
        if int(np.sum(~mask)) < self.n_components:
            raise ValueError(f"the noise mask leaves {int(np.sum(~mask))} rows for "
                             f"{self.n_components} components")  # fmt: skip
        given["noise"] = mask
        given_volume = not isinstance(self.hypervolume, str | type(None))
        self.hypervolume_ = float(self.hypervolume) if given_volume else math.exp(log_volume)
        if region is not None:
            self.noise_axes_ = region.axes
            self.noise_bounds_ = np.stack([region.low, region.high])

    def _tolerance(self) -> float:
        """``tol="auto"``: scikit-learn's 1e-3 for its four names; for mclust's models
        :data:`MCLUST_TOL`, of the order of mclust's own criterion (a relative change of
        the log-likelihood below 1e-5), so that EM ends where mclust's does."""
        if self.tol == "mclust":
            return MCLUST_TOL
        if isinstance(self.tol, str):
            return MCLUST_TOL if self.covariance_type not in SKLEARN_NAMES else SKLEARN_TOL
        return float(self.tol)

    def _start_methods(self) -> list[str]:
        """The initialisation of each start (``init_params="auto"`` resolved)."""
        return start_methods(self.init_params, self.covariance_type not in SKLEARN_NAMES,
                             self.n_init)  # fmt: skip

    def _start(self, ex: Executor, given: dict[str, Any], random_state: Any,
               attempt: int = 0, prior: ConjugatePrior | None = None) -> Params:  # fmt: skip
        """A start: given values, the initialisation's M-step on the rows not marked as
        noise, the noise component's share of the weight, the family's shape parameters."""
        means = None if given["means"] is None else given["means"] - ex.shift
        mask = given["noise"]
        rows = ex
        if mask is not None:
            keep = np.flatnonzero(~mask)
            w = None if ex.unit_weights else ex.weights_at(keep)
            rows = self._executor(ex.subset(keep), w, reset=False, shift=ex.shift)
        methods = self._start_methods()
        method = methods[min(attempt, len(methods) - 1)]
        earlier_hc = methods[:attempt].count("hc")  # the tree's further starts use half-samples
        params = initial_params(rows, self._model, self.n_components, method, random_state,
                                self.reg_covar, given["weights"], means, given["precisions"],
                                earlier_hc, getattr(self, "hc_use", "SVD"), prior)  # fmt: skip
        if mask is not None:
            noise_weight = 1.0 - rows.total_weight / ex.total_weight
            params.weights = params.weights * ((1.0 - noise_weight) / np.sum(params.weights))
            params.noise_weight = noise_weight
            params.noise_log_density = -math.log(self.hypervolume_)
        self._family.start(params)
        return params

    # ------------------------------------------------------------------ parameters
    def _shape_parameters(self) -> np.ndarray | None:
        """The fitted shape parameters (degrees of freedom), host float64."""
        return None

    def _params(self, shift: np.ndarray, dtype: Any) -> Params:
        """The fitted parameters (host arrays, compact covariances), centred by ``shift``."""
        model = self._model
        prec_chol = model.from_public(to_host(self.precisions_cholesky_))
        params = Params(to_host(self.weights_).astype(dtype),
                        (to_host(self.means_) - shift).astype(dtype),
                        model.from_public(to_host(self.covariances_)),
                        np.asarray(prec_chol).astype(dtype),
                        dof=self._shape_parameters())  # fmt: skip
        if self._has_noise:
            params.noise_weight = float(self.noise_weight_)
            params.noise_log_density = -math.log(self.hypervolume_)
        return params

    def _set_fitted(self, p: Params, shift: np.ndarray, ex: Executor) -> None:
        """Fitted attributes from host parameters, in the data's kind and the model's layout."""
        self.weights_ = ex.output(p.weights)
        self._set_covariances(p, shift, ex)
        if p.noise_weight is not None:
            self.noise_weight_ = float(p.noise_weight)

    def _sample_noise(self, rng: Any, n: int) -> np.ndarray:
        if not hasattr(self, "noise_bounds_"):
            raise ValueError("the noise component's region is known only as a volume "
                             f"(hypervolume={self.hypervolume!r}); sampling it needs the box "
                             "of hypervolume=None or 'box'")  # fmt: skip
        low, high = np.asarray(self.noise_bounds_)
        return noise.NoiseRegion(np.asarray(self.noise_axes_), low, high).sample(rng, n)

    # ------------------------------------------------------------------ fitting
    def _fit_started(self) -> None:
        """Called when a fit starts (GaussianMixture ends a partial_fit stream)."""

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        """Estimate model parameters using X and predict the labels for X.

        Returns
        -------
        labels : array of shape (n_samples,)
            In ``X``'s kind (numpy, the same array library, or a Dask array);
            -1 for rows the noise component explains best.
        """
        self._fit_started()
        ex = self._fit_executor(X, sample_weight)
        given = self._check_parameters(ex)
        if not (self.warm_start and hasattr(self, "converged_")):
            self._noise_setup(ex, given)  # a warm start keeps the fitted noise component
        start_ex: Executor = ex
        estep: EStep = e_step
        if ex.has_missing:
            start_ex, estep = missing.fit_route(
                ex, lambda filled: self._executor(filled, sample_weight, reset=False,
                                                  shift=ex.shift),
                {"solver='gradient'": self.solver == "gradient",
                 "refine='newton'": self.refine is not None})  # fmt: skip
        rows = None
        if self.solver == "gradient" or self.refine is not None:
            rows = inference.numpy_rows(ex)
        family = self._family
        random_state = check_random_state(self.random_state)
        prior = self._conjugate_prior(ex)

        def run(init: int, params: Params, bound: float) -> tuple[Params, list[float], bool]:
            settings = self._settings(init, frozenset(self.freeze))
            settings.prior = prior
            settings.acceleration = getattr(self, "acceleration", None)
            if self.tol == "mclust":
                settings.total_weight = ex.total_weight
            if rows is not None and self.solver == "gradient":
                return inference.run_gradient(ex, family, params, settings, bound)
            return run_em(ex, family, params, settings, bound, estep)

        best = self._best_of_starts(
            lambda init: self._start(start_ex, given, random_state, init, prior),
            lambda: self._params(ex.shift, ex.dtype), run, len(self._start_methods()),
            lambda params: params.identity(
                lambda c: self._model.to_matrices(c, self.n_components, ex.d)))  # fmt: skip
        if self.refine == "newton" and rows is not None:
            best, self.lower_bound_ = self._newton(best, rows, ex)
            self.lower_bounds_ = self.lower_bounds_ + [self.lower_bound_]
        self._set_fitted(best, ex.shift, ex)
        if self.max_iter > 0 and on_tied_values(self):
            warnings.warn(
                f"a component sits on tied values: its variance in some direction is "
                f"reg_covar ({self.reg_covar:g}) alone, so only reg_covar bounds the "
                "likelihood (mclust reports such a fit as NA). Fewer components or another "
                "covariance model may suit the data; select_model leaves such fits out.",
                TiedValuesWarning,
                stacklevel=4,  # the caller of fit (through scikit-learn's fit context)
            )
        return self._rows_of(ex, best, label_kernel, None, np.int64)

    def _rows_of(self, ex: Executor, params: Params, kernel: Any, cols: int | None,
                 dtype: Any = None) -> Any:  # fmt: skip
        return missing.rows_of(ex, self._family, params, kernel, cols, dtype,
                               self.missing == "em")  # fmt: skip

    def impute(self, X: Any) -> Any:
        """(gradmix) ``X`` with its NaN entries replaced by their conditional expectation.

        E[x_m | x_o] = Σ_k r_k(x_o) (μ_km + Σ_kmo Σ_koo⁻¹ (x_o - μ_ko)) under the
        fitted mixture, with r_k(x_o) the responsibilities given the observed
        entries (for Student-t components the conditional location is the same
        expression in the scale matrices); a row with nothing observed gets the
        mixture's mean.  Observed entries are returned unchanged.

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
        centred = missing_per_row(ex, self._family, params, impute_kernel, ex.d, ex.dtype)
        return ex.fill_missing(centred + ex.shift.astype(ex.dtype))

    def _newton(self, params: Params, rows: tuple[np.ndarray, Any],
                ex: Executor) -> tuple[Params, float]:  # fmt: skip
        """Trust-region Newton on the exact Hessian from EM's result."""
        assert params.covariances is not None
        # Newton maximises the likelihood itself, without reg_covar: where EM's variance
        # is reg_covar alone (a constant feature, a component on one point), that
        # likelihood grows without bound as the variance shrinks, so refuse as EM would
        reg = float(self.reg_covar)
        data_part = self._model.variances(params.covariances) - reg
        if np.any(data_part <= np.maximum(ex.var_floor, 16 * np.finfo(np.float64).eps * reg)):
            raise ill_defined_error(params.covariances.dtype)
        params, lower_bound, self.n_refine_iter_, self.refine_converged_ = \
            inference.newton_refine(self._family, params, *rows, ex.dtype)  # fmt: skip
        assert params.covariances is not None
        check_variances(self._model, params.covariances, ex.var_floor)
        if not self.refine_converged_:
            warnings.warn(
                "Newton refinement did not reach a stationary point; the result is the "
                "best point it found.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return params, lower_bound

    # ------------------------------------------------------------- criteria
    def _n_parameters(self) -> int:
        """Number of free parameters of the model (mclust's count: with a noise component,
        its weight and its density count as two more)."""
        K, d = self.means_.shape  # the shape of any namespace's array
        unit = self._model
        count = unit.n_parameters(K, d) + K * d + K - 1 + self._family.n_parameters(K)
        return int(count + (2 if self._has_noise else 0))

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
        log-volumes and log-shapes or unit-determinant triangles, log degrees
        of freedom), is inverted and mapped to the natural parameters by the
        delta method with the AD Jacobian.  Asymptotic (Wald) errors:
        meaningful at a maximum of the likelihood of ``X`` (fit with
        ``reg_covar=0`` or ``refine="newton"`` for the exact one).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data the model was fit to.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        dict
            ``"weights"`` (K,), ``"means"`` (K, d), ``"covariances"`` (shape of
            ``covariances_``): standard errors, entry by entry; Student-t
            mixtures add ``"degrees_of_freedom"`` (K,) (0 where they are fixed
            or at a bound), a noise component ``"noise_weight"``.

        Raises
        ------
        ValueError
            If the information matrix is singular (e.g. a component on a single
            point), the model has too many parameters for an exact Hessian, or
            the covariance model has no free parameterisation here.
        """
        if getattr(self, "prior", None) is not None:
            raise ValueError("standard errors are the likelihood's, at its maximum; this "
                             "model was fit with a prior (the posterior mode): refit with "
                             "prior=None")  # fmt: skip
        return inference.standard_errors(self, self._family, X, sample_weight)

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
            For each entry of :meth:`standard_errors`: ``(lower, upper)``,
            each shaped like the fitted attribute.
        """
        return inference.confidence_intervals(self, self._family, X, level, sample_weight)
