"""Mixture models fit by EM over sufficient statistics.

``covariance`` holds the covariance models (full, tied, diag, spherical),
``em`` the E-step/M-step over statistics, ``gaussian_mixture`` and ``kmeans``
the scikit-learn compatible estimators, ``persistence`` saving and loading.
"""

from gradmix.mixture.gaussian_mixture import GaussianMixture
from gradmix.mixture.kmeans import KMeans
from gradmix.mixture.persistence import load
from gradmix.mixture.selection import ModelSelection, select_model

__all__ = ["GaussianMixture", "KMeans", "ModelSelection", "load", "select_model"]
