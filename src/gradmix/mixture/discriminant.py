"""Classification by Gaussian mixtures: mclust's ``MclustDA`` as a scikit-learn classifier.

- ``model_type="EDDA"``: one Gaussian per class, every class with the same
  covariance model, chosen by BIC among mclust's fourteen.  The classes'
  parameters come from the model's own M-step on the known labels, so EEE is
  linear discriminant analysis and VVV quadratic discriminant analysis, and
  the twelve models between them are what LDA and QDA cannot express.
- ``model_type="MclustDA"``: a mixture per class, its number of components and
  covariance model chosen by BIC per class (:func:`select_model`).

A row goes to the class of largest ``prior_c · f_c(x)``, with priors the
classes' shares of the training rows.  Both kinds keep each class's density
as a small Gaussian mixture (:class:`ClassDensity`; one component for EDDA),
stacked in a few arrays that prediction, the model file and
:func:`cross_validate_da` read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from gradmix.mixture import persistence
from gradmix.mixture.covariance import DEFAULT_SELECTION, MODELS, get_model, matrices
from gradmix.mixture.em import stats_from_labels
from gradmix.mixture.gaussian_mixture import GaussianMixture
from gradmix.mixture.maximisation import m_step
from gradmix.mixture.selection import select_model

__all__ = ["ClassDensity", "DACrossValidation", "MixtureDiscriminantAnalysis", "cross_validate_da"]

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


@dataclass(frozen=True)
class ClassDensity:
    """One class's density: a Gaussian mixture (one component for EDDA).

    Attributes
    ----------
    covariance_type : str
        The covariance model it was fit with.
    weights : ndarray, shape (K,)
    means : ndarray, shape (K, d)
    covariances : ndarray, shape (K, d, d)
        Each component's covariance matrix, whatever the model.
    """

    covariance_type: str
    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray

    @classmethod
    def of(cls, fit: GaussianMixture, name: str) -> ClassDensity:
        """The density of a fitted mixture, under the model name ``name``."""
        K, d = fit.n_components, fit.n_features_in_
        return cls(name, np.asarray(fit.weights_), np.asarray(fit.means_),
                   matrices(fit.covariance_type, fit.covariances_, K, d))  # fmt: skip

    @property
    def n_components(self) -> int:
        return len(self.weights)

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        """log f(x) for each row of ``X`` (n, d): shape (n,)."""
        logf = _log_gaussian(X, self.means, self.covariances) + np.log(self.weights)
        return logsumexp(logf, axis=1)


def _check_saved(model: MixtureDiscriminantAnalysis) -> None:
    """A loaded classifier's values make one: class layout, priors, weights, covariances."""
    C = len(model.classes_)
    if C < 2 or len(np.unique(model.classes_)) != C:
        raise ValueError("classes_ are not two or more distinct labels")
    if np.any(model.n_components_ < 1):
        raise ValueError("n_components_ are not positive")
    known = set(MODELS) | {m.one_component_name for m in MODELS.values()}
    unknown = set(model.covariance_types_.tolist()) - known
    if unknown:
        raise ValueError(f"covariance_types_ names unknown models {sorted(unknown)}")
    for name, w, groups in (("priors_", model.priors_, [np.arange(C)]),
                            ("weights_", model.weights_, model._slices())):  # fmt: skip
        if np.any(w <= 0) or any(abs(np.sum(w[g]) - 1) > 1e-8 for g in groups):
            raise ValueError(f"{name} are not positive numbers summing to one")
    cov = model.covariances_
    if not np.allclose(cov, np.swapaxes(cov, 1, 2), rtol=1e-10, atol=0):
        raise ValueError("covariances_ are not symmetric")
    try:
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise ValueError("covariances_ are not positive definite") from None


def _saved_shapes(model: MixtureDiscriminantAnalysis) -> dict[str, tuple[int, ...] | None]:
    """Shapes of the saved attributes, given the layout (classes and components) once read."""
    C = len(getattr(model, "classes_", ()))
    M = int(np.sum(getattr(model, "n_components_", 0)))
    d = model.n_features_in_
    return {"classes_": None, "n_components_": (C,), "covariance_types_": (C,),
            "priors_": (C,), "weights_": (M,), "means_": (M, d), "covariances_": (M, d, d),
            "feature_names_in_": (d,)}  # fmt: skip


