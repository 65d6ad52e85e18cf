"""Sparsity patterns of Jacobians and Hessians, found by tracing index sets.

An :class:`IndexSet` tracer carries, for every entry of its array, the set of
inputs that entry depends on, stored as the rows of a boolean
``scipy.sparse.csr_array`` (rows: entries, columns: inputs).  It runs through
the same numpy dispatch as the other transforms; at each primitive the output's
sets are the unions of the argument sets that the primitive's Jacobian couples,
``P_out = OR_k S_k @ P_k``, with ``S_k`` the primitive's own pattern with
respect to argument k.  Where ``S_k`` comes from (the rule table, first match):

- a rule registered with :func:`defsparsity` (the built-in ones below: gathers,
  scatters, reductions, matmul, and the branch-choosing operations' local rules);
- elementwise primitives: the broadcast of each argument to the output;
- any other primitive: its Jacobian, computed from its own JVP (or VJP) rule
  at the point and at a perturbed point, the union of the nonzeros (exact for
  generic values); for arguments too large for that (``PROBE_LIMIT`` entries
  of Jacobian), every output depends on every entry of the argument.

Two kinds of pattern (as SparseConnectivityTracer.jl has):

- ``kind="global"``: valid for every input.  An operation whose result depends
  on which branch the values take (a comparison, ``if`` on a value, sorting,
  ``argmax``, indexing by a value) raises :class:`PatternNotGlobalError`.
- ``kind="local"``: valid at this ``x``: comparisons run on the values, and
  ``where``, ``maximum``/``minimum``, ``clip`` and ``max``/``min`` reductions
  keep only the branch taken.

Hessian patterns are the Jacobian patterns of the gradient: the index sets run
through reverse mode's own VJP rules, so no second table is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import numpy as np
import scipy.sparse as sp

from gradmix.ad.dispatch import numpy_rule
from gradmix.ad.rules.elementwise import clip_p, where_p
from gradmix.ad.rules.linalg import matmul_p
from gradmix.ad.rules.reductions import max_p, min_p, sum_p
from gradmix.ad.rules.shape import (
    astype_p,
    broadcast_to_p,
    concatenate_p,
    getitem_p,
    linear_map_p,
    reshape_p,
    trailing_map_p,
    transpose_p,
    untake_p,
)
from gradmix.ad.tracer import (
    Primitive,
    SequenceMethods,
    Tracer,
    bind,
    ndim_of,
    new_level,
    pack,
    strip,
)

__all__ = [
    "IndexSet",
    "PatternNotGlobalError",
    "SparsityRule",
    "defsparsity",
    "hessian_sparsity",
    "jacobian_sparsity",
]

Pattern: TypeAlias = sp.csr_array
#: largest Jacobian (entries) of one primitive computed to find its pattern by probing
PROBE_LIMIT = 4_000_000


class PatternNotGlobalError(TypeError):
    """The function branches on values, so no pattern holds for every input."""


#: A primitive's sparsity rule, called as ``rule(patterns, ans, *args, local=..., **kwargs)``
#: with the primitive's own positional and keyword arguments (plain values) and, in
#: ``patterns``, one entry per positional argument: its index sets (a boolean
#: ``csr_array`` of shape ``(arg.size, n)``), or None for an argument that does not
#: depend on the inputs.  ``local`` says whether a pattern valid at these values only
#: is wanted.  Returns the output's index sets, shape ``(ans.size, n)``.
SparsityRule: TypeAlias = Callable[..., sp.csr_array]


_RULES: dict[Primitive, SparsityRule] = {}


def defsparsity(prim: Primitive, rule: SparsityRule) -> None:
    """Register the sparsity rule of a primitive (see :class:`SparsityRule`).

    Primitives without one get their pattern from their derivative rules, so
    a rule is needed only for speed or to say what a probe cannot (a value-
    dependent branch, say).
    """
    if not isinstance(prim, Primitive):
        raise TypeError(f"defsparsity expects a gradmix primitive, got {prim!r}")
    _RULES[prim] = rule


# ---------------------------------------------------------------------------
# the tracer


class IndexSet(Tracer):
    """A value with, for each of its entries, the set of inputs it depends on."""

    __slots__ = ("_value", "pattern", "local")

    def __new__(cls, value: Any, *args: Any, **kwargs: Any) -> IndexSet:
        return object.__new__(IndexSetArray if ndim_of(value) else cls)

    def __init__(self, value: Any, level: int, pattern: Pattern, local: bool) -> None:
        self._value = value
        self._level = level
        self.pattern = pattern
        self.local = local

    @property
    def value(self) -> Any:
        return self._value

    @property
    def fixed_program(self) -> bool:  # type: ignore[override]
        # a global pattern must hold at every point: nothing may decide by the values
        return not self.local

    def reads_values_error(self, what: str) -> Exception:
        return PatternNotGlobalError(
            f"{what} decides by the values of the input, so the sparsity pattern differs "
            "from point to point: use kind='local' for the pattern at this x"
        )

    def process(self, prim: Primitive, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
        lvl = self._level
        vals = list(args)
        pats: list[Pattern | None] = [None] * len(args)
        nested = False
        for i, a in enumerate(args):
            if isinstance(a, IndexSet) and a._level == lvl:
                vals[i] = a._value
                pats[i] = a.pattern
                nested = nested or isinstance(a._value, Tracer)
            elif isinstance(a, Tracer) or (isinstance(a, np.ndarray) and a.dtype == object):
                nested = True
        ans = bind(prim, vals, kwargs) if nested else prim.impl(*vals, **kwargs)
        plain = [strip(v) for v in vals]
        out = _propagate(prim, pats, strip(ans), plain, kwargs, self.local)
        return IndexSet(ans, lvl, out, self.local)


class IndexSetArray(SequenceMethods, IndexSet):
    """An :class:`IndexSet` holding an array (indexable, iterable)."""

    __slots__ = ()


# ---------------------------------------------------------------------------
# propagation


def _empty(m: int, n: int) -> Pattern:
    return sp.csr_array((m, n), dtype=bool)


def _select(rows: np.ndarray, src: np.ndarray, m: int, a: int) -> Pattern:
    """The m × a pattern with ones at (rows[k], src[k])."""
    ones = np.ones(len(rows), dtype=bool)
    return sp.csr_array((ones, (rows, src)), shape=(m, a))


def _union(parts: Sequence[Pattern]) -> Pattern:
    out = parts[0]
    for p in parts[1:]:
        out = out + p
    return out


def _take_rows(p: Pattern, src: np.ndarray) -> Pattern:
    """Row ``src[r]`` of ``p`` as row r (an empty row where ``src[r] < 0``): a gather of
    index sets without building a selection matrix."""
    src = np.asarray(src, dtype=np.intp)
    valid = src >= 0
    counts = np.diff(p.indptr)
    c = np.where(valid, counts[np.where(valid, src, 0)], 0)
    indptr = np.zeros(src.size + 1, dtype=np.int64)
    np.cumsum(c, out=indptr[1:])
    total = int(indptr[-1])
    start = np.where(valid, p.indptr[:-1][np.where(valid, src, 0)], 0)
    pos = np.repeat(start - indptr[:-1], c) + np.arange(total)
    out = sp.csr_array(
        (np.ones(total, dtype=bool), p.indices[pos], indptr), shape=(src.size, p.shape[1])
    )
    out.has_sorted_indices = p.has_sorted_indices
    return out


def _n_inputs(pats: Sequence[Pattern | None]) -> int:
    return next(p.shape[1] for p in pats if p is not None)


def _propagate(prim: Primitive, pats: list[Pattern | None], ans: Any, args: list[Any],
               kwargs: dict[str, Any], local: bool) -> Pattern:  # fmt: skip
    rule = _RULES.get(prim)
    if rule is not None:
        return rule(pats, ans, *args, local=local, **kwargs)
    if prim.elementwise:
        return _broadcast_union(pats, ans, args)
    return _probe(prim, pats, ans, args, kwargs)


def _broadcast_rows(shape: tuple[int, ...], out_shape: tuple[int, ...]) -> np.ndarray:
    """For each entry of an array of ``out_shape``, the entry of ``shape`` broadcast to it."""
    pos = np.arange(int(np.prod(shape)), dtype=np.intp).reshape(shape)
    return np.broadcast_to(pos, out_shape).reshape(-1)


def _keep_rows(p: Pattern, keep: np.ndarray) -> Pattern:
    """``p`` with the sets of the rows where ``keep`` is false emptied."""
    q = sp.csr_array(p, copy=True)
    q.data = q.data & np.repeat(np.asarray(keep, dtype=bool), np.diff(q.indptr))
    q.eliminate_zeros()
    return q


def _broadcast_union(pats: Sequence[Pattern | None], ans: Any, args: Sequence[Any],
                     masks: Sequence[Any] | None = None) -> Pattern:  # fmt: skip
    """Elementwise: each output entry depends on the entries broadcast to it (those where
    ``masks[k]`` is true, when given: the branch taken)."""
    out_shape = np.shape(ans)
    m = int(np.prod(out_shape))
    parts = []
    for k, (p, a) in enumerate(zip(pats, args, strict=True)):
        if p is None:
            continue
        shape = np.shape(a)
        if shape != out_shape:
            p = _take_rows(p, _broadcast_rows(shape, out_shape))
        if masks is not None:
            keep = np.broadcast_to(masks[k], out_shape).reshape(-1)
            p = _keep_rows(p, keep)
        parts.append(p)
    return _union(parts) if parts else _empty(m, _n_inputs(pats))


def _codes(pats: Sequence[Pattern | None], args: Sequence[Any],
           dtype: Any) -> tuple[list[Any], int]:  # fmt: skip
    """The traced arguments replaced by the codes 1, 2, ... (numbered on across
    arguments), the others left as they are; and the number of codes."""
    coded, offset = list(args), 0
    for i, p in enumerate(pats):
        if p is not None:
            shape = np.shape(args[i])
            coded[i] = np.arange(offset + 1, offset + p.shape[0] + 1, dtype=dtype).reshape(shape)
            offset += p.shape[0]
    return coded, offset


def _gather_sources(encoded: Callable[[list[Any]], Any], pats: Sequence[Pattern | None],
                    args: Sequence[Any], trusted: bool = False) -> np.ndarray | None:  # fmt: skip
    """For a linear map that copies entries (a gather), the source of each output entry
    (numbered across the traced arguments; -1 for a constant entry).

    ``trusted``: the map is known to copy (reshape, indexing, ...): one evaluation on
    integer codes, with the other arguments zeroed, reads the sources off.  Otherwise
    the codes are tried as 1, 2, ... and as their negatives: an output entry is a copy
    of entry k exactly when the two results are k and -k, and a constant when they are
    equal.  Anything else (a sum, a scaled copy) is not a gather: None.
    """
    if trusted:
        plain = [None if p is not None else np.zeros(np.shape(a), np.int64)
                 for p, a in zip(pats, args, strict=True)]  # fmt: skip
        coded, _ = _codes(pats, [a if z is None else z for a, z in zip(args, plain, strict=True)],
                          np.int64)  # fmt: skip
        return np.asarray(encoded(coded), dtype=np.intp).reshape(-1) - 1
    first, offset = _codes(pats, args, np.float64)
    second = [-c if p is not None else c for c, p in zip(first, pats, strict=True)]
    with np.errstate(all="ignore"):
        a = np.real(np.asarray(encoded(first))).reshape(-1)
        b = np.real(np.asarray(encoded(second))).reshape(-1)
    copy = (a >= 1) & (a <= offset) & (b == -a) & (a == np.round(a))
    if not np.all(copy | (a == b)):
        return None
    return np.where(copy, a, 0).astype(np.intp) - 1


def _gather_rule(prim: Primitive, trusted: bool) -> SparsityRule:
    def rule(pats: Sequence[Pattern | None], ans: Any, *args: Any, local: bool,
             **kwargs: Any) -> Pattern:  # fmt: skip
        src = _gather_sources(lambda xs: prim.impl(*xs, **kwargs), pats, args, trusted)
        if src is None:
            return _probe(prim, list(pats), ans, list(args), kwargs)
        traced = [p for p in pats if p is not None]
        allp = traced[0] if len(traced) == 1 else sp.csr_array(sp.vstack(traced, format="csr"))
        if src.size == allp.shape[0] and np.array_equal(src, np.arange(src.size)):
            return allp  # the same entries in the same order (reshape, a full slice)
        return _take_rows(allp, src)

    return rule


def _scatter_rule(prim: Primitive) -> SparsityRule:
    """A linear map whose adjoint is a gather (a scatter-add): each input entry lands on
    the output entry its adjoint reads from."""

    def rule(pats: Sequence[Pattern | None], ans: Any, *args: Any, local: bool,
             **kwargs: Any) -> Pattern:  # fmt: skip
        (i,) = [k for k, p in enumerate(pats) if p is not None]
        p = pats[i]
        assert p is not None
        m = int(np.size(ans))
        maker = prim.vjp_maker(i)
        if maker is not None:
            pull = maker(ans, *args, **kwargs)
            landing = _gather_sources(
                lambda gs: pull(gs[0]), [_empty(m, 1)], [np.zeros(np.shape(ans))]
            )
            if landing is not None and landing.size == p.shape[0]:
                hit = landing >= 0
                entries = np.flatnonzero(hit)
                return sp.csr_array(_select(landing[hit], entries, m, p.shape[0]) @ p)
        return _probe(prim, list(pats), ans, list(args), kwargs)

    return rule


def _probe(prim: Primitive, pats: list[Pattern | None], ans: Any, args: list[Any],
           kwargs: dict[str, Any]) -> Pattern:  # fmt: skip
    """The pattern from the primitive's own derivative rules: the nonzeros of its Jacobian
    at the point and at a point with every traced entry perturbed (generic values)."""
    m = int(np.size(ans))
    parts = []
    rng = np.random.default_rng(0)
    for i, p in enumerate(pats):
        if p is None:
            continue
        a = p.shape[0]
        if a * m > PROBE_LIMIT:
            every = sp.csr_array(p.sum(axis=0, dtype=bool).reshape(1, -1))
            parts.append(_take_rows(every, np.zeros(m, dtype=np.intp)))
            continue
        hit = np.zeros((m, a), dtype=bool)
        x = np.asarray(args[i])
        noise = rng.standard_normal(x.shape) * 1e-2
        if x.dtype.kind == "c":
            noise = noise + 1j * rng.standard_normal(x.shape) * 1e-2
        with np.errstate(all="ignore"):
            jac = _jacobian_of(prim, i, ans, args, kwargs, m, a)
            hit |= (jac != 0) | ~np.isfinite(jac)
            moved = list(args)
            moved[i] = x * (1 + noise) + noise
            try:
                at = prim.impl(*moved, **kwargs)
                jac = _jacobian_of(prim, i, at, moved, kwargs, m, a)
                hit |= (jac != 0) | ~np.isfinite(jac)
            except (ArithmeticError, ValueError, np.linalg.LinAlgError):
                pass  # the perturbed point is outside the domain: the point itself stands
        parts.append(sp.csr_array(sp.csr_array(hit) @ p))
    return _union(parts) if parts else _empty(m, _n_inputs(pats))


def _jacobian_of(prim: Primitive, i: int, ans: Any, args: list[Any], kwargs: dict[str, Any],
                 m: int, a: int) -> np.ndarray:  # fmt: skip
    """The m × a Jacobian of ``prim`` with respect to argument i, from its rules (for a
    complex argument, the sum of the magnitudes along the real and imaginary directions,
    since one index set stands for both parts)."""
    shape = np.shape(args[i])
    rule = prim.jvps.get(i)
    if rule is not None:
        directions = [1.0, 1j] if np.iscomplexobj(args[i]) else [1.0]
        total = np.zeros((m, a))
        for d in directions:
            eye = (d * np.eye(a)).reshape((a,) + shape)
            if prim.batched:
                t = rule(eye, ans, *args, **kwargs)
            else:
                t = np.stack([np.asarray(rule(e, ans, *args, **kwargs)) for e in eye])
            total = total + np.abs(np.asarray(strip(t)).reshape(a, m).T)
        return total
    maker = prim.vjp_maker(i)
    if maker is None:
        raise prim.missing_rule(i, "JVP")
    pull = maker(ans, *args, **kwargs)
    directions = [1.0, 1j] if np.iscomplexobj(ans) else [1.0]
    eye_out = np.eye(m).reshape((m,) + np.shape(ans))
    return sum(
        np.abs(np.stack([np.asarray(strip(pull(d * g))).reshape(-1) for g in eye_out]))
        for d in directions
    )


# ---------------------------------------------------------------------------
# built-in rules


def _identity_rule(pats: Sequence[Pattern | None], ans: Any, *args: Any, local: bool,
                   **kwargs: Any) -> Pattern:  # fmt: skip
    p = pats[0]
    assert p is not None
    return p


def _where_rule(pats: Sequence[Pattern | None], ans: Any, x: Any, y: Any, *, local: bool,
                cond: Any) -> Pattern:  # fmt: skip
    masks = (cond, np.logical_not(cond)) if local else None
    return _broadcast_union(pats, ans, (x, y), masks)


def _clip_rule(pats: Sequence[Pattern | None], ans: Any, x: Any, lo: Any, hi: Any, *,
               local: bool) -> Pattern:  # fmt: skip
    masks = None
    if local:
        with np.errstate(invalid="ignore"):
            masks = (~((x < lo) | (x > hi)), ~(x >= lo), ~(x <= hi))
    return _broadcast_union(pats, ans, (x, lo, hi), masks)


def _pick_rule(larger: bool) -> SparsityRule:
    """maximum/minimum/fmax/fmin: locally, the operand returned (both at ties or NaN)."""

    def rule(pats: Sequence[Pattern | None], ans: Any, x: Any, y: Any, *, local: bool,
             **kwargs: Any) -> Pattern:  # fmt: skip
        masks = None
        if local:
            with np.errstate(invalid="ignore"):
                xwins, ywins = (x > y, y > x) if larger else (x < y, y < x)
            masks = (~ywins, ~xwins)
        return _broadcast_union(pats, ans, (x, y), masks)

    return rule


def _reduction_rule(extreme: bool) -> SparsityRule:
    """Reductions over ``axes``: each output entry depends on the entries reduced into it
    (for max and min at a local pattern, only those attaining the extreme)."""

    def rule(pats: Sequence[Pattern | None], ans: Any, x: Any, *, local: bool,
             axes: tuple[int, ...], keepdims: bool) -> Pattern:  # fmt: skip
        p = pats[0]
        assert p is not None
        kept = np.shape(ans) if keepdims else np.shape(np.expand_dims(ans, axes))
        land = _broadcast_rows(kept, np.shape(x))
        cols = np.arange(land.size)
        if extreme and local:
            with np.errstate(invalid="ignore"):
                hit = np.reshape(x == np.reshape(ans, kept), -1) | np.isnan(np.reshape(x, -1))
            land, cols = land[hit], cols[hit]
        return sp.csr_array(_select(land, cols, int(np.size(ans)), p.shape[0]) @ p)

    return rule


def _matmul_rule(pats: Sequence[Pattern | None], ans: Any, a: Any, b: Any, *, local: bool,
                 **kwargs: Any) -> Pattern:  # fmt: skip
    """``a @ b`` for 1-D and 2-D operands: out[i, j] couples row i of a and column j of b,
    through the nonzeros of the other operand when that one is a constant."""
    if np.ndim(a) > 2 or np.ndim(b) > 2:
        return _probe(matmul_p, list(pats), ans, [a, b], kwargs)
    a2 = np.reshape(a, (1, -1)) if np.ndim(a) == 1 else np.asarray(a)
    b2 = np.reshape(b, (-1, 1)) if np.ndim(b) == 1 else np.asarray(b)
    amask = np.ones(a2.shape, bool) if pats[0] is not None else a2 != 0
    bmask = np.ones(b2.shape, bool) if pats[1] is not None else b2 != 0
    m, q = a2.shape[0], b2.shape[1]
    parts = []
    if pats[0] is not None:  # out (i, j) <- a (i, k) where b[k, j]
        s = sp.kron(sp.identity(m, dtype=bool), sp.csr_array(bmask.T), format="csr")
        parts.append(sp.csr_array(s.astype(bool) @ pats[0]))
    if pats[1] is not None:  # out (i, j) <- b (k, j) where a[i, k]
        s = sp.kron(sp.csr_array(amask), sp.identity(q, dtype=bool), format="csr")
        parts.append(sp.csr_array(s.astype(bool) @ pats[1]))
    return _union(parts)


for _p in (getitem_p, reshape_p, transpose_p, broadcast_to_p, concatenate_p):
    defsparsity(_p, _gather_rule(_p, trusted=True))
# numpy functions given as linear maps (flip, roll, tile, pad, ...): checked to be copies
for _p in (linear_map_p, trailing_map_p):
    defsparsity(_p, _gather_rule(_p, trusted=False))
defsparsity(untake_p, _scatter_rule(untake_p))
defsparsity(astype_p, _identity_rule)
defsparsity(sum_p, _reduction_rule(False))
defsparsity(max_p, _reduction_rule(True))
defsparsity(min_p, _reduction_rule(True))
defsparsity(matmul_p, _matmul_rule)
defsparsity(where_p, _where_rule)
defsparsity(clip_p, _clip_rule)
for _f, _larger in ((np.maximum, True), (np.fmax, True), (np.minimum, False), (np.fmin, False)):
    defsparsity(numpy_rule(_f), _pick_rule(_larger))


# ---------------------------------------------------------------------------
# the user-facing functions

_KINDS = ("global", "local")


def _check_kind(kind: str) -> bool:
    if kind not in _KINDS:
        raise ValueError(f"kind must be 'global' or 'local', got {kind!r}")
    return kind == "local"


def _as_input(x: Any) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind not in "fc":
        arr = arr.astype(np.float64)
    return arr


def jacobian_sparsity(f: Callable[[Any], Any], x: Any, *, kind: str = "global") -> sp.csr_array:
    """The sparsity pattern of the Jacobian of ``f`` at ``x``, by tracing index sets.

    Parameters
    ----------
    f : callable
        ``f(x)``: plain numpy code of one array, returning an array.
    x : array_like, any shape
        The point: its shape (and, for ``kind="local"``, its values) decide the pattern.
    kind : {"global", "local"}
        ``"global"``: valid for every input of this shape; an operation that
        branches on the values raises :class:`PatternNotGlobalError`.
        ``"local"``: valid at this ``x``; ``where``, ``maximum``, ``clip`` and
        max/min reductions keep only the branch taken.

    Returns
    -------
    scipy.sparse.csr_array of bool, shape (f(x).size, x.size)
        True where the output entry (row, in C order) may depend on the input
        entry (column).  Every nonzero of the Jacobian is in it.

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> gm.jacobian_sparsity(lambda x: x[1:] * x[:-1], np.ones(4)).toarray().astype(int)
    array([[1, 1, 0, 0],
           [0, 1, 1, 0],
           [0, 0, 1, 1]])
    """
    local = _check_kind(kind)
    x = _as_input(x)
    n = x.size
    with new_level() as level:
        out = pack(f(IndexSet(x, level, sp.csr_array(sp.identity(n, dtype=bool, format="csr")),
                              local)))  # fmt: skip
        if isinstance(out, IndexSet) and out._level == level:
            return out.pattern
    if isinstance(out, Tracer):
        raise TypeError("jacobian_sparsity: f returned a traced value of another transform")
    if not isinstance(out, np.ndarray | float | int | complex | np.generic):
        raise TypeError(f"jacobian_sparsity: f must return an array, got {type(out).__name__}")
    return _empty(int(np.size(out)), n)


def hessian_sparsity(f: Callable[[Any], Any], x: Any, *, kind: str = "global") -> sp.csr_array:
    """The sparsity pattern of the Hessian of a scalar function ``f`` at ``x``.

    The Jacobian pattern of ``gm.grad(f)``: index sets traced through reverse
    mode's own rules, then made symmetric.

    Parameters
    ----------
    f : callable
        Scalar function of one array.
    x : array_like, any shape
    kind : {"global", "local"}
        As for :func:`jacobian_sparsity`.

    Returns
    -------
    scipy.sparse.csr_array of bool, shape (x.size, x.size), symmetric

    Raises
    ------
    ValueError
        If ``f(x)`` is not a scalar.

    Examples
    --------
    >>> import numpy as np, gradmix as gm
    >>> f = lambda x: np.sum(x[1:] * x[:-1]) + np.sum(x ** 3)
    >>> gm.hessian_sparsity(f, np.ones(3)).toarray().astype(int)
    array([[1, 1, 0],
           [1, 1, 1],
           [0, 1, 1]])
    """
    from gradmix.ad.transforms import grad

    _check_kind(kind)
    x = _as_input(x)
    if np.ndim(strip(pack(f(x)))) != 0:
        raise ValueError("hessian_sparsity needs a scalar function: f(x) is not a scalar")
    p = jacobian_sparsity(grad(f), x, kind=kind)
    return sp.csr_array(p + p.T)
