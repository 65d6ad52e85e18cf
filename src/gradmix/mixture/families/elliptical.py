"""The Gaussian and Student-t components of this package, as families of MixtureModel.

They are fit by GaussianMixture's and StudentTMixture's own EM (their
covariance units and component families), so one ``MixtureModel`` API spans
every family; their parameters appear in ``params_`` as ``mean`` (K, d),
``covariance`` (K, d, d) (the scale matrix for t) and ``dof`` (K,).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from gradmix.mixture.covariance import DEFAULT_COVARIANCE, LOG_2PI, get_model
from gradmix.mixture.families.base import MixtureFamily, ParamSpec
from gradmix.mixture.families.domains import Domain
from gradmix.scipy import special

__all__ = ["EllipticalFamily", "Gaussian", "StudentT"]


class EllipticalFamily(MixtureFamily):
    """A family fit by one of the package's elliptical estimators."""

    #: the estimator that fits it: "gaussian" (GaussianMixture) or "t" (StudentTMixture)
    estimator: ClassVar[str] = ""
    continuous = True

    def __init__(self, covariance_type: str = DEFAULT_COVARIANCE, **options: Any):
        get_model(covariance_type)  # an unknown name is an error here
        self.covariance_type = covariance_type
        self.options = {"covariance_type": covariance_type, **options}
        self.specs = (ParamSpec("mean", ("d",), Domain("real")),
                      ParamSpec("covariance", ("d", "d"), Domain("cholesky")))  # fmt: skip

    def _mahalanobis(self, x: Any, mean: Any, covariance: Any) -> tuple[Any, Any]:
        """Squared distances (n,) and log det of the covariance (plain numpy).  MixtureModel
        fits these families with their estimators' own E-step; this is the same density
        for AD, checks and direct use."""
        L = np.linalg.cholesky(covariance)
        z = np.linalg.solve(L, np.swapaxes(x - mean, 0, 1))
        return np.sum(z * z, axis=0), 2.0 * np.sum(np.log(np.diagonal(L)))

    def describe(self) -> str:
        return f"{self.name}:{self.covariance_type}"

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"{type(self).__name__}({args})"


class Gaussian(EllipticalFamily):
    """Gaussian components with any of the package's covariance models."""

    name = "gaussian"
    estimator = "gaussian"

    def logpdf(self, x: Any, **params: Any) -> Any:
        maha, log_det = self._mahalanobis(x, params["mean"], params["covariance"])
        return -0.5 * (maha + log_det + x.shape[1] * LOG_2PI)


class StudentT(EllipticalFamily):
    """Student-t components with any scale model and ``dof`` ("free", "shared" or a number)."""

    name = "t"
    estimator = "t"

    def __init__(self, covariance_type: str = DEFAULT_COVARIANCE, dof: str | float = "free",
                 **options: Any):  # fmt: skip
        super().__init__(covariance_type, dof=dof, **options)
        self.specs = (*self.specs, ParamSpec("dof", (), Domain("positive")))

    def logpdf(self, x: Any, **params: Any) -> Any:
        nu, d = params["dof"], x.shape[1]
        maha, log_det = self._mahalanobis(x, params["mean"], params["covariance"])
        norm = (
            special.gammaln((nu + d) / 2) - special.gammaln(nu / 2) - 0.5 * d * np.log(nu * np.pi)
        )
        return norm - 0.5 * log_det - (nu + d) / 2 * np.log1p(maha / nu)
