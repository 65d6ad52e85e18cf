"""benchmarks/gradbench_versus.py's copy of another checkout: this checkout copied as the
package gradmix_previous computes the same derivatives as gradmix, beside it."""

from pathlib import Path

import numpy as np
from benchmarks import gradbench_evals as evals
from benchmarks.gradbench_versus import NAME, evals_with, import_renamed

ROOT = Path(__file__).resolve().parents[2]


def test_a_checkout_copied_beside_gradmix_gives_its_derivatives(tmp_path):
    previous = import_renamed(ROOT, tmp_path)
    assert previous.__name__ == NAME and Path(previous.__file__).is_relative_to(tmp_path)
    other = evals_with(previous)
    assert other.gm is previous and evals.gm is not previous
    for case in evals.cases(quick=True)[:3]:  # gmm, lse, kmeans
        for make in ("gradmix_eager", "gradmix_compiled"):
            got = evals.flat(getattr(other, make)(case)())
            np.testing.assert_allclose(got, evals.flat(getattr(evals, make)(case)()), rtol=1e-12)
