"""``np.fft``: discrete Fourier transforms, linear maps with transposes of their own kind.

Three primitives carry every derivative here.  Under the machinery's pairing
``Re(sum(a * b))`` (see :class:`gradmix.ad.tracer.Primitive`):

- the complex transforms (``fftn``/``ifftn`` over some axes) are symmetric
  matrices, so their VJP is the same transform of the cotangent;
- ``rfft`` maps real ``x`` of length n to the half spectrum; its VJP is the
  real part of the full ``fft`` of the cotangent padded to n;
- ``irfft`` maps the half spectrum to real ``y`` of length n, counting the
  entries between 0 and n/2 twice (they stand for their mirror images); its
  VJP is ``ifft`` of the cotangent, cut to the half spectrum and weighted so.

Each primitive sees input whose length along the transformed axes is already
the one the transform uses: ``n`` and ``s`` (cut or pad with zeros) are
composites of indexing and ``concatenate``.  ``fft``, ``fft2``, ``rfftn`` and
the rest are compositions of the three.  ``norm`` is the same on both sides of
each transpose, since the scaling of a transform is that of its transpose.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from gradmix.ad.core import defjvp, defvjp
from gradmix.ad.dispatch import register_numpy
from gradmix.ad.rules.shape import concatenate, getitem
from gradmix.ad.tracer import Primitive, bind, strip

__all__ = ["fftn", "ifftn", "rfft", "irfft"]


def _neg_axes(axes: Sequence[int], ndim: int) -> tuple[int, ...]:
    """Axes counted from the end, so a leading batch axis of tangents changes nothing."""
    return tuple(int(a) % ndim - ndim for a in axes)


def _fit(a: Any, n: int, axis: int) -> Any:
    """``a`` cut or padded with zeros to length ``n`` along ``axis`` (numpy's ``n``/``s``)."""
    shape = np.shape(strip(a))
    have = shape[axis]
    if n < 1:
        raise ValueError(f"invalid number of data points ({n}) specified")
    if n == have:
        return a
    if n < have:
        idx = [slice(None)] * len(shape)
        idx[axis] = slice(0, n)
        return getitem(a, tuple(idx))
    pad_shape = list(shape)
    pad_shape[axis] = n - have
    return concatenate([a, np.zeros(pad_shape, np.result_type(strip(a), np.float64))], axis)


def _c2c_impl(x: Any, axes: tuple[int, ...], norm: Any, inverse: bool) -> Any:
    fn = np.fft.ifftn if inverse else np.fft.fftn
    return fn(x, axes=axes, norm=norm)


c2c_p = Primitive(_c2c_impl, "np.fft.fftn", batched=True)
# a DFT matrix is symmetric: the transform of the tangent, and of the cotangent
defjvp(
    c2c_p,
    lambda g, ans, x, axes, norm, inverse: bind(
        c2c_p, (g,), {"axes": axes, "norm": norm, "inverse": inverse}
    ),
)
defvjp(
    c2c_p,
    lambda ans, x, axes, norm, inverse: (
        lambda g: bind(c2c_p, (g,), {"axes": axes, "norm": norm, "inverse": inverse})
    ),
)


def _rfft_impl(x: Any, axis: int, norm: Any) -> Any:
    return np.fft.rfft(x, axis=axis, norm=norm)


def _rfft_vjp(ans: Any, x: Any, axis: int, norm: Any) -> Any:
    n = np.shape(strip(x))[axis]

    def vjp(g: Any) -> Any:
        full = _fit(g, n, axis)
        return np.real(bind(c2c_p, (full,), {"axes": (axis,), "norm": norm, "inverse": False}))

    return vjp


rfft_p = Primitive(_rfft_impl, "np.fft.rfft", batched=True)
defjvp(rfft_p, lambda g, ans, x, axis, norm: bind(rfft_p, (g,), {"axis": axis, "norm": norm}))
defvjp(rfft_p, _rfft_vjp)


def _irfft_impl(x: Any, n: int, axis: int, norm: Any) -> Any:
    return np.fft.irfft(x, n=n, axis=axis, norm=norm)


def _half_weights(n: int, m: int, ndim: int, axis: int) -> np.ndarray:
    """1 for the zero frequency (and n/2 for even n), 2 for the entries standing for two."""
    w = np.full(m, 2.0)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    shape = [1] * ndim
    shape[axis] = m
    return w.reshape(shape)


def _irfft_vjp(ans: Any, x: Any, n: int, axis: int, norm: Any) -> Any:
    shape = np.shape(strip(x))
    m = shape[axis]

    def vjp(g: Any) -> Any:
        back = bind(c2c_p, (g,), {"axes": (axis,), "norm": norm, "inverse": True})
        return _fit(back, m, axis) * _half_weights(n, m, len(shape), axis)

    return vjp


irfft_p = Primitive(_irfft_impl, "np.fft.irfft", batched=True)
defjvp(
    irfft_p,
    lambda g, ans, x, n, axis, norm: bind(irfft_p, (g,), {"n": n, "axis": axis, "norm": norm}),
)
defvjp(irfft_p, _irfft_vjp)


# ------------------------------------------------------------------ numpy's functions
def _axes_and_sizes(a: Any, s: Any, axes: Any) -> tuple[tuple[int, ...], list[int]]:
    shape = np.shape(strip(a))
    nd = len(shape)
    if axes is None:
        axes = range(nd) if s is None else range(nd - len(s), nd)
    ax = _neg_axes(tuple(axes), nd)
    sizes = [shape[i] for i in ax] if s is None else [int(k) for k in s]
    if len(sizes) != len(ax):
        raise ValueError("shape and axes have different lengths")
    return ax, sizes


def _c2c(a: Any, s: Any, axes: Any, norm: Any, inverse: bool) -> Any:
    ax, sizes = _axes_and_sizes(a, s, axes)
    for axis, n in zip(ax, sizes, strict=True):
        a = _fit(a, n, axis)
    return bind(c2c_p, (a,), {"axes": ax, "norm": norm, "inverse": inverse})


@register_numpy(np.fft.fft)
def fft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """``np.fft.fft``."""
    return _c2c(a, None if n is None else [n], [axis], norm, False)


@register_numpy(np.fft.ifft)
def ifft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """``np.fft.ifft``."""
    return _c2c(a, None if n is None else [n], [axis], norm, True)


@register_numpy(np.fft.fftn)
def fftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    """``np.fft.fftn``."""
    return _c2c(a, s, axes, norm, False)


@register_numpy(np.fft.ifftn)
def ifftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    """``np.fft.ifftn``."""
    return _c2c(a, s, axes, norm, True)


@register_numpy(np.fft.fft2)
def fft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None) -> Any:
    """``np.fft.fft2``."""
    return _c2c(a, s, axes, norm, False)


