"""The ``gradmix`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np

__all__ = ["main"]


class UsageError(Exception):
    """A user mistake: reported in one line, exit status 2."""


def _demo(args: argparse.Namespace) -> None:
    import gradmix as gm

    x1, x2 = 1.5, 2.0
    print("Automatic differentiation, as the lecture tells it")
    print("=================================================")
    print(f"f(x1, x2) = x1*x2 + sin(x1) at x1 = {x1}, x2 = {x2}\n")
    print("Dual program (forward mode), seeded for df/dx2:  x1 -> x1 + 0d,  x2 -> x2 + 1d")
    w1, w2 = gm.Dual(x1, 0.0), gm.Dual(x2, 1.0)
    w3 = w1 * w2
    w4 = np.sin(w1)
    w5 = w3 + w4
    rows = [
        ("w1 = x1", w1), ("w2 = x2", w2), ("w3 = w1*w2", w3), ("w4 = sin(w1)", w4),
        ("w5 = w3 + w4", w5),
    ]  # fmt: skip
    for label, w in rows:
        print(f"  {label:<14} w = {float(w.primal):+.10f}   w' = {float(w.tangent):+.10f}")
    print(f"  df/dx2 = w5' = {float(w5.tangent):.10f}  (exact: x1 = {x1})\n")

    def f(a: float, b: float) -> float:
        return a * b + np.sin(a)

    g = gm.grad(f, argnums=(0, 1))(x1, x2)
    print("Reverse mode (one backward sweep), the full gradient:")
    print(f"  df/dx1 = {float(g[0]):.10f}  (exact: x2 + cos(x1) = {x2 + np.cos(x1):.10f})")
    print(f"  df/dx2 = {float(g[1]):.10f}  (exact: x1 = {x1:.10f})")
    h = gm.hessian(lambda v: f(v[0], v[1]))(np.array([x1, x2]))
    print("Hessian (forward over reverse):")
    for row in h:
        print("  [" + "  ".join(f"{v:+.10f}" for v in row) + "]")


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradmix",
        description="Automatic differentiation of numpy code, and Gaussian mixtures fit by EM.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="the lecture's tour: dual numbers, reverse mode")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gradmix`` command; returns the exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except UsageError as exc:
        if args.debug:
            raise
        print(f"gradmix: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
