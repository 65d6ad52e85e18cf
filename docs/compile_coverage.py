"""Sweep numpy's API through gm.compile; write docs/compile_coverage.md.

Every function that ``docs/coverage.py`` finds differentiable is called again,
with the same arguments, as a scalar of all its float inputs (one vector): its
float outputs weighted by fixed random numbers and summed.  That scalar is
compiled at the sweep's point, and the program's value and gradient are set
against eager mode's (``gm.value_and_grad``) at points where the function's
value-dependent choices come out otherwise: the sweep's point, its negation, a
permutation of it, every other entry zero, entries rounded to halves (ties), and
a scaled and a centred copy.  A program that replayed its trace point's choices
(a branch, a mask, which entries a rule divides by) would differ there.

- ``compiled``: the program agrees with eager mode (to 1e-9, NaN where eager
  mode has NaN) at every point where eager mode gives an answer;
- ``refused``: ``gm.compile`` raises ``NotCompilableError`` (the reason shown);
- ``defect``: the program differs somewhere, or raises where eager mode does
  not, or an unexpected error.

``--check`` fails on a defect not listed in ``KNOWN`` with its reason, and on a
stale table.

Usage: ``python docs/compile_coverage.py`` (writes the table), ``--check``.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import sparsity_coverage as swept  # noqa: E402  (the same functions, arguments and maps)

import gradmix as gm  # noqa: E402

OUT = Path(__file__).with_name("compile_coverage.md")

#: differences from eager mode that are understood, and why
KNOWN = {
    "numpy.interp": "at rounded points the sample positions repeat, where numpy's interp "
    "is not defined: both give NaN derivatives, in different entries",
}


def _points(x0: np.ndarray) -> dict[str, np.ndarray]:
    """Points where value-dependent choices come out otherwise than at ``x0``."""
    n = x0.size
    order = np.random.default_rng(3).permutation(n)
    return {
        "the trace point": x0,
        "negated": -x0,
        "permuted": x0[order],
        "zeros": np.where(np.arange(n) % 2 == 0, 0.0, x0),
        "ties": np.round(x0 * 2) / 2,
        "scaled": x0 * 3.7 + 0.1,
        "centred": x0 - np.mean(x0),
    }


def _same(a: Any, b: Any) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-9, atol=1e-12,
                                                   equal_nan=True))  # fmt: skip


def _differences(scalar: Callable[[Any], Any], program: Any, x0: np.ndarray) -> list[str]:
    """The points where the program and eager mode differ, with how."""
    found = []
    for name, x in _points(x0).items():
        try:
            value, grad = gm.value_and_grad(scalar)(x)
        except Exception:  # noqa: BLE001 - outside the function's domain: nothing to compare
            continue
        try:
            compiled_value, compiled_grad = program(x)
        except Exception as exc:  # noqa: BLE001 - every error is a difference
            found.append(f"{name}: the program raised {type(exc).__name__}")
            continue
        if not (_same(value, compiled_value) and _same(grad, compiled_grad)):
            found.append(f"{name}: value or gradient differs")
    return found


def classify(full: str, label: str) -> tuple[str, str]:
    fn = swept._callable(full)
    f, x0 = swept._vector_map(fn, swept._args_for(full.rsplit(".", 1)[1], label))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        weights = np.random.default_rng(0).normal(size=np.size(f(x0)))

        def scalar(v: Any) -> Any:
            return np.sum(f(v) * weights)

        try:
            program = gm.compile(scalar, x0)
            program(x0)
        except gm.NotCompilableError as exc:
            return "refused", str(exc).split(";")[0].split(": use eager")[0]
        differences = _differences(scalar, program, x0)
    if differences:
        return "defect", "; ".join(differences)
    return "compiled", ""


ORDER = ["compiled", "refused", "defect"]
TITLES = {
    "compiled": "Compiled: the program agrees with eager mode where the choices differ",
    "refused": "Refused: gm.compile raises NotCompilableError (use eager mode)",
    "defect": "Defects: the program differs from eager mode (known ones with the reason)",
}


def sweep() -> list[tuple[str, str, str]]:
    rows = []
    for full, label in swept._derivative_rows():
        try:
            cls, note = classify(full, label)
        except Exception as exc:  # noqa: BLE001 - a defect of the sweep or of gradmix
            cls, note = "defect", f"{type(exc).__name__}: {str(exc)[:90]}"
        if cls == "defect" and full in KNOWN:
            note = f"{note} ({KNOWN[full]})"
        rows.append((full, cls, note))
    return rows


def render(rows: list[tuple[str, str, str]]) -> str:
    return swept.render_table([
        "# numpy's API under gm.compile",
        "",
        "Generated by `python docs/compile_coverage.py` (the test suite checks that it",
        "is current): every function with derivatives in `coverage.md`, compiled at one",
        "point and checked against eager mode there and at six points where its choices",
        "by the values come out otherwise. Do not edit by hand.",
    ], rows, ORDER, TITLES)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail on defects or a stale table")
    args = parser.parse_args(argv)
    rows = sweep()
    problems = [f"{n}: {note}" for n, cls, note in rows if cls == "defect" and n not in KNOWN]
    return swept.write_or_check(OUT, render(rows), problems, args.check)


if __name__ == "__main__":
    sys.exit(main())
