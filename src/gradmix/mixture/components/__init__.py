"""Component families: the density of a mixture's components, on a covariance unit.

:class:`~.base.ComponentFamily` is the contract the EM loop, prediction,
missing values and the AD likelihood are written against; ``Gaussian`` and
``StudentT`` are its two members.
"""

from gradmix.mixture.components.base import ComponentFamily, PassCoefficients, Radial, RowTerms
from gradmix.mixture.components.gaussian import Gaussian
from gradmix.mixture.components.student_t import DOF_BOUNDS, StudentT

__all__ = [
    "ComponentFamily",
    "DOF_BOUNDS",
    "Gaussian",
    "PassCoefficients",
    "Radial",
    "RowTerms",
    "StudentT",
]
