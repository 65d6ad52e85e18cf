"""What all mixture estimators share: data on the seam, prediction, sampling, saving.

:class:`~gradmix.mixture.GaussianMixture`,
:class:`~gradmix.mixture.StudentTMixture` and
:class:`~gradmix.mixture.BayesianGaussianMixture` differ in how they fit, in
their component family and in which per-component terms their E-step adds
to the log-densities; once fitted, all predict through the family's
log-density kernel with the parameters :meth:`MixtureBase._params` gives,
exactly as scikit-learn's ``BaseMixture`` serves both of its estimators.
A uniform noise component, where a model has one, is the last column of
``predict_proba`` and the label -1.
"""

from __future__ import annotations

import math
import warnings
from abc import ABCMeta, abstractmethod
from collections.abc import Callable
from pathlib import Path
from time import time
from typing import Any, Self

import numpy as np
from array_api_compat import device
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from gradmix.mixture import persistence
from gradmix.mixture.arrays import to_host
from gradmix.mixture.components import ComponentFamily, Gaussian, PassCoefficients
from gradmix.mixture.covariance import CollapsedComponentError, CovarianceModel, get_model
from gradmix.mixture.em import EMSettings, per_row
from gradmix.mixture.executors import Chunk, Executor, executor_for
from gradmix.mixture.maximisation import check_magnitude
from gradmix.mixture.ops import (
    impossible_as_minus_inf,
    is_host,
    logsumexp_rows,
    responsibilities,
    responsibilities_with,
)
from gradmix.mixture.params import Params
from gradmix.mixture.summary import format_summary

__all__ = ["InformationCriteria", "MixtureBase", "label_kernel", "log_max_kernel",
           "log_prob_kernel", "proba_kernel", "scale_kernel", "score_kernel"]  # fmt: skip


def log_prob_kernel(chunk: Chunk, family: ComponentFamily, co: PassCoefficients) -> Any:
    """log π_k + log f_k(x), shape (n, K) — (n, K + 1) with the noise component's
    log(π_noise / V) last — impossible entries -inf."""
    xp = chunk.xp
    wlp = family.log_prob(xp, chunk.X, co)
    if co.noise is not None:
        column = xp.full((wlp.shape[0], 1), co.noise, dtype=wlp.dtype, device=device(wlp))
        wlp = xp.concat([wlp, column], axis=1)
    return impossible_as_minus_inf(xp, wlp)


def assignable_log_prob(chunk: Chunk, family: ComponentFamily, co: PassCoefficients) -> Any:
    """:func:`log_prob_kernel`, after checking that every row has a finite entry.

    A row far enough from every component (beyond about 1e154 in the data's
    units) has squared Mahalanobis distances beyond float64's range, so all its
    log-densities are -inf: its responsibilities would be NaN and its label the
    first component's, so it raises instead.
    """
    xp = chunk.xp
    wlp = log_prob_kernel(chunk, family, co)
    lost = xp.all(wlp == -xp.inf, axis=1)
    if bool(xp.any(lost)):
        raise ValueError(
            f"{int(xp.sum(xp.astype(lost, xp.int64)))} row(s) of X lie so far from every "
            "component that their log-densities overflow float64 (squared Mahalanobis "
            "distances beyond 1e308): their component is undefined; rescale X"
        )
    return wlp


def label_kernel(chunk: Chunk, family: ComponentFamily, co: PassCoefficients) -> Any:
    """The most probable component of each row, shape (n,); -1 for the noise component."""
    xp = chunk.xp
    wlp = assignable_log_prob(chunk, family, co)
    if is_host(xp):  # numpy's argmax along rows is 4x faster than across columns
        wlp = np.ascontiguousarray(wlp)
    labels = xp.argmax(wlp, axis=1)
    if co.noise is not None:
        noise = xp.asarray(-1, dtype=labels.dtype, device=device(labels))
        labels = xp.where(labels == co.unit.K, noise, labels)
    return labels


