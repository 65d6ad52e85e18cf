"""The errors of gradmix's AD: what a user sees when a derivative cannot be had."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = [
    "NoDerivativeRuleError", "NotCompilableError", "TracerConversionError", "call_traced",
    "PLAIN_ARRAY_INDEX",
]  # fmt: skip

#: a plain numpy array indexed by a traced index (numpy's indexing cannot dispatch)
PLAIN_ARRAY_INDEX = (
    "a plain numpy array indexed by a traced index (one computed by argmax or argsort in "
    "gm.compile, say) is out of gradmix's reach (numpy's indexing and np.take do not hand "
    "it over): write np.take_along_axis(array, index, axis), with index[:, None] to pick "
    "rows of a 2-D array"
)


class NoDerivativeRuleError(TypeError):
    """Raised when a traced value reaches an operation with no derivative rule."""


class TracerConversionError(TypeError):
    """Raised where a traced value would silently lose its derivative."""


class NotCompilableError(TypeError):
    """The function uses something that cannot be traced to a fixed program."""


def call_traced(f: Callable[..., Any], args: Sequence[Any]) -> Any:
    """``f(*args)`` on traced values, explaining one numpy error in gradmix's terms.

    A library function that turns its input into a numpy array (scipy.special's
    Python functions such as ``polygamma``, scipy.stats, scipy.signal) wraps a
    traced scalar in an object array, on which numpy's ufuncs fail with "not
    supported for the input types": far from the cause, so it becomes a
    TracerConversionError that names it.
    """
    try:
        return f(*args)
    except TracerConversionError:
        raise
    except IndexError as exc:
        # numpy's message when a traced scalar is an index of a plain array (or when any
        # other index is refused: the hint is for the first case)
        if "are valid indices" not in str(exc):
            raise
        raise IndexError(f"{exc} (if the index is a traced value: {PLAIN_ARRAY_INDEX})") from exc
    except TypeError as exc:
        if "not supported for the input types" not in str(exc):
            raise
        raise TracerConversionError(
            "a traced value reached a library function that converts its input to a numpy "
            "array (scipy.special's Python functions such as polygamma, scipy.stats or "
            "scipy.signal), where it would lose its derivative; use numpy functions and "
            f"the differentiable versions in gradmix.scipy (special, stats, signal) [{exc}]"
        ) from exc
