"""Model selection over a grid of component counts and covariance models (mclust's workflow).

Every (K, covariance model) pair is fit and scored by an information
criterion, lower is better:

- BIC = -2 log L + p log n (mclust's BIC negated),
- AIC = -2 log L + 2 p,
- ICL = BIC - 2 Σᵢ log maxₖ rᵢₖ (Biernacki, Celeux & Govaert 2000, as mclust
  computes it with hard assignments; mclust reports -ICL, higher is better):
  BIC plus a penalty for the entropy of the classification, so it prefers
  well-separated components.

By default, as mclust's ``mclustBIC``: the fourteen models (``E`` and ``V``
for one-dimensional data) and K = 1..9.  Pass ``init_params="hc"`` to start
every fit as mclust does, from model-based hierarchical agglomeration (the
tree is built once and cut at each K).  ``families=("gaussian", "t")``
compares Gaussian and Student-t mixtures of every model on the same
criterion (the t's columns are named ``"t:" + model``), as teigen's and
mclust's BIC tables would side by side.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from gradmix.mixture.covariance import (
    DEFAULT_SELECTION,
    MODELS,
    PRIOR_SELECTION,
    plot_style,
)
from gradmix.mixture.em_estimator import EMMixtureBase, TiedValuesWarning, on_tied_values
from gradmix.mixture.families import MixtureFamily, family_for
from gradmix.mixture.gaussian_mixture import GaussianMixture
from gradmix.mixture.initialisation import shared_starts
from gradmix.mixture.mixture_base import MixtureBase
from gradmix.mixture.mixture_model import MixtureModel, tied_components
from gradmix.mixture.student_t_mixture import StudentTMixture

__all__ = ["FAMILIES", "ModelSelection", "criterion_value", "select_model"]

CRITERIA = ("bic", "aic", "icl")
#: the elliptical families select_model crosses with the covariance models, and their
#: estimators; any other family (a built-in's name or a gm.Family) is one column of its own
FAMILIES: dict[str, type[EMMixtureBase]] = {"gaussian": GaussianMixture, "t": StudentTMixture}
#: parameters only Student-t mixtures take
_T_ONLY = ("dof", "dof_init", "dof_bounds")


def _label(family: str, covariance_type: str) -> str:
    if not covariance_type:
        return family
    return covariance_type if family == "gaussian" else f"{family}:{covariance_type}"


def criterion_value(model: Any, X: Any, criterion: str) -> float:
    """``criterion`` ("bic", "aic" or "icl") of a fitted model on ``X`` (lower is better)."""
    if criterion == "aic":
        return model.aic(X)
    if criterion == "icl":
        return model.icl(X)
    return model.bic(X)


@dataclass
class ModelSelection:
    """The result of :func:`select_model`.

    Attributes
    ----------
    criterion : str
    n_components : list of int
    covariance_types : list of str
        The columns: covariance models, ``"t:"``-prefixed for Student-t mixtures.
    values : ndarray, shape (len(n_components), len(covariance_types))
        The criterion per fit (NaN where a fit failed).
    best_ : GaussianMixture or StudentTMixture
        The fitted model with the lowest criterion.
    best_params_ : dict
        Its ``n_components`` and ``covariance_type`` (and ``family`` when
        more than the Gaussian one was searched).
    models_ : dict
        Every fitted model, keyed by ``(n_components, column)``.
    errors_ : dict
        Why each failed fit failed, same keys.
    """

    criterion: str
    n_components: list[int]
    covariance_types: list[str]
    values: np.ndarray
    best_: MixtureBase
    best_params_: dict[str, Any]
    models_: dict[tuple[int, str], MixtureBase] = field(repr=False)
    errors_: dict[tuple[int, str], str] = field(repr=False)

    @property
    def table_(self) -> Any:
        """The criterion per K (rows) and covariance model (columns), as mclust lays out
        its BIC table (its values negated: lower is better here).

        A pandas DataFrame when pandas is installed, else a numpy structured
        array with an ``n_components`` field and one field per model.
        """
        try:
            import pandas as pd
        except ImportError:
            dtype = [("n_components", np.int64)] + [(ct, np.float64) for ct in
                                                     self.covariance_types]  # fmt: skip
            rows = [(k, *vals) for k, vals in zip(self.n_components, self.values, strict=True)]
            return np.array(rows, dtype=dtype)
        frame = pd.DataFrame(self.values, index=self.n_components, columns=self.covariance_types)
        frame.index.name = "n_components"
        frame.columns.name = self.criterion.upper()
        return frame

    def top(self, n: int = 3) -> list[tuple[str, int, float]]:
        """The ``n`` best fits as ``(covariance_type, n_components, value)``, best first
        (mclust's ``summary(BIC)``)."""
        order = np.argsort(np.where(np.isnan(self.values), np.inf, self.values), axis=None)
        out = []
        for flat in order[:n]:
            i, j = np.unravel_index(flat, self.values.shape)
            if np.isfinite(self.values[i, j]):
                out.append((self.covariance_types[j], self.n_components[i],
                            float(self.values[i, j])))  # fmt: skip
        return out

    def plot(self, ax: Any = None) -> Any:
        """mclust's BIC picture: the criterion against K, one line per model, the best starred.

        Returns
        -------
        matplotlib Axes
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7.5, 4.8))
        ks = self.n_components
        for j, column in enumerate(self.covariance_types):
            family, _, ct = column.rpartition(":")
            marker, colour = plot_style(ct) if ct in MODELS else ("o", f"C{j % 10}")
            ax.plot(ks, self.values[:, j], marker=marker, ms=6, lw=1.3, color=colour,
                    ls="--" if family else "-", label=column)  # fmt: skip
        best_k = self.best_params_["n_components"]
        best_ct = _label(self.best_params_.get("family", "gaussian"),
                         self.best_params_.get("covariance_type", ""))  # fmt: skip
        best_value = self.values[ks.index(best_k), self.covariance_types.index(best_ct)]
        name = self.criterion.upper()
        ax.plot([best_k], [best_value], marker="*", ms=18, color="gold", mec="k", ls="none",
                label=f"best: {best_ct}, {best_k}", zorder=5)  # fmt: skip
        ax.set_xlabel("number of components")
        ax.set_ylabel(f"{name} (lower is better)")
        ax.set_xticks(ks)
        ax.set_title(f"Model choice by {name}")
        ax.legend(ncol=2 if len(self.covariance_types) > 6 else 1, fontsize=8,
                  loc="best")  # fmt: skip
        return ax


def _dimension(X: Any) -> int:
    shape = getattr(X, "shape", None) or np.shape(X)
    return int(shape[1]) if len(shape) == 2 else 1


def _on_tied_values(model: MixtureBase) -> bool:
    """Whether a fitted model has a component on tied values: a Gaussian's variance at
    ``reg_covar`` alone (:func:`on_tied_values`), another family's spread at the least
    its statistics resolve or its rows one value (:func:`tied_components`)."""
    if isinstance(model, MixtureModel):
        if hasattr(model, "estimator_"):  # (Gaussian and t families: their estimator's)
            return on_tied_values(model.estimator_)
        return bool(tied_components(model).size)
    return on_tied_values(model)


def _off_tied_values(model: MixtureBase, X: Any) -> MixtureBase:
    """The best fit of ``model``'s kind not on tied values (:func:`_on_tied_values`), from
    other ways to its optimum, or ``model`` when every one ends there too.

    SQUAREM's jumps can land a start on tied values where plain EM's steps from the
    same starts do not; and where the best of the hierarchical and k-means starts
    collapses, the other kind may find the (lower, honest) optimum that mclust reports.
    """
    params = model.get_params()
    tries: list[dict[str, Any]] = []
    if params.get("acceleration"):
        tries.append({"acceleration": None})
    if isinstance(model, GaussianMixture) and params["init_params"] in ("auto", "hc", "kmeans"):
        tries += [{"acceleration": None, "init_params": init} for init in ("hc", "kmeans")
                  if init != params["init_params"]]  # fmt: skip
    best = model
    for change in tries:
        other = clone(model).set_params(**change)
        try:
            other.fit(X)
        except ValueError:  # (a collapsed start)
            continue
        if not _on_tied_values(other) and (
            best is model or float(other.lower_bound_) > float(best.lower_bound_)
        ):
            best = other
    return best


def select_model(
    X: Any,
    n_components: Iterable[int] = range(1, 10),
    covariance_types: Iterable[str] | None = None,
    criterion: str = "bic",
    n_init: int = 1,
    random_state: Any = None,
    families: Iterable[str] = ("gaussian",),
    acceleration: str | None = "auto",
    **kwargs: Any,
) -> ModelSelection:
    """Fit a grid of mixtures and pick the one with the lowest criterion.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        numpy, any array-API array or a Dask array.
    n_components : iterable of int, default=range(1, 10)
    covariance_types : iterable of str, optional
        Default: mclust's fourteen models (``E`` and ``V`` for 1-D data); with
        a ``prior``, the ten mclust fits with one, as its ``Mclust(X, prior =
        priorControl())`` does (EVE, VEE, VVE and EVV take the prior when named).
    criterion : {"bic", "aic", "icl"}, default="bic"
        Lower is better for all three (see the module docstring).
    n_init : int, default=1
    random_state : int, RandomState or None
        Every fit gets the same seed (an int's, or one drawn from the
        generator), so every model of one K starts from the same k-means
        partitions, computed once.
    families : iterable, default=("gaussian",)
        The component families: ``"gaussian"`` and ``"t"`` (Student-t) fit
        every covariance model; any other family — a built-in's name
        (``"poisson"``, ``"gamma"``, ...) or a :class:`~gradmix.Family` — is
        one column of its own (:class:`MixtureModel`), so families compare
        by the criterion on one data set.
    acceleration : {"auto", "squarem", None}, default="auto"
        EM's acceleration for every fit (:class:`GaussianMixture`'s and
        :class:`MixtureModel`'s ``acceleration``): the same optima in
        fewer passes — on mclust's reference data sets it reaches mclust's
        log-likelihood in as many fits as plain EM, or more.  ``"auto"`` is ``"squarem"`` unless
        ``prior``, ``freeze`` or ``solver="gradient"`` is given (which it
        does not take); None is plain EM.
    **kwargs
        Further estimator parameters: ``tol`` (default 1e-5 here, about
        mclust's convergence criterion, rather than scikit-learn's 1e-3),
        ``reg_covar``, ``init_params`` (``"hc"`` for mclust's start),
        ``noise``, ...; ``dof``, ``dof_init`` and ``dof_bounds`` go to the
        Student-t fits only.

    Returns
    -------
    ModelSelection
        ``.best_``, ``.table_``, ``.top()``, ``.plot()``; fits that fail (e.g.
        more components than the data support) get NaN and are reported in
        ``.errors_``.

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) + 6]
    >>> gm.select_model(X, range(1, 4), ("spherical",), random_state=0).best_params_
    {'n_components': 2, 'covariance_type': 'spherical'}
    """
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
    ks = [int(k) for k in n_components]
    Xv = X if hasattr(X, "shape") else np.asarray(X)  # Dask and GPU arrays stay as they are
    if covariance_types is None:
        grid = DEFAULT_SELECTION if kwargs.get("prior") is None else PRIOR_SELECTION
        covariance_types = grid[min(_dimension(Xv), 2)]
    types = list(covariance_types)
    fams = [families] if isinstance(families, str | MixtureFamily) else list(families)
    if not ks or not types or not fams:
        raise ValueError("n_components, covariance_types and families must not be empty")
    unknown = sorted(set(types) - set(MODELS))
    if unknown:
        raise ValueError(f"unknown covariance types {unknown}; use {', '.join(MODELS)}")
    others = [f for f in fams if not (isinstance(f, str) and f in FAMILIES)]
    for f in others:
        family_for(f)  # an unknown family is an error before any fit
    if min(ks) < 1:
        raise ValueError(f"n_components must be positive, got {min(ks)}")
    # criteria compare optima: EM stopped at scikit-learn's tol=1e-3 can rank models by
    # where it stopped (on Old Faithful it ranks VVE,2 above EEE,3, mclust's choice)
    kwargs.setdefault("tol", 1e-5)
    t_only = {k: kwargs.pop(k) for k in _T_ONLY if k in kwargs}
    if acceleration == "auto":
        plain = kwargs.get("prior") is not None or kwargs.get("freeze") or \
            kwargs.get("solver") == "gradient"  # fmt: skip
        acceleration = None if plain else "squarem"
    if not isinstance(random_state, numbers.Integral):
        random_state = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    # (family name, covariance type or "" for families without one, what fits it)
    columns: list[tuple[str, str, Any]] = []
    for fam in fams:
        if isinstance(fam, str) and fam in FAMILIES:
            columns += [(fam, ct, FAMILIES[fam]) for ct in types]
        else:
            family = family_for(fam)
            columns.append((family.describe(), "", family))
    labels = [_label(name, ct) for name, ct, _ in columns]
    family_kwargs = {key: v for key, v in kwargs.items() if key in MixtureModel().get_params()}
    values = np.full((len(ks), len(columns)), np.nan)
    models: dict[tuple[int, str], MixtureBase] = {}
    errors: dict[tuple[int, str], str] = {}
    with shared_starts():  # every model of one K starts from the same k-means partitions
        for i, k in enumerate(ks):
            for j, (name, ct, what) in enumerate(columns):
                model: MixtureBase
                if ct:
                    extra = {**(t_only if name == "t" else {}), "acceleration": acceleration}
                    model = what(k, covariance_type=ct, n_init=n_init, random_state=random_state,
                                 **kwargs, **extra)  # fmt: skip
                else:
                    model = MixtureModel(what, k, n_init=n_init, random_state=random_state,
                                         acceleration=acceleration, **family_kwargs)  # fmt: skip
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", ConvergenceWarning)
                        warnings.simplefilter("ignore", TiedValuesWarning)  # (left out below)
                        model.fit(Xv)
                        if _on_tied_values(model):
                            model = _off_tied_values(model, Xv)
                    value = criterion_value(model, Xv, criterion)
                except ValueError as exc:  # too many components, collapsed clusters
                    errors[(k, labels[j])] = str(exc)
                    continue
                if _on_tied_values(model):
                    errors[(k, labels[j])] = (
                        "a component collapsed onto tied values: its variance in some "
                        "direction is reg_covar alone (mclust reports such a fit as NA)"
                        if ct
                        else "a component collapsed onto tied values, where its density "
                        "grows without bound as its spread shrinks"
                    )
                    continue
                models[(k, labels[j])] = model
                values[i, j] = value if math.isfinite(value) else np.nan
    if np.all(np.isnan(values)):
        raise ValueError(f"every fit failed; the first error: {next(iter(errors.values()))}")
    bi, bj = (int(t) for t in np.unravel_index(np.nanargmin(values), values.shape))
    best: dict[str, Any] = {"n_components": ks[bi]}
    if columns[bj][1]:
        best["covariance_type"] = columns[bj][1]
    if fams != ["gaussian"]:
        best["family"] = columns[bj][0]
    return ModelSelection(criterion, ks, labels, values, models[(ks[bi], labels[bj])], best,
                          models, errors)  # fmt: skip
