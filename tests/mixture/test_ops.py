"""Array operations written once against a namespace (gradmix.mixture.ops)."""

import importlib.util

import array_api_strict
import numpy as np
import pytest
from array_api_compat import array_namespace

from gradmix.mixture.arrays import to_host
from gradmix.mixture.ops import clip_nonnegative

NAMESPACES = ["numpy", "array_api_strict"] + (
    ["torch"] if importlib.util.find_spec("torch") else []
)


def namespace(name):
    if name == "torch":
        import torch

        return torch
    return np if name == "numpy" else array_api_strict


@pytest.mark.parametrize("name", NAMESPACES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_clip_nonnegative_is_numpy_maximum_with_zero(name, dtype):
    values = np.array([[-2.5, -0.0, 0.0, 1e-300], [3.0, np.nan, -np.inf, np.inf]], dtype=dtype)
    lib = namespace(name)
    a = lib.asarray(values.copy())
    out = clip_nonnegative(array_namespace(a), a)
    assert type(out) is type(a) and str(out.dtype).endswith(dtype)
    expected = np.maximum(values, 0)  # NaN stays NaN: a later step turns it into -inf
    np.testing.assert_array_equal(to_host(out), expected)
