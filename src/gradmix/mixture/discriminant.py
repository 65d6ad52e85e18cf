"""Classification by Gaussian mixtures: mclust's ``MclustDA`` as a scikit-learn classifier.

- ``model_type="EDDA"``: one Gaussian per class, every class with the same
  covariance model, chosen by BIC among mclust's fourteen.  The classes'
  parameters come from the model's own M-step on the known labels, so EEE is
  linear discriminant analysis and VVV quadratic discriminant analysis, and
  the twelve models between them are what LDA and QDA cannot express.
- ``model_type="MclustDA"``: a mixture per class, its number of components and
  covariance model chosen by BIC per class (:func:`select_model`).

A row goes to the class of largest ``prior_c · f_c(x)``, with priors the
classes' shares of the training rows.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from gradmix.mixture.covariance import DEFAULT_SELECTION, get_model
from gradmix.mixture.em import stats_from_labels
from gradmix.mixture.maximisation import m_step
from gradmix.mixture.selection import select_model

__all__ = ["MixtureDiscriminantAnalysis"]

_LOG_2PI = math.log(2 * math.pi)
#: passes of an iterative M-step at most (each one a warm start from the last)
_M_STEP_PASSES = 500


def _log_gaussian(X: np.ndarray, means: np.ndarray, covariances: np.ndarray) -> np.ndarray:
    """log N(x | μ_c, Σ_c) for every row and class, shape (n, C)."""
    out = np.empty((len(X), len(means)))
    for c, (mu, cov) in enumerate(zip(means, covariances, strict=True)):
        chol = np.linalg.cholesky(cov)
        z = np.linalg.solve(chol, (X - mu).T)
        out[:, c] = -0.5 * (X.shape[1] * _LOG_2PI + np.sum(z**2, axis=0)) - np.sum(
            np.log(np.diag(chol))
        )
    return out


class MixtureDiscriminantAnalysis(ClassifierMixin, BaseEstimator):
    """Gaussian mixture discriminant analysis (mclust's ``MclustDA``).

    Parameters
    ----------
    model_type : {"MclustDA", "EDDA"}, default="MclustDA"
        A mixture per class (components and covariance model chosen by BIC per
        class), or one Gaussian per class with a covariance model common to
        all classes, chosen by BIC.
    covariance_types : iterable of str, optional
        The models to choose among; default mclust's fourteen (``E`` and ``V``
        for one feature).
    n_components : int or iterable of int, default=range(1, 6)
        ``MclustDA``: the numbers of components tried per class (mclust's
        ``G = 1:5``; an int tries that number alone).
    random_state : int or None
        Seeds the mixtures' starts (``MclustDA``).

    Attributes
    ----------
    classes_ : ndarray, shape (n_classes,)
    priors_ : ndarray, shape (n_classes,)
        The classes' shares of the training rows.
    models_ : dict
        ``EDDA``: ``{"covariance_type": ..., "means": (C, d), "covariances": (C, d, d)}``;
        ``MclustDA``: the fitted :class:`GaussianMixture` of each class, by class.
    bic_ : float or dict
        ``EDDA``: the chosen model's BIC (lower is better; mclust's negated);
        ``MclustDA``: each class's chosen BIC.
    bic_table_ : dict
        ``EDDA``: the BIC of every model tried (NaN where the M-step failed).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> import gradmix as gm
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = gm.MixtureDiscriminantAnalysis("EDDA").fit(X, y)
    >>> clf.models_["covariance_type"], round(clf.score(X, y), 3)
    ('VEV', 0.98)
    """

    models_: dict[Any, Any]
    bic_: Any

    def __init__(self, model_type: str = "MclustDA", *, covariance_types: Any = None,
                 n_components: Any = None, random_state: Any = None) -> None:  # fmt: skip
        self.model_type = model_type
        self.covariance_types = covariance_types
        self.n_components = n_components
        self.random_state = random_state

    def _types(self, d: int) -> list[str]:
        if self.covariance_types is None:
            return list(DEFAULT_SELECTION[min(d, 2)])
        if isinstance(self.covariance_types, str):
            return [self.covariance_types]
        return list(self.covariance_types)

    def fit(self, X: Any, y: Any) -> MixtureDiscriminantAnalysis:
        """Fit the class models to labelled rows.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,)

        Returns
        -------
        self
        """
        if self.model_type not in ("MclustDA", "EDDA"):
            raise ValueError(f"model_type must be 'MclustDA' or 'EDDA', got {self.model_type!r}")
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, labels, counts = np.unique(y, return_inverse=True, return_counts=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"classification needs at least 2 classes; got 1 class ({self.classes_[0]!r})"
            )
        if np.any(counts < 2):
            lonely = self.classes_[counts < 2]
            raise ValueError(f"every class needs at least 2 rows; class {lonely[0]!r} has 1")
        self.priors_ = counts / counts.sum()
        if self.model_type == "EDDA":
            self._fit_edda(X, labels)
        else:
            self._fit_mclustda(X, labels)
        return self

    def _fit_edda(self, X: np.ndarray, labels: np.ndarray) -> None:
        n, d = X.shape
        C = len(self.classes_)
        table: dict[str, float] = {}
        fits: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name in self._types(d):
            model = get_model(name)
            stats = stats_from_labels(model, X, np.ones(n), labels, C, float(n))
            try:
                params = m_step(model, stats, 0.0, np.float64, normalise_by_total=True)
                # the models whose M-step iterates (common shape or orientation with other
                # factors varying) start each pass from the last: repeat to the MLE
                for _ in range(_M_STEP_PASSES):
                    again = m_step(model, stats, 0.0, np.float64, normalise_by_total=True,
                                   previous=params.covariances)  # fmt: skip
                    assert again.covariances is not None and params.covariances is not None
                    done = np.allclose(again.covariances, params.covariances, rtol=1e-12,
                                       atol=0.0)  # fmt: skip
                    params = again
                    if done:
                        break
                covs = np.asarray(model.to_matrices(params.covariances, C, d))
                log_joint = _log_gaussian(X, params.means, covs) + np.log(self.priors_)
            except (ValueError, np.linalg.LinAlgError):
                table[name] = math.nan  # a class too small or flat for this model
                continue
            # mclust's EDDA log-likelihood: the mixture's, Σ log Σ_c prior_c f_c(x), at the
            # class-conditional estimates
            loglik = float(np.sum(logsumexp(log_joint, axis=1)))
            n_par = model.n_parameters(C, d) + C * d
            table[name] = -2 * loglik + n_par * math.log(n)
            fits[name] = (params.means, covs)
        if not fits:
            raise ValueError("no covariance model could be fit to the classes")
        best = min(fits, key=lambda k: table[k])
        self.bic_table_ = table
        self.bic_ = table[best]
        self.models_ = {"covariance_type": best, "means": fits[best][0],
                        "covariances": fits[best][1]}  # fmt: skip

    def _fit_mclustda(self, X: np.ndarray, labels: np.ndarray) -> None:
        ks = (list(range(1, 6)) if self.n_components is None
              else [int(k) for k in np.atleast_1d(self.n_components)])  # fmt: skip
        models, bics = {}, {}
        for c, cls in enumerate(self.classes_):
            rows = X[labels == c]
            usable = [k for k in ks if k < len(rows)] or [1]
            # mclust's path: its hierarchical start and no ridge, so that a class's fits that
            # mclust finds singular fail here too rather than win BIC on a few rows
            sel = select_model(rows, usable, covariance_types=self._types(X.shape[1]),
                               random_state=self.random_state, init_params="hc",
                               reg_covar=0.0)  # fmt: skip
            models[cls] = sel.best_
            bics[cls] = sel.top(1)[0][2]
        self.models_, self.bic_ = models, bics

    def _log_joint(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        if self.model_type == "EDDA" and isinstance(self.models_.get("means"), np.ndarray):
            logf = _log_gaussian(X, self.models_["means"], self.models_["covariances"])
        else:
            logf = np.column_stack([self.models_[c].score_samples(X) for c in self.classes_])
        return logf + np.log(self.priors_)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Posterior class probabilities, shape (n_samples, n_classes)."""
        joint = self._log_joint(X)
        return np.exp(joint - logsumexp(joint, axis=1, keepdims=True))

    def predict(self, X: Any) -> np.ndarray:
        """The class of largest posterior probability, shape (n_samples,)."""
        joint = self._log_joint(X)  # checks fittedness before classes_ is read
        return self.classes_[np.argmax(joint, axis=1)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