def score_kernel(chunk: Chunk, family: ComponentFamily, co: PassCoefficients) -> Any:
    """log Σ_k exp(log π_k + log f_k(x)) of each row, shape (n,)."""
    return logsumexp_rows(chunk.xp, log_prob_kernel(chunk, family, co))


def proba_kernel(chunk: Chunk, family: ComponentFamily, co: PassCoefficients) -> Any:
    """Responsibilities, shape (n, K), or (n, K + 1) with the noise component last."""
    return responsibilities(chunk.xp, assignable_log_prob(chunk, family, co))[0]


def log_max_kernel(chunk: Chunk, family: ComponentFamily, co: PassCoefficients) -> Any:
    """log max_k r_ik of every row: the classification part of ICL."""
    xp = chunk.xp
    wlp = log_prob_kernel(chunk, family, co)
    return xp.max(wlp, axis=1) - logsumexp_rows(xp, wlp)


def scale_kernel(chunk: Chunk, family: ComponentFamily, co: PassCoefficients) -> Any:
    """Σ_k r_k E[τ | x, k] of each row, shape (n,): the expected latent scale (1 for
    Gaussian components, small for outliers of Student-t ones; the noise component
    contributes 0)."""
    xp = chunk.xp
    rows = family.row_terms(xp, chunk.X, co)
    state = rows.radial
    resp, _, _ = responsibilities_with(xp, impossible_as_minus_inf(xp, rows.wlp), co.noise)
    scales = family.scales(xp, state, co.radial)
    if scales is None:
        return xp.sum(resp, axis=1)
    return xp.sum(resp * scales[0], axis=1)


def draw_source(random_state: Any) -> np.random.RandomState:
    """The ``RandomState`` that ``sample`` draws from: scikit-learn's
    ``check_random_state``, and a numpy ``Generator`` seeds a fresh one."""
    if isinstance(random_state, np.random.Generator):
        return np.random.RandomState(int(random_state.integers(2**32)))
    return check_random_state(random_state)


