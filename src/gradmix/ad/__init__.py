"""Automatic differentiation of plain numpy code.

``core`` holds the primitive table and tracer machinery, ``rules`` the table's
entries, ``forward`` the dual numbers, ``reverse`` the computation graph,
``transforms`` the user-facing functions.
"""

from gradmix.ad import rules as rules  # registers the numpy rules
from gradmix.ad.codegen import Graph, NotCompilableError, compile, trace
from gradmix.ad.core import (
    NoDerivativeRuleError,
    Primitive,
    TracerConversionError,
    defjvp,
    defvjp,
    primitive,
)
from gradmix.ad.forward import Dual
from gradmix.ad.numeric import check_grad, check_grads, divided_difference
from gradmix.ad.rules import logsumexp, solve_triangular
from gradmix.ad.taylor import taylor
from gradmix.ad.transforms import (
    derivative,
    elementwise_grad,
    grad,
    hessian,
    hessian_blocks,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    ravel_pytree,
    value_and_grad,
    vjp,
)

__all__ = [
    "Graph", "NotCompilableError", "compile", "trace",
    "Dual", "NoDerivativeRuleError", "Primitive", "TracerConversionError", "check_grad",
    "check_grads", "elementwise_grad", "ravel_pytree",
    "defjvp", "defvjp", "derivative", "divided_difference", "grad", "hessian",
    "hessian_blocks", "hvp",
    "jacfwd", "jacobian", "jacrev", "jvp", "logsumexp", "primitive", "solve_triangular", "taylor",
    "value_and_grad", "vjp",
]  # fmt: skip
