"""The contract of a distribution family for :class:`~gradmix.MixtureModel`, and user families.

A family is a parametric density f(x; θ) of one row; a mixture of K
components holds K parameter sets.  The contract (:class:`MixtureFamily`):

- its parameters: names, shapes per component (``"d"`` stands for the
  number of features) and domains (:mod:`.domains`);
- ``logpdf(x, **params)``: plain numpy, one component, vectorised over rows:
  an (n, d) block in, (n,) log-densities out (differentiable by gradmix.ad);
- where the M-step has a closed form (or a one-dimensional equation), the
  sufficient statistics a chunk adds (``statistics``) and the M-step from
  their sums (``m_step``); otherwise the M-step is Newton's method on the
  exact derivatives of Σ r log f (:mod:`.newton`);
- the data's support (``support``: which rows a family cannot take), a
  start from rows of one component (``initial``), sampling.

:class:`Family` is the user's family: a ``logpdf`` and its parameter specs
are all it needs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from gradmix.mixture.families.domains import Domain, domain_of

__all__ = ["Family", "MixtureFamily", "ParamSpec", "Theta"]

#: a mixture's parameters: each name's values for all components, shape (K, *shape)
Theta = dict[str, np.ndarray]


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a component: its name, shape and domain.

    ``shape`` may name ``"d"``, the number of features, e.g. ``("d",)``.
    """

    name: str
    shape: tuple[int | str, ...]
    domain: Domain

    def resolved(self, d: int) -> tuple[int, ...]:
        """The shape with ``"d"`` replaced by the number of features."""
        return tuple(d if s == "d" else int(s) for s in self.shape)


def parse_specs(params: Mapping[str, Any]) -> tuple[ParamSpec, ...]:
    """Parameter specs from ``{name: (shape, domain)}`` (or ``{name: domain}`` for a scalar).

    Raises
    ------
    ValueError
        For an unknown domain, a malformed shape, or no parameters.
    """
    if not isinstance(params, Mapping) or not params:
        raise ValueError("params must be a non-empty dict {name: (shape, domain)}")
    specs = []
    for name, spec in params.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"parameter names must be Python identifiers, got {name!r}")
        if isinstance(spec, tuple) and len(spec) == 2 and not (
                isinstance(spec[0], str) and spec[0] == "interval"):  # fmt: skip
            shape, domain = spec
        else:
            shape, domain = (), spec
        if isinstance(shape, int | str):
            shape = (shape,)
        if not isinstance(shape, tuple) or not all(
                (isinstance(s, int) and s >= 1) or s == "d" for s in shape):  # fmt: skip
            raise ValueError(f"parameter {name!r}: the shape must be a tuple of positive "
                             f"integers or 'd', got {shape!r}")  # fmt: skip
        specs.append(ParamSpec(name, tuple(shape), domain_of(name, domain)))
    return tuple(specs)


