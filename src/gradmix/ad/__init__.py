"""Automatic differentiation of plain numpy code.

``core`` holds the primitive table and tracer machinery, ``rules`` the table's
entries, ``forward`` the dual numbers, ``reverse`` the computation graph,
``transforms`` the user-facing functions, ``sparsity`` the index-set tracer that
finds sparsity patterns, ``colouring`` and ``sparse`` the compressed evaluation
of sparse Jacobians and Hessians; the source transformation is ``recording``
(the traced program's nodes), ``graph`` (their schedule), ``emit`` (the
Python text) and ``codegen`` (``trace`` and ``compile``).
"""

from gradmix.ad import rules as rules  # registers the numpy rules
from gradmix.ad.codegen import compile, trace
from gradmix.ad.core import defjvp, defvjp, primitive
from gradmix.ad.errors import NoDerivativeRuleError, NotCompilableError, TracerConversionError
from gradmix.ad.forward import Dual
from gradmix.ad.graph import Graph
from gradmix.ad.misc import fixed_point, flatten_func, hessian_vector_product
from gradmix.ad.numeric import check_grad, check_grads, divided_difference
from gradmix.ad.pytree import flatten as tree_flatten
from gradmix.ad.pytree import register_pytree_node, register_vector_space
from gradmix.ad.pytree import unflatten as tree_unflatten
from gradmix.ad.rules import logsumexp, solve_triangular
from gradmix.ad.rules.elementwise import polygamma_p as polygamma
from gradmix.ad.sparse import sparse_hessian, sparse_jacobian
from gradmix.ad.sparsity import (
    PatternNotGlobalError,
    defsparsity,
    hessian_sparsity,
    jacobian_sparsity,
)
from gradmix.ad.taylor import taylor
from gradmix.ad.tracer import Primitive, Tracer, strip
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
    "PatternNotGlobalError", "defsparsity", "hessian_sparsity", "jacobian_sparsity",
    "sparse_hessian", "sparse_jacobian",
    "fixed_point", "flatten_func", "hessian_vector_product", "register_pytree_node",
    "register_vector_space",
    # for modules that extend gradmix (gradmix.scipy, gradmix.solve): the tracer type, a
    # traced value's plain value, pytrees, and the differentiable polygamma
    "Tracer", "strip", "tree_flatten", "tree_unflatten", "polygamma",
]  # fmt: skip
