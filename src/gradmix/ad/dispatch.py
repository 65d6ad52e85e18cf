"""The numpy dispatch table: which primitive or composite each numpy function reaches.

numpy hands a function or ufunc called on a tracer to the tracer's
``__array_function__`` / ``__array_ufunc__``; they look it up here.  The rules
modules fill the table with :func:`register_numpy`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gradmix.ad.errors import NoDerivativeRuleError, TracerConversionError

__all__ = [
    "NUMPY", "UFUNC_ACCUMULATE", "UFUNC_REDUCE", "no_rule_error", "numpy_name", "numpy_rule",
    "register_numpy", "register_ufunc_method", "reject_out",
]  # fmt: skip

# numpy function or ufunc -> callable taking numpy's signature
NUMPY: dict[Any, Callable[..., Any]] = {}
UFUNC_REDUCE: dict[Any, Callable[..., Any]] = {}
UFUNC_ACCUMULATE: dict[Any, Callable[..., Any]] = {}


def numpy_rule(f: Any) -> Any:
    """What a numpy function or ufunc is routed to: its primitive or composite."""
    return NUMPY[f]


def register_ufunc_method(method: str, ufunc: Any, impl: Callable[..., Any]) -> None:
    """Route ``ufunc.reduce`` (``method="reduce"``) or ``ufunc.accumulate`` to ``impl``."""
    {"reduce": UFUNC_REDUCE, "accumulate": UFUNC_ACCUMULATE}[method][ufunc] = impl


def register_numpy(*funcs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: route the given numpy functions/ufuncs to the decorated callable."""

    def deco(impl: Callable[..., Any]) -> Callable[..., Any]:
        for f in funcs:
            NUMPY[f] = impl
        return impl

    return deco


def numpy_name(func: Any) -> str:
    if isinstance(func, np.ufunc):
        mod = "numpy" if getattr(np, func.__name__, None) is func else "scipy.special"
        return f"{mod}.{func.__name__}"
    mod = getattr(func, "__module__", "numpy") or "numpy"
    return f"{mod}.{getattr(func, '__name__', repr(func))}"


def no_rule_error(func: Any, what: str = "") -> NoDerivativeRuleError:
    name = numpy_name(func) + what
    return NoDerivativeRuleError(
        f"gradmix has no derivative rule for {name}: wrap the computation with "
        f"gm.primitive and register its rules with gm.defvjp / gm.defjvp, or compute it "
        f"outside the differentiated function"
    )


def reject_out(kwargs: dict[str, Any], func: Any) -> None:
    """Refuse numpy's ``out=`` for ``func`` (named only when refused: every call of a
    numpy function on a traced value passes here)."""
    if kwargs.get("out") is not None:
        raise TracerConversionError(
            f"{numpy_name(func)}(..., out=...) writes in place into an array, which would drop the "
            f"derivative; assign the result instead"
        )
