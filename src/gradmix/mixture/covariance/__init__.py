"""The registry of covariance models: every name ``covariance_type`` accepts.

mclust's fourteen models by their three letters (volume, shape, orientation:
Equal, Variable or Identity), with (K, d, d) fitted attributes;
scikit-learn's four names for the same four models it has, with
scikit-learn's attribute shapes; and mclust's ``E`` and ``V`` for
one-dimensional data.  Adding a model is one module in ``models/`` and one
line here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradmix.mixture.covariance.base import (
    LOG_2PI,
    Coefficients,
    CollapsedComponentError,
    CovarianceModel,
    ill_defined_error,
)
from gradmix.mixture.covariance.models.eee import EEE
from gradmix.mixture.covariance.models.eei import EEI
from gradmix.mixture.covariance.models.eev import EEV
from gradmix.mixture.covariance.models.eii import EII
from gradmix.mixture.covariance.models.eve import EVE
from gradmix.mixture.covariance.models.evi import EVI
from gradmix.mixture.covariance.models.evv import EVV
from gradmix.mixture.covariance.models.vee import VEE
from gradmix.mixture.covariance.models.vei import VEI
from gradmix.mixture.covariance.models.vev import VEV
from gradmix.mixture.covariance.models.vii import VII
from gradmix.mixture.covariance.models.vve import VVE
from gradmix.mixture.covariance.models.vvi import VVI
from gradmix.mixture.covariance.models.vvv import VVV

__all__ = [
    "Coefficients",
    "CovarianceModel",
    "DEFAULT_COVARIANCE",
    "DEFAULT_SELECTION",
    "PRIOR_SELECTION",
    "FULL",
    "LOG_2PI",
    "free_parameters",
    "MCLUST_NAMES",
    "MODELS",
    "SKLEARN_NAMES",
    "get_model",
    "mclust_name",
    "CollapsedComponentError",
    "ill_defined_error",
    "identity_precisions",
    "matrices",
    "plot_style",
]

#: mclust's fourteen models, in mclust's order (``mclust.options("emModelNames")``)
_UNITS: list[CovarianceModel] = [EII(), VII(), EEI(), VEI(), EVI(), VVI(), EEE(), EVE(), VEE(),
                                 VVE(), EEV(), VEV(), EVV(), VVV()]  # fmt: skip
MCLUST_NAMES = tuple(m.name for m in _UNITS)
#: GaussianMixture's default (scikit-learn's)
DEFAULT_COVARIANCE = "full"
#: scikit-learn's names, each the same model as one of mclust's
SKLEARN_NAMES = {"full": "VVV", "tied": "EEE", "diag": "VVI", "spherical": "VII"}

MODELS: dict[str, CovarianceModel] = {m.name: m for m in _UNITS}
MODELS.update({sk: MODELS[mc].renamed(sk, matrix_attributes=False)
               for sk, mc in SKLEARN_NAMES.items()})  # fmt: skip
MODELS["E"] = MODELS["EII"].renamed("E", matrix_attributes=True, univariate=True)
MODELS["V"] = MODELS["VII"].renamed("V", matrix_attributes=True, univariate=True)

#: the unconstrained model (its statistic is the data's full second moment)
FULL = MODELS["full"]

#: select_model's default models: mclust's, by the data's dimension
DEFAULT_SELECTION = {1: ("E", "V"), 2: MCLUST_NAMES}
#: the same with a conjugate prior: those mclust fits with one (its ``Mclust(X, prior = ...)``)
PRIOR_SELECTION = {1: ("E", "V"), 2: tuple(n for n in MCLUST_NAMES if MODELS[n].mclust_prior)}


def plot_style(covariance_type: str) -> tuple[str, Any]:
    """mclust's marker and colour for a model's line in a BIC picture: the spherical
    models grey and black, the others on a colour ramp from green through blue to red
    in mclust's order."""
    from matplotlib.colors import LinearSegmentedColormap

    model = get_model(covariance_type)
    i = MCLUST_NAMES.index(model.letters)
    if i < 2:
        return model.marker, ("0.55", "0.0")[i]
    ramp = LinearSegmentedColormap.from_list("mclust", ["forestgreen", "royalblue", "firebrick"])
    return model.marker, ramp((i - 2) / (len(MCLUST_NAMES) - 3))


#: mclust's names and descriptions (``mclustModelNames``) where its models coincide: in one
#: dimension, by the volume letter, and with one component, by the family's name for it
_COINCIDENT = {
    "E": "univariate, equal variance", "V": "univariate, unequal variance",
    "X": "univariate normal", "XII": "spherical multivariate normal",
    "XXI": "diagonal multivariate normal", "XXX": "ellipsoidal multivariate normal",
}  # fmt: skip


def mclust_name(covariance_type: str, n_components: int, n_features: int) -> tuple[str, str]:
    """mclust's name and description of a fitted model: in one dimension E or V (X with
    one component), with one component XII, XXI or XXX, else the model's own."""
    unit = get_model(covariance_type)
    if n_features == 1:
        name = "X" if n_components == 1 else unit.letters[0]
    elif n_components == 1:
        name = unit.one_component_letters
    else:
        return unit.letters, unit.description
    return name, _COINCIDENT[name]


def get_model(covariance_type: str) -> CovarianceModel:
    """The covariance model named ``covariance_type``.

    Raises
    ------
    ValueError
        For a name no model has.
    """
    try:
        return MODELS[covariance_type]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown covariance_type {covariance_type!r}; use one of {', '.join(MODELS)}"
        ) from None


def free_parameters(covariance_type: str, n_components: int, n_features: int) -> int:
    """Free parameters of a whole mixture: K - 1 weights, K·d means and the covariances'
    (mclust's ``nMclustParams``)."""
    K, d = n_components, n_features
    return int(get_model(covariance_type).n_parameters(K, d) + K * d + K - 1)


def matrices(covariance_type: str, values: Any, n_components: int, n_features: int) -> np.ndarray:
    """Fitted covariances (or precisions) of any model as (K, d, d) matrices."""
    model = get_model(covariance_type)
    return np.asarray(model.to_matrices(model.from_public(np.asarray(values)), n_components,
                                        n_features))  # fmt: skip


def identity_precisions(covariance_type: str, n_components: int, n_features: int) -> np.ndarray:
    """Unit precisions in the layout ``precisions_init`` takes for ``covariance_type``."""
    model = get_model(covariance_type)
    compact = model.from_matrices(
        np.broadcast_to(np.eye(n_features), (n_components, n_features, n_features))
    )
    return np.asarray(model.public(compact, n_components, n_features))
