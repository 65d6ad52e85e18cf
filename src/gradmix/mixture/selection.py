"""Model selection over a grid of component counts and covariance types (mclust's workflow).

Every (K, covariance type) pair is fit and scored by an information
criterion, lower is better:

- BIC = -2 log L + p log n,
- AIC = -2 log L + 2 p,
- ICL = BIC - 2 Σᵢ log maxₖ rᵢₖ (Biernacki, Celeux & Govaert 2000, as mclust
  computes it with hard assignments; mclust reports -ICL, higher is better):
  BIC plus a penalty for the entropy of the classification, so it prefers
  well-separated components.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from gradmix.mixture.arrays import to_host
from gradmix.mixture.gaussian_mixture import GaussianMixture

__all__ = ["ModelSelection", "criterion_value", "select_model"]

CRITERIA = ("bic", "aic", "icl")


def criterion_value(model: GaussianMixture, X: np.ndarray, criterion: str) -> float:
    """``criterion`` ("bic", "aic" or "icl") of a fitted model on ``X`` (lower is better)."""
    if criterion == "aic":
        return model.aic(X)
    bic = model.bic(X)
    if criterion == "bic":
        return bic
    # log maxₖ rᵢₖ = max_k log(π_k N_k(xᵢ)) - log p(xᵢ), without forming the responsibilities
    wlp, xp = model._weighted_log_prob(X)
    log_max_r = xp.max(wlp, axis=1) - model.score_samples(X)
    return float(bic - 2.0 * float(to_host(xp.sum(log_max_r))))


@dataclass
class ModelSelection:
    """The result of :func:`select_model`.

    Attributes
    ----------
    criterion : str
    n_components : list of int
    covariance_types : list of str
    values : ndarray, shape (len(n_components), len(covariance_types))
        The criterion per fit (NaN where a fit failed).
    best_ : GaussianMixture
        The fitted model with the lowest criterion.
    best_params_ : dict
        Its ``n_components`` and ``covariance_type``.
    models_ : dict
        Every fitted model, keyed by ``(n_components, covariance_type)``.
    errors_ : dict
        Why each failed fit failed, same keys.
    """

    criterion: str
    n_components: list[int]
    covariance_types: list[str]
    values: np.ndarray
    best_: GaussianMixture
    best_params_: dict[str, Any]
    models_: dict[tuple[int, str], GaussianMixture] = field(repr=False)
    errors_: dict[tuple[int, str], str] = field(repr=False)

    @property
    def table_(self) -> Any:
        """The criterion per K (rows) and covariance type (columns).

        A pandas DataFrame when pandas is installed, else a numpy structured
        array with an ``n_components`` field and one field per type.
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

    def plot(self, ax: Any = None) -> Any:
        """Criterion curves against K, one per covariance type, the best one starred."""
        from gradmix.plot import plot_selection

        return plot_selection(self, ax=ax)


def select_model(
    X: Any,
    n_components: Iterable[int] = range(1, 10),
    covariance_types: Iterable[str] = ("full", "tied", "diag", "spherical"),
    criterion: str = "bic",
    n_init: int = 1,
    random_state: Any = None,
    **kwargs: Any,
) -> ModelSelection:
    """Fit a grid of Gaussian mixtures and pick the one with the lowest criterion.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_components : iterable of int, default=range(1, 10)
    covariance_types : iterable of str, default=all four
    criterion : {"bic", "aic", "icl"}, default="bic"
        Lower is better for all three (see the module docstring).
    n_init : int, default=1
    random_state : int, RandomState or None
        Passed to every fit (an int gives every fit the same seed).
    **kwargs
        Further :class:`GaussianMixture` parameters (``tol``, ``reg_covar``, ...).

    Returns
    -------
    ModelSelection
        ``.best_``, ``.table_``, ``.plot()``; fits that fail (e.g. more
        components than the data support) get NaN and are reported in
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
    types = list(covariance_types)
    if not ks or not types:
        raise ValueError("n_components and covariance_types must not be empty")
    unknown = sorted(set(types) - {"full", "tied", "diag", "spherical"})
    if unknown:
        raise ValueError(f"unknown covariance types {unknown}; use full, tied, diag, spherical")
    if min(ks) < 1:
        raise ValueError(f"n_components must be positive, got {min(ks)}")
    Xv = X if hasattr(X, "shape") else np.asarray(X)  # Dask and GPU arrays stay as they are
    values = np.full((len(ks), len(types)), np.nan)
    models: dict[tuple[int, str], GaussianMixture] = {}
    errors: dict[tuple[int, str], str] = {}
    for i, k in enumerate(ks):
        for j, ct in enumerate(types):
            model = GaussianMixture(k, covariance_type=ct, n_init=n_init,
                                    random_state=random_state, **kwargs)  # fmt: skip
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    model.fit(Xv)
                value = criterion_value(model, Xv, criterion)
            except ValueError as exc:  # too many components, collapsed clusters
                errors[(k, ct)] = str(exc)
                continue
            models[(k, ct)] = model
            values[i, j] = value if math.isfinite(value) else np.nan
    if np.all(np.isnan(values)):
        raise ValueError(f"every fit failed; the first error: {next(iter(errors.values()))}")
    bi, bj = (int(t) for t in np.unravel_index(np.nanargmin(values), values.shape))
    best = {"n_components": ks[bi], "covariance_type": types[bj]}
    return ModelSelection(criterion, ks, types, values, models[(ks[bi], types[bj])], best,
                          models, errors)  # fmt: skip
