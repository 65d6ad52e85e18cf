"""The errors of gradmix's AD: what a user sees when a derivative cannot be had."""

from __future__ import annotations

__all__ = ["NoDerivativeRuleError", "NotCompilableError", "TracerConversionError"]


class NoDerivativeRuleError(TypeError):
    """Raised when a traced value reaches an operation with no derivative rule."""


class TracerConversionError(TypeError):
    """Raised where a traced value would silently lose its derivative."""


class NotCompilableError(TypeError):
    """The function uses something that cannot be traced to a fixed program."""
