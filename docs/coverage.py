"""Sweep numpy's API through gradmix and write the coverage table, docs/coverage.md.

Every public function of ``numpy``, ``numpy.linalg`` and ``numpy.fft`` is
called with float arrays (the first of a few argument patterns that numpy
itself accepts), then under forward mode (``gm.jvp``) and reverse mode
(``gm.vjp``).  Each lands in one class:

- ``derivative``: both modes run and agree with central differences of the
  numpy function along a random direction (and with each other);
- ``constant``: a plain result (integers, booleans, or piecewise-constant
  floats whose central difference is zero);
- ``no rule``: ``gm.NoDerivativeRuleError`` naming the function;
- ``refused``: another deliberate gradmix error (``TracerConversionError``
  for in-place writes, ...);
- ``not swept``: no argument pattern of float arrays that numpy accepts, or a
  function with side effects (files, printing, settings) that is not called.

A result in any other class (a wrong derivative, a derivative silently
dropped, an unexpected exception) is a defect: ``--check`` fails on it, and
on a table that differs from the committed one.  The test suite runs
``python docs/coverage.py --check``.

Usage: ``python docs/coverage.py`` (writes the table), ``--check``.
"""

from __future__ import annotations

import argparse
import copy
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import gradmix as gm
from gradmix.ad.pytree import flatten
from gradmix.ad.tracer import Tracer, strip

OUT = Path(__file__).with_name("coverage.md")
MODULES = {"numpy": np, "numpy.linalg": np.linalg, "numpy.fft": np.fft}

# functions never called, by reason
_SIDE_EFFECTS = """save savez savez_compressed savetxt load loadtxt genfromtxt fromfile fromregex
set_printoptions printoptions get_printoptions setbufsize getbufsize seterr geterr seterrcall
geterrcall show_config show_runtime test info get_include"""
_NOT_NUMERICAL = """frompyfunc nested_iters from_dlpack frombuffer fromstring fromiter fromfunction
array2string array_repr array_str format_float_positional format_float_scientific base_repr
binary_repr typename mintypecode min_scalar_type promote_types can_cast common_type isdtype
issubdtype datetime_as_string datetime_data busday_count busday_offset is_busday einsum_path
may_share_memory shares_memory iterable isscalar isfortran broadcast_shapes"""
NOT_SWEPT = {
    **dict.fromkeys(_SIDE_EFFECTS.split(), "side effects (files, printing, settings)"),
    **dict.fromkeys(_NOT_NUMERICAL.split(), "no numerical result of float arrays"),
    "bmat": "builds np.matrix, outside numpy's dispatch",
    "asmatrix": "np.matrix",
    "empty": "uninitialised values",
    "empty_like": "uninitialised values",
}

rng = np.random.default_rng(0)
V = np.array([0.31, 0.52, 0.47, 0.83, 0.64])  # distinct, in (0, 1): inside most domains
W = np.array([0.72, 0.27, 0.61, 0.44, 0.36])  # no kinks of quantile at these levels
M = np.array([[2.1, 0.3, 0.2], [0.4, 1.7, 0.5], [0.1, 0.6, 1.9]])
N = np.array([[0.9, 0.2, 0.7], [0.3, 0.8, 0.1], [0.5, 0.4, 0.6]])

#: argument patterns, tried in order; the first numpy accepts is the one swept
PATTERNS: list[tuple[str, tuple[Any, ...]]] = [
    ("f(v)", (V,)),
    ("f(1 + v)", (1 + V,)),
    ("f(M)", (M,)),
    ("f(v, w)", (V, W)),
    ("f(M, N)", (M, N)),
    ("f(v, 2)", (V, 2)),
    ("f(M, 1)", (M, 1)),
    ("f(v, w, v)", (V, W, V)),
    ("f(M, v[:3])", (M, V[:3])),
    ("f([v, w])", ([V, W],)),
    ("f(v > 0.5, v, w)", (V > 0.5, V, W)),
    ("f(v, [1, 3])", (V, [1, 3])),
    ("f(0.3, 0.9, 5)", (0.3, 0.9, 5)),
]


