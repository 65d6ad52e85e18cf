"""``scipy.stats`` densities, differentiable in the data and in the parameters.

Each distribution is a module with scipy's function names and signatures
(``norm.logpdf(x, loc=0, scale=1)``), so that ``import gradmix.scipy.stats.norm
as norm`` replaces ``scipy.stats.norm`` in code that only evaluates densities.
Values agree with scipy's (tests compare them); outside a distribution's
support the log density is ``-inf``, as scipy's.
"""

from gradmix.scipy.stats import beta, chi2, dirichlet, gamma, multivariate_normal, norm, poisson, t

__all__ = ["beta", "chi2", "dirichlet", "gamma", "multivariate_normal", "norm", "poisson", "t"]
