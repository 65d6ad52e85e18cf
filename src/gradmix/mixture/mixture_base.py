"""What both mixture estimators share: data on the seam, prediction, sampling, saving.

:class:`~gradmix.mixture.GaussianMixture` and
:class:`~gradmix.mixture.BayesianGaussianMixture` differ in how they fit and
in which per-component terms their E-step adds to the log-densities; once
fitted, both predict through the covariance model's log-density kernel with
the parameters :meth:`MixtureBase._params` gives, exactly as scikit-learn's
``BaseMixture`` serves both of its estimators.
"""

from __future__ import annotations

import warnings
from abc import ABCMeta, abstractmethod
from collections.abc import Callable
from pathlib import Path
from time import time
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from gradmix.mixture import persistence
from gradmix.mixture.arrays import to_host
from gradmix.mixture.covariance import get_model
from gradmix.mixture.em import EMSettings, Params, per_row
from gradmix.mixture.executors import Chunk, Executor, executor_for
from gradmix.mixture.ops import (
    impossible_as_minus_inf,
    is_host,
    logsumexp_rows,
    responsibilities,
)

__all__ = ["MixtureBase", "label_kernel", "log_prob_kernel", "proba_kernel", "score_kernel"]


def log_prob_kernel(chunk: Chunk, model: Any, co: Any) -> Any:
    """The E-step's log π_k + log N(x | k), shape (n, K), impossible entries -inf."""
    xp = chunk.xp
    wlp = model.log_prob(xp, chunk.X, co, model.features(xp, chunk.X, co))
    return impossible_as_minus_inf(xp, wlp)


def label_kernel(chunk: Chunk, model: Any, co: Any) -> Any:
    """The most probable component of each row, shape (n,)."""
    wlp = log_prob_kernel(chunk, model, co)
    if is_host(chunk.xp):  # numpy's argmax along rows is 4x faster than across columns
        wlp = np.ascontiguousarray(wlp)
    return chunk.xp.argmax(wlp, axis=1)


def score_kernel(chunk: Chunk, model: Any, co: Any) -> Any:
    """log Σ_k exp(log π_k + log N(x | k)) of each row, shape (n,)."""
    return logsumexp_rows(chunk.xp, log_prob_kernel(chunk, model, co))


def proba_kernel(chunk: Chunk, model: Any, co: Any) -> Any:
    """Responsibilities, shape (n, K)."""
    return responsibilities(chunk.xp, log_prob_kernel(chunk, model, co))[0]


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
    tol: float
    reg_covar: float
    warm_start: bool
    callback: Any
    lower_bound_: float

    @property
    def _model(self) -> Any:
        return get_model(self.covariance_type)

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
        if ex.n < self.n_components:
            raise ValueError(
                "Expected n_samples >= n_components "
                f"but got n_components = {self.n_components}, "
                f"n_samples = {ex.n}"
            )
        return ex

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
    def _best_of_starts(
        self,
        start: Callable[[int], Any],
        warm: Callable[[], Any],
        run: Callable[[int, Any, float], tuple[Any, list[float], bool]],
    ) -> Any:
        """scikit-learn's loop over ``n_init`` starts (or one warm start).

        ``start(init)`` gives a start, ``warm()`` the fitted state to continue from,
        ``run(init, state, bound)`` iterates from a state and returns the final state,
        the bounds of its iterations and whether they converged.  Returns the state of
        the best run; sets ``converged_``, ``n_iter_``, ``lower_bound_`` and
        ``lower_bounds_``, and warns as scikit-learn does when that run did not
        converge.
        """
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        best: Any = None
        best_bounds: list[float] = []
        best_n_iter, max_lower_bound = 0, -np.inf
        self.converged_ = False
        for init in range(self.n_init if do_init else 1):
            self._print_verbose_msg_init_beg(init)
            state = start(init) if do_init else warm()
            if self.max_iter == 0:
                best, best_n_iter = state, 0
                continue
            bound = -np.inf if do_init else float(self.lower_bound_)
            state, current, converged = run(init, state, bound)
            self._print_verbose_msg_init_end(current[-1], converged)
            if current[-1] > max_lower_bound or max_lower_bound == -np.inf:
                max_lower_bound = current[-1]
                best, best_n_iter, best_bounds = state, len(current), current
                self.converged_ = converged
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

    def _settings(self, init: int, freeze: frozenset[str] = frozenset()) -> EMSettings:
        """The iterations' settings; verbose messages and the callback after each."""

        def on_iteration(n_iter: int, lower_bound: float, change: float) -> None:
            self._print_verbose_msg_iter_end(n_iter, change)
            if self.callback is not None:
                self.callback(init, n_iter, lower_bound)

        return EMSettings(self.reg_covar, self.tol, self.max_iter, freeze, on_iteration)

    # -------------------------------------------------------------- prediction
    def _predicting(self, X: Any, **kw: Any) -> tuple[Executor, Params]:
        """Test data and the fitted parameters, both centred about the means' centre."""
        check_is_fitted(self)
        shift = to_host(self.means_).mean(axis=0)
        ex = self._executor(X, reset=False, shift=shift, summarise=False, **kw)
        return ex, self._params(shift, ex.dtype)

    def _per_row(self, X: Any, kernel: Any, cols: int | None, dtype: Any = None) -> Any:
        ex, params = self._predicting(X)
        return per_row(ex, self._model, params, kernel, cols, dtype)

    def score_samples(self, X: Any) -> Any:
        """Log-likelihood of each sample, shape (n_samples,), in ``X``'s kind."""
        return self._per_row(X, score_kernel, None)

    def score(self, X: Any, y: Any = None) -> float:
        """Mean log-likelihood of ``X`` under the model."""
        return float(np.mean(to_host(self.score_samples(X))))

    def predict(self, X: Any) -> Any:
        """Most probable component of each sample, shape (n_samples,)."""
        return self._per_row(X, label_kernel, None, np.int64)

    def predict_proba(self, X: Any) -> Any:
        """Responsibilities, shape (n_samples, n_components); rows sum to one."""
        return self._per_row(X, proba_kernel, self.n_components)

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
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, to_host(self.weights_))
        model = self._model
        X = model.sample(rng, to_host(self.means_), model.from_public(to_host(self.covariances_)),
                         counts)  # fmt: skip
        y = np.concatenate([np.full(s, j, dtype=np.int64) for j, s in enumerate(counts)])
        return X.astype(np.float64), y

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