@register_numpy(np.fft.ifft2)
def ifft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None) -> Any:
    """``np.fft.ifft2``."""
    return _c2c(a, s, axes, norm, True)


def _require_real(a: Any, name: str) -> None:
    if np.iscomplexobj(strip(a)):
        raise TypeError(f"np.fft.{name} takes real input (numpy would drop the imaginary part)")


@register_numpy(np.fft.rfft)
def rfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """``np.fft.rfft``."""
    _require_real(a, "rfft")
    (ax,), (size,) = _axes_and_sizes(a, None if n is None else [n], [axis])
    return bind(rfft_p, (_fit(a, size, ax),), {"axis": ax, "norm": norm})


@register_numpy(np.fft.irfft)
def irfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """``np.fft.irfft``."""
    (ax,), (m,) = _axes_and_sizes(a, None, [axis])
    n = 2 * (m - 1) if n is None else int(n)
    return bind(irfft_p, (_fit(a, n // 2 + 1, ax),), {"n": n, "axis": ax, "norm": norm})


@register_numpy(np.fft.rfftn)
def rfftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    """``np.fft.rfftn``: ``rfft`` along the last axis, then ``fft`` along the others."""
    ax, sizes = _axes_and_sizes(a, s, axes)
    out_ = rfft(a, sizes[-1], ax[-1], norm)
    return _c2c(out_, sizes[:-1], ax[:-1], norm, False) if len(ax) > 1 else out_


@register_numpy(np.fft.irfftn)
def irfftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    """``np.fft.irfftn``: ``ifft`` along all axes but the last, then ``irfft`` along it."""
    ax, sizes = _axes_and_sizes(a, s, axes)
    if s is None:
        sizes[-1] = 2 * (sizes[-1] - 1)
    if len(ax) > 1:
        a = _c2c(a, sizes[:-1], ax[:-1], norm, True)
    return irfft(a, sizes[-1], ax[-1], norm)


@register_numpy(np.fft.rfft2)
def rfft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None) -> Any:
    """``np.fft.rfft2``."""
    return rfftn(a, s, axes, norm)


@register_numpy(np.fft.irfft2)
def irfft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None, out: Any = None) -> Any:
    """``np.fft.irfft2``."""
    return irfftn(a, s, axes, norm)


def _shift(x: Any, axes: Any, sign: int) -> Any:
    nd = np.ndim(strip(x))
    chosen = range(nd) if axes is None else [axes] if np.ndim(axes) == 0 else axes
    ax = tuple(int(a) for a in chosen)
    shape = np.shape(strip(x))
    shifts = tuple(sign * (shape[a] // 2) for a in ax)
    return np.roll(x, shifts, ax)


@register_numpy(np.fft.fftshift)
def fftshift(x: Any, axes: Any = None) -> Any:
    """``np.fft.fftshift``: a roll, so the derivative rolls back."""
    return _shift(x, axes, 1)


@register_numpy(np.fft.ifftshift)
def ifftshift(x: Any, axes: Any = None) -> Any:
    """``np.fft.ifftshift``."""
    return _shift(x, axes, -1)


_SWAPPED_NORM = {None: "forward", "backward": "forward", "ortho": "ortho", "forward": "backward"}


@register_numpy(np.fft.hfft)
def hfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """``np.fft.hfft``: the real spectrum of a Hermitian-symmetric signal."""
    return irfft(np.conjugate(a), n, axis, _SWAPPED_NORM[norm])


@register_numpy(np.fft.ihfft)
def ihfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """``np.fft.ihfft``."""
    return np.conjugate(rfft(a, n, axis, _SWAPPED_NORM[norm]))


@register_numpy(np.fft.fftfreq)
def fftfreq(n: int, d: Any = 1.0, device: Any = None) -> Any:
    """``np.fft.fftfreq`` with a traced sample spacing ``d``."""
    return np.fft.fftfreq(n) / d


@register_numpy(np.fft.rfftfreq)
def rfftfreq(n: int, d: Any = 1.0, device: Any = None) -> Any:
    """``np.fft.rfftfreq`` with a traced sample spacing ``d``."""
    return np.fft.rfftfreq(n) / d
