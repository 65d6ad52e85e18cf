"""Helpers shared by the examples: full or quick size, and where pictures go."""

from __future__ import annotations

import os
from pathlib import Path


def full_run() -> bool:
    """True when GRADMIX_FULL=1: the examples' full sizes (the test suite runs them small)."""
    return os.environ.get("GRADMIX_FULL", "0") == "1"


def output_dir() -> Path:
    """Folder for pictures: $GRADMIX_EXAMPLES_OUT, else ./examples-output/."""
    out = Path(os.environ.get("GRADMIX_EXAMPLES_OUT", "examples-output"))
    out.mkdir(parents=True, exist_ok=True)
    return out