class MixtureBase(DensityMixin, BaseEstimator, metaclass=ABCMeta):
    """The shared half of the mixture estimators (not used directly).

    Subclasses define ``_params(shift, dtype)``: the fitted parameters as the
    E-step's :class:`~gradmix.mixture.em.Params`, centred by ``shift``.
    """

    n_components: int
    covariance_type: str
    max_memory: int | None
    random_state: Any
    verbose: int
    verbose_interval: int
    n_init: int
    max_iter: int
    tol: float | str  # "auto" in GaussianMixture: see its _tolerance
    reg_covar: float
    warm_start: bool
    callback: Any
    lower_bound_: float

    @property
    def _model(self) -> CovarianceModel:
        return get_model(self.covariance_type)

    @property
    def _family(self) -> ComponentFamily:
        """The component family (Gaussian unless a subclass says otherwise)."""
        return Gaussian(self._model)

    @abstractmethod
    def _params(self, shift: np.ndarray, dtype: Any) -> Params:
        """The fitted parameters as the E-step's, centred by ``shift``, in ``dtype``."""

    def _executor(self, X: Any, sample_weight: Any = None, **kw: Any) -> Executor:
        K, model = self.n_components, self._model
        kw.setdefault("allow_missing", getattr(self, "missing", "error") == "em")

        def bytes_per_row(d: int, itemsize: int) -> int:
            return model.temporaries_per_row(K, d) * itemsize

        return executor_for(X, sample_weight, estimator=self, bytes_per_row=bytes_per_row,
                            max_memory=self.max_memory, **kw)  # fmt: skip

    def _fit_executor(self, X: Any, sample_weight: Any) -> Executor:
        ex = self._executor(X, sample_weight, min_samples=2)
        # rows with no observed value (missing="em") carry no information
        usable = ex.n - (ex.observed.empty_rows if ex.observed is not None else 0)
        if usable < max(self.n_components, 2):
            raise ValueError(
                "Expected n_samples >= n_components "
                f"but got n_components = {self.n_components}, n_samples = {usable}"
                + (
                    f" (of {ex.n} rows, {ex.n - usable} have no observed value)"
                    if usable < ex.n
                    else ""
                )  # fmt: skip
            )
        check_magnitude(ex.var_floor)  # the M-steps read var_floor: no extra pass
        if self.warm_start and hasattr(self, "converged_"):
            self._check_warm_state(ex.d)
        return ex

    def _check_warm_state(self, n_features: int) -> None:
        """A warm start continues from the fitted state: the data and the settings must
        fit it (scikit-learn fails with a broadcasting error here)."""
        K, d = np.shape(self.means_)
        if n_features != d:
            raise ValueError(
                f"warm_start=True continues a fit on {d} features, but X has {n_features}: "
                "refit with warm_start=False"
            )
        if K != self.n_components:
            raise ValueError(
                f"warm_start=True continues a fit of {K} components, but n_components = "
                f"{self.n_components}: refit with warm_start=False"
            )
        expected = self._model.public_shape(K, n_features)
        if np.shape(self.covariances_) != expected:
            raise ValueError(
                f"warm_start=True continues a fit whose covariances_ have shape "
                f"{np.shape(self.covariances_)}, but covariance_type="
                f"{self.covariance_type!r} needs {expected}: refit with warm_start=False"
            )

    def _set_covariances(self, p: Params, shift: np.ndarray, ex: Executor) -> None:
        """``means_`` and the covariance attributes from host parameters, in the data's
        kind and the model's layout."""
        model = self._model
        K, d = p.means.shape
        dtype = p.means.dtype

        def public(compact: Any) -> Any:
            return ex.output(np.asarray(model.public(compact, K, d), dtype=dtype))

        self.means_ = ex.output(p.means + shift.astype(dtype))
        self.covariances_ = public(p.covariances)
        self.precisions_cholesky_ = public(p.precisions_cholesky)
        self.precisions_ = public(model.precisions(p.precisions_cholesky))

    # ----------------------------------------------------------------- fitting
    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> Self:
        """Estimate the model's parameters from ``X`` (its ``fit_predict``, without labels).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            numpy, a Dask array, or (Gaussian and Student-t mixtures) any array-API
            array such as GPU tensors.
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            (gradmix) Non-negative weights; integer weights fit exactly like
            repeated rows.

        Returns
        -------
        self
        """
        self.fit_predict(X, y, sample_weight=sample_weight)
        return self

    @abstractmethod
    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        """Estimate the model's parameters from ``X`` and predict its labels."""

    def _best_of_starts(
        self,
        start: Callable[[int], Any],
        warm: Callable[[], Any],
        run: Callable[[int, Any, float], tuple[Any, list[float], bool]],
        n_starts: int | None = None,
        identity: Callable[[Any], bytes] | None = None,
    ) -> Any:
        """scikit-learn's loop over ``n_init`` starts (``n_starts`` when given), or one
        warm start.

        ``start(init)`` gives a start, ``warm()`` the fitted state to continue from,
        ``run(init, state, bound)`` iterates from a state and returns the final state,
        the bounds of its iterations and whether they converged.  A start whose
        ``identity`` equals an earlier one's is skipped: iterating from it would repeat
        that run (k-means starts from different seeds often find one partition).
        Returns the state of the best run; sets ``converged_``, ``n_iter_``, ``lower_bound_`` and
        ``lower_bounds_``, and warns as scikit-learn does when that run did not
        converge.
        """
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        best: Any = None
        best_bounds: list[float] = []
        best_n_iter, max_lower_bound = 0, -np.inf
        self.converged_ = False
        n_starts = (self.n_init if n_starts is None else n_starts) if do_init else 1
        collapsed: list[CollapsedComponentError] = []
        seen: set[bytes] = set()
        for init in range(n_starts):
            self._print_verbose_msg_init_beg(init)
            try:
                state = start(init) if do_init else warm()
                if identity is not None and do_init:
                    key = identity(state)
                    if key in seen:
                        continue
                    seen.add(key)
                if self.max_iter == 0:
                    best, best_n_iter = state, 0
                    continue
                bound = -np.inf if do_init else float(self.lower_bound_)
                state, current, converged = run(init, state, bound)
            except CollapsedComponentError as exc:
                if n_starts == 1:
                    raise
                collapsed.append(exc)  # one start's bad luck: the others may be fine
                continue
            self._print_verbose_msg_init_end(current[-1], converged)
            if current[-1] > max_lower_bound or max_lower_bound == -np.inf:
                max_lower_bound = current[-1]
                best, best_n_iter, best_bounds = state, len(current), current
                self.converged_ = converged
        if collapsed:
            if len(collapsed) == n_starts:
                raise CollapsedComponentError(
                    f"every one of the {n_starts} starts collapsed: {collapsed[-1]}"
                ) from collapsed[-1]
            warnings.warn(
                f"{len(collapsed)} of {n_starts} starts collapsed (a component's covariance "
                "stopped being positive definite) and were dropped; the fit is the best of "
                f"the other {n_starts - len(collapsed)}.",
                UserWarning,
                stacklevel=3,
            )
        if not self.converged_ and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. "
                "Try different init parameters, or increase max_iter, "
                "tol, or check for degenerate data.",
                ConvergenceWarning,
                stacklevel=3,
            )
        self.n_iter_, self.lower_bound_, self.lower_bounds_ = \
            best_n_iter, max_lower_bound, best_bounds  # fmt: skip
        return best

    def _tolerance(self) -> float:
        """The convergence threshold on the change of the mean log-likelihood (or bound)."""
        return float(self.tol)

    def _settings(self, init: int, freeze: frozenset[str] = frozenset()) -> EMSettings:
        """The iterations' settings; verbose messages and the callback after each."""

        def on_iteration(n_iter: int, lower_bound: float, change: float) -> None:
            self._print_verbose_msg_iter_end(n_iter, change)
            if self.callback is not None:
                self.callback(init, n_iter, lower_bound)

        return EMSettings(getattr(self, "reg_covar", 0.0), self._tolerance(), self.max_iter, freeze,
                          on_iteration)  # fmt: skip

    # -------------------------------------------------------------- prediction
    def _predicting(self, X: Any, **kw: Any) -> tuple[Executor, Params]:
        """Test data and the fitted parameters, both centred about the means' centre."""
        check_is_fitted(self)
        shift = to_host(self.means_).mean(axis=0)
        ex = self._executor(X, reset=False, shift=shift, summarise=False, **kw)
        return ex, self._params(shift, ex.dtype)

    def _rows_of(self, ex: Executor, params: Params, kernel: Any, cols: int | None,
                 dtype: Any = None) -> Any:  # fmt: skip
        """``kernel`` of every row of ``ex`` under ``params`` (estimators with missing
        values route rows with NaN elsewhere)."""
        return per_row(ex, self._family, params, kernel, cols, dtype)

    def _per_row(self, X: Any, kernel: Any, cols: int | None, dtype: Any = None) -> Any:
        ex, params = self._predicting(X)
        return self._rows_of(ex, params, kernel, cols, dtype)

    @property
    def _has_noise(self) -> bool:
        return getattr(self, "noise_weight_", None) is not None

    def score_samples(self, X: Any) -> Any:
        """Log-likelihood of each sample, shape (n_samples,), in ``X``'s kind."""
        return self._per_row(X, score_kernel, None)

    def score(self, X: Any, y: Any = None) -> float:
        """Mean log-likelihood of ``X`` under the model."""
        return float(np.mean(to_host(self.score_samples(X))))

    def predict(self, X: Any) -> Any:
        """Most probable component of each sample, shape (n_samples,) (-1: the noise
        component, for a model with one)."""
        return self._per_row(X, label_kernel, None, np.int64)

    def predict_proba(self, X: Any) -> Any:
        """Responsibilities, shape (n_samples, n_components), or (n_samples,
        n_components + 1) with the noise component's last; rows sum to one."""
        return self._per_row(X, proba_kernel, self.n_components + self._has_noise)

    def sample(self, n_samples: int = 1, *,
               random_state: Any = None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """Draw samples from the fitted mixture.

        Parameters
        ----------
        n_samples : int, default=1
        random_state : int, Generator, RandomState or None, optional
            (gradmix) The draws' source (``gradmix.mixture.seeding.draw_source``); default the
            estimator's ``random_state``, as scikit-learn draws.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            Component labels (-1: the noise component).
        """
        check_is_fitted(self)
        if n_samples < 1:
            raise ValueError(
                "Invalid value for 'n_samples': %d . The sampling requires at "  # noqa: UP031
                "least one sample." % n_samples
            )
        rng = draw_source(self.random_state if random_state is None else random_state)
        params = self._params(np.zeros(self.n_features_in_), np.float64)
        weights = to_host(self.weights_)
        if params.noise_weight is not None:
            weights = np.append(weights, params.noise_weight)
        counts = rng.multinomial(n_samples, weights)
        K, model = self.n_components, self._model
        scales = self._family.sample_scales(rng, params, counts[:K])
        X = model.sample(rng, to_host(self.means_), model.from_public(to_host(self.covariances_)),
                         counts[:K], scales)  # fmt: skip
        y = np.concatenate([np.full(s, j, dtype=np.int64) for j, s in enumerate(counts[:K])])
        if params.noise_weight is not None:
            X = np.vstack([X, self._sample_noise(rng, int(counts[K]))])
            y = np.concatenate([y, np.full(counts[K], -1, dtype=np.int64)])
        return X.astype(np.float64), y

    def _sample_noise(self, rng: Any, n: int) -> np.ndarray:
        """Draws from the noise component (estimators with one define its region)."""
        raise ValueError(f"{type(self).__name__} has no noise component to sample")

    def summary(self, X: Any, feature_names: Any = None) -> str:
        """(gradmix) A text table of the fit, as mclust's ``summary``: weights, means,
        covariances (a MixtureModel of another family: its parameters), log-likelihood,
        BIC and AIC on ``X``, iterations, and what the model adds (degrees of freedom, the
        noise component, the variational posterior).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data the criteria are computed on.
        feature_names : sequence of str, optional
            Default: ``feature_names_in_``, or x0, x1, ...
        """
        check_is_fitted(self)
        if feature_names is None and hasattr(self, "feature_names_in_"):
            feature_names = list(self.feature_names_in_)
        return self._format_summary(X, feature_names)

    def _format_summary(self, X: Any, feature_names: Any) -> str:
        """The table :meth:`summary` prints (estimators of other families override it)."""
        return format_summary(self, X, feature_names)

    # ------------------------------------------------------------ persistence
    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Save the fitted model as ``.npz`` (no pickle); see :func:`gradmix.load`."""
        return persistence.save(self, path, overwrite=overwrite)

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


class InformationCriteria(MixtureBase):
    """A mixture estimator that counts its free parameters: BIC, AIC and ICL (not used
    directly; GaussianMixture, StudentTMixture and MixtureModel are ones)."""

    @abstractmethod
    def _n_parameters(self) -> int:
        """Free parameters of the fitted model."""

    @property
    def n_parameters_(self) -> int:
        """(gradmix) The number of free parameters BIC and AIC count (mclust's)."""
        return self._n_parameters()

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
        log_max = float(np.sum(to_host(self._per_row(X, log_max_kernel, None))))
        return float(self.bic(X) - 2.0 * log_max)
