"""Sparse Jacobians and Hessians by compressed evaluation.

Detect the pattern (:mod:`gradmix.ad.sparsity`), colour it
(:mod:`gradmix.ad.colouring`), then push one seed per colour: all colours of a
Jacobian in one batched forward sweep (the dual numbers' leading tangent axis),
or one reverse sweep per row colour after a single recording; a Hessian's
colours in one batched forward-over-reverse sweep.  The pattern and colouring
are computed once per input shape and kept, as :func:`gradmix.compile` keeps
its traces.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from gradmix.ad.colouring import (
    column_colouring,
    column_reader,
    recover,
    row_colouring,
    row_reader,
    star_colouring,
    symmetric_reader,
)
from gradmix.ad.sparsity import hessian_sparsity, jacobian_sparsity
from gradmix.ad.tracer import strip
from gradmix.ad.transforms import grad, jvp, vjp

__all__ = ["SparseHessian", "SparseJacobian", "sparse_hessian", "sparse_jacobian"]

_MODES = ("auto", "forward", "reverse")


class _Plan:
    """What is computed once per input shape: the pattern, its colouring, the sweep to use
    ("forward", "reverse" or "forward-over-reverse"), where each entry is read from the
    sweeps' output, and the seeds."""

    def __init__(self, pattern: sp.csr_array, colours: np.ndarray, mode: str,
                 shape: tuple[int, ...], dtype: Any) -> None:  # fmt: skip
        pattern.sum_duplicates()  # canonical: entries are read back in its order
        self.pattern, self.colours, self.mode = pattern, colours, mode
        self.n_colours = int(colours.max(initial=-1)) + 1
        readers = {"forward": column_reader, "reverse": row_reader}
        self.reader = readers.get(mode, symmetric_reader)(pattern, colours)
        k = max(self.n_colours, 1)
        if mode == "reverse":
            self.seeds = np.zeros((k, pattern.shape[0]), dtype=dtype)
            self.seeds[colours, np.arange(colours.size)] = 1
        else:
            seeds = np.zeros((k, colours.size), dtype=dtype)
            seeds[colours, np.arange(colours.size)] = 1
            self.seeds = seeds.reshape((k,) + shape)

    def reuse(self, pattern: sp.csr_array, shape: tuple[int, ...], dtype: Any) -> _Plan:
        """The same colouring for an equal pattern (a local pattern found again)."""
        return _Plan(pattern, self.colours, self.mode, shape, dtype)


def _same(a: sp.csr_array, b: sp.csr_array) -> bool:
    return a.shape == b.shape and (a != b).nnz == 0


def _as_point(x: Any, who: str) -> np.ndarray:
    arr = np.asarray(strip(x))
    if arr.dtype.kind == "c":
        raise TypeError(f"{who}: complex inputs are not supported; split real and imaginary parts")
    if arr.dtype.kind not in "f":
        arr = arr.astype(np.float64)
    return arr


def _given_pattern(sparsity: Any, shape: tuple[int, int], who: str) -> sp.csr_array:
    p = sp.csr_array(sparsity, dtype=bool, copy=True)
    if p.shape != shape:
        raise ValueError(f"{who}: sparsity= has shape {p.shape}, the Jacobian has shape {shape}")
    return p


