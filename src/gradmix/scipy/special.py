"""``scipy.special``'s Python functions, differentiable; its ufuncs are re-exported.

``import gradmix.scipy.special as sc`` works as a drop-in for
``scipy.special``: the names defined here replace scipy's Python functions,
and every other name (``sc.erf``, ``sc.gammaln``, ...) is scipy's own ufunc,
which gradmix's tracers reach through numpy's dispatch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special as _scipy_special

from gradmix.ad import logsumexp as _logsumexp
from gradmix.ad import polygamma as _polygamma
from gradmix.ad import strip

__all__ = ["logsumexp", "softmax", "log_softmax", "polygamma", "multigammaln"]


def logsumexp(a: Any, axis: Any = None, b: Any = None, keepdims: bool = False,
              return_sign: bool = False) -> Any:  # fmt: skip
    """``log(sum(b * exp(a)))``, as ``scipy.special.logsumexp`` (real ``a``, ``b >= 0``).

    Parameters
    ----------
    a : array_like
    axis : int or tuple of int, optional
    b : array_like, optional
        Non-negative weights broadcastable to ``a``.
    keepdims : bool
    return_sign : bool
        Also return the sign (always 1 here: negative weights are refused).
    """
    if b is not None and np.any(np.asarray(strip(b)) < 0):
        raise ValueError("gradmix's logsumexp takes non-negative weights b")
    out = _logsumexp(a, axis=axis, b=b, keepdims=keepdims)
    return (out, np.ones(np.shape(strip(out)))) if return_sign else out


def softmax(x: Any, axis: Any = None) -> Any:
    """``exp(x) / sum(exp(x))`` along ``axis``, as ``scipy.special.softmax``."""
    return np.exp(log_softmax(x, axis))


def log_softmax(x: Any, axis: Any = None) -> Any:
    """``x - logsumexp(x)`` along ``axis``, as ``scipy.special.log_softmax``."""
    return x - _logsumexp(x, axis=axis, keepdims=True)


def polygamma(n: Any, x: Any) -> Any:
    """The n-th derivative of the digamma function, differentiable in ``x``."""
    return _polygamma(n, x)


def multigammaln(a: Any, d: int) -> Any:
    """The log of the multivariate gamma function of dimension ``d``."""
    d = int(d)
    j = np.arange(1, d + 1, dtype=float)
    terms = _scipy_special.gammaln(np.expand_dims(a, -1) + (1 - j) / 2)
    return d * (d - 1) / 4 * np.log(np.pi) + np.sum(terms, axis=-1)


def __getattr__(name: str) -> Any:
    # everything else is scipy.special's own (ufuncs dispatch to gradmix by themselves)
    return getattr(_scipy_special, name)
