"""Plain-text summary tables of fitted mixtures: Gaussian, Student-t and variational ones
(:func:`format_summary`), and those of any other family (:func:`format_family_summary`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from gradmix.mixture.arrays import to_host
from gradmix.mixture.covariance import get_model, mclust_name

__all__ = ["format_family_summary", "format_summary"]


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _criteria(model: Any, X: Any, n: int) -> list[str]:
    """The log-likelihood, BIC and AIC on ``X`` (``n`` rows), and how EM ended."""
    ll = model.score(X) * n
    return [f"  log-likelihood {ll:.4f}   mean {ll / n:.6f}   BIC {model.bic(X):.4f}   "
            f"AIC {model.aic(X):.4f}   free parameters {model.n_parameters_}",
            f"  EM iterations {model.n_iter_}   converged {model.converged_}"]  # fmt: skip


def format_summary(model: Any, X: Any, feature_names: Sequence[str] | None = None) -> str:
    """Weights, means, covariances, log-likelihood, BIC, iterations and convergence.

    Parameters
    ----------
    model : fitted GaussianMixture, StudentTMixture or BayesianGaussianMixture
    X : array of shape (n_samples, n_features)
        The data the criteria are computed on.
    feature_names : sequence of str, optional

    Returns
    -------
    str
        A multi-line table.
    """
    unit = get_model(model.covariance_type)
    means, weights = to_host(model.means_), to_host(model.weights_)
    K, d = means.shape
    names = list(feature_names) if feature_names is not None else [f"x{j}" for j in range(d)]
    n = int(np.shape(X)[0])
    name = model.covariance_type
    if hasattr(model, "weight_concentration_"):  # a variational posterior
        kept = int(np.sum(weights >= 0.01))
        head = [
            f"Bayesian Gaussian mixture (variational): {_count(K, 'component')} offered, "
            f"{name} covariance, {_count(d, 'feature')}, {_count(n, 'sample')}",
            f"  effective components {kept} of {K} (expected weight >= 1%)   "
            f"prior {model.weight_concentration_prior_type} "
            f"(concentration {model.weight_concentration_prior_:.4g})",
            f"  lower bound {model.lower_bound_:.4f}   mean score {model.score(X):.6f}",
            f"  variational updates {model.n_iter_}   converged {model.converged_}",
        ]
    else:
        dof = getattr(model, "degrees_of_freedom_", None)
        kind = "Gaussian mixture" if dof is None else "Student-t mixture"
        scale = "covariance" if dof is None else "scale"
        letters, description = mclust_name(model.covariance_type, K, d)
        head = [
            f"{kind}: {_count(K, 'component')}, {name} {scale}, {_count(d, 'feature')}, "
            f"{_count(n, 'sample')}",
            f"  model {letters}: {description}",
            *_criteria(model, X, n),
        ]
        if dof is not None:
            head.append(f"  degrees of freedom ({model.dof}): "
                        + ", ".join(f"{v:.4g}" for v in to_host(dof)))  # fmt: skip
        if getattr(model, "noise_weight_", None) is not None:
            head.append(f"  noise component: weight {model.noise_weight_:.4f}   hypervolume "
                        f"{model.hypervolume_:.6g}")  # fmt: skip
    lines = [
        *head,
        "",
        f"  {'component':>9}  {'weight':>8}  " + "  ".join(f"{'mean ' + nm:>14}" for nm in names),
    ]
    for k in range(K):
        row = "  ".join(f"{m:14.6g}" for m in means[k])
        lines.append(f"  {k:9d}  {weights[k]:8.4f}  {row}")
    lines += ["", "  covariances:" if getattr(model, "degrees_of_freedom_", None) is None
              else "  scale matrices:"]  # fmt: skip
    lines += unit.describe(unit.from_public(to_host(model.covariances_)))
    return "\n".join(lines)


def format_family_summary(model: Any, X: Any, feature_names: Sequence[str] | None = None) -> str:
    """Weights and parameters of a fitted mixture of any family, with its criteria.

    Parameters
    ----------
    model : fitted MixtureModel (of a family other than the Gaussian and t)
    X : array of shape (n_samples, n_features)
        The data the criteria are computed on.
    feature_names : sequence of str, optional

    Returns
    -------
    str
        A multi-line table: one row per component, one column per parameter entry.
    """
    family, weights = model.family_, np.asarray(model.weights_)
    K, d = len(weights), int(model.n_features_in_)
    names = list(feature_names) if feature_names is not None else [f"x{j}" for j in range(d)]
    n = int(np.shape(X)[0])
    lines = [
        f"{family.describe()} mixture: {_count(K, 'component')}, {_count(d, 'feature')}, "
        f"{_count(n, 'sample')}",
        *_criteria(model, X, n),
        "",
    ]
    labels, columns = ["weight"], [weights]
    for spec in family.specs:
        values = np.asarray(model.params_[spec.name]).reshape(K, -1)
        shape = spec.resolved(d)
        for j, index in enumerate(np.ndindex(*shape)):
            if shape == (d,):
                labels.append(f"{spec.name} {names[index[0]]}")
            else:
                labels.append(spec.name + (f"[{', '.join(map(str, index))}]" if index else ""))
            columns.append(values[:, j])
    width = max(14, *(len(label) for label in labels))
    lines.append(f"  {'component':>9}  " + "  ".join(f"{label:>{width}}" for label in labels))
    for k in range(K):
        lines.append(f"  {k:9d}  " + "  ".join(f"{c[k]:{width}.6g}" for c in columns))
    return "\n".join(lines)
