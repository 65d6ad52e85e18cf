"""Solvers on exact derivatives: Newton's method, and scipy's solvers fed by gradmix.

``newton`` is written here (the lecture's iteration, with exact Jacobians);
``minimize``, ``least_squares`` and ``solve_ivp`` are scipy's, given the
gradient, Hessian or Jacobian from AD instead of finite differences;
``odeint`` is an ODE solution that transforms can differentiate (adjoint
method), so the parameters of an ODE can be fitted by gradient.  Every one of
them takes its Jacobian from ``jacobians``: dense for small systems, sparse
(``scipy.sparse``, from :func:`gradmix.sparse_jacobian`) from ``SPARSE_FROM``
unknowns.
"""

from gradmix.solve.jacobians import SPARSE_FROM, ode_jacobian
from gradmix.solve.newton import NewtonResult, newton
from gradmix.solve.ode import odeint
from gradmix.solve.scipy_bridge import least_squares, minimize, solve_ivp

__all__ = [
    "NewtonResult", "newton", "minimize", "least_squares", "solve_ivp", "odeint", "ode_jacobian",
    "SPARSE_FROM",
]  # fmt: skip
