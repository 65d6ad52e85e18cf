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


def reference_responsibilities(wlp, extra):
    """scipy's log-sum-exp over the columns (and the noise column), NaN as -inf."""
    from scipy.special import logsumexp

    a = np.where(np.isnan(wlp), -np.inf, wlp).astype(np.float64)
    if extra is not None:
        a = np.concatenate([a, np.full((len(a), 1), extra)], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        lpn = logsumexp(a, axis=1)
        resp = np.exp(a - lpn[:, None])
    return resp, lpn


@pytest.mark.parametrize("name", NAMESPACES)
@pytest.mark.parametrize("extra", [None, -3.0])
@pytest.mark.parametrize("rows", ["finite", "some -inf", "nan", "impossible row"])
def test_responsibilities_against_scipys_logsumexp(name, extra, rows):
    """Every path of responsibilities_with against scipy (numpy's all-finite one skips
    numpy's error state: under np.errstate(all="raise") it must raise nothing)."""
    from gradmix.mixture.ops import responsibilities_with

    rng = np.random.default_rng(0)
    wlp = rng.normal(scale=30.0, size=(40, 4))
    wlp[:, 1] -= 800.0  # exp() underflows for these entries
    if rows == "some -inf":
        wlp[::3, 2] = -np.inf
    elif rows == "nan":
        wlp[5, 0] = np.nan
    elif rows == "impossible row":
        wlp[7] = -np.inf
    want_resp, want_lpn = reference_responsibilities(wlp, extra)
    lib = namespace(name)
    a = lib.asarray(np.asfortranarray(wlp) if name == "numpy" else wlp.copy())
    host_fast_path = name == "numpy" and rows == "finite" and extra is None
    state = "raise" if host_fast_path else "ignore"
    with np.errstate(all=state):
        resp, lpn, noise = responsibilities_with(array_namespace(a), a, extra)
    resp, lpn = to_host(resp), to_host(lpn)
    np.testing.assert_allclose(lpn, want_lpn, rtol=1e-12)
    possible = np.isfinite(want_lpn)
    np.testing.assert_allclose(resp[possible], want_resp[possible, :4], rtol=1e-10, atol=1e-300)
    if extra is None:
        assert noise is None
    else:
        np.testing.assert_allclose(to_host(noise)[possible], want_resp[possible, 4], rtol=1e-10)
