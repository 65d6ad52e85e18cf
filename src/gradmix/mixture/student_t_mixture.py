"""StudentTMixture: mixtures of multivariate Student-t distributions, on the same EM core.

Every one of mclust's fourteen scale models (and scikit-learn's four names)
with free, shared or fixed degrees of freedom (R's ``teigen``), fit by the
ECM of Peel & McLachlan (2000) and Andrews & McNicholas (2012): the
E-step adds each row's expected latent scale, the covariance unit's own
M-step fits the scale matrices from the scale-weighted statistics, and the
degrees of freedom solve their one-dimensional equation by Newton's method
with AD derivatives (:mod:`gradmix.mixture.components.student_t`).  The
estimator is GaussianMixture's (:class:`~.em_estimator.EMMixtureBase`):
starts, ``n_init``, missing values, noise, GPU and Dask data, saving, model
selection and standard errors work the same way.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

import numpy as np
from sklearn.mixture import GaussianMixture as _SklearnGMM
from sklearn.utils._param_validation import Hidden, Interval, StrOptions

from gradmix.mixture import persistence
from gradmix.mixture.acceleration import ACCELERATIONS
from gradmix.mixture.arrays import to_host
from gradmix.mixture.components import DOF_BOUNDS, ComponentFamily, StudentT
from gradmix.mixture.components.student_t import DOF_START
from gradmix.mixture.covariance import DEFAULT_COVARIANCE, MODELS, SKLEARN_NAMES
from gradmix.mixture.em_estimator import EMMixtureBase
from gradmix.mixture.executors import Executor
from gradmix.mixture.gaussian_mixture import EXTRA_CONSTRAINTS
from gradmix.mixture.mixture_base import scale_kernel
from gradmix.mixture.params import Params
from gradmix.mixture.saved import FITTED, OPTIONAL, check_saved, saved_shapes

__all__ = ["StudentTMixture"]


def _check_saved_t(model: StudentTMixture) -> None:
    check_saved(model)
    if getattr(model, "degrees_of_freedom_", None) is None:
        raise ValueError("a Student-t mixture's file has no degrees_of_freedom_")


@persistence.register(persistence.Schema(FITTED, saved_shapes, _check_saved_t,
                                         OPTIONAL - {"degrees_of_freedom_"}))  # fmt: skip
class StudentTMixture(EMMixtureBase):
    """Mixture of multivariate Student-t distributions fit by ECM.

    Each component is ``t_ν(μ_k, Σ_k)``: a Gaussian ``N(μ_k, Σ_k/τ)`` with a
    latent scale ``τ ~ Gamma(ν_k/2, ν_k/2)``, so its tails are heavier the
    smaller ν_k, and outliers pull its location and scale far less than a
    Gaussian's.  ``Σ_k`` is the *scale* matrix (the covariance is
    ``ν/(ν-2) Σ_k`` for ν > 2); it follows any of mclust's fourteen models.
    As ν → ∞ the fit becomes GaussianMixture's.

    Parameters
    ----------
    n_components : int, default=1
    covariance_type : str, default="full"
        The scale matrices' model: scikit-learn's four names or mclust's
        fourteen (see :class:`GaussianMixture`).
    dof : {"free", "shared"} or float, default="free"
        Degrees of freedom: one per component (teigen's "dfunconstrained"),
        one for all ("dfconstrained"), or fixed at a positive number.
    dof_init : float, default=50
        Where free or shared degrees of freedom start (teigen's ``dfstart``).
    dof_bounds : (float, float), default=(1, 200)
        Where free or shared degrees of freedom are kept (teigen's upper
        bound of 200; below 1 a component's mean does not exist).  The
        update is the constrained maximum, so the likelihood still never
        decreases.
    init_params : str, default="trimmed-kmeans"
        As in :class:`GaussianMixture`, and by default trimmed k-means: the
        components start from the k-means clusters of all rows but the 10 %
        farthest from every centre (Cuesta-Albertos et al. 1997), so that
        scattered outliers do not claim a component of their own before the
        heavy tails can take them (k-means' start often does).
    tol, reg_covar, max_iter, n_init, weights_init, means_init,
    precisions_init, random_state, warm_start, verbose, verbose_interval,
    freeze, max_memory, callback, solver, refine, missing, noise, hypervolume
        As in :class:`GaussianMixture` (the precisions are those of the scale
        matrices).  With ``solver="gradient"`` or ``refine="newton"`` the
        degrees of freedom move freely in log ν (no bounds).
    acceleration : {None, "squarem"}, default=None
        As in :class:`GaussianMixture`: SQUAREM's jumps move the free or shared
        degrees of freedom too (in log ν, then kept within ``dof_bounds``).
        The ECM steps of Student-t mixtures are slow where components overlap
        or ν is large, and this is where SQUAREM pays most: on Old Faithful,
        ``dof="free"``, K = 2, 2 126 E-steps to ``tol=1e-8`` become 159.  At
        the default ``tol=1e-3`` fits stop within a few dozen steps either
        way, and it seldom pays.

    Attributes
    ----------
    weights_, means_ : ndarray
        As in GaussianMixture (``means_`` are the components' locations).
    covariances_, precisions_, precisions_cholesky_ : ndarray
        The scale matrices, their inverses and factors, in GaussianMixture's
        shapes.
    degrees_of_freedom_ : ndarray of shape (n_components,)
        ν_k (equal entries with ``dof="shared"`` or a number).
    outlier_scores_ : ndarray of shape (n_samples,)
        The training rows' expected latent scale Σ_k r_ik E[τ | x_i, k]
        (:meth:`expected_scales`): about 1 for typical rows, small for
        outliers, 0 for rows the noise component takes.  Not saved with the
        model.
    covariance_factors_, converged_, n_iter_, lower_bound_, lower_bounds_,
    noise_weight_, hypervolume_, n_features_in_, feature_names_in_
        As in GaussianMixture.

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.standard_t(3, size=(500, 2)), rng.standard_t(3, size=(500, 2)) + 8]
    >>> t = gm.StudentTMixture(2, random_state=0).fit(X)
    >>> np.sort(t.means_[:, 0]).round().astype(int)
    array([0, 8])
    >>> bool(np.all(t.degrees_of_freedom_ < 6))
    True
    """

    _parameter_constraints: dict[str, list[Any]] = {
        **_SklearnGMM._parameter_constraints,
        "init_params": [*_SklearnGMM._parameter_constraints["init_params"],
                        Hidden(StrOptions({"hc", "trimmed-kmeans"}))],
        "covariance_type": [StrOptions(set(SKLEARN_NAMES)),
                            Hidden(StrOptions(set(MODELS) - set(SKLEARN_NAMES)))],
        **EXTRA_CONSTRAINTS,
        "dof": [StrOptions({"free", "shared"}), Interval(Real, 0, None, closed="neither")],
        "dof_init": [Interval(Real, 0, None, closed="neither")],
        "dof_bounds": [tuple, list],
        "acceleration": [StrOptions(set(ACCELERATIONS)), None],
    }  # fmt: skip

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = DEFAULT_COVARIANCE,
        dof: str | float = "free",
        dof_init: float = DOF_START,
        dof_bounds: tuple[float, float] = DOF_BOUNDS,
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "trimmed-kmeans",
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
        acceleration: str | None = None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.dof = dof
        self.dof_init = dof_init
        self.dof_bounds = dof_bounds
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
        self.acceleration = acceleration

    # ------------------------------------------------------------------ the family
    def _bounds(self) -> tuple[float, float]:
        bounds = self.dof_bounds
        try:
            lo, hi = (float(b) for b in bounds)
        except (TypeError, ValueError):
            raise ValueError(f"dof_bounds must be two numbers (low, high), got {bounds!r}") \
                from None  # fmt: skip
        if not (0 < lo < hi < math.inf):
            raise ValueError(f"dof_bounds must satisfy 0 < low < high < inf, got {bounds!r}")
        return lo, hi

    @property
    def _family(self) -> ComponentFamily:
        dof: str | float = self.dof if isinstance(self.dof, str) else float(self.dof)
        return StudentT(self._model, dof, self._bounds(), float(self.dof_init))

    def _check_parameters(self, ex: Executor) -> dict[str, Any]:
        lo, hi = self._bounds()
        if isinstance(self.dof, str) and not lo <= self.dof_init <= hi:
            raise ValueError(f"dof_init={self.dof_init} lies outside dof_bounds=({lo}, {hi})")
        return super()._check_parameters(ex)

    def _shape_parameters(self) -> np.ndarray | None:
        return np.asarray(to_host(self.degrees_of_freedom_), dtype=np.float64)

    def _set_fitted(self, p: Params, shift: np.ndarray, ex: Executor) -> None:
        super()._set_fitted(p, shift, ex)
        assert p.dof is not None
        self.degrees_of_freedom_ = np.asarray(p.dof, dtype=np.float64).copy()

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        """Estimate model parameters using X and predict the labels for X.

        Also sets ``outlier_scores_``.

        Returns
        -------
        labels : array of shape (n_samples,)
            In ``X``'s kind; -1 for rows the noise component explains best.
        """
        labels = super().fit_predict(X, y, sample_weight=sample_weight)
        self.outlier_scores_ = self.expected_scales(X)
        return labels

    def expected_scales(self, X: Any) -> Any:
        """Each row's expected latent scale Σ_k r_ik E[τ | x_i, k], shape (n_samples,).

        ``E[τ | x, k] = (ν_k + p)/(ν_k + δ_k(x))`` with δ_k the squared
        Mahalanobis distance under the scale matrix and p the row's observed
        dimension: about 1 for typical rows, small for outliers (their weight
        in the fit), 0 for rows the noise component takes.  In ``X``'s kind.
        """
        return self._per_row(X, scale_kernel, None)