class _Compressed(abc.ABC):
    """What both compressed evaluations share: a plan per input shape (found again at
    every call for local patterns, keeping the colouring while the pattern stays the
    same), and the latest plan's facts."""

    who = ""

    def __init__(self, f: Callable[[Any], Any], sparsity: Any, kind: str) -> None:
        self.f = f
        self.kind = kind
        self._given = sparsity
        self._plans: dict[tuple[int, ...], _Plan] = {}
        self._last: _Plan | None = None

    @abc.abstractmethod
    def _pattern(self, x: np.ndarray) -> sp.csr_array:
        """The pattern at ``x``: detected, or the one given."""

    @abc.abstractmethod
    def _colour(self, pattern: sp.csr_array, x: np.ndarray) -> _Plan:
        """A new plan: the pattern coloured for this evaluation's sweeps."""

    def plan(self, x: Any) -> _Plan:
        """Pattern, colouring and sweep for the shape of ``x``."""
        x = _as_point(x, self.who)
        plan = self._plans.get(x.shape)
        if plan is None:
            pattern = self._pattern(x)
            if self._last is not None and _same(self._last.pattern, pattern):
                plan = self._last.reuse(pattern, x.shape, x.dtype)
            else:
                plan = self._colour(pattern, x)
            if self.kind == "global":
                self._plans[x.shape] = plan
        self._last = plan
        return plan

    @property
    def sparsity(self) -> sp.csr_array | None:
        """The latest input shape's pattern (None before the first)."""
        return None if self._last is None else self._last.pattern

    @property
    def colours(self) -> np.ndarray | None:
        """The latest input shape's colour of each column (or row, in reverse mode)."""
        return None if self._last is None else self._last.colours

    @property
    def n_colours(self) -> int | None:
        """How many sweeps (or directions of one batched sweep) a matrix costs."""
        return None if self._last is None else self._last.n_colours


class SparseJacobian(_Compressed):
    """``x -> J(x)`` as a ``scipy.sparse.csr_array``, from compressed sweeps.

    Made by :func:`sparse_jacobian`.  Attributes after the first call (or at
    once when a point was given): ``sparsity``, ``colours``, ``n_colours`` and
    ``mode`` of the latest input shape.
    """

    who = "sparse_jacobian"

    def __init__(self, f: Callable[[Any], Any], sparsity: Any, kind: str, mode: str) -> None:
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
        super().__init__(f, sparsity, kind)
        self._mode = mode

    def _pattern(self, x: np.ndarray) -> sp.csr_array:
        if self._given is None:
            return jacobian_sparsity(self.f, x, kind=self.kind)
        m = sp.csr_array(self._given).shape[0]
        return _given_pattern(self._given, (m, x.size), self.who)

    def _colour(self, pattern: sp.csr_array, x: np.ndarray) -> _Plan:
        mode = self._mode
        if mode == "auto":
            cols, rows = column_colouring(pattern), row_colouring(pattern)
            forward = cols.max(initial=-1) <= rows.max(initial=-1)
            mode, colours = ("forward", cols) if forward else ("reverse", rows)
        else:
            colours = column_colouring(pattern) if mode == "forward" else row_colouring(pattern)
        return _Plan(pattern, colours, mode, x.shape, x.dtype)

    @property
    def mode(self) -> str:
        """ "forward" or "reverse" once a shape is planned; until then the mode asked for."""
        return self._mode if self._last is None else self._last.mode

    def value_and_jacobian(self, x: Any) -> tuple[Any, sp.csr_array]:
        """``(f(x), J(x))`` from the same sweeps."""
        x = _as_point(x, self.who)
        plan = self.plan(x)
        if plan.mode == "forward":
            y, t = jvp(self.f, (x,), (plan.seeds,))
            self._check_rows(plan, int(np.size(y)))
            return y, recover(plan.pattern, plan.reader, t)
        y, pull = vjp(self.f, x)
        self._check_rows(plan, int(np.size(y)))
        rows = [pull(np.reshape(s.astype(np.result_type(y, 1.0)), np.shape(y)))[0]
                for s in plan.seeds[: plan.n_colours]]  # fmt: skip
        compressed = np.stack(rows) if rows else np.zeros((0, x.size))
        return y, recover(plan.pattern, plan.reader, compressed)

    @staticmethod
    def _check_rows(plan: _Plan, m: int) -> None:
        if plan.pattern.shape[0] != m:
            raise ValueError(
                f"the sparsity pattern has {plan.pattern.shape[0]} rows, f(x) has {m} entries"
            )

    def __call__(self, x: Any) -> sp.csr_array:
        return self.value_and_jacobian(x)[1]