#: functions whose arguments must satisfy more than the patterns above
EXAMPLES: dict[str, tuple[str, tuple[Any, ...]]] = {
    "interp": ("f(v, sorted(w), v)", (V, np.sort(W), V)),
    "roll": ("f(v, 2)", (V, 2)),
    "astype": ("f(v, float64)", (V, np.float64)),
    "broadcast_to": ("f(v, (2, 5))", (V, (2, 5))),
    "dsplit": ("f(M[None], 3)", (M[None], 3)),
    "einsum": ('f("ij,jk", M, N)', ("ij,jk", M, N)),
    "insert": ("f(v, 1, w[:1])", (V, 1, W[:1])),
    "moveaxis": ("f(M, 0, 1)", (M, 0, 1)),
    "swapaxes": ("f(M, 0, 1)", (M, 0, 1)),
    "reshape": ("f(M, (9,))", (M, (9,))),
    "take_along_axis": ("f(M, argsort(M), 1)", (M, np.argsort(M, axis=1), 1)),
    "piecewise": ("f(v, [v > 0.5], [square, negative])", (V, [V > 0.5], [np.square, np.negative])),
    "polyfit": ("f(v, w, 2)", (V, W, 2)),
    "bincount": ("f([0, 2, 2, 1, 0], weights=v)", ([0, 2, 2, 1, 0], V)),
    "full": ("f((2, 3), 0.7)", ((2, 3), 0.7)),
    "fftfreq": ("f(8, 0.7)", (8, 0.7)),
    "rfftfreq": ("f(8, 0.7)", (8, 0.7)),
    "apply_along_axis": ("f(square, 0, M)", (np.square, 0, M)),
    "apply_over_axes": ("f(sum, M, [0])", (np.sum, M, [0])),
}


def float_positions(args: tuple[Any, ...]) -> list[tuple[int, int | None]]:
    """Positions of the float arrays among the arguments (index, index in a list)."""
    out: list[tuple[int, int | None]] = []
    for i, a in enumerate(args):
        if isinstance(a, list):
            out += [(i, j) for j, e in enumerate(a) if _is_float(e)]
        elif _is_float(a):
            out.append((i, None))
    return out


def _is_float(a: Any) -> bool:
    return isinstance(a, np.ndarray | float) and np.result_type(a).kind == "f"


def with_values(
    args: tuple[Any, ...], where: list[tuple[int, int | None]], values: list[Any]
) -> tuple:
    out = [list(a) if isinstance(a, list) else a for a in args]
    for (i, j), v in zip(where, values, strict=True):
        if j is None:
            out[i] = v
        else:
            out[i][j] = v
    return tuple(out)


def float_leaves(out: Any) -> list[Any]:
    leaves, _ = flatten(out if isinstance(out, tuple | list) else (out,))
    result = []
    for leaf in leaves:
        if hasattr(leaf, "_fields"):  # numpy's namedtuples (eig, svd, qr, ...)
            result += float_leaves(tuple(leaf))
            continue
        v = strip(leaf)
        if isinstance(leaf, Tracer) or (isinstance(v, np.ndarray | np.generic | float)
                                        and np.result_type(v).kind in "fc"):  # fmt: skip
            result.append(leaf)
    return result


def numbers_of(out: Any) -> np.ndarray:
    """All float (or complex) entries of a result, flattened into one vector."""
    parts = [np.ravel(np.asarray(strip(x))) for x in float_leaves(out)]
    return np.concatenate(parts) if parts else np.zeros(0)


