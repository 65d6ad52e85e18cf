"""MixtureModel: mixtures of any family, the user's own included, on the EM core.

The user writes a log-density in numpy and names its parameters' domains
(:class:`~gradmix.Family`), or picks a built-in family; the M-step is the
family's closed form where it has one and Newton's method on exact AD
derivatives otherwise (:mod:`.family_em`).  Gaussian and Student-t families
are fit by GaussianMixture's and StudentTMixture's own EM, so one API spans
every family.
"""

from __future__ import annotations

import json
import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from gradmix.mixture import family_em, inference, persistence
from gradmix.mixture.acceleration import ACCELERATIONS
from gradmix.mixture.arrays import to_host
from gradmix.mixture.em_estimator import TiedValuesWarning
from gradmix.mixture.executors import Executor, executor_for
from gradmix.mixture.executors.host import HostExecutor
from gradmix.mixture.families import (
    BUILT_IN,
    EllipticalFamily,
    Family,
    MixtureFamily,
    family_for,
)
from gradmix.mixture.families.newton import NEWTON_BUDGET, Layout, block_rows
from gradmix.mixture.family_inference import (
    check_hessian_size,
    family_newton_refine,
    family_standard_errors,
)
from gradmix.mixture.gaussian_mixture import GaussianMixture
from gradmix.mixture.lloyd import kmeans
from gradmix.mixture.mixture_base import (
    InformationCriteria,
    draw_source,
    label_kernel,
    log_max_kernel,
    proba_kernel,
    score_kernel,
)
from gradmix.mixture.ops import logsumexp_rows, responsibilities
from gradmix.mixture.params import Params
from gradmix.mixture.student_t_mixture import StudentTMixture
from gradmix.mixture.summary import format_family_summary
from gradmix.mixture.validation import check_weights

__all__ = ["MixtureModel", "tied_components"]

#: rows of the start's sample (the host M-step of the initial responsibilities)
START_ROWS = 20_000


def _assignable(wlp: np.ndarray) -> np.ndarray:
    """``wlp``, after checking that every row has a component that can produce it."""
    lost = np.all(wlp == -np.inf, axis=1)
    if lost.any():
        raise ValueError(
            f"{int(lost.sum())} row(s) of X have probability 0 under every component (outside "
            "the family's support, or beyond float64's range from every component): their "
            "component is undefined; score_samples gives them -inf"
        )
    return wlp


def tied_components(model: MixtureModel) -> np.ndarray:
    """The components of a fitted family mixture (not a Gaussian or t one) that sit on
    tied values and hold weight, by index: their spread at the floor of a closed-form
    M-step (:meth:`MixtureFamily.concentrated`), or, for a continuous family fit by
    Newton M-steps, their rows one tied value (:func:`family_em.tied_rows`, found when
    the model was fit)."""
    on_data = model.__dict__.get("_tied_rows", False)
    concentrated = model.family_.concentrated(model.params_) | on_data
    return np.flatnonzero(concentrated & (model.weights_ > 0))


def _labels(wlp: np.ndarray) -> np.ndarray:
    return np.argmax(_assignable(wlp), axis=1)


def _log_norm(wlp: np.ndarray) -> np.ndarray:
    return logsumexp_rows(np, wlp)


def _proba(wlp: np.ndarray) -> np.ndarray:
    return responsibilities(np, _assignable(wlp))[0]


def _log_max(wlp: np.ndarray) -> np.ndarray:
    return np.max(wlp, axis=1) - logsumexp_rows(np, wlp)


#: the prediction kernels of MixtureBase and their counterparts on a family's log-densities
_ROW_KERNELS = {label_kernel: _labels, score_kernel: _log_norm, proba_kernel: _proba,
                log_max_kernel: _log_max}  # fmt: skip


FITTED = ("weights_", "converged_", "n_iter_", "lower_bound_", "lower_bounds_",
          "n_features_in_", "feature_names_in_")  # fmt: skip


