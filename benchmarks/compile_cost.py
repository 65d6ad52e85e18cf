"""What a compiled program costs besides its calls: memory it holds, collections, compile time.

Run:  uv run python -m benchmarks.compile_cost [--entries 20000]

- vectorised Rosenbrock at n = 10⁶, compiled and called once: the bytes
  still allocated afterwards (tracemalloc, after a full collection), against
  the input's own 8 MB, and the peak while compiling;
- the scalar chain ``s = s · 0.999 + x[i] · x[i]`` over ``--entries`` entries
  (4 nodes an entry): compile and first call (and CPython's compiler's share of
  it, the generated source compiled again), then the time of a full run of
  Python's cycle collector while the compiled program lives (what every later
  full collection in the user's process pays for it);
- a scalar loop of functions, ``s + sin(x[i]) · x[i+1] / (1.5 + x[i]²) − exp(−x[i])``
  over ``--function-entries`` entries (21 nodes an entry): compile and first call;
- loops over a computed array's entries (``y = exp(x)``, ``y[i]``) and windows
  (``y = sin(x)``, ``y[i:i+3]``) of ``--read-entries`` entries, each in a fresh
  process: compile and first call, and the process's peak resident memory before
  and after them, then a call against eager mode's ``value_and_grad``.

Run it in a fresh process each time: the collector's cost depends on what
else the process holds. For a before/after figure, run it alternately on two
checkouts (``PYTHONPATH=/path/to/other/src``).
"""

from __future__ import annotations

import argparse
import builtins
import gc
import multiprocessing
import resource
import time
import timeit
import tracemalloc

import numpy as np

import gradmix as gm
from benchmarks.ad_overhead import rosen


def chain(x: np.ndarray) -> float:
    s = 0.0
    for i in range(len(x)):
        s = s * 0.999 + x[i] * x[i]
    return s


def functions(x: np.ndarray) -> float:
    s = 0.0
    for i in range(len(x) - 1):
        s = s + np.sin(x[i]) * x[i + 1] / (1.5 + x[i] ** 2) - np.exp(-x[i])
    return s


def entry_reads(x: np.ndarray) -> float:
    y = np.exp(x)
    s = 0.0
    for i in range(len(y)):
        s = s * 0.999 + y[i] * y[i]
    return s


def window_reads(x: np.ndarray) -> float:
    y = np.sin(x)
    s = 0.0
    for i in range(len(y) - 2):
        s = s + np.sum(y[i : i + 3] ** 2) * 0.5
    return s


def _read_loop(name: str, n: int) -> tuple[float, float, float, float, float]:
    """In a fresh process: compile and first call (s), the process's peak resident memory
    before and after them (MB), a call and eager mode's value_and_grad (s)."""
    f = {"entry_reads": entry_reads, "window_reads": window_reads}[name]
    x = np.random.default_rng(3).normal(size=n)
    gm.value_and_grad(f)(x[:10])  # (what a first use loads, before the baseline)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    compiled = gm.compile(f)
    compiled(x)
    built = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    call = min(timeit.repeat(lambda: compiled(x), number=1, repeat=5))
    eager = min(timeit.repeat(lambda: gm.value_and_grad(f)(x), number=1, repeat=3))
    return built, before / 1024, after / 1024, call, eager


def reads(n: int) -> None:
    """Compile time, memory and call time of loops reading a computed array, each in a
    process of its own (the peak resident memory is a process's)."""
    context = multiprocessing.get_context("spawn")
    for name in ("entry_reads", "window_reads"):
        with context.Pool(1) as pool:
            built, before, after, call, eager = pool.apply(_read_loop, (name, n))
        print(f"{name} over {n} entries: compile and first call {built:.2f} s, the "
              f"process's peak memory {before:.0f} -> {after:.0f} MB; a call "
              f"{call * 1e3:.1f} ms, eager value_and_grad {eager * 1e3:.0f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--function-entries", type=int, default=5_000)
    parser.add_argument("--read-entries", type=int, default=10_000)
    args = parser.parse_args()
    x = np.random.default_rng(0).normal(size=10**6)
    tracemalloc.start()
    compiled = gm.compile(rosen)
    compiled(x)
    gc.collect()
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"Rosenbrock n = 10^6: {held / 2**20:.0f} MB held after compiling "
          f"(input {x.nbytes / 2**20:.0f} MB), peak {peak / 2**20:.0f} MB")  # fmt: skip
    del compiled
    y = np.random.default_rng(1).normal(size=args.entries)
    gc.collect()
    t = time.perf_counter()
    scalar = gm.compile(chain)
    scalar(y)
    built = time.perf_counter() - t
    t = time.perf_counter()
    gc.collect()
    collection = time.perf_counter() - t
    # CPython's share: the generated source compiled again (the rest is tracing, the
    # reverse sweep and writing the source)
    t = time.perf_counter()
    builtins.compile(scalar.source, "<generated>", "exec")
    cpython = time.perf_counter() - t
    print(f"scalar chain of {args.entries} entries: compile and first call {built:.2f} s "
          f"(CPython's compiler {cpython:.2f} s of it, {len(scalar.source) / 1e6:.1f} MB of "
          f"source); a full collection while it lives {collection:.3f} s")  # fmt: skip
    del scalar
    z = np.random.default_rng(2).normal(size=args.function_entries)
    t = time.perf_counter()
    program = gm.compile(functions)
    program(z)
    built = time.perf_counter() - t
    print(f"scalar loop of sin, exp and divisions over {args.function_entries} entries: "
          f"compile and first call {built:.2f} s")  # fmt: skip
    del program
    reads(args.read_entries)


if __name__ == "__main__":
    main()