def classify(fn: Callable[..., Any]) -> tuple[str, str, str]:
    """(class, pattern, note) for one numpy function."""
    name = getattr(fn, "__name__", "")
    patterns = [EXAMPLES[name]] if name in EXAMPLES else PATTERNS
    for label, pattern in patterns:
        args = copy.deepcopy(pattern)  # some functions write into their arguments
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                plain = fn(*args)
        except Exception:
            continue
        where = float_positions(args)
        if not where:
            continue
        numbers = numbers_of(plain)
        if numbers.size and not np.all(np.isfinite(numbers)):
            continue  # outside the function's domain: the next pattern
        cls, note = _sweep(fn, args, where, plain) if numbers.size else _plain(fn, args, where)
        return cls, label, note
    return "not swept", "", "no pattern of float arrays that numpy accepts"


def _plain(fn: Callable[..., Any], args: tuple[Any, ...],
           where: list[tuple[int, int | None]]) -> tuple[str, str]:  # fmt: skip
    """A function with integer or boolean results: it must run on traced arrays too."""
    x0 = [np.asarray(args[i] if j is None else args[i][j], dtype=float) for i, j in where]
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            gm.jvp(lambda *xs: (fn(*with_values(args, where, list(xs))), 0.0)[1], tuple(x0),
                   tuple(np.zeros_like(x) for x in x0))  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - every error is classified
        return _error_class(exc)
    return "constant", "integer or boolean result"


def _error_class(exc: Exception) -> tuple[str, str]:
    """What an error raised under a transform says about gradmix's handling of a function."""
    if isinstance(exc, gm.NoDerivativeRuleError):
        return "no rule", str(exc).split(":")[0]
    if isinstance(exc, gm.TracerConversionError | gm.NotCompilableError):
        return "refused", f"{type(exc).__name__}: {str(exc)[:70]}"
    return "defect", f"{type(exc).__name__}: {str(exc)[:90]}"


def _sweep(fn: Callable[..., Any], args: tuple[Any, ...], where: list[tuple[int, int | None]],
           plain: Any) -> tuple[str, str]:  # fmt: skip
    x0 = [np.asarray(args[i] if j is None else args[i][j], dtype=float) for i, j in where]
    tangents = [rng.normal(size=np.shape(x)) for x in x0]

    def f(*xs: Any) -> Any:
        return fn(*with_values(args, where, list(xs)))

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            out, t_out = gm.jvp(lambda *xs: float_leaves(f(*xs)), tuple(x0), tuple(tangents))
            value = numbers_of(out)
            tangent = numbers_of(list(t_out))
            _, pullback = gm.vjp(lambda *xs: float_leaves(f(*xs)), *x0)
            u = [rng.normal(size=np.shape(strip(o))) for o in out]
            cot = pullback(u)
        except Exception as exc:  # noqa: BLE001 - every error is classified
            return _error_class(exc)
        reference = numbers_of(plain)
        if value.shape != reference.shape or not np.allclose(
            value, reference, rtol=1e-9, atol=1e-12, equal_nan=True
        ):
            return "defect", "the traced value differs from numpy's"
        h = 1e-6
        try:
            up = numbers_of(f(*(x + h * t for x, t in zip(x0, tangents, strict=True))))
            down = numbers_of(f(*(x - h * t for x, t in zip(x0, tangents, strict=True))))
        except Exception as exc:  # noqa: BLE001 - numpy itself refuses the neighbours
            return "defect", f"central differences failed: {type(exc).__name__}: {exc}"
    fd = (up - down) / (2 * h)
    if fd.shape != tangent.shape:
        return "defect", f"tangent of {tangent.size} numbers for a result of {fd.size}"
    finite = np.isfinite(fd) & np.isfinite(tangent)
    scale = max(1.0, float(np.max(np.abs(fd[finite]), initial=0.0)))
    if not np.allclose(tangent[finite], fd[finite], rtol=1e-5, atol=1e-6 * scale):
        return "defect", "forward mode disagrees with central differences"
    # reverse mode against forward mode: uᵀ(J v) = (uᵀJ) v
    ujv = sum(float(np.real(np.vdot(ui, np.asarray(ti)))) for ui, ti in zip(u, t_out, strict=True))
    ujv_rev = sum(float(np.real(np.vdot(c, t))) for c, t in zip(cot, tangents, strict=True))
    if not np.isclose(ujv, ujv_rev, rtol=1e-7, atol=1e-9 * scale) and np.isfinite(ujv):
        return "defect", "reverse mode disagrees with forward mode"
    if not np.any(fd[finite]) and not np.any(tangent[finite]):
        return "constant", ""
    return "derivative", ""


