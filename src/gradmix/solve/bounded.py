"""A bound on every ODE solve: no input makes :mod:`gradmix.solve` run forever.

The audit, for each solver in :mod:`gradmix.solve`:

- ``odeint`` and ``solve_ivp``: the right-hand side goes through
  :class:`BoundedRhs` (finite state and derivative, at most
  ``max_evaluations`` evaluations per solve, adjoint and sensitivity solves
  included);
- ``newton``: at most ``maxiter`` Newton steps, each with a bounded line search;
- ``minimize`` and ``least_squares``: scipy's own iteration limits
  (``maxiter``, ``max_nfev``), which are always finite;
- ``gradmix.fixed_point``: at most ``maxiter`` iterations, for the point and for
  each derivative solve.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["BoundedRhs"]


class BoundedRhs:
    """A right-hand side for ``scipy.integrate.solve_ivp`` that stops a solve that
    cannot end.

    scipy's LSODA never returns from a solution that blows up in finite time
    (``y' = y²`` from ``y(0) = 1``); the other methods fail slowly on some
    inputs.  This wrapper raises RuntimeError, naming the time reached, when the
    state or the derivative stops being finite (a blow-up) and when the number
    of evaluations passes ``max_evaluations`` (every solver evaluates the
    right-hand side at least once per step, so that bounds the steps too).

    Parameters
    ----------
    rhs : callable ``(t, y) -> dy/dt``
    t_end : float
        Where the solve is going, for the message.
    max_evaluations : int
    who : str
        The function named in messages.
    """

    def __init__(self, rhs: Callable[[float, np.ndarray], Any], t_end: float,
                 max_evaluations: int, who: str) -> None:  # fmt: skip
        self.rhs, self.t_end, self.max_evaluations, self.who = rhs, t_end, max_evaluations, who
        self.evaluations = 0
        self.reached: float | None = None

    def __call__(self, t: float, y: np.ndarray) -> Any:
        self.evaluations += 1
        if self.evaluations > self.max_evaluations:
            raise RuntimeError(
                f"{self.who}: {self.max_evaluations} evaluations of the right-hand side "
                f"did not reach t = {self.t_end:.8g} (it reached {self.where()}); "
                "the problem may be too stiff for the method, or raise max_evaluations"
            )
        if not np.all(np.isfinite(y)):
            raise RuntimeError(f"{self.who}: the solution is not finite near t = {t:.8g}: it "
                               "blows up there (or overflows)")  # fmt: skip
        out = self.rhs(t, y)
        if not np.all(np.isfinite(out)):
            raise RuntimeError(f"{self.who}: the right-hand side is not finite at t = {t:.8g} "
                               f"(largest |y| there {np.max(np.abs(y)):.3g})")  # fmt: skip
        if self.reached is None or abs(t - self.t_end) < abs(self.reached - self.t_end):
            self.reached = t  # the time closest to the end that a step has tried
        return out

    def where(self) -> str:
        """The time reached, for messages."""
        return "before the first step" if self.reached is None else f"t = {self.reached:.8g}"
