"""Distribution families for :class:`~gradmix.MixtureModel`: built-in ones and the user's.

A family is its log-density in plain numpy and its parameters' domains
(``families.base``, ``families.domains``); the M-step is a closed form where
the family has one and Newton's method on exact derivatives otherwise
(``families.newton``).
"""

from typing import Any

from gradmix.mixture.families.base import Family, MixtureFamily, ParamSpec, Theta
from gradmix.mixture.families.circular import VonMises
from gradmix.mixture.families.counts import Bernoulli, Categorical, Poisson
from gradmix.mixture.families.domains import DOMAINS, Domain
from gradmix.mixture.families.elliptical import EllipticalFamily, Gaussian, StudentT
from gradmix.mixture.families.positive import Exponential, Gamma, LogNormal, Weibull

__all__ = [
    "BUILT_IN",
    "DOMAINS",
    "Bernoulli",
    "Categorical",
    "Domain",
    "EllipticalFamily",
    "Exponential",
    "Family",
    "Gamma",
    "Gaussian",
    "LogNormal",
    "MixtureFamily",
    "ParamSpec",
    "Poisson",
    "StudentT",
    "Theta",
    "VonMises",
    "Weibull",
    "family_for",
]

#: the built-in families by name (what MixtureModel takes as a string)
BUILT_IN: dict[str, type[MixtureFamily]] = {
    f.name: f
    for f in (
        Poisson,
        Exponential,
        Gamma,
        LogNormal,
        Weibull,
        VonMises,
        Bernoulli,
        Categorical,
        Gaussian,
        StudentT,
    )  # fmt: skip
}


def family_for(family: Any) -> MixtureFamily:
    """A family object from a family or a built-in's name.

    Raises
    ------
    ValueError
        For an unknown name or anything else.
    """
    if isinstance(family, MixtureFamily):
        return family
    if isinstance(family, str) and family in BUILT_IN:
        return BUILT_IN[family]()
    raise ValueError(f"family must be a gm.Family, a built-in family or one of "
                     f"{', '.join(BUILT_IN)}; got {family!r}")  # fmt: skip
