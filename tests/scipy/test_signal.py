"""gradmix.scipy.signal: scipy.signal's values in every mode, derivatives in both arguments."""

import numpy as np
import pytest
import scipy.signal as ss

import gradmix as gm
import gradmix.scipy.signal as gs
from tests.ad.helpers import assert_derivatives

rng = np.random.default_rng(0)
BIG = rng.normal(size=(5, 4))
SMALL = rng.normal(size=(2, 3))


@pytest.mark.parametrize("mode", ["full", "valid", "same"])
@pytest.mark.parametrize("name", ["convolve", "correlate"])
@pytest.mark.parametrize("swap", [False, True], ids=["big_first", "small_first"])
def test_like_scipy(name, mode, swap):
    ours, theirs = getattr(gs, name), getattr(ss, name)
    a, b = (SMALL, BIG) if swap else (BIG, SMALL)
    np.testing.assert_allclose(ours(a, b, mode), theirs(a, b, mode), rtol=1e-12, atol=1e-12)
    assert_derivatives(lambda x, y: ours(x, y, mode), a, b)


def test_one_dimensional_and_complex_correlation():
    a = rng.normal(size=6) + 1j * rng.normal(size=6)
    k = rng.normal(size=3) + 1j * rng.normal(size=3)
    for mode in ("full", "valid", "same"):
        np.testing.assert_allclose(gs.correlate(a, k, mode), ss.correlate(a, k, mode), atol=1e-12)


def test_convolutional_layer_axes_and_channels():
    """(N, C, H, W) images against (C, F, h, w) filters: the sum over channels of 2-D
    valid convolutions, as a loop over scipy.signal.convolve computes it."""
    images = rng.normal(size=(2, 3, 6, 5))
    filters = rng.normal(size=(3, 4, 3, 2))

    def layer(x, f):
        return gs.convolve(x, f, axes=([2, 3], [2, 3]), dot_axes=([1], [0]), mode="valid")

    reference = np.array([[sum(ss.convolve(images[n, c], filters[c, o], "valid") for c in range(3))
                           for o in range(4)] for n in range(2)])  # fmt: skip
    np.testing.assert_allclose(layer(images, filters), reference, rtol=1e-12)
    assert_derivatives(layer, images, filters)


def test_bad_arguments():
    with pytest.raises(ValueError, match="mode"):
        gs.convolve(BIG, SMALL, "middle")
    with pytest.raises(ValueError, match="at least as large"):
        gs.convolve(rng.normal(size=(5, 2)), rng.normal(size=(2, 5)), "valid")
    with pytest.raises(gm.NoDerivativeRuleError, match="mode='same' with axes"):
        gs.convolve(BIG, SMALL, "same", axes=([0, 1], [0, 1]))
