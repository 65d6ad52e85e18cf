"""``scipy.signal.convolve`` and ``correlate``, differentiable in both arguments.

With scipy's signature, ``convolve(in1, in2, mode)`` convolves along every
axis.  For convolutional layers, ``axes=(axes1, axes2)`` names the axes of
``in1`` and ``in2`` convolved with each other and ``dot_axes=(dots1, dots2)``
the axes summed over (channels), as autograd's ``convolve``: the result's
axes are ``in1``'s others, then ``in2``'s others, then the convolved ones.

The convolution is written as a sum over the positions of the smaller array
(the kernel) of products of shifted slices of the larger one: derivatives come
from indexing and ``tensordot``, and cost about as much as the convolution.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from gradmix.ad import NoDerivativeRuleError, strip

__all__ = ["convolve", "correlate"]


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(np.shape(strip(x)))


def _valid(small: Any, big: Any, axes: tuple[list[int], list[int]],
           dots: tuple[list[int], list[int]]) -> Any:  # fmt: skip
    """Valid convolution of ``small`` (the kernel) over ``big``: output axes are small's
    free axes, big's free axes, then the convolved axes (in the order of ``axes``)."""
    s_shape, b_shape = _shape(small), _shape(big)
    conv_s, conv_b = axes
    lengths = [b_shape[ab] - s_shape[as_] + 1 for as_, ab in zip(conv_s, conv_b, strict=True)]
    b_free = [k for k in range(len(b_shape)) if k not in conv_b and k not in dots[1]]
    total: Any = None
    for offset in itertools.product(*(range(s_shape[a]) for a in conv_s)):
        kernel_idx: list[Any] = [slice(None)] * len(s_shape)
        for a, j in zip(conv_s, offset, strict=True):
            kernel_idx[a] = j
        window: list[Any] = [slice(None)] * len(b_shape)
        for a_s, a_b, j, n in zip(conv_s, conv_b, offset, lengths, strict=True):
            start = s_shape[a_s] - 1 - j  # the kernel is flipped
            window[a_b] = slice(start, start + n)
        k = small[tuple(kernel_idx)]
        # small's remaining axes after taking the kernel entry
        kept = [a for a in range(len(s_shape)) if a not in conv_s]
        dot_k = [kept.index(a) for a in dots[0]]
        term = np.tensordot(k, big[tuple(window)], axes=(dot_k, list(dots[1])))
        total = term if total is None else total + term
    # tensordot's axes: small's free, then big's free and convolved in big's order
    n_small_free = len(s_shape) - len(conv_s) - len(dots[0])
    big_rest = [a for a in range(len(b_shape)) if a not in dots[1]]
    order = list(range(n_small_free))
    order += [n_small_free + big_rest.index(a) for a in b_free]
    order += [n_small_free + big_rest.index(a) for a in conv_b]
    return np.transpose(total, order)


def _pad_full(big: Any, small_shape: tuple[int, ...], axes: tuple[list[int], list[int]]) -> Any:
    widths = [(0, 0)] * np.ndim(strip(big))
    for a_s, a_b in zip(*axes, strict=True):
        widths[a_b] = (small_shape[a_s] - 1, small_shape[a_s] - 1)
    return np.pad(big, widths)


def convolve(in1: Any, in2: Any, mode: str = "full", method: str = "auto", *,
             axes: Sequence[Sequence[int]] | None = None,
             dot_axes: Sequence[Sequence[int]] = ((), ())) -> Any:  # fmt: skip
    """N-dimensional convolution, as ``scipy.signal.convolve`` (``method`` is ignored).

    Parameters
    ----------
    in1, in2 : array_like
    mode : {"full", "valid", "same"}
        ``"same"`` is centred on ``in1`` as scipy's (without ``axes``).
    axes : pair of int sequences, optional
        Axes of ``in1`` and of ``in2`` to convolve together (default: all).
    dot_axes : pair of int sequences
        Axes of ``in1`` and ``in2`` to sum over.
    """
    if mode not in ("full", "valid", "same"):
        raise ValueError("acceptable mode flags are 'valid', 'same', or 'full'")
    s1, s2 = _shape(in1), _shape(in2)
    if axes is None:
        if len(s1) != len(s2):
            raise ValueError("in1 and in2 should have the same dimensionality")
        pair = (list(range(len(s1))), list(range(len(s2))))
    else:
        pair = ([int(a) % len(s1) for a in axes[0]], [int(a) % len(s2) for a in axes[1]])
    dots = ([int(a) % len(s1) for a in dot_axes[0]], [int(a) % len(s2) for a in dot_axes[1]])
    if mode == "same" and (axes is not None or any(dots)):
        raise NoDerivativeRuleError(
            "gradmix has no derivative rule for mode='same' with axes or dot_axes; "
            "use mode='full' and slice the result"
        )
    # the kernel is the array smaller along the convolved axes
    smaller1 = all(s1[a] <= s2[b] for a, b in zip(*pair, strict=True))
    smaller2 = all(s2[b] <= s1[a] for a, b in zip(*pair, strict=True))
    if mode == "valid" and not (smaller1 or smaller2):
        raise ValueError(
            "for 'valid' mode, one must be at least as large as the other in every dimension"
        )
    swap = not smaller1 if mode == "valid" else (not smaller1 and smaller2)
    if mode == "same":
        out = convolve(in1, in2, "full")
        start = [(s2[a] - 1) // 2 for a in range(len(s2))]
        return out[tuple(slice(b, b + n) for b, n in zip(start, s1, strict=True))]
    if swap:
        small, big, ax, dt = in2, in1, (pair[1], pair[0]), (dots[1], dots[0])
    else:
        small, big, ax, dt = in1, in2, pair, dots
    if mode == "full":
        big = _pad_full(big, _shape(small), ax)
    out = _valid(small, big, ax, dt)
    if not swap:
        return out
    # back to in1's free axes first, then in2's, then the convolved axes
    n2 = len(s2) - len(pair[1]) - len(dots[1])
    n1 = len(s1) - len(pair[0]) - len(dots[0])
    order = list(range(n2, n2 + n1)) + list(range(n2)) + list(range(n1 + n2, np.ndim(strip(out))))
    return np.transpose(out, order)


def correlate(in1: Any, in2: Any, mode: str = "full", method: str = "auto") -> Any:
    """N-dimensional cross-correlation, as ``scipy.signal.correlate``."""
    s1, s2 = _shape(in1), _shape(in2)
    flipped = np.conjugate(np.flip(in2))
    if mode == "valid" and not all(b <= a for a, b in zip(s1, s2, strict=True)):
        # scipy swaps the inputs when in2 is the larger one
        return np.conjugate(np.flip(convolve(in2, np.conjugate(np.flip(in1)), "valid")))
    return convolve(in1, flipped, mode)