class SparseHessian(_Compressed):
    """``x -> H(x)`` as a ``scipy.sparse.csr_array``, from one batched
    forward-over-reverse sweep against star-colour seeds.  Made by :func:`sparse_hessian`."""

    who = "sparse_hessian"

    def __init__(self, f: Callable[[Any], Any], sparsity: Any, kind: str) -> None:
        super().__init__(f, sparsity, kind)
        self._grad = grad(f)

    def _pattern(self, x: np.ndarray) -> sp.csr_array:
        if self._given is None:
            return hessian_sparsity(self.f, x, kind=self.kind)
        pattern = _given_pattern(self._given, (x.size, x.size), self.who)
        if np.ndim(strip(self.f(x))) != 0:
            raise ValueError("sparse_hessian needs a scalar function: f(x) is not a scalar")
        return sp.csr_array(pattern + pattern.T)

    def _colour(self, pattern: sp.csr_array, x: np.ndarray) -> _Plan:
        return _Plan(pattern, star_colouring(pattern), "forward-over-reverse", x.shape, x.dtype)

    def __call__(self, x: Any) -> sp.csr_array:
        x = _as_point(x, self.who)
        plan = self.plan(x)
        _, t = jvp(self._grad, (x,), (plan.seeds,))
        return recover(plan.pattern, plan.reader, t)


def _check_kind(kind: str) -> str:
    if kind not in ("global", "local"):
        raise ValueError(f"kind must be 'global' or 'local', got {kind!r}")
    return kind


def sparse_jacobian(f: Callable[[Any], Any], x: Any = None, *, sparsity: Any = None,
                    kind: str = "global", mode: str = "auto") -> SparseJacobian:  # fmt: skip
    """The Jacobian of ``f`` as a sparse matrix, from a few compressed sweeps.

    Parameters
    ----------
    f : callable
        ``f(x)``: plain numpy code of one real array, returning an array.
    x : array_like, optional
        A point: the pattern and colouring for its shape are computed now
        rather than at the first call.
    sparsity : sparse or dense array of bool, shape (f(x).size, x.size), optional
        A known pattern (a superset of the nonzeros), used instead of detection.
    kind : {"global", "local"}
        Pattern detection (see :func:`gradmix.jacobian_sparsity`).  A global
        pattern is kept per input shape; a local one is found again at every call.
    mode : {"auto", "forward", "reverse"}
        Column colours and one batched forward sweep, or row colours and one
        reverse sweep per colour; "auto" takes the one with fewer colours.

    Returns
    -------
    SparseJacobian
        Callable ``x -> scipy.sparse.csr_array`` of shape (f(x).size, x.size);
        ``.value_and_jacobian(x)`` returns ``f(x)`` too.

    Raises
    ------
    ValueError
        A ``sparsity`` of the wrong shape.
    PatternNotGlobalError
        ``kind="global"`` and ``f`` branches on the values of ``x``.

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> J = gm.sparse_jacobian(lambda x: x[1:] ** 2 - x[:-1])
    >>> J(np.arange(4.0)).toarray()
    array([[-1.,  2.,  0.,  0.],
           [ 0., -1.,  4.,  0.],
           [ 0.,  0., -1.,  6.]])
    >>> J.n_colours
    2
    """
    jac = SparseJacobian(f, sparsity, _check_kind(kind), mode)
    if x is not None:
        jac.plan(x)
    return jac


def sparse_hessian(f: Callable[[Any], Any], x: Any = None, *, sparsity: Any = None,
                   kind: str = "global") -> SparseHessian:  # fmt: skip
    """The Hessian of a scalar ``f`` as a sparse matrix, from star-coloured HVPs.

    Parameters
    ----------
    f : callable
        Scalar function of one real array.
    x : array_like, optional
        A point: pattern and colouring for its shape are computed now.
    sparsity : array of bool, shape (x.size, x.size), optional
        A known (symmetric) pattern instead of detection.
    kind : {"global", "local"}
        As for :func:`sparse_jacobian`.

    Returns
    -------
    SparseHessian
        Callable ``x -> scipy.sparse.csr_array`` of shape (x.size, x.size).

    Raises
    ------
    ValueError
        ``f`` is not scalar, or ``sparsity`` has the wrong shape.

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> rosen = lambda x: np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    >>> H = gm.sparse_hessian(rosen)
    >>> bool(np.allclose(H(np.ones(5)).toarray(), gm.hessian(rosen)(np.ones(5))))
    True
    >>> H.n_colours
    3
    """
    hess = SparseHessian(f, sparsity, _check_kind(kind))
    if x is not None:
        hess.plan(x)
    return hess
