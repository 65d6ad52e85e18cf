"""A plain-text summary table of a fitted Gaussian mixture."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["format_summary"]


def _fmt_row(values: Any) -> str:
    return "[" + ", ".join(f"{v:.4g}" for v in np.ravel(values)) + "]"


def format_summary(model: Any, X: np.ndarray, feature_names: Sequence[str] | None = None) -> str:
    """Weights, means, covariances, log-likelihood, BIC, iterations and convergence.

    Parameters
    ----------
    model : fitted GaussianMixture
    X : ndarray of shape (n_samples, n_features)
        The data the criteria are computed on.
    feature_names : sequence of str, optional

    Returns
    -------
    str
        A multi-line table.
    """
    K, d = model.means_.shape
    names = list(feature_names) if feature_names is not None else [f"x{j}" for j in range(d)]
    n = X.shape[0]
    ll = model.score(X) * n
    lines = [
        f"Gaussian mixture: {K} components, {model.covariance_type} covariance, "
        f"{d} features, {n} samples",
        f"  log-likelihood {ll:.4f}   mean {ll / n:.6f}   BIC {model.bic(X):.4f}   "
        f"AIC {model.aic(X):.4f}",
        f"  EM iterations {model.n_iter_}   converged {model.converged_}",
        "",
        f"  {'component':>9}  {'weight':>8}  " + "  ".join(f"{'mean ' + nm:>14}" for nm in names),
    ]
    for k in range(K):
        means = "  ".join(f"{m:14.6g}" for m in model.means_[k])
        lines.append(f"  {k:9d}  {model.weights_[k]:8.4f}  {means}")
    lines += ["", "  covariances:"]
    cov = np.asarray(model.covariances_)
    if model.covariance_type == "tied":
        lines.append(f"    shared: {_fmt_row(cov)}" if d == 1 else "    shared:")
        if d > 1:
            lines += [f"      {_fmt_row(row)}" for row in cov]
    else:
        for k in range(K):
            if model.covariance_type == "full":
                lines.append(f"    component {k}:")
                lines += [f"      {_fmt_row(row)}" for row in cov[k]]
            else:
                label = "variances" if model.covariance_type == "diag" else "variance"
                lines.append(f"    component {k} {label}: {_fmt_row(cov[k])}")
    return "\n".join(lines)
