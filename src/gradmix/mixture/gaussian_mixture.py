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

from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.mixture import GaussianMixture as _SklearnGMM
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from gradmix.mixture import densities, persistence
from gradmix.mixture.acceleration import ACCELERATIONS
from gradmix.mixture.covariance import DEFAULT_COVARIANCE, MODELS, SKLEARN_NAMES
from gradmix.mixture.em_estimator import CovarianceFactors, EMMixtureBase
from gradmix.mixture.hierarchical import HC_USE
from gradmix.mixture.saved import FITTED, OPTIONAL, check_saved, saved_shapes
from gradmix.mixture.streaming import Stream

__all__ = ["CovarianceFactors", "GaussianMixture"]

#: the constraints of gradmix's own parameters, shared with StudentTMixture
EXTRA_CONSTRAINTS: dict[str, list[Any]] = {
    "freeze": [tuple, list],
    "max_memory": [Interval(Integral, 1, None, closed="left"), None],
    "callback": [callable, None],
    "solver": [StrOptions({"em", "gradient"})],
    "refine": [StrOptions({"newton"}), None],
    "missing": [StrOptions({"error", "em"})],
    "noise": ["array-like", "boolean", None],
    "hypervolume": [StrOptions({"box", "hull"}), Interval(Real, 0, None, closed="neither"),
                    None],
}  # fmt: skip


