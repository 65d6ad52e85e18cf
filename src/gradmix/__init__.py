"""gradmix: automatic differentiation of numpy code, and Gaussian mixtures fit by EM."""

from gradmix.ad import (
    Dual,
    Graph,
    NoDerivativeRuleError,
    NotCompilableError,
    Primitive,
    TracerConversionError,
    check_grad,
    check_grads,
    compile,
    defjvp,
    defvjp,
    derivative,
    divided_difference,
    elementwise_grad,
    grad,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    logsumexp,
    primitive,
    ravel_pytree,
    solve_triangular,
    taylor,
    trace,
    value_and_grad,
    vjp,
)
from gradmix.mixture import (
    BayesianGaussianMixture,
    Family,
    GaussianMixture,
    KMeans,
    MixtureModel,
    ModelSelection,
    StudentTMixture,
    families,
    load,
    select_model,
)

__version__ = "0.1.0"

__all__ = [
    "Graph", "NotCompilableError", "compile", "trace",
    "Dual", "NoDerivativeRuleError", "Primitive", "TracerConversionError", "check_grad",
    "check_grads", "elementwise_grad", "ravel_pytree",
    "defjvp", "defvjp", "derivative", "divided_difference", "grad", "hessian", "hvp",
    "jacfwd", "jacobian", "jacrev", "jvp", "logsumexp", "primitive", "solve_triangular", "taylor",
    "value_and_grad", "vjp", "BayesianGaussianMixture", "GaussianMixture", "KMeans",
    "ModelSelection", "StudentTMixture", "load", "select_model", "MixtureModel", "Family",
    "families",
]  # fmt: skip