_SAVED = ("classes_", "n_components_", "covariance_types_", "priors_", "weights_", "means_",
          "covariances_", "n_features_in_", "feature_names_in_")  # fmt: skip


@persistence.register(persistence.Schema(
    _SAVED, _saved_shapes, _check_saved, layout=("classes_", "n_components_")))  # fmt: skip
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
        Each class's :class:`ClassDensity`, by class.
    covariance_type_ : str
        ``EDDA``: the covariance model common to the classes.
    n_components_ : ndarray of int, shape (n_classes,)
        Each class's number of components (EDDA: ones).
    covariance_types_ : ndarray of str, shape (n_classes,)
        Each class's covariance model; ``MclustDA`` names a one-component class
        as mclust does, by its family (``"XXX"``, ``"XXI"``, ``"XII"``, ``"X"``),
        since the family's models fit it identically.
    weights_, means_, covariances_ : ndarray, shapes (M,), (M, d), (M, d, d)
        The classes' components stacked in class order (M = Σ ``n_components_``).
    bic_ : float
        The classifier's BIC as mclust reports it (lower is better; mclust's
        negated): ``EDDA`` the chosen common model's, ``MclustDA``
        ``-2 Σ_c log L_c + Σ_c df_c log n``.  Not kept in a model file.
    class_bic_ : dict
        ``MclustDA``: the BIC that chose each class's model (on the class's rows).
    bic_table_ : dict
        ``EDDA``: the BIC of every model tried (NaN where the M-step failed).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> import gradmix as gm
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = gm.MixtureDiscriminantAnalysis("EDDA").fit(X, y)
    >>> clf.covariance_type_, round(clf.score(X, y), 3)
    ('VEV', 0.98)
    """

    classes_: np.ndarray
    priors_: np.ndarray
    n_components_: np.ndarray
    covariance_types_: np.ndarray
    weights_: np.ndarray
    means_: np.ndarray
    covariances_: np.ndarray
    bic_: Any

    _parameter_constraints: dict[str, list[Any]] = {
        "model_type": [StrOptions({"MclustDA", "EDDA"})],
        "covariance_types": [None, str, "array-like"],
        "n_components": [None, Interval(Integral, 1, None, closed="left"), "array-like"],
        "random_state": ["random_state"],
    }  # fmt: skip

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
        self._validate_params()
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, labels, counts = np.unique(y, return_inverse=True, return_counts=True)
        if len(self.classes_) < 2:
            only = self.classes_.tolist()[0]
            raise ValueError(f"classification needs at least 2 classes; got 1 class ({only!r})")
        if np.any(counts < 2):
            lonely = self.classes_[counts < 2].tolist()[0]
            raise ValueError(f"every class needs at least 2 rows; class {lonely!r} has 1")
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
        means, covs = fits[best]
        self._stack([ClassDensity(best, np.ones(1), means[c : c + 1], covs[c : c + 1])
                     for c in range(C)])  # fmt: skip

    def _fit_mclustda(self, X: np.ndarray, labels: np.ndarray) -> None:
        ks = (list(range(1, 6)) if self.n_components is None
              else [int(k) for k in np.atleast_1d(self.n_components)])  # fmt: skip
        densities, bics = [], {}
        n_par = 0
        for c, cls in enumerate(self.classes_):
            rows = X[labels == c]
            usable = [k for k in ks if k < len(rows)] or [1]
            # mclust's path: its hierarchical start and no ridge, so that a class's fits that
            # mclust finds singular fail here too rather than win BIC on a few rows
            sel = select_model(rows, usable, covariance_types=self._types(X.shape[1]),
                               random_state=self.random_state, init_params="hc",
                               reg_covar=0.0)  # fmt: skip
            best = sel.best_
            # one component: the family's models coincide, so mclust names the family (XXX)
            name = get_model(best.covariance_type).one_component_name \
                if best.n_components == 1 else best.covariance_type  # fmt: skip
            densities.append(ClassDensity.of(best, name))
            bics[cls] = sel.top(1)[0][2]
            n_par += best.n_parameters_
        self._stack(densities)
        # mclust's MclustDA BIC: as EDDA's, the mixture's log-likelihood with the classes'
        # parameters (the priors not counted)
        loglik = float(np.sum(logsumexp(self._joint(X), axis=1)))
        self.bic_ = -2 * loglik + n_par * math.log(len(X))
        self.class_bic_ = bics

    def _stack(self, densities: list[ClassDensity]) -> None:
        self.n_components_ = np.array([m.n_components for m in densities])
        self.covariance_types_ = np.array([m.covariance_type for m in densities])
        self.weights_ = np.concatenate([m.weights for m in densities])
        self.means_ = np.concatenate([m.means for m in densities])
        self.covariances_ = np.concatenate([m.covariances for m in densities])

    def _slices(self) -> list[slice]:
        ends = np.cumsum(self.n_components_)
        return [slice(int(e - k), int(e)) for e, k in zip(ends, self.n_components_, strict=True)]

    @property
    def models_(self) -> dict[Any, ClassDensity]:
        """Each class's density, by class."""
        check_is_fitted(self)
        return {cls: ClassDensity(str(t), self.weights_[s], self.means_[s], self.covariances_[s])
                for cls, t, s in zip(self.classes_, self.covariance_types_, self._slices(),
                                     strict=True)}  # fmt: skip

    @property
    def covariance_type_(self) -> str:
        """EDDA's covariance model, common to the classes."""
        check_is_fitted(self)
        if self.model_type != "EDDA":
            raise AttributeError("covariance_type_ is EDDA's; MclustDA chooses a model per "
                                 "class: see covariance_types_")  # fmt: skip
        return str(self.covariance_types_[0])

    def _log_joint(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return self._joint(validate_data(self, X, dtype=np.float64, reset=False))

    def _joint(self, X: np.ndarray) -> np.ndarray:
        """log prior_c f_c(x), shape (n, C)."""
        logf = _log_gaussian(X, self.means_, self.covariances_) + np.log(self.weights_)
        per_class = [logsumexp(logf[:, s], axis=1) for s in self._slices()]
        return np.column_stack(per_class) + np.log(self.priors_)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Posterior class probabilities, shape (n_samples, n_classes)."""
        joint = self._log_joint(X)
        return np.exp(joint - logsumexp(joint, axis=1, keepdims=True))

    def predict(self, X: Any) -> np.ndarray:
        """The class of largest posterior probability, shape (n_samples,)."""
        joint = self._log_joint(X)  # checks fittedness before classes_ is read
        return self.classes_[np.argmax(joint, axis=1)]

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Save the fitted classifier as ``.npz`` (no pickle); see :func:`gradmix.load`.
        The file keeps what prediction needs (``bic_`` and ``bic_table_`` are not kept)."""
        return persistence.save(self, path, overwrite=overwrite)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Mean accuracy on ``(X, y)``.

        Raises
        ------
        ValueError
            If ``y`` holds labels the classifier was not trained on (they can never
            be predicted, so the accuracy would silently count them as errors).
        """
        check_is_fitted(self)
        y = np.asarray(y)
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if len(unknown):
            raise ValueError(f"y holds labels the classifier was not trained on: "
                             f"{unknown[:5].tolist()}; its classes are "
                             f"{self.classes_.tolist()}")  # fmt: skip
        return float(super().score(X, y, sample_weight))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


# ===================================================================== cross-validation
@dataclass(frozen=True)
class DACrossValidation:
    """Cross-validated performance of a classifier (mclust's ``cvMclustDA``).

    Attributes
    ----------
    classification : ndarray, shape (n_samples,)
        Each row's class predicted by the fit to the other folds.
    proba : ndarray, shape (n_samples, n_classes)
        Each row's class probabilities from that fit.
    error : float
        The share of rows misclassified.
    se_error : float
        Its standard error over the folds (sd of the folds' errors / sqrt(folds)).
    brier : float
        The Brier score as mclust scales it (0 to 1): the mean over rows of
        sum_c (proba_c - [y = c])^2 / 2.
    se_brier : float
        Its standard error over the folds.
    """

    classification: np.ndarray
    proba: np.ndarray
    error: float
    se_error: float
    brier: float
    se_brier: float


def _family_member(name: str) -> str:
    """A model name for ``name``, which may be a one-component family (``XXX``)."""
    if name in MODELS:
        return name
    return next(m for m, model in MODELS.items() if model.one_component_name == name)


def _refit_chosen(model: MixtureDiscriminantAnalysis, X: np.ndarray,
                  y: np.ndarray) -> MixtureDiscriminantAnalysis:  # fmt: skip
    """``model``'s chosen class models (covariance model and components) refit to ``(X, y)``."""
    if model.model_type == "EDDA":
        return clone(model).set_params(covariance_types=[model.covariance_type_]).fit(X, y)
    fold = clone(model)
    fold.classes_, labels = np.unique(y, return_inverse=True)
    if len(fold.classes_) != len(model.classes_):
        raise ValueError("a training fold lacks a class; use fewer folds")
    fold.n_features_in_ = X.shape[1]
    fold.priors_ = np.bincount(labels) / len(y)
    densities = []
    for c, (name, K) in enumerate(zip(model.covariance_types_, model.n_components_,
                                      strict=True)):  # fmt: skip
        fit = GaussianMixture(int(K), covariance_type=_family_member(str(name)),
                              init_params="hc", reg_covar=0.0,
                              random_state=model.random_state).fit(X[labels == c])  # fmt: skip
        densities.append(ClassDensity.of(fit, str(name)))
    fold._stack(densities)
    return fold


def cross_validate_da(model: MixtureDiscriminantAnalysis, X: Any, y: Any, *, n_folds: int = 10,
                      random_state: Any = None) -> DACrossValidation:  # fmt: skip
    """mclust's ``cvMclustDA``: the cross-validated error of a fitted classifier.

    As mclust does, the class models chosen on all the data (covariance model
    and number of components per class) are refit on each training fold, and
    the rows of the left-out fold classified.

    Parameters
    ----------
    model : MixtureDiscriminantAnalysis
        Fitted to ``(X, y)``.
    X : array-like, shape (n_samples, n_features)
    y : array-like, shape (n_samples,)
    n_folds : int, default=10
        Stratified folds (at most the size of the smallest class).
    random_state : int, Generator or None
        Shuffles the rows into folds.

    Returns
    -------
    DACrossValidation

    Raises
    ------
    ValueError
        For an unfitted model, labels it was not trained on, or too many folds.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> import gradmix as gm
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = gm.MixtureDiscriminantAnalysis("EDDA").fit(X, y)
    >>> cv = gm.cross_validate_da(clf, X, y, random_state=0)
    >>> round(cv.error, 3)
    0.027
    """
    from sklearn.model_selection import StratifiedKFold

    check_is_fitted(model)
    X = validate_data(model, X, dtype=np.float64, reset=False)
    y = np.asarray(y)
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} rows and y {len(y)} labels")
    unknown = np.setdiff1d(np.unique(y), model.classes_)
    if len(unknown):
        raise ValueError(f"y holds labels the classifier was not trained on: "
                         f"{unknown[:5].tolist()}")  # fmt: skip
    smallest = int(np.min(np.unique(y, return_counts=True)[1]))
    if isinstance(n_folds, bool) or not isinstance(n_folds, int | np.integer) or \
            not 2 <= n_folds <= smallest:  # fmt: skip
        raise ValueError(f"n_folds must be an integer from 2 to the smallest class's "
                         f"{smallest} rows, got {n_folds!r}")  # fmt: skip
    seed = random_state
    if isinstance(seed, np.random.Generator):
        seed = int(seed.integers(2**31))
    folds = StratifiedKFold(int(n_folds), shuffle=True, random_state=seed).split(X, y)
    proba = np.empty((len(X), len(model.classes_)))
    fold_of = np.empty(len(X), dtype=int)
    for k, (train, test) in enumerate(folds):
        fit = _refit_chosen(model, X[train], y[train])
        proba[test] = fit.predict_proba(X[test])
        fold_of[test] = k
    predicted = model.classes_[np.argmax(proba, axis=1)]
    wrong = (predicted != y).astype(float)
    truth = (y[:, None] == model.classes_[None, :]).astype(float)
    brier = np.sum((proba - truth) ** 2, axis=1) / 2  # mclust's scale: from 0 to 1

    def mean_and_se(values: np.ndarray) -> tuple[float, float]:
        per_fold = np.array([values[fold_of == k].mean() for k in range(int(n_folds))])
        return float(values.mean()), float(per_fold.std(ddof=1) / math.sqrt(len(per_fold)))

    error, se_error = mean_and_se(wrong)
    brier_mean, se_brier = mean_and_se(brier)
    return DACrossValidation(predicted, proba, error, se_error, brier_mean, se_brier)
