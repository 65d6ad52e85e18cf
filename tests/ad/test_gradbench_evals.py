"""The GradBench evals of benchmarks/gradbench_evals.py at their quick sizes: gradmix's
derivatives of these ordinary numpy programs against central differences, the
closed form of k-means' Newton direction, gm.compile, and JAX (the dev group has it)."""

import importlib.util

import numpy as np
import pytest
from benchmarks.gradbench_evals import (
    cases,
    central_difference_check,
    flat,
    gradmix_compiled,
    gradmix_eager,
    jax_tool,
)

CASES = cases(quick=True)


@pytest.mark.parametrize("case", CASES, ids=[c.eval for c in CASES])
def test_eval_derivatives_are_exact(case):
    eager = flat(gradmix_eager(case)())
    assert np.all(np.isfinite(eager)) and np.any(eager != 0)
    # central differences along a random direction, or k-means' closed form
    assert central_difference_check(case, eager) < 1e-6
    np.testing.assert_allclose(flat(gradmix_compiled(case)()), eager, rtol=1e-10, atol=1e-13)


@pytest.mark.slow  # JAX compiles each program first
@pytest.mark.skipif(not importlib.util.find_spec("jax"), reason="JAX is not installed")
@pytest.mark.parametrize("case", CASES, ids=[c.eval for c in CASES])
def test_eval_derivatives_equal_jaxs(case):
    got = flat(jax_tool(case)())
    np.testing.assert_allclose(got, flat(gradmix_eager(case)()), rtol=1e-9, atol=1e-12)
