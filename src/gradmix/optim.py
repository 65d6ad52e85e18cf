"""First-order optimisers for stochastic objectives: SGD with momentum, RMSProp, Adam.

A thin layer for training loops (neural networks, variational inference)
where the gradient is noisy and a line search makes no sense.  For a
deterministic objective use :func:`gradmix.solve.minimize`: scipy's
quasi-Newton and trust-region methods, fed exact gradients and Hessians,
converge in far fewer steps and say when they have.

Each optimiser takes ``grad(params, i)`` (the gradient at iteration ``i``,
which lets a caller pick the minibatch; a function of ``params`` alone is
accepted too), a starting pytree of arrays (nested tuples, lists and dicts)
and an optional ``callback(params, i, g)``, and returns parameters with the
starting pytree's structure.  The update rules are the published ones:
Polyak's heavy ball (as in Sutskever et al. 2013, with a damped velocity),
Tieleman & Hinton's RMSProp (2012) and Kingma & Ba's Adam (2015) with its
bias corrections.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from gradmix.ad import ravel_pytree

__all__ = ["adam", "rmsprop", "sgd"]

Callback = Callable[[Any, int, Any], Any]


def _flat_problem(
    grad: Callable[..., Any], x0: Any, callback: Callback | None, num_iters: int
) -> tuple[np.ndarray, Callable[[np.ndarray, int], np.ndarray], Callable[[np.ndarray], Any]]:
    """The optimiser's view: a float vector, its gradient at iteration i, the way back."""
    if int(num_iters) != num_iters or num_iters < 0:
        raise ValueError(f"num_iters must be a non-negative integer, got {num_iters!r}")
    x, unravel = ravel_pytree(x0)
    x = np.array(x, dtype=np.result_type(x, np.float64))
    if not np.all(np.isfinite(x)):
        raise ValueError("the starting parameters contain NaN or infinite values")
    takes_iteration = _accepts_two_arguments(grad)

    def flat_grad(v: np.ndarray, i: int) -> np.ndarray:
        params = unravel(v)
        g_tree = grad(params, i) if takes_iteration else grad(params)
        g, _ = ravel_pytree(g_tree)
        if np.shape(g) != v.shape:
            raise ValueError(
                f"the gradient has {np.size(g)} numbers where the parameters have {v.size}; "
                "it must have the parameters' structure"
            )
        if not np.all(np.isfinite(g)):
            raise FloatingPointError(f"the gradient is not finite at iteration {i}")
        if callback is not None:
            callback(params, i, g_tree)
        return np.asarray(g, dtype=v.dtype)

    return x, flat_grad, unravel


def _check_positive(**settings: float) -> None:
    """Step sizes and ``eps`` must be finite and positive (``eps = 0`` divides 0 by 0
    where the gradient is 0)."""
    for name, value in settings.items():
        if not (isinstance(value, int | float | np.number) and np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number above 0, got {value!r}")


def _accepts_two_arguments(f: Callable[..., Any]) -> bool:
    if isinstance(f, np.ufunc):  # np.negative(x, i) would read i as the output array
        return f.nin >= 2
    try:
        sig = inspect.signature(f)
    except (TypeError, ValueError):  # builtins without a signature: autograd's convention
        return True
    try:
        sig.bind(None, 0)
    except TypeError:
        return False
    return True


def sgd(
    grad: Callable[..., Any],
    x0: Any,
    callback: Callback | None = None,
    num_iters: int = 200,
    step_size: float = 0.1,
    mass: float = 0.9,
) -> Any:
    """Stochastic gradient descent with momentum.

    ``v ← mass·v − (1 − mass)·g``, ``x ← x + step_size·v`` (``mass=0``: plain SGD).

    Parameters
    ----------
    grad : callable
        ``grad(params, i)`` or ``grad(params)``: the gradient, a pytree like ``x0``.
    x0 : pytree of arrays
        Starting parameters (not modified).
    callback : callable, optional
        ``callback(params, i, g)`` before each update.
    num_iters : int
        Number of updates.
    step_size : float
        Learning rate.
    mass : float
        Momentum, in [0, 1).

    Returns
    -------
    pytree
        The parameters after ``num_iters`` updates, structured like ``x0``.
    """
    if not 0 <= mass < 1:
        raise ValueError(f"mass must be in [0, 1), got {mass}")
    _check_positive(step_size=step_size)
    x, g_at, unravel = _flat_problem(grad, x0, callback, num_iters)
    velocity = np.zeros_like(x)
    for i in range(num_iters):
        velocity = mass * velocity - (1.0 - mass) * g_at(x, i)
        x = x + step_size * velocity
    return unravel(x)


def rmsprop(
    grad: Callable[..., Any],
    x0: Any,
    callback: Callback | None = None,
    num_iters: int = 100,
    step_size: float = 0.1,
    gamma: float = 0.9,
    eps: float = 1e-8,
) -> Any:
    """RMSProp: steps scaled by a running root mean square of the gradient.

    ``r ← γ·r + (1 − γ)·g²``, ``x ← x − step_size·g / (√r + eps)``; ``r`` starts at
    ones (so the first steps are not huge).  Parameters as in :func:`sgd`.
    """
    if not 0 <= gamma < 1:
        raise ValueError(f"gamma must be in [0, 1), got {gamma}")
    _check_positive(step_size=step_size, eps=eps)
    x, g_at, unravel = _flat_problem(grad, x0, callback, num_iters)
    avg_sq = np.ones_like(x)
    for i in range(num_iters):
        g = g_at(x, i)
        avg_sq = gamma * avg_sq + (1.0 - gamma) * g**2
        x = x - step_size * g / (np.sqrt(avg_sq) + eps)
    return unravel(x)


def adam(
    grad: Callable[..., Any],
    x0: Any,
    callback: Callback | None = None,
    num_iters: int = 100,
    step_size: float = 0.001,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
) -> Any:
    """Adam (Kingma & Ba 2015, Algorithm 1).

    ``m ← b1·m + (1 − b1)·g``, ``v ← b2·v + (1 − b2)·g²``,
    ``x ← x − step_size·m̂ / (√v̂ + eps)`` with the bias-corrected
    ``m̂ = m / (1 − b1ᵗ)``, ``v̂ = v / (1 − b2ᵗ)``.  Parameters as in :func:`sgd`.
    """
    for name, b in (("b1", b1), ("b2", b2)):
        if not 0 <= b < 1:
            raise ValueError(f"{name} must be in [0, 1), got {b}")
    _check_positive(step_size=step_size, eps=eps)
    x, g_at, unravel = _flat_problem(grad, x0, callback, num_iters)
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    for i in range(num_iters):
        g = g_at(x, i)
        m = b1 * m + (1.0 - b1) * g
        v = b2 * v + (1.0 - b2) * g**2
        m_hat = m / (1.0 - b1 ** (i + 1))
        v_hat = v / (1.0 - b2 ** (i + 1))
        x = x - step_size * m_hat / (np.sqrt(v_hat) + eps)
    return unravel(x)