def sweep() -> list[tuple[str, str, str, str]]:
    rows = []
    for modname, mod in MODULES.items():
        for name in sorted(n for n in dir(mod) if not n.startswith("_")):
            fn = getattr(mod, name)
            if isinstance(fn, type) or not callable(fn) or isinstance(fn, type(np)):
                continue
            if modname != "numpy" and getattr(np, name, None) is fn:
                continue  # the same function as numpy's: listed once
            full = f"{modname}.{name}"
            if name in NOT_SWEPT:
                rows.append((full, "not swept", "", NOT_SWEPT[name]))
                continue
            try:
                cls, pattern, note = classify(fn)
            except Exception as exc:  # noqa: BLE001 - a defect of the sweep or of gradmix
                cls, pattern, note = "defect", "", f"{type(exc).__name__}: {str(exc)[:90]}"
            rows.append((full, cls, pattern, note))
    return rows


ORDER = ["derivative", "constant", "no rule", "refused", "not swept", "defect"]
TITLES = {
    "derivative": "Derivatives (forward and reverse mode agree with central differences)",
    "constant": "Plain results (integer, boolean or piecewise constant: derivative zero)",
    "no rule": "No rule yet: `gm.NoDerivativeRuleError` names the function",
    "refused": "Refused with a gradmix error (in-place writes and the like)",
    "not swept": "Not swept (no call on float arrays, or side effects)",
    "defect": "Defects (wrong or dropped derivatives, unexpected errors)",
}


def render(rows: list[tuple[str, str, str, str]]) -> str:
    counts = {c: sum(1 for r in rows if r[1] == c) for c in ORDER}
    lines = [
        "# Coverage of numpy's API",
        "",
        "Generated by `python docs/coverage.py` (the test suite checks that it is",
        "current): every public function of `numpy`, `numpy.linalg` and `numpy.fft`,",
        "called on float arrays under `gm.jvp` and `gm.vjp` and compared with",
        "central differences of numpy's own function.  Do not edit by hand.",
        "",
        "| class | functions |",
        "| --- | --- |",
    ]
    lines += [f"| {TITLES[c]} | {counts[c]} |" for c in ORDER]
    for c in ORDER:
        chosen = [r for r in rows if r[1] == c]
        if not chosen:
            continue
        lines += [
            "",
            f"## {TITLES[c]}",
            "",
            "| function | called as | note |",
            "| --- | --- | --- |",
        ]
        lines += [
            f"| `{n}` | {p and f'`{p}`'} | {note.replace('|', '/')} |" for n, _, p, note in chosen
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail on defects or a stale table")
    args = parser.parse_args(argv)
    rows = sweep()
    text = render(rows)
    defects = [r for r in rows if r[1] == "defect"]
    if args.check:
        problems = [f"{n}: {note}" for n, _, _, note in defects]
        if not OUT.exists() or OUT.read_text() != text:
            problems.append(f"{OUT} is not current: run python docs/coverage.py")
        for p in problems:
            print(p, file=sys.stderr)
        return 1 if problems else 0
    OUT.write_text(text)
    print(f"wrote {OUT}: " + ", ".join(f"{c} {sum(1 for r in rows if r[1] == c)}" for c in ORDER))
    return 1 if defects else 0


if __name__ == "__main__":
    sys.exit(main())
