"""scipy.stats's conventions around a distribution's standard-form formulas.

scipy's ``rv_continuous`` evaluates a distribution's formula for the standard
form (``z = (x - loc) / scale``) only where it is meaningful, and fills the
rest:

- NaN where a shape parameter fails the distribution's check, where ``scale``
  is not positive, or where ``z`` is NaN;
- outside the (closed) support, ``-inf`` for the log density; for the
  distribution functions 0 or 1 (``-inf`` or 0 for their logs) by the side;
- the quantile function is the support's end at 0 and 1, NaN outside [0, 1].

:class:`Continuous` applies the same masks around formulas that gradmix can
trace, so values equal scipy's everywhere, including the edges.  Filled
entries are constants (derivative 0: the cdf below the support), and the
formula is evaluated at a safe interior point there instead: a reverse pass
multiplies a filled entry's zero cotangent by the formula's local derivative,
and ``0 * inf`` would be NaN in every shared parameter's gradient.  An
infinite ``z`` inside the support (the normal log density at ``x = inf``) is
evaluated on plain values, a constant.  Derivatives at a finite end of the
support are one-sided limits: from inside for the densities (the only side
where the log density is finite), from outside for the distribution functions
(constant there, so 0).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradmix.ad import strip

__all__ = ["Continuous", "plain", "masked", "finish"]

Formula = Callable[..., Any]


def plain(a: Any) -> np.ndarray:
    """The values of ``a`` (a tracer or array-like) as a float array."""
    return np.asarray(strip(a), dtype=float)


def masked(keep: np.ndarray, value: Any, fill: float) -> Any:
    """``value`` where ``keep``, ``fill`` elsewhere (``value`` itself when all is kept;
    Python numbers become numpy floats, whose overflow is ``inf``, not an error)."""
    if not np.all(keep):
        return np.where(keep, value, fill)
    return np.asarray(value, dtype=float) if strip(value) is value else value


def finish(out: Any) -> Any:
    """A 0-d plain array as a numpy scalar, as scipy returns it."""
    if isinstance(out, np.ndarray) and out.ndim == 0:
        return out[()]
    return out


def _all_positive(*shapes: np.ndarray) -> Any:
    ok: Any = np.True_
    for s in shapes:
        ok = ok & (s > 0)
    return ok


@dataclass(frozen=True)
class Continuous:
    """A continuous distribution: its standard-form formulas and scipy's masks.

    Each formula takes the standardised point ``z`` (or the probability ``q``
    for ``ppf``) and the shape parameters, and must be traceable by gradmix.
    A method whose formula is None is not offered.

    Attributes
    ----------
    log_density : callable ``(z, *shapes) -> log f(z)``
    density : callable ``(z, *shapes) -> f(z)``, optional
        The density itself, used only at the support's finite ends where it is 0
        (``log_density`` is ``-inf`` there, so ``exp`` of it has no derivative:
        ``d/dx x e^-x`` at 0 is 1, not ``0 * inf``).
    cdf, logcdf, sf, logsf, ppf : callable or None
    shapes_ok : callable ``(*shapes) -> bool array``
        scipy's ``_argcheck`` on plain values (default: every shape positive).
    lower, upper : float
        The standard form's support.
    inner : float
        A point strictly inside the support, evaluated where entries are filled.
    """

    log_density: Formula
    density: Formula | None = None
    cdf: Formula | None = None
    logcdf: Formula | None = None
    sf: Formula | None = None
    logsf: Formula | None = None
    ppf: Formula | None = None
    shapes_ok: Callable[..., Any] = _all_positive
    lower: float = -np.inf
    upper: float = np.inf
    inner: float = 0.0

    def _check(self, x: Any, shapes: tuple[Any, ...], loc: Any, scale: Any
               ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """Plain ``z`` and the mask of valid parameters, broadcast together."""
        with np.errstate(all="ignore"):
            sv = plain(scale)
            zv = (plain(x) - plain(loc)) / sv + 0.0  # -0.0 is the support's end 0
            valid = self.shapes_ok(*(plain(s) for s in shapes)) & (sv > 0)
        zv, valid = np.broadcast_arrays(zv, valid)
        return zv, valid

    def _traced(self, keep: np.ndarray, x: Any, shapes: tuple[Any, ...], loc: Any, scale: Any
                ) -> tuple[Any, list[Any], Any]:  # fmt: skip
        """``z``, the shapes and ``scale`` where ``keep``; safe values elsewhere."""
        scale_s = masked(keep, scale, 1.0)
        z = (masked(keep, x, 0.0) - masked(keep, loc, 0.0)) / scale_s + 0.0
        shapes_s = [masked(keep, s, 1.0) for s in shapes]
        return masked(keep, z, self.inner), shapes_s, scale_s

    def _logpdf(self, x: Any, shapes: tuple[Any, ...], loc: Any, scale: Any,
                drop: np.ndarray | None = None) -> Any:  # fmt: skip
        """Log density, with the entries in ``drop`` filled (constants) as well."""
        zv, valid = self._check(x, shapes, loc, scale)
        inside = valid & (zv >= self.lower) & (zv <= self.upper)
        keep = inside & np.isfinite(zv)
        fill = np.where(valid & ~np.isnan(zv), -np.inf, np.nan)
        at_infinity = inside & ~keep
        if np.any(at_infinity):
            with np.errstate(all="ignore"):
                shv = [plain(s) for s in shapes]
                value = self.log_density(np.where(at_infinity, zv, self.inner), *shv)
                fill = np.where(at_infinity, value - np.log(plain(scale)), fill)
        if drop is not None:
            keep = keep & ~drop
        z, shapes_s, scale_s = self._traced(keep, x, shapes, loc, scale)
        return finish(np.where(keep, self.log_density(z, *shapes_s) - np.log(scale_s), fill))

    def logpdf(self, x: Any, shapes: tuple[Any, ...], loc: Any, scale: Any) -> Any:
        """Log density: NaN for bad parameters, ``-inf`` outside the support."""
        return self._logpdf(x, shapes, loc, scale)

    def pdf(self, x: Any, shapes: tuple[Any, ...], loc: Any, scale: Any) -> Any:
        """Density: ``exp`` of :meth:`logpdf`, and ``density`` where that is 0 at a finite
        end of the support.  There the density is 0 whatever the shapes and the scale,
        so only ``x`` and ``loc`` carry a derivative (the slope from inside)."""
        at_end = np.zeros((), dtype=bool)
        if self.density is not None:
            zv, valid = self._check(x, shapes, loc, scale)
            at_end = valid & ((zv == self.lower) | (zv == self.upper))
        if not np.any(at_end):
            return np.exp(self._logpdf(x, shapes, loc, scale))
        assert self.density is not None
        plain_shapes = [masked(at_end, plain(s), 1.0) for s in shapes]
        with np.errstate(all="ignore"):
            log_value = self._logpdf(plain(x), tuple(plain_shapes), plain(loc), plain(scale))
            at_end = at_end & (log_value == -np.inf)
            # huge shapes: the density's own formula overflows (0 * inf), its slope is 0
            at_end = at_end & np.isfinite(self.density(np.where(at_end, zv, self.inner),
                                                       *plain_shapes))  # fmt: skip
        out = np.exp(self._logpdf(x, shapes, loc, scale, drop=at_end))
        if not np.any(at_end):
            return out
        z = (masked(at_end, x, 0.0) - masked(at_end, loc, 0.0)) / masked(at_end, plain(scale), 1.0)
        end_value = self.density(masked(at_end, z, self.inner), *plain_shapes)
        return finish(np.where(at_end, end_value / masked(at_end, scale, 1.0), out))

    def tail(self, which: str, x: Any, shapes: tuple[Any, ...], loc: Any, scale: Any) -> Any:
        """``cdf``, ``logcdf``, ``sf`` or ``logsf``: the formula inside the support, its
        limits from the ends on (constants: at a finite end the derivative is the
        one-sided limit from outside, 0), NaN for bad parameters."""
        formula = getattr(self, which)
        if formula is None:
            raise NotImplementedError(f"this distribution has no {which}")
        below, above = {"cdf": (0.0, 1.0), "logcdf": (-np.inf, 0.0),
                        "sf": (1.0, 0.0), "logsf": (0.0, -np.inf)}[which]  # fmt: skip
        zv, valid = self._check(x, shapes, loc, scale)
        keep = valid & (zv > self.lower) & (zv < self.upper)
        fill = np.where(zv >= self.upper, above, below)
        fill = np.where(valid & ~np.isnan(zv), fill, np.nan)
        z, shapes_s, _ = self._traced(keep, x, shapes, loc, scale)
        return finish(np.where(keep, formula(z, *shapes_s), fill))

    def quantile(self, q: Any, shapes: tuple[Any, ...], loc: Any, scale: Any) -> Any:
        """Quantile function: the support's ends at 0 and 1, NaN outside [0, 1]."""
        if self.ppf is None:
            raise NotImplementedError("this distribution has no ppf")
        with np.errstate(all="ignore"):
            qv, lv, sv = plain(q), plain(loc), plain(scale)
            valid = self.shapes_ok(*(plain(s) for s in shapes)) & (sv > 0) & ~np.isnan(lv)
            qv, valid = np.broadcast_arrays(qv, valid)
            fill = np.where(valid & (qv == 0), self.lower * sv + lv, np.nan)
            fill = np.where(valid & (qv == 1), self.upper * sv + lv, fill)
        keep = valid & (qv > 0) & (qv < 1)
        shapes_s = [masked(keep, s, 1.0) for s in shapes]
        value = self.ppf(masked(keep, q, 0.5), *shapes_s) * masked(keep, scale, 1.0)
        return finish(np.where(keep, value + masked(keep, loc, 0.0), fill))
