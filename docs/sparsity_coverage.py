"""Sweep numpy's API through the sparsity tracer; write docs/sparsity_coverage.md.

Every function that ``docs/coverage.py`` finds differentiable is called again,
with the same arguments, as a map from all its float inputs (one vector) to
all its float outputs (one vector).  Its detected Jacobian pattern
(``gm.jacobian_sparsity``) is compared with the nonzeros of the dense Jacobian
(``gm.jacfwd``) at the sweep's point and at two points near it (every input
perturbed, so that zeros that hold only at the point do not count):

- ``exact``: the global pattern equals the union of the nonzeros;
- ``superset``: it contains them, and more (a structural over-approximation,
  named in the table);
- ``local``: no global pattern (the function branches on values, so
  ``PatternNotGlobalError``); the local pattern at each point contains the
  nonzeros there;
- ``defect``: a nonzero outside the pattern (a wrong pattern), or an
  unexpected error.

``--check`` fails on a defect, on an elementwise, shape or linear-algebra
function whose pattern is not exact (those are exact by construction) unless
it is listed in ``NOT_EXACT`` with the reason, and on a stale table.

Usage: ``python docs/sparsity_coverage.py`` (writes the table), ``--check``.
"""

from __future__ import annotations

import argparse
import re
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import coverage  # noqa: E402  (docs/coverage.py: the arguments numpy accepts)

import gradmix as gm  # noqa: E402
from gradmix.ad.transforms import ravel_pytree  # noqa: E402

OUT = Path(__file__).with_name("sparsity_coverage.md")

#: functions of the exact families whose pattern is a strict superset, and why
_CHOICE = "which operand is returned depends on the values: globally, both"
_COMPLEX = "one index set stands for a complex entry's real and imaginary parts"
NOT_EXACT = {
    **dict.fromkeys(["numpy.maximum", "numpy.minimum", "numpy.fmax", "numpy.fmin"], _CHOICE),
    **dict.fromkeys(
        ["numpy.fmod", "numpy.mod", "numpy.remainder"],
        "the derivative in the divisor, -floor(x/y), is zero where |x| < |y|: a value",
    ),
    "numpy.nextafter": "the derivative in the direction argument is zero by its rule, not "
    "by structure",
}

#: shape functions (the elementwise ones are numpy's ufuncs, the linear-algebra ones
#: numpy.linalg's functions)
SHAPE = set(
    """reshape ravel transpose swapaxes moveaxis rollaxis squeeze expand_dims atleast_1d
    atleast_2d atleast_3d concatenate stack hstack vstack dstack column_stack block
    flip fliplr flipud roll rot90 tile repeat pad diagonal diag diagflat triu tril take
    take_along_axis compress extract delete insert append resize broadcast_to
    broadcast_arrays split array_split hsplit vsplit dsplit unstack matrix_transpose
    copy astype real imag""".split()
)


def _exact_family(full: str, fn: Any) -> bool:
    """Elementwise, shape and linear-algebra functions of real values."""
    name = full.rsplit(".", 1)[1]
    return isinstance(fn, np.ufunc) or full.startswith("numpy.linalg.") or name in SHAPE


def _reason(full: str) -> str:
    if full.startswith("numpy.fft."):
        return _COMPLEX
    return NOT_EXACT.get(full, "")