@persistence.register(persistence.Schema(FITTED, saved_shapes, check_saved, OPTIONAL))
class GaussianMixture(EMMixtureBase):
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
    tol : float, "auto" or "mclust", default="auto"
        Convergence threshold on the change of the mean log-likelihood.
        ``"auto"`` (gradmix) is scikit-learn's 1e-3 for scikit-learn's four
        names, and 1e-5 for mclust's models, of the order of mclust's own
        criterion: with scikit-learn's threshold, EM on overlapping components
        stops several log-likelihood units short of the optimum mclust reports.
        ``"mclust"`` (gradmix) is mclust's own rule: stop when the total
        log-likelihood ``L`` changes by less than ``1e-5 (1 + |L|)``; with
        ``init_params="hc"`` EM then stops where mclust's does.
    reg_covar : float, default=1e-6
        Added to the diagonal of covariances (for mclust's models: n_k·reg_covar
        to each component's scatter before the constrained estimate).
    max_iter : int, default=100
    n_init : int, default=1
    init_params : str, default="auto"
        One of "auto", "kmeans", "k-means++", "random", "random_from_data", "hc".
        ``"auto"`` (gradmix): scikit-learn's ``"kmeans"`` for scikit-learn's
        four names (the same starts and results as scikit-learn); for mclust's
        models, mclust's hierarchical start followed by ``max(n_init, 4)``
        k-means starts, keeping the best (hc alone is mclust's path and reaches
        its optimum on most data; the k-means starts rescue the fits where the
        tree's partition is a poor start).  ``"hc"`` (gradmix): mclust's start
        alone, model-based hierarchical agglomeration of (a sample of at most
        2000) rows; with ``n_init > 1`` the further starts agglomerate random
        halves of those rows.  A start whose component collapses is dropped with
        a warning when others remain.
    hc_use : {"SVD", "VARS", "STD"}, default="SVD"
        (gradmix) mclust's ``hcUse``: the rows the hierarchical start
        agglomerates, as scaled principal components (mclust's default), the
        variables themselves, or the standardised variables.
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
        (pass ``reg_covar=0`` for EM to share that fixed point).  With
        ``max_iter=0``, Newton from the start itself.  Numpy data only.
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
    noise : None, True or array of bool of shape (n_samples,), default=None
        (gradmix) mclust's noise component: one more component, uniform over
        the data's hypervolume, that absorbs scattered points.  ``True``
        guesses its initial rows by Byers & Raftery's nearest-neighbour
        cleaning (the distance to the 5th neighbour: prabclus' ``NNclean``,
        as mclust's documentation does); a boolean mask gives them (mclust's
        ``initialization = list(noise = ...)``).  The components start from
        ``init_params`` on the other rows.  Its weight is ``noise_weight_``
        (``weights_`` then sum to ``1 - noise_weight_``), ``predict`` labels
        its rows -1 and ``predict_proba`` gives its responsibility as a last
        column; BIC counts its weight and its density as two parameters, as
        mclust does.  EM on numpy, GPU or Dask data, without missing values.
    hypervolume : None, "box", "hull" or float, default=None
        (gradmix) The noise component's volume V (its density is 1/V).
        None: mclust's ``hypvol``, the smaller of the volumes of the data's
        bounding box and of its box along the principal components;
        ``"box"``: the bounding box; ``"hull"``: the convex hull (up to six
        features); a number: V itself.
    prior : None, "default" or dict, default=None
        (gradmix) mclust's Bayesian regularisation (``priorControl()``): the
        conjugate prior of Fraley & Raftery (2007), and EM finds the posterior
        mode instead of the maximum likelihood, which keeps components from
        collapsing on small or awkward data.  ``"default"`` is mclust's
        ``defaultPrior``; a dict overrides its hyperparameters ``shrinkage``
        (≥ 0, default 0.01), ``mean`` (shape (n_features,), default the data's
        mean), ``dof`` (> 0, default n_features + 2) and ``scale`` (a positive
        number, or for the matrix models a (d, d) positive definite matrix;
        default the data's covariance / K^(2/d)).  ``lower_bound_`` is then the
        mean of log-likelihood plus log prior (what EM increases); ``score``
        and ``bic`` use the log-likelihood at the posterior mode, as mclust's
        BIC does.  All 18 names (mclust has no prior for EVE, VEE, VVE and EVV;
        see ``gradmix.mixture.conjugate_prior``).  EM without missing
        values, ``solver="gradient"``, ``refine`` or ``partial_fit``.
    acceleration : {None, "squarem"}, default=None
        (gradmix) ``"squarem"`` extrapolates EM's path (Varadhan & Roland
        2008, ``gradmix.mixture.acceleration``): after every two EM steps
        a jump along them, kept only where the log-likelihood is at least the
        plain step's, so ``lower_bounds_`` never decreases (where plain EM's
        does not: with ``reg_covar > 0`` both may dip by a hair once a
        component has shrunk to the ridge) and the fit ends at
        a fixed point of EM, where plain EM would end, in fewer passes over
        the data where components overlap.  ``n_iter_`` counts every E-step
        (a rejected jump's too), so it compares with plain EM's, and
        ``lower_bounds_`` holds after each the best log-likelihood reached so
        far; convergence is judged on plain EM steps with the same ``tol``.
        Not with ``freeze``, ``prior``, ``solver="gradient"`` or ``partial_fit``.

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
    noise_weight_ : float
        (gradmix, with ``noise``) The noise component's weight.
    hypervolume_ : float
        (gradmix, with ``noise``) Its volume V.
    noise_axes_, noise_bounds_ : ndarray of shape (n_features, n_features), (2, n_features)
        (gradmix, with ``noise`` and a box volume) The box: ``noise_bounds_[0]
        <= noise_axes_ @ x <= noise_bounds_[1]`` (what :meth:`sample` draws
        its noise from).
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
    _stream: Stream | None = None  # partial_fit's running statistics, centre and start

    # scikit-learn's own constraints, so that its error messages come out word for word
    # (a set's order in a message is the set's own); gradmix's options are hidden there
    # and named in a sentence appended to the message (see _validate_params)
    _parameter_constraints: dict[str, list[Any]] = {
        **_SklearnGMM._parameter_constraints,
        "init_params": [*_SklearnGMM._parameter_constraints["init_params"],
                        Hidden(StrOptions({"auto", "hc", "trimmed-kmeans"}))],
        "covariance_type": [*_SklearnGMM._parameter_constraints["covariance_type"],
                            Hidden(StrOptions(set(MODELS) - set(SKLEARN_NAMES)))],
        "hc_use": [StrOptions(set(HC_USE))],
        "prior": [StrOptions({"default"}), dict, None],
        "acceleration": [StrOptions(set(ACCELERATIONS)), None],
        "tol": [*_SklearnGMM._parameter_constraints["tol"], Hidden(StrOptions({"auto", "mclust"}))],
        **EXTRA_CONSTRAINTS,
    }  # fmt: skip

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = DEFAULT_COVARIANCE,
        tol: float | str = "auto",
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "auto",
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
        noise: Any = None,
        hypervolume: Any = None,
        hc_use: str = "SVD",
        prior: str | dict[str, Any] | None = None,
        acceleration: str | None = None,
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
        self.noise = noise
        self.hypervolume = hypervolume
        self.hc_use = hc_use
        self.prior = prior
        self.acceleration = acceleration

    # ------------------------------------------------------- densities (mclust's)
    def cdf(self, x: Any) -> np.ndarray:
        """(gradmix) P(X <= x) under a fitted one-dimensional mixture (``densityMclust``'s
        ``cdfMclust``); see ``gradmix.mixture.densities.cdf``."""
        check_is_fitted(self)
        return densities.cdf(self, x)

    def quantile(self, p: Any) -> np.ndarray:
        """(gradmix) The quantiles of a fitted one-dimensional mixture (``quantileMclust``):
        x with ``cdf(x) = p``; see ``gradmix.mixture.densities.quantile``."""
        check_is_fitted(self)
        return densities.quantile(self, p)

    def hdr_levels(self, probs: Any, *, n_samples: int = 100_000,
                   random_state: Any = None) -> np.ndarray:  # fmt: skip
        """(gradmix) Density levels enclosing the probabilities ``probs`` (mclust's
        ``hdrlevels``), in any dimension; see ``gradmix.mixture.densities.hdr_levels``."""
        check_is_fitted(self)
        return densities.hdr_levels(self, probs, n_samples=n_samples, random_state=random_state)

    def _fit_started(self) -> None:
        self._stream = None  # a fit ends any partial_fit stream

    def partial_fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> GaussianMixture:
        """Update the model with one mini-batch: stepwise (online) EM.

        The first call initialises from ``*_init`` or by ``init_params`` on the
        batch and fixes the stream's centre (the batch's mean); every call then
        runs one E-step on the batch, blends its statistics into the running
        ones with step size ``γ_t = (t + 1)^-0.6`` (``γ_1 = 1``) and runs the
        M-step on them (see ``gradmix.mixture.streaming``).  Batches should
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
        stream = self._stream
        shift = None if stream is None else stream.shift
        ex = self._executor(X, sample_weight, reset=stream is None, shift=shift)
        if ex.has_missing:
            raise ValueError("partial_fit does not take missing values (NaN); fit with "
                             "missing='em' does")  # fmt: skip
        if self.prior is not None:
            raise ValueError("partial_fit does not take a prior: its default hyperparameters "
                             "are moments of the whole data; fit does")  # fmt: skip
        if self.acceleration is not None:
            raise ValueError(f"partial_fit is stepwise EM on batches; acceleration="
                             f"{self.acceleration!r} is for fit")  # fmt: skip
        if stream is None:
            given = self._check_parameters(ex)
            if given["noise"] is not None:
                raise ValueError("partial_fit does not take a noise component; fit does")
            self._noise_setup(ex, given)  # forgets an earlier fit's
            if ex.n < self.n_components and given["weights"] is None:
                raise ValueError(
                    "the first batch must hold at least n_components samples "
                    f"({ex.n} < {self.n_components})"
                )
            params = self._start(ex, given, check_random_state(self.random_state))
            stream = Stream.begin(self._model, ex.shift, params)
            self.lower_bounds_ = []
        else:
            params = self._params(stream.shift, ex.dtype)
        params, stats = stream.step(ex, self._family, params, self.reg_covar,
                                    frozenset(self.freeze))  # fmt: skip
        self._stream = stream
        self._set_fitted(params, stream.shift, ex)
        self.lower_bound_ = stats.log_lik / stats.weight
        self.lower_bounds_.append(self.lower_bound_)
        self.n_iter_ = stream.running.t
        self.converged_ = False
        return self
