"""The contract of a covariance unit: what every covariance model offers the mixture core.

A covariance model writes each component's covariance in mclust's form
``Σ_k = λ_k D_k A_k D_kᵀ`` (volume λ, shape A with det A = 1, orientation
D) with some factors equal across components.  It is one *unit*: two
layers, written down here as one abstract class.

- Its **storage family** (full, tied, diagonal or spherical: one module
  each, :mod:`.full`, :mod:`.tied`, :mod:`.diagonal`, :mod:`.spherical`) owns
  everything that depends only on how a covariance is stored: the
  second-moment statistic the E-step accumulates, the squared Mahalanobis
  distances of a chunk of rows, the precision factor, the attribute layouts,
  sampling.
- The **model** (``models/eii.py`` ...) adds its M-step (:meth:`estimate`)
  and its parameter count.

The component families (:mod:`gradmix.mixture.components`: Gaussian,
Student-t) build their densities on a unit's distances and M-step; no other
part of the package knows how a covariance is stored.

Kernels (``features``, ``mahalanobis``, ``second_parts``) are written against
the array namespace ``xp``, so the same code runs on numpy, on GPU tensors and
in Dask blocks; everything else runs on the host in float64.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from gradmix.mixture.covariance.mstep import geometric_mean, sorted_eigh

__all__ = [
    "Coefficients",
    "CovarianceModel",
    "CollapsedComponentError",
    "ILL_DEFINED_COVARIANCE",
    "LOG_2PI",
    "ill_defined_error",
    "row_text",
]

LOG_2PI = math.log(2 * math.pi)

ILL_DEFINED_COVARIANCE = (
    "Fitting the mixture model failed because some components have "
    "ill-defined empirical covariance (for instance caused by singleton "
    "or collapsed samples). Try to decrease the number of components, "
    "increase reg_covar, or scale the input data."
)


class CollapsedComponentError(ValueError):
    """A component's covariance is not positive definite (it collapsed onto a point or
    a subspace): scikit-learn's ValueError, as a type of its own so that a fit with
    several starts can drop the start it ended and keep the others."""


def ill_defined_error(dtype: Any) -> CollapsedComponentError:
    """scikit-learn's error for a covariance that is not positive definite."""
    msg = ILL_DEFINED_COVARIANCE
    if np.dtype(dtype) == np.float32:
        msg += (
            " The numerical accuracy can also be improved by passing float64"
            " data instead of float32."
        )
    return CollapsedComponentError(msg)


def row_text(values: Any) -> str:
    """Numbers as ``[a, b, ...]`` with four significant digits (summaries)."""
    return "[" + ", ".join(f"{v:.4g}" for v in np.ravel(values)) + "]"


def _shared(values: np.ndarray, equal: bool) -> np.ndarray:
    """The values, or their mean repeated when the factor is shared."""
    if not equal:
        return values
    return np.broadcast_to(values.mean(axis=0), values.shape).copy()


@dataclass
class Coefficients:
    """Parameter-derived arrays for one pass over the data, on the data's device.

    A storage family extends this with the arrays its kernels read; the
    fields here are the split of the components into well-conditioned ones
    (distances from fast GEMMs about the global centre) and ill-conditioned
    ones (exact differences about the component's own mean).

    Attributes
    ----------
    K, d : int
    well, ill : ndarray of int (host)
        The components of each kind.
    sel : array of int, shape (K,)
        Column k of ``[fast (K columns), exact (one per ill component)]``.
    ref_ill : list of arrays, shape (d,) each
        The ill-conditioned components' reference points.
    B, c : arrays, shapes (q, K) and (K,)
        The fast distances of every component, ``δ = F @ B + c``, from the
        family's features ``F`` (n, q) (None until a pass has means and
        precisions).
    """

    K: int
    d: int
    well: np.ndarray
    ill: np.ndarray
    sel: Any
    ref_ill: list[Any] = field(default_factory=list)
    B: Any = None
    c: Any = None


