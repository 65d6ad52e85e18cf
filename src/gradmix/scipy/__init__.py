"""Differentiable stand-ins for the scipy functions that gradmix's tracers cannot reach.

scipy's ufuncs (``scipy.special.erf``, ``gammaln``, Bessel functions, ...)
dispatch to gradmix by themselves.  Its Python functions do not: they convert
their input with ``np.asarray``, which a traced array refuses.  This package
offers those functions, with scipy's signatures, written with numpy so that
every transform sees through them (the layout follows autograd's and JAX's
``scipy`` namespaces):

- :mod:`gradmix.scipy.special`: ``logsumexp``, ``softmax``, ``log_softmax``,
  ``polygamma``, ``multigammaln``, and every ufunc of ``scipy.special``;
- :mod:`gradmix.scipy.stats`: ``norm``, ``t``, ``multivariate_normal``,
  ``gamma``, ``beta``, ``poisson``, ``chi2``, ``dirichlet``;
- :mod:`gradmix.scipy.signal`: ``convolve`` and ``correlate`` with ``mode``, and
  with ``axes``/``dot_axes`` for convolutional layers.
"""

from gradmix.scipy import signal, special, stats

__all__ = ["signal", "special", "stats"]