def derivative_rows() -> list[tuple[str, str]]:
    """(function, "called as" label) of the functions coverage.md lists with derivatives."""
    text = (Path(__file__).with_name("coverage.md")).read_text()
    section = text.split("## Derivatives", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([^`]+)` \| `([^`]*)` \|", section, flags=re.M)


def function_named(full: str) -> Any:
    mod, name = full.rsplit(".", 1)
    return getattr(coverage.MODULES[mod], name)


def args_for(name: str, label: str) -> tuple[Any, ...]:
    if name in coverage.EXAMPLES:
        return coverage.EXAMPLES[name][1]
    return dict(coverage.PATTERNS)[label]


def vector_map(fn: Any, args: tuple[Any, ...]) -> tuple[Callable[[Any], Any], np.ndarray]:
    where = coverage.float_positions(args)
    x0 = [np.asarray(args[i] if j is None else args[i][j], dtype=float) for i, j in where]
    flat, unravel = ravel_pytree(x0)

    def f(v: Any) -> Any:
        out = coverage.float_leaves(fn(*coverage.with_values(args, where, list(unravel(v)))))
        parts = [np.reshape(np.real(o) if np.iscomplexobj(gm.ad.strip(o)) else o, (-1,))
                 for o in out]  # fmt: skip
        parts += [np.reshape(np.imag(o), (-1,)) for o in out if np.iscomplexobj(gm.ad.strip(o))]
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    return f, np.asarray(flat, dtype=float)


def _nonzeros(f: Callable[[Any], Any], x: np.ndarray) -> np.ndarray:
    jac = np.asarray(gm.jacfwd(f)(x))
    return (jac != 0) | ~np.isfinite(jac)


def classify(full: str, label: str) -> tuple[str, str]:
    fn = function_named(full)
    f, x0 = vector_map(fn, args_for(full.rsplit(".", 1)[1], label))
    rng = np.random.default_rng(1)
    points = [x0] + [x0 + 1e-3 * rng.standard_normal(x0.shape) for _ in range(2)]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            dense = [_nonzeros(f, p) for p in points]
        except Exception as exc:  # noqa: BLE001 - a perturbed point outside the domain
            dense = [_nonzeros(f, x0)]
            points = points[:1]
            del exc
        try:
            pattern = gm.jacobian_sparsity(f, x0).toarray()
        except gm.PatternNotGlobalError:
            for p, d in zip(points, dense, strict=True):
                local = gm.jacobian_sparsity(f, p, kind="local").toarray()
                if np.any(d & ~local):
                    return "defect", "the local pattern misses a nonzero"
            return "local", ""
        except Exception as exc:  # noqa: BLE001 - every error is classified
            return "defect", f"{type(exc).__name__}: {str(exc)[:90]}"
    union = np.logical_or.reduce(dense)
    if pattern.shape != union.shape:
        return "defect", f"pattern of shape {pattern.shape} for a Jacobian of {union.shape}"
    if np.any(union & ~pattern):
        return "defect", "the pattern misses a nonzero"
    if np.array_equal(union, pattern):
        return "exact", ""
    note = f"{int(pattern.sum())} entries for {int(union.sum())} nonzeros"
    return "superset", f"{note}: {_reason(full)}" if _reason(full) else note


ORDER = ["exact", "superset", "local", "defect"]
TITLES = {
    "exact": "Exact: the global pattern equals the Jacobian's nonzeros",
    "superset": "Superset: the global pattern contains the nonzeros, and more",
    "local": "Local only: the function branches on values (kind='local')",
    "defect": "Defects (a nonzero outside the pattern, or an unexpected error)",
}


def sweep() -> list[tuple[str, str, str]]:
    rows = []
    for full, label in derivative_rows():
        try:
            cls, note = classify(full, label)
        except Exception as exc:  # noqa: BLE001 - a defect of the sweep or of gradmix
            cls, note = "defect", f"{type(exc).__name__}: {str(exc)[:90]}"
        rows.append((full, cls, note))
    return rows


def render_table(heading: list[str], rows: list[tuple[str, str, str]], order: list[str],
                 titles: dict[str, str]) -> str:  # fmt: skip
    """A sweep's table: ``heading``, the count per class, then each class's functions."""
    counts = {c: sum(1 for r in rows if r[1] == c) for c in order}
    lines = [*heading, "", "| class | functions |", "| --- | --- |"]
    lines += [f"| {titles[c]} | {counts[c]} |" for c in order]
    for c in order:
        chosen = [r for r in rows if r[1] == c]
        if chosen:
            lines += ["", f"## {titles[c]}", "", "| function | note |", "| --- | --- |"]
            lines += [f"| `{n}` | {note.replace('|', '/')} |" for n, _, note in chosen]
    return "\n".join(lines) + "\n"


def write_or_check(out: Path, text: str, problems: list[str], check: bool) -> int:
    """Write the table, or (``check``) report the problems and a stale table."""
    if not check:
        out.write_text(text)
        print(f"wrote {out}")
        return 0
    if not out.exists() or out.read_text() != text:
        problems = [*problems, f"{out.name} is stale: run python docs/{out.stem}.py"]
    print("\n".join(problems))
    return 1 if problems else 0


def render(rows: list[tuple[str, str, str]]) -> str:
    return render_table([
        "# Sparsity patterns of numpy's API",
        "",
        "Generated by `python docs/sparsity_coverage.py` (the test suite checks that it",
        "is current): every function with derivatives in `coverage.md`, its detected",
        "Jacobian pattern against the dense Jacobian's nonzeros at three points.",
        "Do not edit by hand.",
    ], rows, ORDER, TITLES)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail on defects or a stale table")
    args = parser.parse_args(argv)
    rows = sweep()
    problems = [f"{n}: {note}" for n, cls, note in rows if cls == "defect"]
    problems += [
        f"{n}: pattern not exact ({note})"
        for n, cls, note in rows
        if cls == "superset" and _exact_family(n, function_named(n)) and not _reason(n)
    ]
    return write_or_check(OUT, render(rows), problems, args.check)


if __name__ == "__main__":
    sys.exit(main())
