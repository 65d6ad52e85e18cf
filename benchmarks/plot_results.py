"""Draw the recorded benchmark figures (``benchmarks/recorded.csv``, copied from
RESULTS.md with each row's machine, date and command) as one picture.

Run:  uv run python benchmarks/plot_results.py [OUT.png]
(default docs/images/generated/benchmarks.png, where the documentation build writes it)

The figures are not measured here: each comes from the RESULTS.md section it
names, on the machine it names; ratios compare contenders within one run.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE.parent / "docs" / "images" / "generated" / "benchmarks.png"
PANELS = {
    "em_ratio": "EM per iteration: scikit-learn's time / gradmix's\n"
                "(N = 100 000, d = 32, K = 64; higher is faster)",
    "ad_overhead": "AD: t(value and gradient) / t(function)\n(lower is better)",
    "speedup": "Time to a result: the anchor's / gradmix's\n(higher is faster)",
    "gradbench": "GradBench evals: t(derivative) / t(objective in numpy), gradmix's best\n"
                 "of eager and gm.compile (lower is better; log scale)",
}  # fmt: skip


#: panels whose figures span more than an order of magnitude
LOG_PANELS = {"gradbench"}


def read(path: Path = HERE / "recorded.csv") -> list[dict[str, str]]:
    """The recorded rows (the file's ``#`` lines are its provenance)."""
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


def draw(rows: list[dict[str, str]]) -> plt.Figure:
    """One panel per kind of figure: bars at the recorded value, whiskers over the runs'
    range, and the machine and date under each panel."""
    fig, axes = plt.subplots(len(PANELS), 1, figsize=(9, 15))
    for ax, (panel, title) in zip(axes, PANELS.items(), strict=True):
        mine = [r for r in rows if r["panel"] == panel]
        labels = list(dict.fromkeys(r["label"] for r in mine))
        contenders = list(dict.fromkeys(r["contender"] for r in mine))
        width = 0.8 / len(contenders)
        for c, who in enumerate(contenders):
            for r in (r for r in mine if r["contender"] == who):
                y = labels.index(r["label"]) + (c - (len(contenders) - 1) / 2) * width
                value, low, high = float(r["value"]), float(r["low"]), float(r["high"])
                ax.barh(y, value, height=width, color=f"C{c}",
                        xerr=[[value - low], [high - value]], capsize=3,
                        label=who if labels.index(r["label"]) == 0 else None)  # fmt: skip
                ax.text(high, y, f" {value:g}", va="center", fontsize=8)
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.invert_yaxis()
        ax.axvline(1.0, color="grey", lw=0.8, ls=":")
        ax.set_title(title, fontsize=9)
        machines = sorted({f"{r['machine']}, {r['date']}" for r in mine})
        ax.set_xlabel("; ".join(machines), fontsize=7)
        if len(contenders) > 1:
            ax.legend(fontsize=8)
        ax.margins(x=0.15)
        if panel in LOG_PANELS:
            ax.set_xscale("log")
    fig.tight_layout()
    return fig


def main() -> None:
    parser = argparse.ArgumentParser(description="Draw benchmarks/recorded.csv.")
    parser.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT,
                        help=f"the picture to write (default {DEFAULT_OUT})")  # fmt: skip
    out = parser.parse_args().out
    out.parent.mkdir(parents=True, exist_ok=True)
    fig = draw(read())
    fig.savefig(out, dpi=100, bbox_inches="tight")
    print(f"saved {out}")


if __name__ == "__main__":
    main()