def _saved_shapes(model: MixtureModel) -> dict[str, tuple[int, ...] | None]:
    K, d = model.n_components, model.n_features_in_
    shapes: dict[str, tuple[int, ...] | None] = {
        "weights_": (K,), "converged_": (), "n_iter_": (), "lower_bound_": (),
        "lower_bounds_": None, "feature_names_in_": (d,)}  # fmt: skip
    family = family_for(model.family)
    for spec in family.specs:
        shapes[f"params_.{spec.name}"] = (K, *spec.resolved(d))
    return shapes


def _check_saved(model: MixtureModel) -> None:
    """A loaded mixture's weights sum to one and its parameters lie in their domains."""
    w = np.asarray(model.weights_)
    if np.any(w < 0) or abs(float(np.sum(w)) - 1.0) > 1e-8:
        raise ValueError("weights_ are not non-negative numbers summing to one")
    family = family_for(model.family)
    model.family_ = family
    for spec in family.specs:
        values = model.params_[spec.name]
        if not all(spec.domain.contains(v) for v in values):
            raise ValueError(f"params_.{spec.name} lies outside the parameter's domain "
                             f"({spec.domain.kind})")  # fmt: skip


def _encode(model: MixtureModel) -> dict[str, Any]:
    """The fitted family as JSON: a built-in's name and arguments, a user family's specs."""
    if "estimator_" in model.__dict__:
        raise TypeError("a MixtureModel of Gaussian or Student-t components is saved as its "
                        "estimator: model.estimator_.save(path)")  # fmt: skip
    family = model.family_
    if isinstance(family, Family):
        specs = [[s.name, list(s.shape), s.domain.kind, s.domain.low, s.domain.high]
                 for s in family.specs]  # fmt: skip
        return {"family": json.dumps({"user": family.describe(), "specs": specs,
                                      "shared": sorted(family.shared)})}  # fmt: skip
    return {"family": json.dumps({"builtin": family.name, **family.config()})}


