"""np.fft's rules against central differences, for real and complex input, every norm."""

import numpy as np
import pytest

import gradmix as gm

from .test_complex import fd_gradient

RNG = np.random.default_rng(3)


def weights(shape):
    return RNG.normal(size=shape) + 1j * RNG.normal(size=shape)


CASES = {
    "fft": (lambda x, w: np.fft.fft(x), (6,), (6,)),
    "fft_n_pad": (lambda x, w: np.fft.fft(x, n=8), (6,), (8,)),
    "fft_n_cut": (lambda x, w: np.fft.fft(x, n=4, norm="ortho"), (6,), (4,)),
    "fft_axis0": (lambda x, w: np.fft.fft(x, axis=0, norm="forward"), (3, 4), (3, 4)),
    "ifft": (lambda x, w: np.fft.ifft(x), (5,), (5,)),
    "fft2": (lambda x, w: np.fft.fft2(x), (3, 4), (3, 4)),
    "ifft2_s": (lambda x, w: np.fft.ifft2(x, s=(4, 3)), (3, 4), (4, 3)),
    "fftn": (lambda x, w: np.fft.fftn(x, axes=(0, 2)), (2, 3, 2), (2, 3, 2)),
    "ifftn": (lambda x, w: np.fft.ifftn(x, norm="ortho"), (2, 3), (2, 3)),
    "irfft": (lambda x, w: np.fft.irfft(x), (5,), (8,)),
    "irfft_n_odd": (lambda x, w: np.fft.irfft(x, n=7, norm="ortho"), (5,), (7,)),
    "irfft_n_cut": (lambda x, w: np.fft.irfft(x, n=4, norm="forward"), (5,), (4,)),
    "irfft2": (lambda x, w: np.fft.irfft2(x), (3, 3), (3, 4)),
    "irfftn_s": (lambda x, w: np.fft.irfftn(x, s=(3, 5), axes=(0, 1)), (3, 3), (3, 5)),
    "fftshift": (lambda x, w: np.fft.fftshift(x), (5, 4), (5, 4)),
    "ifftshift_axis": (lambda x, w: np.fft.ifftshift(x, axes=1), (5, 4), (5, 4)),
}
REAL_INPUT = {
    "rfft": (lambda x, w: np.fft.rfft(x), (6,), (4,)),
    "rfft_odd_forward": (lambda x, w: np.fft.rfft(x, norm="forward"), (7,), (4,)),
    "rfft_n": (lambda x, w: np.fft.rfft(x, n=9, axis=0), (6, 2), (5, 2)),
    "rfft2": (lambda x, w: np.fft.rfft2(x, norm="ortho"), (4, 5), (4, 3)),
    "rfftn": (lambda x, w: np.fft.rfftn(x), (2, 3, 4), (2, 3, 3)),
    "fft_of_real": (lambda x, w: np.fft.fft(x), (6,), (6,)),
}


def loss(transform, out_shape):
    w = weights(out_shape)
    return lambda x: np.sum(np.abs(transform(x, w) * w) ** 2) + np.sum(np.real(transform(x, w) * w))


@pytest.mark.parametrize("name", sorted(CASES))
def test_complex_input(name):
    transform, shape, out_shape = CASES[name]
    f = loss(transform, out_shape)
    z = RNG.normal(size=shape) + 1j * RNG.normal(size=shape)
    ref = fd_gradient(f, z)
    np.testing.assert_allclose(gm.grad(f)(z), ref, rtol=1e-6, atol=1e-6 * np.max(np.abs(ref)))
    v = RNG.normal(size=shape) + 1j * RNG.normal(size=shape)
    _, t = gm.jvp(f, (z,), (v,))
    assert t == pytest.approx(np.real(np.vdot(ref, v)), rel=1e-6)


@pytest.mark.parametrize("name", sorted(REAL_INPUT))
def test_real_input(name):
    transform, shape, out_shape = REAL_INPUT[name]
    f = loss(transform, out_shape)
    x = RNG.normal(size=shape)
    ref = gm.divided_difference(f, x, 1e-6, "central")
    g = gm.grad(f)(x)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, ref, rtol=1e-6, atol=1e-6 * np.max(np.abs(ref)))
    np.testing.assert_allclose(gm.jacfwd(f)(x), ref, rtol=1e-6, atol=1e-6 * np.max(np.abs(ref)))


def test_values_are_numpys():
    x = RNG.normal(size=(4, 6))
    for fn in (np.fft.fft, np.fft.rfft, np.fft.fft2, np.fft.rfftn, np.fft.fftshift):
        out = gm.jvp(fn, (x,), (np.zeros_like(x),))[0]
        np.testing.assert_allclose(out, fn(x), rtol=1e-12, atol=1e-12)
    spec = np.fft.rfft(x)
    out = gm.jvp(lambda s: np.fft.irfft(s, n=6), (spec,), (np.zeros_like(spec),))[0]
    np.testing.assert_allclose(out, x, atol=1e-12)


def test_convolution_by_fft_matches_np_convolve():
    """A frequency-domain loss: the circular convolution theorem, differentiated."""
    kernel = np.array([0.25, 0.5, 0.25, 0.0, 0.0, 0.0])
    target = RNG.normal(size=6)

    def f(x):
        smooth = np.fft.irfft(np.fft.rfft(x) * np.fft.rfft(kernel), n=6)
        return np.sum((smooth - target) ** 2)

    x = RNG.normal(size=6)
    ref = gm.divided_difference(f, x, 1e-6, "central")
    np.testing.assert_allclose(gm.grad(f)(x), ref, rtol=1e-6)