@dataclass(frozen=True)
class CovarianceModel(ABC):
    """A covariance model: the storage family's computations and the model's M-step.

    Parameters
    ----------
    name : str
        The name users pass as ``covariance_type`` (mclust's three letters, or
        scikit-learn's name for the four models it has).
    matrix_attributes : bool
        Fitted ``covariances_``, ``precisions_`` and ``precisions_cholesky_``
        are (K, d, d) arrays (mclust's names), or the family's compact
        arrays (scikit-learn's names keep scikit-learn's shapes).
    univariate : bool
        mclust's one-dimensional names (``E``, ``V``).
    """

    name: str = ""
    matrix_attributes: bool = True
    univariate: bool = False

    #: mclust's name: volume, shape and orientation each Equal, Variable or Identity
    letters: ClassVar[str] = ""
    #: mclust's description of the model
    description: ClassVar[str] = ""
    #: the marker of the model's line in mclust's BIC picture (matplotlib's name)
    marker: ClassVar[str] = "o"
    #: True when one statistic is pooled over all components (one covariance: tied)
    pooled: ClassVar[bool] = False
    #: True when the conjugate prior's scale is a multiple of I (inverse-gamma priors)
    prior_scalar_scale: ClassVar[bool] = False
    #: mclust's name for one component of the family, where the models coincide
    one_component_letters: ClassVar[str] = "XXX"
    #: False for the models mclust fits no conjugate prior to (EVE, VEE, VVE, EVV; here
    #: they take VVV's form): select_model leaves them out of its default grid with a prior
    mclust_prior: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.letters)

    @property
    def one_component_name(self) -> str:
        """mclust's name for this model with one component ("XXX", "XXI", "XII", or "X" in
        one dimension), where the models of a family coincide."""
        return "X" if self.univariate else self.one_component_letters

    @property
    def sharing(self) -> tuple[str, str, str]:
        """How volume, shape and orientation vary across components: each ``"equal"``,
        ``"variable"`` or ``"identity"`` (mclust's letters, spelt out)."""
        words = {"E": "equal", "V": "variable", "I": "identity"}
        return (words[self.letters[0]], words[self.letters[1]], words[self.letters[2]])

    def renamed(self, name: str, *, matrix_attributes: bool,
                univariate: bool = False) -> CovarianceModel:  # fmt: skip
        """The same model under another name (and attribute layout)."""
        return replace(self, name=name, matrix_attributes=matrix_attributes,
                       univariate=univariate)  # fmt: skip

    # ============================================================== the model's own part
    @abstractmethod
    def estimate(self, W: Any, nk: np.ndarray, n_features: int, previous: np.ndarray | None = None,
                 trace: list[float] | None = None) -> np.ndarray:  # fmt: skip
        """The covariances maximising the expected complete-data log-likelihood.

        That is, the minimiser of ``Σ_k n_k log|Σ_k| + tr(W_k Σ_k⁻¹)`` under
        the model's constraints.

        Parameters
        ----------
        W : ndarray
            Weighted scatter about the means (regularised), in the family's
            form: (K, d, d), (d, d) pooled, (K, d) diagonals or (K,) traces.
        nk : ndarray, shape (K,)
            The counts that divide the scatter (Σ w r per component).
        n_features : int
        previous : ndarray, optional
            The current covariances (compact), where an iterative M-step
            starts from.
        trace : list, optional
            Iterative M-steps append the objective after each iteration.

        Returns
        -------
        ndarray
            Compact covariances (float64).
        """

    def prior_added(self, scale: np.ndarray, dof: float,
                    n_components: int) -> tuple[np.ndarray, float]:  # fmt: skip
        """What the conjugate prior adds to each component's covariance step.

        The MAP step minimises ``Σ_k (n_k + c) log|Σ_k| + tr((W_k + P) Σ_k⁻¹)``
        under the model; ``P`` and ``c`` are what mclust 6.0.0's EM with
        ``priorControl()`` adds for the model (:mod:`~gradmix.mixture.conjugate_prior`).
        With one component every model is mclust's single-Gaussian estimate.

        Parameters
        ----------
        scale : ndarray, shape (d, d)
            The prior's scale Λ_P.
        dof : float
            The prior's degrees of freedom ν_P.
        n_components : int

        Returns
        -------
        P : ndarray, shape (d, d)
            The extra scatter.
        c : float
            The extra counts (the prior's ``log|Σ_k|`` coefficient).
        """
        if n_components == 1:
            return self.one_component_prior_added(scale, dof)
        return self.components_prior_added(scale, dof, n_components)

    def one_component_prior_added(self, scale: np.ndarray, dof: float) -> tuple[np.ndarray, float]:
        """:meth:`prior_added` for one component: mclust's ``mvnXXX`` (inverse Wishart)."""
        return scale, dof + len(scale) + 2.0

    def components_prior_added(self, scale: np.ndarray, dof: float,
                               n_components: int) -> tuple[np.ndarray, float]:  # fmt: skip
        """:meth:`prior_added` for several components; VVV's inverse-Wishart form unless
        the model overrides it (mclust has no prior for EVE, VEE, VVE and EVV: they get
        this form, restricted to the model)."""
        return scale, dof + len(scale) + 2.0

    @abstractmethod
    def n_parameters(self, n_components: int, n_features: int) -> int:
        """Free parameters of the covariances (mclust's ``nVarParams``)."""

    def check_data(self, n_features: int) -> None:
        """Raise if the model does not apply to data with ``n_features`` columns."""
        if self.univariate and n_features != 1:
            raise ValueError(
                f"covariance_type={self.name!r} is mclust's name for one-dimensional data; "
                f"the data have {n_features} features (use the three-letter names)"
            )

    # ============================================================== layouts (the family's)
    @abstractmethod
    def compact_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        """Shape of the compact covariances (and precisions, precision factors)."""

    @abstractmethod
    def second_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        """Shape of the second-moment statistic on the host."""

    @abstractmethod
    def to_matrices(self, compact: Any, n_components: int, n_features: int) -> Any:
        """(K, d, d) matrices from compact covariances, precisions or precision factors
        (plain numpy: differentiable by gradmix.ad)."""

    @abstractmethod
    def from_matrices(self, M: np.ndarray) -> np.ndarray:
        """Compact arrays from (K, d, d) matrices of the family's structure."""

    @abstractmethod
    def scatter_from_matrices(self, M: np.ndarray) -> Any:
        """The family's scatter form of (K, d, d) matrices (unit weights)."""

    def public_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        """Shape of the fitted ``covariances_`` (and ``precisions_``, ``precisions_cholesky_``)."""
        if self.matrix_attributes:
            return (n_components, n_features, n_features)
        return self.compact_shape(n_components, n_features)

    def public(self, compact: Any, n_components: int, n_features: int) -> Any:
        """Compact arrays in the fitted attributes' layout."""
        if self.matrix_attributes:
            return self.to_matrices(compact, n_components, n_features)
        return compact

    def from_public(self, public: np.ndarray) -> np.ndarray:
        """The compact form of arrays in the fitted attributes' layout."""
        return self.from_matrices(np.asarray(public)) if self.matrix_attributes else public

    def component_shape(self, n_features: int) -> tuple[int, ...]:
        """Shape of one component's compact covariance (the Wishart prior's)."""
        return self.compact_shape(1, n_features)[1:]

    def component_from_covariance(self, cov: np.ndarray) -> Any:
        """One component's compact covariance nearest a (d, d) covariance: the matrix, its
        diagonal, or its mean variance (scikit-learn's data-dependent priors)."""
        return cov

    # ============================================================== the E-step's kernels
    @abstractmethod
    def reference(self, means: np.ndarray, prec_chol: np.ndarray) -> np.ndarray:
        """Points to take the next statistics about, shape (K, d): zeros (the global
        centre, one GEMM) or, where that would lose digits, the component's mean."""

    @abstractmethod
    def coefficients(self, ref: np.ndarray, put: Any, means: np.ndarray | None = None,
                     prec_chol: np.ndarray | None = None) -> Coefficients:  # fmt: skip
        """The arrays a pass's kernels read, on the data's device (``put`` sends them).

        Without ``means`` and ``prec_chol`` only the statistic (about ``ref``)
        can be taken, not distances.
        """

    @abstractmethod
    def features(self, xp: Any, X: Any, co: Coefficients) -> Any:
        """Per-row products both the distances and the statistic read (or None)."""

    @abstractmethod
    def mahalanobis(self, xp: Any, X: Any, co: Coefficients, F: Any) -> Any:
        """Squared Mahalanobis distances ``(x - μ_k)ᵀ Σ_k⁻¹ (x - μ_k)``, shape (n, K),
        non-negative (rounding clipped); numpy's are laid out column by column."""

    def scaled_mahalanobis(self, xp: Any, X: Any, co: Coefficients, F: Any, scale: float,
                           offset: Any) -> Any:  # fmt: skip
        """``scale · δ + offset`` (offset of shape (K,)), shape (n, K): what a density
        that is affine in the distances reads (the Gaussian's ``-δ/2 + log terms``).

        Here from :meth:`mahalanobis`; a family whose distances are one product
        folds the scale and the offset into its coefficients instead, sparing
        passes over the (n, K) array, and then does not clip rounding below 0.
        """
        g = self.mahalanobis(xp, X, co, F)
        g *= scale
        g += offset
        return g

    @abstractmethod
    def second_parts(self, xp: Any, X: Any, weights: Any, co: Coefficients, F: Any) -> tuple:
        """A chunk's second-moment statistic ``Σ_i w_ik x_i x_iᵀ`` in the family's form,
        for per-row, per-component weights (n, K); summed over chunks by the executor."""

    @abstractmethod
    def assemble(self, parts: tuple, co: Coefficients) -> np.ndarray:
        """The host statistic (:meth:`second_shape`) from the summed parts."""

    def temporaries_per_row(self, n_components: int, n_features: int) -> int:
        """Numbers a chunk's E-step holds per row (its chunks are sized from this)."""
        return 6 * n_components + n_features

    # ============================================================== the M-step's input
    @abstractmethod
    def scatter(self, nk: np.ndarray, means: np.ndarray, second: np.ndarray, ref: np.ndarray,
                centre: np.ndarray) -> np.ndarray:  # fmt: skip
        """W_k = Σ w r (x - c_k)(x - c_k)ᵀ about ``centre`` from the statistic about ``ref``
        (``nk`` the statistic's total weights, ``means`` its weighted means)."""

    @abstractmethod
    def ridge(self, W: np.ndarray, nk: np.ndarray, reg_covar: float, d: int) -> np.ndarray:
        """``W_k + n_k·reg·I`` in the family's form: the scatter whose estimate has
        ``reg_covar`` on its diagonal."""

    @abstractmethod
    def about_origin(self, ref: np.ndarray, sx: np.ndarray, nk: np.ndarray,
                     second: np.ndarray) -> np.ndarray:  # fmt: skip
        """The second-moment statistic moved from ``ref`` to the origin."""

    # ================================================= unconstrained coordinates
    def unconstrained(self, cov: np.ndarray) -> np.ndarray:
        """Compact covariances in coordinates where every point is a covariance: log
        variances here, log-Cholesky factors for matrices.  Extrapolations of EM's path
        (SQUAREM) move in them, so that they reach positive definite covariances, if
        not always the model's (its next M-step restores the constraints)."""
        return np.log(cov)

    def from_unconstrained(self, z: np.ndarray) -> np.ndarray:
        """The compact covariances at unconstrained coordinates ``z``."""
        return np.exp(z)

    # ============================================================== precisions
    @abstractmethod
    def precision_cholesky(self, cov: np.ndarray) -> np.ndarray:
        """scikit-learn's ``precisions_cholesky_`` (``U Uᵀ = Σ⁻¹``) of compact covariances;
        scikit-learn's ill-defined-covariance error if they are not positive definite."""

    @abstractmethod
    def precisions(self, prec_chol: np.ndarray) -> np.ndarray:
        """Compact precisions from precision factors."""

    @abstractmethod
    def cholesky_from_precisions(self, precisions: np.ndarray) -> np.ndarray:
        """Precision factors from compact precisions."""

    @abstractmethod
    def covariances_from_cholesky(self, prec_chol: np.ndarray) -> np.ndarray:
        """Compact covariances from precision factors."""

    @abstractmethod
    def variances(self, cov: np.ndarray) -> np.ndarray:
        """Per-feature variances (or a factor's diagonal), broadcastable to (K, d)."""

    @abstractmethod
    def log_det(self, prec_chol: Any, d: int) -> Any:
        """log det of the precision factor, per component (a scalar when pooled)."""

    def factor_defect(self, prec_chol: np.ndarray) -> str | None:
        """What is wrong with a precision factor read from a file, or None."""
        U = np.asarray(prec_chol)
        if U.ndim >= 2 and U.shape[-1] == U.shape[-2] and np.any(np.tril(U, -1)):
            return "precisions_cholesky_ is not upper triangular"
        return None

    # ============================================================== users' views
    @abstractmethod
    def sample(self, rng: Any, means: np.ndarray, cov: np.ndarray, counts: np.ndarray,
               scales: list[np.ndarray] | None = None) -> np.ndarray:  # fmt: skip
        """``counts[k]`` draws from each component (scikit-learn's calls, so the same
        numbers); ``scales`` (one array of ``counts[k]`` positive numbers per component)
        divide each draw's covariance (scale mixtures: Student-t)."""

    @abstractmethod
    def describe(self, cov: np.ndarray) -> list[str]:
        """Lines of text showing compact covariances."""

    def factors(self, cov: np.ndarray, n_components: int,
                n_features: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
        """mclust's decomposition ``Σ_k = λ_k D_k A_k D_kᵀ`` of compact covariances.

        Returns
        -------
        volume : ndarray, shape (K,)
            λ_k = det(Σ_k)^(1/d).
        shape : ndarray, shape (K, d)
            The diagonal of A_k (det 1), in decreasing order unless the
            orientation is the identity (then in the features' order).
        orientation : ndarray, shape (K, d, d)
            D_k, eigenvectors as columns (largest entry positive).

        Equal factors are the same array repeated.
        """
        K, d = n_components, n_features
        M = np.asarray(self.to_matrices(np.asarray(cov, dtype=np.float64), K, d))
        vol_letter, shape_letter, orient_letter = self.letters[0], self.letters[1], self.letters[2]
        if orient_letter == "I":
            diag = np.diagonal(M, axis1=1, axis2=2)
            volume = geometric_mean(diag)
            shape = diag / volume[:, None]
            orientation = np.broadcast_to(np.eye(d), (K, d, d)).copy()
        elif orient_letter == "E":
            volume = np.linalg.det(M) ** (1.0 / d)
            _, D = sorted_eigh(np.sum(M / volume[:, None, None], axis=0))
            shape = np.einsum("ji,kjl,li->ki", D, M, D) / volume[:, None]
            orientation = np.broadcast_to(D, (K, d, d)).copy()
        else:
            values, orientation = sorted_eigh(M)
            volume = geometric_mean(values)
            shape = values / volume[:, None]
        return (_shared(volume, vol_letter == "E"), _shared(shape, shape_letter == "E"),
                _shared(orientation, orient_letter == "E") if orient_letter == "V" else
                orientation)  # fmt: skip

    def conforms(self, cov_matrices: np.ndarray) -> bool:
        """True when (K, d, d) covariances have the model's structure."""
        M = np.asarray(cov_matrices, dtype=np.float64)
        K, d, _ = M.shape
        projected = self.to_matrices(self.estimate(self.scatter_from_matrices(M), np.ones(K), d),
                                     K, d)  # fmt: skip
        return bool(np.allclose(projected, M, rtol=1e-6, atol=1e-12 * np.max(np.abs(M))))

    # ============================================================== checks of given values
    def _check_compact_precisions(self, precisions: np.ndarray) -> np.ndarray | None:
        """A family's own check of ``precisions_init`` in a compact layout, or None to
        check the matrices."""
        return None

    def check_precisions(self, precisions: np.ndarray, n_components: int,
                         n_features: int) -> np.ndarray:  # fmt: skip
        """Validated ``precisions_init`` (the fitted attributes' layout) as compact precisions.

        Raises scikit-learn's errors for scikit-learn's names; for mclust's, the
        precisions must be (K, d, d), symmetric positive definite, and have the
        model's structure.
        """
        label = f"{self.name} precision"
        shape = self.public_shape(n_components, n_features)
        if precisions.shape != shape:
            raise ValueError(f"The parameter '{label}' should have the shape of {shape}, "
                             f"but got {precisions.shape}")  # fmt: skip
        if not self.matrix_attributes:
            checked = self._check_compact_precisions(precisions)
            if checked is not None:
                return checked
        mats = np.reshape(self.to_matrices(self.from_public(precisions), n_components,
                                           n_features), (-1, n_features, n_features))  # fmt: skip
        # every component at once (one call each, not one per component: bootstrap
        # replicates pass the fitted precisions to every refit)
        if not (np.allclose(mats, np.swapaxes(mats, 1, 2))
                and np.all(np.linalg.eigvalsh(mats) > 0.0)):  # fmt: skip
            raise ValueError(f"'{label}' should be symmetric, positive-definite")
        if self.matrix_attributes and not self.conforms(np.linalg.inv(precisions)):
            raise ValueError(f"'{label}' should have the structure of model {self.letters} "
                             f"({self.description})")  # fmt: skip
        return self.from_public(precisions)

    def check_component(self, value: np.ndarray, n_features: int) -> np.ndarray:
        """A given prior covariance, checked with scikit-learn's messages."""
        shape = self.component_shape(n_features)
        if value.shape != shape:
            raise ValueError(f"The parameter '{self.name} covariance_prior' should have the "
                             f"shape of {shape}, but got {value.shape}")  # fmt: skip
        # scikit-learn's messages call the prior a precision
        if value.ndim == 2:
            if not (np.allclose(value, value.T) and np.all(np.linalg.eigvalsh(value) > 0.0)):
                raise ValueError(f"'{self.name} precision' should be symmetric, positive-definite")
        elif np.any(np.less_equal(value, 0.0)):
            raise ValueError(f"'{self.name} precision' should be positive")
        return value
