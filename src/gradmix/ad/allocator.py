"""Keep freed memory for reuse while reverse mode runs (glibc only).

Reverse mode keeps every intermediate array of the forward pass alive until
the backward pass, so it cannot profit from numpy's reuse of temporaries.
With glibc's default settings each large array then comes fresh from the
kernel and is paid for again in page faults, which makes gradients of large
vectorised functions 2-3 times slower than they need to be.  Raising glibc's
mmap and trim thresholds lets freed arrays be reused instead.  The change is
process-wide and only affects when freed memory is returned to the system;
set the environment variable ``GRADMIX_TUNE_MALLOC=0`` to leave the
allocator alone.

Python's cycle collector is paused while a transform traces a function and
sweeps its graph (:func:`paused_cycle_collector`): the graph holds every
intermediate until the sweep anyway, and the collector's passes over it
(moving its nodes to the oldest generation, whose passes cover every object
of the process) took 40 % of the time of eager scalar code and a quarter of
``gm.compile``'s.
Cycles made meanwhile are collected afterwards.
"""

from __future__ import annotations

import ctypes
import gc
import os
import platform
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_cycle_collector", "tune_allocator"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 64 * 2**20  # arrays larger than this still go straight to the kernel
TRIM_THRESHOLD = 512 * 2**20  # free memory kept at the top of the heap

_done = False


def tune_allocator() -> bool:
    """Apply the thresholds once; return True if they are in effect."""
    global _done
    if _done:
        return True
    _done = True
    if os.environ.get("GRADMIX_TUNE_MALLOC", "1") == "0":
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        ok = libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
        ok &= libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    except (OSError, AttributeError):
        return False
    return bool(ok)


@contextmanager
def paused_cycle_collector() -> Iterator[None]:
    """Python's cycle collector off inside the block, and back on after it if it was
    on before (so nesting, and a caller's own ``gc.disable()``, are respected)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
