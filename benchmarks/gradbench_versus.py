"""gradmix's GradBench times against another checkout's, both in one process.

Run:  git worktree add /tmp/previous <commit>
      uv run python benchmarks/gradbench_versus.py /tmp/previous [--evals gmm,lse] [--seconds 4]

On a shared machine the same program's time moves by 10-30 % from one
process to the next, which hides changes of that size when two checkouts are
run one after the other.  Here the other checkout's ``src/gradmix`` is copied
into a temporary folder as the package ``gradmix_previous`` (every ``gradmix``
in its source renamed) and imported beside this one; for each input of
``gradbench_evals.py`` the objective f, eager ``value_and_grad`` and
``gm.compile`` of both are timed in turn, round after round, for ``--seconds``,
keeping each one's best.  Prints t / t(f) for both checkouts.  Each tool's
derivative is first checked against the other checkout's (relative 1e-10).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import gradbench_evals as evals  # noqa: E402

NAME = "gradmix_previous"


def import_renamed(checkout: Path, into: Path) -> ModuleType:
    """The checkout's gradmix, copied under ``into`` as the package ``gradmix_previous``."""
    target = into / NAME
    shutil.copytree(checkout / "src" / "gradmix", target)
    for path in target.rglob("*.py"):
        path.write_text(re.sub(r"\bgradmix\b", NAME, path.read_text()))
    sys.path.insert(0, str(into))
    return importlib.import_module(NAME)


def evals_with(module: ModuleType) -> ModuleType:
    """A second copy of ``gradbench_evals`` whose tools use ``module`` for gradmix."""
    spec = importlib.util.spec_from_file_location("gradbench_evals_previous",
                                                  HERE / "gradbench_evals.py")  # fmt: skip
    assert spec is not None and spec.loader is not None
    copy = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = copy  # (its dataclasses look their module up)
    spec.loader.exec_module(copy)
    copy.gm = module
    return copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout", type=Path, help="the other checkout's root")
    parser.add_argument("--evals", default="gmm,lse,kmeans,ode,lstm")
    parser.add_argument("--seconds", type=float, default=4.0, help="of alternating runs per input")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        previous = import_renamed(args.checkout.resolve(), Path(folder))
        evals.tune_allocator()
        previous.ad.allocator.tune_allocator()
        other = evals_with(previous)
        print(f"t / t(f), best of alternating runs: {args.checkout} -> this checkout")
        for case in evals.cases(quick=False):
            if case.eval not in args.evals.split(","):
                continue
            f = evals.numpy_like(np, case)
            tools = {"f": lambda: f(*case.params)}  # noqa: B023
            for label, make in (("eager", "gradmix_eager"), ("compile", "gradmix_compiled")):
                old, new = getattr(other, make)(case), getattr(evals, make)(case)
                expected = evals.flat(old())
                np.testing.assert_allclose(evals.flat(new()), expected, rtol=1e-10,
                                           atol=1e-12 * np.max(np.abs(expected)))  # fmt: skip
                tools[f"{label} before"], tools[label] = old, new
            best = dict.fromkeys(tools, np.inf)
            for fn in tools.values():
                fn()
            end = time.perf_counter() + args.seconds
            while time.perf_counter() < end:
                for name, fn in tools.items():
                    t = time.perf_counter()
                    fn()
                    best[name] = min(best[name], time.perf_counter() - t)
            tf = best["f"]
            print(f"{case.eval:7s} {case.label:22s} f {tf * 1e3:8.3f} ms   eager "
                  f"{best['eager before'] / tf:5.2f} -> {best['eager'] / tf:5.2f}   compile "
                  f"{best['compile before'] / tf:5.2f} -> {best['compile'] / tf:5.2f}",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