def _decode(params: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """Constructor parameters from a file's: the family rebuilt (a built-in) or given (a
    user's, whose specs must be the file's)."""
    try:
        recorded = json.loads(params.get("family", ""))
    except (TypeError, ValueError):
        recorded = None
    if not isinstance(recorded, dict):
        raise ValueError("its family is not recorded")
    given = options.get("family")
    if "builtin" in recorded:
        name = recorded["builtin"]
        if name not in BUILT_IN:
            raise ValueError(f"unknown built-in family {name!r}")
        config = {k: v for k, v in recorded.items() if k != "builtin"}
        return {**params, "family": BUILT_IN[name](**config)}
    if not isinstance(given, Family):
        raise ValueError(f"it holds a mixture of the user family {recorded.get('user')!r}, "
                         "whose code is not saved: pass the same gm.Family as family= to "
                         "gm.load")  # fmt: skip
    specs = [[s.name, list(s.shape), s.domain.kind, s.domain.low, s.domain.high]
             for s in given.specs]  # fmt: skip
    if specs != recorded.get("specs") or sorted(given.shared) != recorded.get("shared"):
        raise ValueError("the family given to gm.load has other parameters than the file's "
                         f"({recorded.get('specs')})")  # fmt: skip
    return {**params, "family": given}


@persistence.register(persistence.Schema(FITTED, _saved_shapes, _check_saved,
                                         encode=_encode, decode=_decode))  # fmt: skip
class MixtureModel(InformationCriteria):
    """A finite mixture of any family, fit by EM.

    Parameters
    ----------
    family : MixtureFamily or str
        A :class:`~gradmix.Family` the user writes (a numpy ``logpdf`` and its
        parameters' domains), a built-in family (``gm.families.Poisson()``,
        ...) or a built-in's name: ``"poisson"``, ``"exponential"``,
        ``"gamma"``, ``"lognormal"``, ``"weibull"``, ``"vonmises"``,
        ``"bernoulli"``, ``"categorical"``, ``"gaussian"``, ``"t"``.
    n_components : int, default=1
    tol : float, default=1e-3
        Convergence threshold on the change of the mean log-likelihood.
    max_iter : int, default=100
        EM iterations (passes over the data).
    n_init : int, default=1
    init_params : {"kmeans", "k-means++", "random"}, default="kmeans"
        The start's responsibilities: one k-means run's labels, the nearest
        of k-means++'s seeds, or uniform random ones; the start's parameters
        are the M-step from them on a sample of at most 20 000 rows (a
        family without a closed form: Newton's method there).
    random_state, warm_start, verbose, verbose_interval
        As in GaussianMixture.
    max_memory : int, optional
        Bytes of temporaries per chunk of rows (default 16 MiB; 64 MiB on the
        Newton route, where AD's fixed cost per operation wants larger chunks).
    callback : callable, optional
        ``callback(init, n_iter, lower_bound)`` after every iteration.
    weights_init : array of shape (n_components,), optional
    params_init : dict, optional
        A start: ``{name: values}`` of every parameter, shape
        ``(n_components, *shape)`` (with ``weights_init``, or equal weights).
    m_step : {"auto", "newton"}, default="auto"
        ``"auto"``: a built-in family's closed form (or one-dimensional
        equation) where it has one, Newton's method on exact derivatives
        otherwise; ``"newton"``: Newton's method for every family (what a
        user family gets; for checks and comparisons).
    acceleration : {None, "squarem"}, default=None
        ``"squarem"`` extrapolates EM's path (Varadhan & Roland 2008), as
        GaussianMixture's ``acceleration`` does: after every two EM steps a
        jump along them, in the log-weights and the parameters' unconstrained
        coordinates (every point a mixture of the family), kept only where
        the log-likelihood after it is at least the plain step's, so
        ``lower_bounds_`` never decreases.  ``n_iter_`` counts every pass's
        EM step (a rejected jump's too), so it compares with plain EM's; on
        the Newton route a step from a jump also evaluates the derivatives
        there, one more pass over the data.  Gaussian and Student-t families
        hand it to their estimator.
    refine : {"newton"} or None, default=None
        After EM, trust-region Newton steps on the exact Hessian (by AD) of
        the log-likelihood in the free parameters: quadratic convergence to
        the maximum EM approaches linearly (EM's ``tol`` bounds its change
        per step, not its distance to the maximum), so a loose ``tol`` and
        Newton after it reach the maximum in far fewer passes over the data
        than EM alone at a tight one, each Newton step costing an AD
        Hessian.  Where the maximum lies on a domain's edge (a probability
        going to 1) Newton stops, warns and keeps its best point.  With
        ``max_iter=0``, Newton from the start itself.  Numpy data in memory;
        as GaussianMixture's ``refine`` for Gaussian and Student-t families.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    params_ : dict
        Each parameter's values for all components, shape
        ``(n_components, *shape)``.
    family_ : MixtureFamily
        The family as fit (configured for the data: a categorical's number
        of categories).
    converged_, n_iter_, lower_bound_, lower_bounds_, n_features_in_
        As in GaussianMixture (with ``refine``, the refined value appended to
        ``lower_bounds_``).
    n_refine_iter_, refine_converged_ : int, bool
        Newton's iterations, and whether the gradient vanished (only with
        ``refine="newton"``).

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.poisson([2, 9], size=(300, 2)), rng.poisson([12, 1], size=(200, 2))]
    >>> m = gm.MixtureModel("poisson", 2, random_state=0).fit(X)
    >>> np.round(m.params_["lam"][np.argsort(m.weights_)], 1)
    array([[12.4,  1. ],
           [ 2. ,  8.9]])
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "family": [MixtureFamily, str],
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init_params": [StrOptions({"kmeans", "k-means++", "random"})],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "verbose_interval": [Interval(Integral, 1, None, closed="left")],
        "max_memory": [Interval(Integral, 1, None, closed="left"), None],
        "callback": [callable, None],
        "m_step": [StrOptions({"auto", "newton"})],
        "weights_init": ["array-like", None],
        "params_init": [dict, None],
        "acceleration": [StrOptions(set(ACCELERATIONS)), None],
        "refine": [StrOptions({"newton"}), None],
    }  # fmt: skip

    def __init__(self, family: Any = "poisson", n_components: int = 1, *, tol: float = 1e-3,
                 max_iter: int = 100, n_init: int = 1, init_params: str = "kmeans",
                 random_state: Any = None, warm_start: bool = False, verbose: int = 0,
                 verbose_interval: int = 10, max_memory: int | None = None,
                 callback: Any = None, weights_init: Any = None,
                 params_init: dict[str, Any] | None = None,
                 m_step: str = "auto", acceleration: str | None = None,
                 refine: str | None = None) -> None:  # fmt: skip
        self.family = family
        self.n_components = n_components
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.max_memory = max_memory
        self.callback = callback
        self.weights_init = weights_init
        self.params_init = params_init
        self.m_step = m_step
        self.acceleration = acceleration
        self.refine = refine

    # ------------------------------------------------------------------ the data
    def _family_executor(self, X: Any, sample_weight: Any = None, **kw: Any) -> Executor:
        K = self.n_components
        family = family_for(self.family)
        newton = self.m_step == "newton" or not family.closed_form

        ad = newton and not isinstance(family, EllipticalFamily)

        def bytes_per_row(d: int, itemsize: int) -> int:
            if ad:  # AD keeps each component's traced (n, d) blocks with P + 1 directions
                return NEWTON_BUDGET // block_rows(Layout(family, K, d))
            return (4 * K + 2 * d) * 8  # the (n, K) log-densities, a row's statistics

        d = int(np.shape(X)[1]) if len(np.shape(X)) == 2 else 1
        budget = self.max_memory if self.max_memory is not None else \
            (NEWTON_BUDGET if ad else None)  # fmt: skip
        return executor_for(X, sample_weight, estimator=self, bytes_per_row=bytes_per_row,
                            max_memory=budget, shift=np.zeros(d), **kw)  # fmt: skip

    def _checked(self, ex: Executor) -> None:
        if not ex.numpy_chunks:
            raise ValueError("MixtureModel runs the family's numpy logpdf: pass numpy or Dask "
                             "data (e.g. X.cpu().numpy()); GPU tensors fit Gaussian and "
                             "Student-t mixtures (GaussianMixture, StudentTMixture)")  # fmt: skip

    # ------------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        """Estimate the parameters using X and predict the labels for X.

        Returns
        -------
        labels : array of shape (n_samples,)
        """
        family = family_for(self.family)
        if isinstance(family, EllipticalFamily):
            return self._fit_elliptical(family, X, sample_weight)
        self.__dict__.pop("estimator_", None)
        ex = self._family_executor(X, sample_weight, min_samples=2)
        self._checked(ex)
        if ex.n < self.n_components:
            raise ValueError("Expected n_samples >= n_components but got n_components = "
                             f"{self.n_components}, n_samples = {ex.n}")  # fmt: skip
        warm = self.warm_start and hasattr(self, "converged_")
        if not warm:
            family = family.for_data(ex.take(np.arange(min(ex.n, START_ROWS))))
            family_em.check_support(ex, family)
            self.family_ = family
        layout = Layout(self.family_, self.n_components, ex.d)
        rows = None
        if self.refine == "newton":  # (refused before EM runs, not after)
            check_hessian_size(layout, "refine='newton'")
            rows = inference.numpy_rows(ex)
        random_state = check_random_state(self.random_state)

        def start(init: int) -> family_em.FamilyParams:
            return self._start(ex, layout, random_state)

        def run(init: int, p: family_em.FamilyParams,
                bound: float) -> tuple[family_em.FamilyParams, list[float], bool]:  # fmt: skip
            settings = self._settings(init)
            settings.acceleration = self.acceleration
            return family_em.run_family_em(ex, layout, p, settings, bound,
                                           self.m_step == "newton")  # fmt: skip

        best = self._best_of_starts(start, lambda: self._family_params(), run)
        if rows is not None:  # (from the start itself where max_iter=0)
            best = self._newton(layout, best, *rows)
        self.weights_ = np.asarray(best.weights, dtype=np.float64)
        self.params_ = {n: np.asarray(v, dtype=np.float64) for n, v in best.theta.items()}
        self.__dict__.pop("_tied_rows", None)
        if self.family_.continuous and (self.m_step == "newton" or not self.family_.closed_form):
            self._tied_rows = family_em.tied_rows(ex, layout, best)
        tied = tied_components(self)
        if self.max_iter > 0 and tied.size:
            which = (f"component {tied[0]} of the {self.family_.describe()} fit sits" if
                     tied.size == 1 else f"components {', '.join(map(str, tied))} of the "
                     f"{self.family_.describe()} fit sit")  # fmt: skip
            warnings.warn(
                f"{which} on tied values, where the density grows without bound as the "
                "spread shrinks (it ends at the least spread the statistics resolve, or "
                "wherever the tolerance stops EM shrinking it), so the likelihood is large "
                "for the wrong reason. Fewer components or another "
                "family may suit the data; select_model leaves such fits out.",
                TiedValuesWarning,
                stacklevel=4,  # the caller of fit (through scikit-learn's fit context)
            )
        return self._rows(ex, layout, best, _labels, None, np.int64)

    def _newton(self, layout: Layout, params: family_em.FamilyParams, X: np.ndarray,
                w: np.ndarray | None) -> family_em.FamilyParams:  # fmt: skip
        """Trust-region Newton on the exact Hessian from EM's result."""
        self.n_refine_iter_, self.refine_converged_ = 0, False
        if np.any(params.weights <= 0):
            warnings.warn(
                "refine='newton' moves the weights' logits; a component with no "
                "weight has none, so EM's result is kept",
                ConvergenceWarning,
                stacklevel=5,
            )  # (the caller of fit)
            return params
        w = np.ones(len(X)) if w is None else w
        weights, theta, lower_bound, self.n_refine_iter_, self.refine_converged_ = \
            family_newton_refine(layout, params.weights, params.theta, X, w)  # fmt: skip
        self.lower_bound_ = lower_bound
        self.lower_bounds_ = [*self.lower_bounds_, lower_bound]
        if not self.refine_converged_:
            warnings.warn("Newton refinement did not reach a stationary point; the result is "
                          "the best point it found.", ConvergenceWarning, stacklevel=5)  # fmt: skip
        return family_em.FamilyParams(weights, theta)

    def _given_start(self, layout: Layout) -> family_em.FamilyParams | None:
        """The start ``params_init`` and ``weights_init`` give, checked, or None."""
        K = self.n_components
        if self.params_init is None:
            if self.weights_init is not None:
                raise ValueError("weights_init needs params_init (a start of every parameter)")
            return None
        missing = set(layout.shapes) - set(self.params_init)
        extra = set(self.params_init) - set(layout.shapes)
        if missing or extra:
            raise ValueError(f"params_init must give exactly the family's parameters "
                             f"{sorted(layout.shapes)}; got "
                             f"{sorted(self.params_init)}")  # fmt: skip
        theta = {}
        for name, shape in layout.shapes.items():
            value = np.asarray(self.params_init[name], dtype=np.float64)
            if value.shape != (K, *shape):
                raise ValueError(f"params_init[{name!r}] should have the shape {(K, *shape)}, "
                                 f"but got {value.shape}")  # fmt: skip
            if not all(layout.domains[name].contains(v) for v in value):
                raise ValueError(f"params_init[{name!r}] lies outside the parameter's domain "
                                 f"({layout.domains[name].kind})")  # fmt: skip
            theta[name] = value
        weights = np.full(K, 1.0 / K) if self.weights_init is None else \
            check_weights(self.weights_init, K).astype(np.float64)  # fmt: skip
        return family_em.FamilyParams(weights, theta)

    def _start(self, ex: Executor, layout: Layout, random_state: Any) -> family_em.FamilyParams:
        """The start: ``params_init``, or responsibilities on a sample and the M-step from
        them there."""
        K = self.n_components
        given = self._given_start(layout)
        if given is not None:
            family_em.check_logpdf(layout, ex.take(np.arange(min(ex.n, 500))), given.theta)
            return given
        idx = np.arange(ex.n) if ex.n <= START_ROWS else \
            np.sort(random_state.choice(ex.n, START_ROWS, replace=False))  # fmt: skip
        X = ex.take(idx).astype(np.float64)
        w = ex.weights_at(idx).astype(np.float64)
        if self.init_params == "random":
            resp = random_state.uniform(size=(len(idx), K))
            resp /= resp.sum(axis=1, keepdims=True)
        else:  # k-means on the sample: no copy of the whole data
            # (host rows already checked: validated again, they would lose the fit's
            # feature names, which scikit-learn warns about)
            rows = HostExecutor(X, None if ex.unit_weights else w, len(X), np.zeros(ex.d))
            result = kmeans(rows, K, init="k-means++", n_init=1, random_state=random_state,
                            max_iter=300 if self.init_params == "kmeans" else 1)  # fmt: skip
            labels = rows.to_host(result.labels).astype(np.int64)
            resp = np.zeros((len(idx), K))
            resp[np.arange(len(idx)), labels] = 1.0
        # the logpdf is checked (shape, values, derivatives) before Newton's method runs on it
        family_em.check_logpdf(layout, X[: min(len(X), 500)], layout.natural(np.zeros(layout.size)))
        return family_em.initial_family_params(layout, X, w, resp, self.m_step == "newton")

    def _family_params(self) -> family_em.FamilyParams:
        return family_em.FamilyParams(np.asarray(self.weights_, dtype=np.float64),
                                      {n: np.asarray(v, np.float64) for n, v in
                                       self.params_.items()})  # fmt: skip

    def _fit_elliptical(self, family: EllipticalFamily, X: Any, sample_weight: Any) -> Any:
        """Gaussian and Student-t families: their own estimator's EM."""
        cls = StudentTMixture if family.estimator == "t" else GaussianMixture
        options = dict(family.options)
        for name in ("acceleration", "refine"):  # the model's, unless the family sets it
            mine = getattr(self, name)
            theirs = options.setdefault(name, mine)
            if mine is not None and theirs != mine:
                raise ValueError(f"{name}={mine!r} and the family's {name}={theirs!r} disagree")
        estimator = cls(self.n_components)
        estimator.set_params(tol=self.tol, max_iter=self.max_iter, n_init=self.n_init,
                             random_state=self.random_state, verbose=self.verbose,
                             verbose_interval=self.verbose_interval, max_memory=self.max_memory,
                             callback=self.callback, init_params=self.init_params,
                             **options)  # fmt: skip
        labels = estimator.fit_predict(X, sample_weight=sample_weight)
        self.estimator_ = estimator
        self.family_ = family
        self.n_features_in_ = estimator.n_features_in_
        for name in ("converged_", "n_iter_", "lower_bound_", "lower_bounds_",
                     "n_refine_iter_", "refine_converged_"):  # fmt: skip
            if hasattr(estimator, name):  # (the last two with refine alone)
                setattr(self, name, getattr(estimator, name))
        unit = estimator._model
        self.weights_ = to_host(estimator.weights_)
        self.params_ = {"mean": to_host(estimator.means_),
                        "covariance": np.asarray(unit.to_matrices(
                            unit.from_public(to_host(estimator.covariances_)),
                            self.n_components, self.n_features_in_))}  # fmt: skip
        if family.estimator == "t":
            self.params_["dof"] = np.asarray(estimator.degrees_of_freedom_)
        return labels

    # ------------------------------------------------------------------ prediction
    def _params(self, shift: np.ndarray, dtype: Any) -> Params:
        raise TypeError("a MixtureModel has no Gaussian parameters: its parameters are params_")

    def _rows(self, ex: Executor, layout: Layout, params: family_em.FamilyParams, kernel: Any,
              cols: int | None, dtype: Any = None) -> Any:  # fmt: skip
        return family_em.per_row(ex, layout, params, kernel, cols, dtype)

    def _per_row(self, X: Any, kernel: Any, cols: int | None, dtype: Any = None) -> Any:
        check_is_fitted(self)
        if "estimator_" in self.__dict__:
            return self.estimator_._per_row(X, kernel, cols, dtype)
        ex = self._family_executor(X, reset=False, summarise=False)
        self._checked(ex)
        layout = Layout(self.family_, self.n_components, ex.d)
        return self._rows(ex, layout, self._family_params(), _ROW_KERNELS[kernel], cols, dtype)

    def sample(self, n_samples: int = 1, *,
               random_state: Any = None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """Draw samples from the fitted mixture.

        Parameters
        ----------
        n_samples : int, default=1
        random_state : int, Generator, RandomState or None, optional
            The draws' source; default the estimator's ``random_state``.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)

        Raises
        ------
        ValueError
            For a family that cannot sample (a user family without ``sample=``).
        """
        check_is_fitted(self)
        if "estimator_" in self.__dict__:
            return self.estimator_.sample(n_samples, random_state=random_state)
        if n_samples < 1:
            raise ValueError(f"Invalid value for 'n_samples': {n_samples} . The sampling "
                             "requires at least one sample.")  # fmt: skip
        rng = draw_source(self.random_state if random_state is None else random_state)
        counts = rng.multinomial(n_samples, self.weights_)
        family = self.family_
        parts = [family.draw(rng, int(c), **{n: v[k] for n, v in self.params_.items()})
                 for k, c in enumerate(counts)]  # fmt: skip
        y = np.concatenate([np.full(c, k, dtype=np.int64) for k, c in enumerate(counts)])
        return np.vstack(parts), y

    def _format_summary(self, X: Any, feature_names: Any) -> str:
        # (a Gaussian or t family's: its estimator's table)
        if "estimator_" in self.__dict__:
            return str(self.estimator_.summary(X, feature_names))
        return format_family_summary(self, X, feature_names)

    # ------------------------------------------------------------------ criteria
    def _n_parameters(self) -> int:
        """Free parameters: K - 1 weights and each component's (shared ones once)."""
        check_is_fitted(self)
        if "estimator_" in self.__dict__:
            return int(self.estimator_.n_parameters_)
        layout = Layout(self.family_, self.n_components, self.n_features_in_)
        return int(self.n_components - 1 + layout.size)

    # ------------------------------------------------------------------ inference
    def standard_errors(self, X: Any, sample_weight: Any = None) -> dict[str, np.ndarray]:
        """Standard errors from the exact observed information of ``X``'s likelihood.

        The negative Hessian (by AD) of the log-likelihood in the free
        parameters (softmax logits, each parameter's unconstrained form) is
        inverted and mapped to the natural parameters by the delta method.
        Meaningful at a maximum of the likelihood of ``X`` (fit with a small
        ``tol``).

        Returns
        -------
        dict
            ``"weights"`` (K,) and each parameter's errors, shaped like
            ``params_[name]``.
        """
        check_is_fitted(self)
        if "estimator_" in self.__dict__:
            errors = self.estimator_.standard_errors(X, sample_weight)
            return {"weights": errors["weights"], "mean": errors["means"],
                    "covariance": errors["covariances"]}  # fmt: skip
        ex = self._family_executor(X, sample_weight, reset=False)
        if not ex.in_memory_numpy:
            raise ValueError("standard_errors differentiate the likelihood with gradmix's numpy "
                             "AD: pass numpy data")  # fmt: skip
        idx = np.arange(ex.n)
        rows, w = ex.take(idx).astype(np.float64), ex.weights_at(idx).astype(np.float64)
        layout = Layout(self.family_, self.n_components, ex.d)
        return family_standard_errors(layout, self.weights_, self.params_, rows, w)

    def confidence_intervals(
        self, X: Any, level: float = 0.95, sample_weight: Any = None
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Wald intervals ``estimate ± z·se`` for the weights and every parameter."""
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must lie in (0, 1), got {level}")
        from scipy.stats import norm

        se = self.standard_errors(X, sample_weight)
        z = float(norm.ppf(0.5 + level / 2))
        estimates = {"weights": self.weights_, **self.params_}
        return {n: (np.asarray(estimates[n]) - z * e, np.asarray(estimates[n]) + z * e)
                for n, e in se.items()}  # fmt: skip
