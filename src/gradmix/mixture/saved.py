"""What a saved GaussianMixture or StudentTMixture holds, and the check of a loaded one.

:mod:`.persistence` reads every member against the shapes given here and
then calls :func:`check_saved`: a model file is untrusted input, so every
fitted value is checked to make a mixture (weights summing to one with the
noise component's, positive triangular precision factors that match the
covariances, degrees of freedom and a hypervolume that are positive).
"""

from __future__ import annotations

import numpy as np

from gradmix.mixture.covariance import get_model
from gradmix.mixture.em_estimator import EMMixtureBase

__all__ = ["FITTED", "OPTIONAL", "check_saved", "saved_shapes"]

FITTED = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_",
          "converged_", "n_iter_", "lower_bound_", "lower_bounds_", "n_features_in_",
          "feature_names_in_", "noise_weight_", "hypervolume_", "noise_axes_", "noise_bounds_",
          "degrees_of_freedom_")  # fmt: skip

#: attributes a fitted model may lack (data without column names; no noise component;
#: a noise volume that is not a box; Gaussian components)
OPTIONAL = frozenset({"feature_names_in_", "noise_weight_", "hypervolume_", "noise_axes_",
                      "noise_bounds_", "degrees_of_freedom_"})  # fmt: skip


def saved_shapes(model: EMMixtureBase) -> dict[str, tuple[int, ...] | None]:
    """The shape each saved attribute must have (None: any 1-D length)."""
    K, d = model.n_components, model.n_features_in_
    cov = get_model(model.covariance_type).public_shape(K, d)
    return {"weights_": (K,), "means_": (K, d), "covariances_": cov, "precisions_": cov,
            "precisions_cholesky_": cov, "converged_": (), "n_iter_": (), "lower_bound_": (),
            "lower_bounds_": None, "feature_names_in_": (d,), "noise_weight_": (),
            "hypervolume_": (), "noise_axes_": (d, d), "noise_bounds_": (2, d),
            "degrees_of_freedom_": (K,)}  # fmt: skip


def check_saved(model: EMMixtureBase) -> None:
    """A loaded model's values make a mixture: weights, precision factors, consistency.

    Raises
    ------
    ValueError
        Naming the first defect.
    """
    w = np.asarray(model.weights_)
    atol = 1e-5 if w.dtype == np.float32 else 1e-8
    noise = getattr(model, "noise_weight_", None)
    total = float(np.sum(w, dtype=np.float64)) + (0.0 if noise is None else noise)
    if np.any(w < 0) or (noise is not None and not 0 <= noise <= 1) or abs(total - 1.0) > atol:
        raise ValueError("weights_ are not non-negative numbers summing to one"
                         + ("" if noise is None else " with noise_weight_"))  # fmt: skip
    if (noise is None) != (getattr(model, "hypervolume_", None) is None):
        raise ValueError("noise_weight_ and hypervolume_ come together")
    if noise is not None and not model.hypervolume_ > 0:
        raise ValueError("hypervolume_ is not positive")
    if hasattr(model, "noise_bounds_") != hasattr(model, "noise_axes_") or \
            (hasattr(model, "noise_bounds_") and noise is None):  # fmt: skip
        raise ValueError("noise_axes_ and noise_bounds_ come together, with noise_weight_")
    if hasattr(model, "noise_bounds_"):
        axes = np.asarray(model.noise_axes_, dtype=np.float64)
        if not np.allclose(axes @ axes.T, np.eye(len(axes)), atol=1e-6):
            raise ValueError("noise_axes_ are not orthonormal")
        if np.any(model.noise_bounds_[0] > model.noise_bounds_[1]):
            raise ValueError("noise_bounds_ have a lower bound above the upper one")
    dof = getattr(model, "degrees_of_freedom_", None)
    if (dof is not None) != hasattr(model, "dof"):
        raise ValueError("degrees_of_freedom_ belong to Student-t mixtures only")
    if dof is not None and not np.all(np.asarray(dof) > 0):
        raise ValueError("degrees_of_freedom_ are not positive")
    unit = get_model(model.covariance_type)
    U = np.asarray(unit.from_public(model.precisions_cholesky_), dtype=np.float64)
    if np.any(unit.variances(U) <= 0):
        raise ValueError("precisions_cholesky_ has a diagonal entry that is not positive")
    defect = unit.factor_defect(U)
    if defect is not None:
        raise ValueError(defect)
    rtol = 1e-4 if w.dtype == np.float32 else 1e-8
    precisions = unit.precisions(U)
    covariances = unit.covariances_from_cholesky(U)
    for name, expected in (("precisions_", precisions), ("covariances_", covariances)):
        got = np.asarray(unit.from_public(getattr(model, name)), dtype=np.float64)
        if not np.allclose(got, expected, rtol=rtol, atol=rtol * np.max(np.abs(expected))):
            raise ValueError(f"{name} do not match precisions_cholesky_")
