"""Mixture models fit by EM over sufficient statistics.

``executors`` holds the one seam between the algorithms and the data
(numpy, array-API arrays, Dask); ``covariance`` the covariance models (mclust's
fourteen, scikit-learn's four among them); ``components`` the component
families (Gaussian, Student-t) built on them; ``em``, ``initialisation`` and
``lloyd`` the algorithms written on the seam; ``gaussian_mixture``,
``student_t_mixture``, ``bayesian_mixture`` and ``kmeans`` the scikit-learn
compatible estimators; ``inference`` and
``selection`` what the differentiated likelihood and information criteria
add; ``bootstrap`` mclust's bootstrap LRT and parameter bootstrap;
``persistence`` saving and loading.
"""

from gradmix.mixture import families
from gradmix.mixture.bayesian_mixture import BayesianGaussianMixture
from gradmix.mixture.bootstrap import BootstrapLRT, MixtureBootstrap, bootstrap, bootstrap_lrt
from gradmix.mixture.discriminant import (
    DACrossValidation,
    MixtureDiscriminantAnalysis,
    cross_validate_da,
)
from gradmix.mixture.em_estimator import TiedValuesWarning
from gradmix.mixture.families import Family
from gradmix.mixture.gaussian_mixture import GaussianMixture
from gradmix.mixture.kmeans import KMeans
from gradmix.mixture.mixture_model import MixtureModel
from gradmix.mixture.persistence import load
from gradmix.mixture.selection import ModelSelection, select_model
from gradmix.mixture.student_t_mixture import StudentTMixture

__all__ = [
    "BayesianGaussianMixture",
    "BootstrapLRT",
    "MixtureBootstrap",
    "bootstrap",
    "bootstrap_lrt",
    "Family",
    "GaussianMixture",
    "KMeans",
    "ModelSelection",
    "MixtureModel",
    "families",
    "load",
    "select_model",
    "MixtureDiscriminantAnalysis",
    "DACrossValidation",
    "cross_validate_da",
    "StudentTMixture",
    "TiedValuesWarning",
]