class MixtureFamily(ABC):
    """A distribution family whose mixtures :class:`~gradmix.MixtureModel` fits."""

    #: the family's name (a built-in's: what ``MixtureModel`` also takes as a string)
    name: ClassVar[str] = ""
    #: its parameters
    specs: tuple[ParamSpec, ...] = ()
    #: parameters equal across components
    shared: frozenset[str] = frozenset()
    #: a density of continuous values (not a probability mass function): on tied values
    #: its likelihood grows without bound as its spread shrinks.  A fit by Newton M-steps
    #: (no closed form to floor the spread) then tells by the data whether a component's
    #: rows are one tied value (``family_em.tied_rows``).
    continuous: bool = False

    @abstractmethod
    def logpdf(self, x: Any, **params: Any) -> Any:
        """log f(x; θ) of every row of ``x`` (n, d): shape (n,).  Plain numpy."""

    def row_constant(self, X: np.ndarray) -> np.ndarray | None:
        """The part of log f(x; θ) that depends on the row alone, shape (n,), or None.

        :meth:`log_prob` leaves it out (it moves no responsibility), so EM adds its sum
        to the log-likelihood once instead of computing it every pass.
        """
        return None

    def log_prob(self, X: np.ndarray, theta: Theta) -> np.ndarray:
        """log f(x_i; θ_k) of every row under every component, less :meth:`row_constant`,
        shape (n, K) (host numpy).

        By default ``logpdf`` once per component; families with a faster joint form
        (a matrix product over components) override it.
        """
        K = len(next(iter(theta.values())))
        with np.errstate(all="ignore"):
            return np.stack([np.asarray(self.logpdf(X, **{n: v[k] for n, v in theta.items()}),
                                        dtype=np.float64) for k in range(K)], axis=1)  # fmt: skip

    # ------------------------------------------------------------------ the data
    def for_data(self, X: np.ndarray) -> MixtureFamily:
        """The family configured for data ``X`` (e.g. its number of categories)."""
        return self

    def support(self, X: np.ndarray) -> np.ndarray | None:
        """Rows outside the family's support (bool, (n,)), or None when every row is."""
        return None

    def support_text(self) -> str:
        """What the support is, for the error naming rows outside it."""
        return ""

    # ------------------------------------------------------------------ the M-step
    @property
    def closed_form(self) -> bool:
        """Whether the M-step comes from sufficient statistics (else Newton on AD)."""
        return type(self).statistics is not MixtureFamily.statistics

    def statistics(self, X: np.ndarray, wresp: np.ndarray) -> tuple[np.ndarray, ...]:
        """A chunk's sufficient statistics for weighted responsibilities (n, K) (only for a
        family with a closed form: :attr:`closed_form`)."""
        raise TypeError(f"the {self.describe()} family has no sufficient statistics: its "
                        "M-step is Newton's method")  # fmt: skip

    def m_step(self, sums: tuple[np.ndarray, ...], previous: Theta | None) -> Theta:
        """The parameters maximising Σ r log f from the summed statistics (only for a
        family with a closed form)."""
        raise TypeError(f"the {self.describe()} family has no closed-form M-step")

    def initial(self, X: np.ndarray, w: np.ndarray) -> Mapping[str, np.ndarray] | None:
        """A start for one component from its rows ``X`` (weights ``w``), or None (then
        Newton's method from the free vector's origin)."""
        return None

    def concentrated(self, theta: Theta) -> np.ndarray:
        """Components on tied values, bool (K,): their spread at the floor the M-step keeps
        it above, below which the statistics cannot tell it from none.

        A continuous density on tied values (one row, or rounded data) grows without
        bound as its spread shrinks, so such a fit's likelihood is large for the wrong
        reason, as a Gaussian's whose variance is ``reg_covar`` alone.  By default no
        component is: a probability mass function is at most 1.
        """
        return np.zeros(len(next(iter(theta.values()))), dtype=bool)

    # ------------------------------------------------------------------ users' views
    @property
    def can_sample(self) -> bool:
        """Whether the family can draw samples (it defines ``draw``)."""
        return type(self).draw is not MixtureFamily.draw

    def draw(self, rng: np.random.RandomState, n: int, **params: Any) -> np.ndarray:
        """``n`` draws from one component, shape (n, d) (where ``can_sample``)."""
        raise ValueError(f"the {self.describe()} family has no sampler")

    def describe(self) -> str:
        return self.name or type(self).__name__

    def config(self) -> dict[str, Any]:
        """A built-in family's constructor arguments (what a model file records)."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Family(MixtureFamily):
    """A family the user writes: its log-density and its parameters.

    Parameters
    ----------
    logpdf : callable
        ``logpdf(x, **params)``: plain numpy code for one component, ``x`` an
        (n, d) block of rows, returning their (n,) log-densities.  gradmix
        differentiates it (for the M-step and standard errors), so it must
        not branch on parameter values.
    params : dict
        ``{name: (shape, domain)}`` per component; ``shape`` a tuple of
        integers or ``"d"`` (the number of features), ``domain`` one of
        ``"real"``, ``"positive"``, ``("interval", low, high)``,
        ``"simplex"``, ``"cholesky"`` (positive definite, by a log-Cholesky
        factor).  A scalar parameter may be given as ``{name: domain}``.
    init : callable, optional
        ``init(x, w)``: a start ``{name: value}`` for one component from its
        rows ``x`` (n, d) and their weights ``w`` (n,).  Default: Newton's
        method on those rows from the free vector's origin.
    constraints : dict, optional
        ``{name: "shared"}``: the parameter is equal across components.
    sample : callable, optional
        ``sample(rng, n, **params)``: n draws (n, d) from one component (a
        ``numpy.random.RandomState``), for :meth:`MixtureModel.sample`.
    support : callable, optional
        ``support(x)``: a boolean (n,) of the rows the density can take
        (rows outside are an error naming them).
    continuous : bool, default=False
        Whether ``logpdf`` is a density of continuous values rather than a
        probability mass function.  Then a component whose rows are one tied
        value (rounded data, a pile at a detection limit), where the density
        grows without bound as the spread shrinks, is named by a
        :class:`~gradmix.TiedValuesWarning` and :func:`~gradmix.select_model`
        leaves the fit out.  (A mass function's component on one value, a
        Poisson's on zeros, is an honest fit.)
    name : str, optional

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> laplace = gm.Family(
    ...     lambda x, loc, scale: np.sum(-np.abs(x - loc) / scale - np.log(2 * scale), axis=1),
    ...     {"loc": (("d",), "real"), "scale": (("d",), "positive")})
    >>> laplace.describe()
    'Family(loc, scale)'
    """

    def __init__(self, logpdf: Callable[..., Any], params: Mapping[str, Any],
                 init: Callable[..., Any] | None = None,
                 constraints: Mapping[str, str] | None = None,
                 sample: Callable[..., Any] | None = None,
                 support: Callable[[np.ndarray], np.ndarray] | None = None,
                 continuous: bool = False, name: str = "") -> None:  # fmt: skip
        if not callable(logpdf):
            raise TypeError("logpdf must be a callable logpdf(x, **params)")
        self._logpdf = logpdf
        self.specs = parse_specs(params)
        names = {s.name for s in self.specs}
        shared = set()
        for key, value in (constraints or {}).items():
            if key not in names:
                raise ValueError(f"constraints name {key!r}, which is not a parameter "
                                 f"({', '.join(sorted(names))})")  # fmt: skip
            if value != "shared":
                raise ValueError(f"constraint {value!r} on {key!r}: the one constraint is "
                                 "'shared' (equal across components)")  # fmt: skip
            shared.add(key)
        self.shared = frozenset(shared)
        self._init, self._sample, self._support = init, sample, support
        self.continuous = bool(continuous)
        self.label = name

    def logpdf(self, x: Any, **params: Any) -> Any:
        return self._logpdf(x, **params)

    def support(self, X: np.ndarray) -> np.ndarray | None:
        if self._support is None:
            return None
        inside = np.asarray(self._support(X), dtype=bool)
        if inside.shape != (len(X),):
            raise ValueError(f"support(x) must return a boolean array of shape ({len(X)},), "
                             f"got shape {inside.shape}")  # fmt: skip
        return ~inside

    def support_text(self) -> str:
        return "the family's support(x)"

    def initial(self, X: np.ndarray, w: np.ndarray) -> Mapping[str, np.ndarray] | None:
        return None if self._init is None else self._init(X, w)

    @property
    def can_sample(self) -> bool:
        return self._sample is not None

    def draw(self, rng: np.random.RandomState, n: int, **params: Any) -> np.ndarray:
        if self._sample is None:
            raise ValueError("this family has no sample=; pass sample(rng, n, **params) to "
                             "gm.Family to draw from it")  # fmt: skip
        return np.asarray(self._sample(rng, n, **params), dtype=np.float64)

    def describe(self) -> str:
        return self.label or f"Family({', '.join(s.name for s in self.specs)})"

    def __repr__(self) -> str:
        return self.describe()
