"""Products and linear algebra: matmul, einsum and ``np.linalg`` (real arrays).

``dot``, ``inner``, ``outer``, ``vdot``, ``tensordot``, ``multi_dot``,
``matrix_power`` and ``norm`` are composites of the primitives here.
Symmetric-matrix functions (``cholesky``, ``eigh``, ``eigvalsh``) read one
triangle of their input, as numpy's do (``UPLO``, ``upper``); their derivative
is the derivative of that function: with respect to the triangle read, zero
for the other one.  A symmetric matrix built from traced values (``A @ A.T``)
gets the usual symmetric result through the chain rule.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np
import scipy.linalg as sla

from gradmix.ad.broadcasting import sum_to_shape
from gradmix.ad.core import (
    NoDerivativeRuleError,
    PerArgRules,
    Primitive,
    Tracer,
    bind,
    reads_values,
    register_numpy,
    strip,
)
from gradmix.ad.rules.reductions import abs2, amax, amin, sum_
from gradmix.ad.rules.shape import (
    broadcast_to,
    diagonal,
    expand_dims,
    moveaxis,
    ravel,
    reshape,
    squeeze,
    swapaxes,
)

__all__ = ["matmul", "einsum", "solve", "inv", "det", "slogdet", "cholesky", "solve_triangular"]


def _nb(g: Any, x: Any) -> int:
    return np.ndim(g) - np.ndim(x)


def _mT(x: Any) -> Any:
    return swapaxes(x, -1, -2)


def _sum_to(g: Any, shape: tuple[int, ...]) -> Any:
    return sum_to_shape(g, shape)


# matmul ----------------------------------------------------------------------------
def _matmul_tangent(ga: Any, b: Any, a_nd: int, nb: int, left: bool) -> Any:
    """``ga @ b`` (left) or ``b @ ga`` (right) where ``ga`` has ``nb`` batch axes."""
    if nb == 0:
        return matmul(ga, b) if left else matmul(b, ga)
    b_nd = np.ndim(strip(b))
    vec = a_nd == 1
    if vec:  # promote the traced vector to a matrix, squeeze at the end
        ga = expand_dims(ga, -2 if left else -1)
    eff = max(a_nd + vec, b_nd)
    lead = np.shape(ga)[:nb]
    core = np.shape(ga)[nb:]
    ga = reshape(ga, lead + (1,) * (eff - len(core)) + core)
    out = matmul(ga, b) if left else matmul(b, ga)
    if not vec:
        return out
    return squeeze(out, -2 if left and b_nd > 1 else -1)


def _matmul_vjp(which: int) -> Any:
    """VJP of ``a @ b`` for argument ``which`` (0: a, 1: b), 1-D operands included."""

    def maker(ans: Any, a: Any, b: Any) -> Any:
        def vjp(g: Any) -> Any:
            sa, sb = np.shape(a), np.shape(b)
            A = reshape(a, (1,) + sa) if len(sa) == 1 else a
            B = reshape(b, sb + (1,)) if len(sb) == 1 else b
            gs = np.shape(g)
            if len(sa) == 1 and len(sb) == 1:
                G = reshape(g, (1, 1))
            elif len(sa) == 1:
                G = reshape(g, gs[:-1] + (1,) + gs[-1:])
            elif len(sb) == 1:
                G = reshape(g, gs + (1,))
            else:
                G = g
            if which == 0:
                out = _sum_to(matmul(G, _mT(B)), np.shape(A))
                return reshape(out, sa)
            out = _sum_to(matmul(_mT(A), G), np.shape(B))
            return reshape(out, sb)

        return vjp

    return maker


matmul_p = Primitive(np.matmul, "np.matmul", batched=True)
matmul_p.jvps[0] = lambda g, ans, a, b: _matmul_tangent(g, b, np.ndim(a), _nb(g, a), True)
matmul_p.jvps[1] = lambda g, ans, a, b: _matmul_tangent(g, a, np.ndim(b), _nb(g, b), False)
matmul_p.vjps[0] = _matmul_vjp(0)
matmul_p.vjps[1] = _matmul_vjp(1)


@register_numpy(np.matmul)
def matmul(a: Any, b: Any) -> Any:
    """``a @ b``."""
    return bind(matmul_p, (a, b), {})


@register_numpy(np.dot)
def dot(a: Any, b: Any, out: Any = None) -> Any:
    """``np.dot``."""
    na, nb = np.ndim(strip(a)), np.ndim(strip(b))
    if na == 0 or nb == 0:
        return a * b
    if nb <= 2:
        return matmul(a, b)
    return tensordot(a, b, axes=([-1], [-2]))


@register_numpy(np.vdot)
def vdot(a: Any, b: Any) -> Any:
    """``np.vdot``: conjugates its first argument."""
    return sum_(np.conjugate(ravel(a)) * ravel(b))


@register_numpy(np.inner)
def inner(a: Any, b: Any) -> Any:
    if np.ndim(strip(a)) == 0 or np.ndim(strip(b)) == 0:
        return a * b
    return tensordot(a, b, axes=([-1], [-1]))


@register_numpy(np.outer)
def outer(a: Any, b: Any, out: Any = None) -> Any:
    return reshape(ravel(a), (-1, 1)) * reshape(ravel(b), (1, -1))


@register_numpy(np.tensordot)
def tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    """``np.tensordot`` as a transpose, reshape and one matmul."""
    na, nbd = np.ndim(strip(a)), np.ndim(strip(b))
    if isinstance(axes, int | np.integer):
        ax_a = list(range(na - int(axes), na))
        ax_b = list(range(int(axes)))
    else:
        ax_a = [int(i) % na for i in np.atleast_1d(axes[0])]
        ax_b = [int(i) % nbd for i in np.atleast_1d(axes[1])]
    free_a = [i for i in range(na) if i not in ax_a]
    free_b = [i for i in range(nbd) if i not in ax_b]
    sa, sb = np.shape(strip(a)), np.shape(strip(b))
    k = int(np.prod([sa[i] for i in ax_a]))
    at = reshape(np.transpose(a, free_a + ax_a), (-1, k))
    bt = reshape(np.transpose(b, ax_b + free_b), (k, -1))
    return reshape(matmul(at, bt), tuple(sa[i] for i in free_a) + tuple(sb[i] for i in free_b))


@register_numpy(np.kron)
def kron(a: Any, b: Any) -> Any:
    a2, b2 = np.atleast_2d(a), np.atleast_2d(b)
    (m, n), (p, q) = np.shape(strip(a2)), np.shape(strip(b2))
    out = reshape(a2, (m, 1, n, 1)) * reshape(b2, (1, p, 1, q))
    return reshape(out, (m * p, n * q))


# einsum ----------------------------------------------------------------------------
def _parse_einsum(subscripts: str, shapes: list[tuple[int, ...]]) -> tuple[list[str], str]:
    """Explicit per-operand subscripts and output, with ``...`` spelled out."""
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        lhs, out = subscripts.split("->")
    else:
        lhs, out = subscripts, None
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise ValueError("einsum: number of subscripts does not match number of operands")
    used = set(subscripts) - set(".,->")
    spare = [c for c in string.ascii_letters if c not in used]
    ell_nd = max((len(s) - len(i.replace("...", "")) for i, s in zip(ins, shapes, strict=True)
                  if "..." in i), default=0)  # fmt: skip
    ell = "".join(spare[:ell_nd])
    ins = [i.replace("...", ell[ell_nd - (len(s) - len(i.replace("...", ""))):])
           for i, s in zip(ins, shapes, strict=True)]  # fmt: skip
    if out is None:
        counts = {c: "".join(ins).count(c) for c in set("".join(ins))}
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    else:
        out = out.replace("...", ell)
    return ins, out


def _einsum_impl(*ops: Any, spec: tuple[tuple[str, ...], str]) -> Any:
    ins, out = spec
    return np.einsum(",".join(ins) + "->" + out, *ops, optimize=len(ops) > 2)


def _einsum_jvp(i: int) -> Any:
    def rule(g: Any, ans: Any, *ops: Any, spec: tuple[tuple[str, ...], str]) -> Any:
        ins, out = spec
        nb = _nb(g, ops[i])
        if nb:
            used = set("".join(ins) + out)
            z = next(c for c in string.ascii_letters if c not in used)
            ins = tuple(z + s if k == i else s for k, s in enumerate(ins))
            out = z + out
        args = list(ops)
        args[i] = g
        return bind(einsum_p, tuple(args), {"spec": (tuple(ins), out)})

    return rule


def _einsum_vjp(i: int) -> Any:
    def maker(ans: Any, *ops: Any, spec: tuple[tuple[str, ...], str]) -> Any:
        ins, out = spec

        def vjp(g: Any) -> Any:
            target = ins[i]
            used = set("".join(ins) + out)
            spare = iter(c for c in string.ascii_letters if c not in used)
            # a repeated letter in the target (a diagonal) gets fresh letters
            # tied to it by identity matrices; a letter seen only in the target
            # is summed over in the forward pass, so it broadcasts back by ones
            shape = np.shape(ops[i])
            new_target, extra_ops, extra_subs, seen = "", [], [], set()
            for c, n in zip(target, shape, strict=True):
                if c in seen:
                    d = next(spare)
                    extra_ops.append(np.eye(n))
                    extra_subs.append(c + d)
                    new_target += d
                else:
                    seen.add(c)
                    new_target += c
            others = [s for k, s in enumerate(ins) if k != i] + [out]
            for c, n in zip(target, shape, strict=True):
                if c in seen and not any(c in s for s in others + extra_subs):
                    extra_ops.append(np.ones(n))
                    extra_subs.append(c)
                    seen.discard(c)
            args = [op for k, op in enumerate(ops) if k != i] + [g] + extra_ops
            subs = [s for k, s in enumerate(ins) if k != i] + [out] + extra_subs
            return bind(einsum_p, tuple(args), {"spec": (tuple(subs), new_target)})

        return vjp

    return maker


einsum_p = Primitive(_einsum_impl, "np.einsum", batched=True)
einsum_p.jvps = PerArgRules(_einsum_jvp)
einsum_p.vjps = PerArgRules(_einsum_vjp)


@register_numpy(np.einsum)
def einsum(subscripts: str, *operands: Any, out: Any = None, optimize: Any = False,
           **kw: Any) -> Any:  # fmt: skip
    """``np.einsum`` in its string form."""
    if not isinstance(subscripts, str):
        raise NotImplementedError("gradmix supports np.einsum in its subscript-string form")
    shapes = [np.shape(strip(o)) for o in operands]
    ins, outs = _parse_einsum(subscripts, shapes)
    return bind(einsum_p, operands, {"spec": (tuple(ins), outs)})


# np.linalg -----------------------------------------------------------------------
def _solve_mat(a: Any, b: Any) -> Any:
    return np.linalg.solve(a, b)


solve_p = Primitive(_solve_mat, "np.linalg.solve", batched=True)
solve_p.jvps[0] = lambda g, ans, a, b: -solve_matrix(a, matmul(g, ans))
solve_p.jvps[1] = lambda g, ans, a, b: solve_matrix(a, g)
solve_p.vjps[0] = lambda ans, a, b: (
    lambda g: _sum_to(-matmul(solve_matrix(_mT(a), g), _mT(ans)), np.shape(a))
)
solve_p.vjps[1] = lambda ans, a, b: lambda g: _sum_to(solve_matrix(_mT(a), g), np.shape(b))


def solve_matrix(a: Any, b: Any) -> Any:
    """Solve ``a @ x = b`` for a right-hand side with at least two dimensions."""
    return bind(solve_p, (a, b), {})


@register_numpy(np.linalg.solve)
def solve(a: Any, b: Any) -> Any:
    """``np.linalg.solve`` (b is a vector exactly when it is 1-D, as in numpy 2)."""
    if np.ndim(strip(b)) == 1:
        return squeeze(solve_matrix(a, expand_dims(b, -1)), -1)
    return solve_matrix(a, b)


inv_p = Primitive(np.linalg.inv, "np.linalg.inv", batched=True)
inv_p.jvps[0] = lambda g, ans, a: -matmul(matmul(ans, g), ans)
inv_p.vjps[0] = lambda ans, a: lambda g: -matmul(matmul(_mT(ans), g), _mT(ans))


@register_numpy(np.linalg.inv)
def inv(a: Any) -> Any:
    """``np.linalg.inv``."""
    return bind(inv_p, (a,), {})


def _inner2(x: Any, y: Any) -> Any:
    return sum_(x * y, axis=(-2, -1))


det_p = Primitive(np.linalg.det, "np.linalg.det", batched=True)
det_p.jvps[0] = lambda g, ans, a: ans * _inner2(_mT(inv(a)), g)
det_p.vjps[0] = lambda ans, a: lambda g: reshape(g * ans, np.shape(ans) + (1, 1)) * _mT(inv(a))


@register_numpy(np.linalg.det)
def det(a: Any) -> Any:
    """``np.linalg.det``."""
    return bind(det_p, (a,), {})


logabsdet_p = Primitive(lambda a: np.linalg.slogdet(a)[1], "np.linalg.slogdet", batched=True)
logabsdet_p.jvps[0] = lambda g, ans, a: _inner2(_mT(inv(a)), g)
logabsdet_p.vjps[0] = lambda ans, a: lambda g: reshape(g, np.shape(ans) + (1, 1)) * _mT(inv(a))


# the sign is piecewise constant: derivative zero, but a node of its own so that a
# compiled program recomputes it at every point instead of replaying the trace's
sign_det_p = Primitive(lambda a: np.linalg.slogdet(a)[0], "np.linalg.slogdet_sign", batched=True)
sign_det_p.jvps[0] = lambda g, ans, a: np.zeros(np.shape(g)[: np.ndim(g) - 2], np.result_type(ans))
sign_det_p.vjps[0] = lambda ans, a: lambda g: np.zeros(np.shape(strip(a)), np.result_type(ans))


@register_numpy(np.linalg.slogdet)
def slogdet(a: Any) -> tuple[Any, Any]:
    """``np.linalg.slogdet``: (sign, log|det|); the sign has derivative zero."""
    return bind(sign_det_p, (a,), {}), bind(logabsdet_p, (a,), {})


def _phi(x: Any) -> Any:
    """Lower triangle with the diagonal halved."""
    n = np.shape(strip(x))[-1]
    w = np.tril(np.ones((n, n))) - 0.5 * np.eye(n)
    return x * w


def _sym(x: Any) -> Any:
    return 0.5 * (x + _mT(x))


def _chol_jvp(g: Any, L: Any, a: Any) -> Any:
    linv = inv(L)
    return matmul(L, _phi(matmul(matmul(linv, _sym(g)), _mT(linv))))


def _chol_vjp(L: Any, a: Any) -> Any:
    def vjp(g: Any) -> Any:
        linv = inv(L)
        p = _phi(matmul(_mT(L), g))
        s = matmul(matmul(_mT(linv), p), linv)
        return _sym(s)

    return vjp


cholesky_p = Primitive(np.linalg.cholesky, "np.linalg.cholesky", batched=True)
cholesky_p.jvps[0] = _chol_jvp
cholesky_p.vjps[0] = _chol_vjp


def from_triangle(a: Any, uplo: str) -> Any:
    """The symmetric matrix numpy's symmetric routines see: ``a``'s lower (``"L"``) or
    upper (``"U"``) triangle mirrored to the other side (differentiable)."""
    if uplo not in ("L", "U"):
        raise ValueError(f"UPLO must be 'L' or 'U', got {uplo!r}")
    if np.iscomplexobj(strip(a)):
        raise NoDerivativeRuleError(
            "gradmix's rules for cholesky, eigh and eigvalsh are for real symmetric "
            "matrices, not complex Hermitian ones"
        )
    n = np.shape(strip(a))[-1]
    ones = np.ones((n, n), dtype=bool)
    keep = np.tril(ones) if uplo == "L" else np.triu(ones)
    tri = np.where(keep, a, 0.0)
    return tri + _mT(np.where(np.eye(n, dtype=bool), 0.0, tri))


@register_numpy(np.linalg.cholesky)
def cholesky(a: Any, /, *, upper: bool = False) -> Any:
    """``np.linalg.cholesky``: reads the lower triangle (the upper one with ``upper=True``)."""
    L = bind(cholesky_p, (from_triangle(a, "U" if upper else "L"),), {})
    return _mT(L) if upper else L


_strsm = Primitive(lambda a, b, lower: sla.solve_triangular(a, b, lower=lower), "solve_triangular")
_strsm.jvps[0] = lambda g, ans, a, b, lower: (
    -solve_triangular(a, matmul(np.tril(g) if lower else np.triu(g), ans), lower)
)
_strsm.jvps[1] = lambda g, ans, a, b, lower: solve_triangular(a, g, lower)


def _strsm_vjp_a(ans: Any, a: Any, b: Any, lower: bool) -> Any:
    def vjp(g: Any) -> Any:
        gb = solve_triangular(_mT(a), g, not lower)
        full = -matmul(
            reshape(gb, (np.shape(gb)[0], -1)), _mT(reshape(ans, (np.shape(ans)[0], -1)))
        )
        return np.tril(full) if lower else np.triu(full)

    return vjp


_strsm.vjps[0] = _strsm_vjp_a
_strsm.vjps[1] = lambda ans, a, b, lower: lambda g: solve_triangular(_mT(a), g, not lower)


def solve_triangular(a: Any, b: Any, lower: bool = False) -> Any:
    """Solve ``a @ x = b`` for a triangular 2-D ``a`` (``scipy.linalg.solve_triangular``).

    Parameters
    ----------
    a : array, shape (n, n)
        Triangular matrix; only the triangle named by ``lower`` is read.
    b : array, shape (n,) or (n, k)
        Right-hand side.
    lower : bool
        Use the lower triangle.

    Returns
    -------
    x : array, shape of ``b``
    """
    return bind(_strsm, (a, b), {"lower": bool(lower)})


def _eigvec_f(w: Any) -> Any:
    """F[i, j] = 1 / (w[j] - w[i]) off the diagonal, 0 on it (differentiable in w)."""
    n = np.shape(strip(w))[-1]
    off = ~np.eye(n, dtype=bool)
    diff = expand_dims(w, -2) - expand_dims(w, -1)
    return np.where(off, 1.0 / np.where(off, diff, 1.0), 0.0)


# eigenvalues and eigenvectors are separate primitives; their rules call the
# differentiable eigh below, so second derivatives come out right
_eigvalsh = Primitive(np.linalg.eigvalsh, "np.linalg.eigvalsh")
_eigvecs = Primitive(lambda a: np.linalg.eigh(a)[1], "np.linalg.eigh")


def _eigvalsh_jvp(g: Any, ans: Any, a: Any) -> Any:
    v = bind(_eigvecs, (a,), {})
    return sum_(v * matmul(_sym(g), v), axis=-2)


def _eigvalsh_vjp(ans: Any, a: Any) -> Any:
    v = bind(_eigvecs, (a,), {})
    return lambda g: matmul(v * expand_dims(g, -2), _mT(v))


def _eigvec_jvp(g: Any, v: Any, a: Any) -> Any:
    w = bind(_eigvalsh, (a,), {})
    return matmul(v, _eigvec_f(w) * matmul(matmul(_mT(v), _sym(g)), v))


def _eigvec_vjp(v: Any, a: Any) -> Any:
    w = bind(_eigvalsh, (a,), {})
    return lambda g: _sym(matmul(matmul(v, _eigvec_f(w) * matmul(_mT(v), g)), _mT(v)))


_eigvalsh.jvps[0] = _eigvalsh_jvp
_eigvalsh.vjps[0] = _eigvalsh_vjp
_eigvecs.jvps[0] = _eigvec_jvp
_eigvecs.vjps[0] = _eigvec_vjp


@register_numpy(np.linalg.eigvalsh)
def eigvalsh(a: Any, UPLO: str = "L") -> Any:  # noqa: N803 - numpy's name
    """``np.linalg.eigvalsh``: reads the triangle named by ``UPLO``."""
    return bind(_eigvalsh, (from_triangle(a, UPLO),), {})


@register_numpy(np.linalg.eigh)
def eigh(a: Any, UPLO: str = "L") -> tuple[Any, Any]:  # noqa: N803 - numpy's name
    """``np.linalg.eigh``: eigenvalues and eigenvectors, both differentiable.

    Reads the triangle named by ``UPLO``.  The eigenvector derivative assumes
    distinct eigenvalues.
    """
    sym = from_triangle(a, UPLO)
    return bind(_eigvalsh, (sym,), {}), bind(_eigvecs, (sym,), {})


_svdvals = Primitive(lambda a: np.linalg.svd(a, compute_uv=False), "np.linalg.svd")


def _svd_uv(a: Any) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(a, Tracer):
        raise NoDerivativeRuleError(
            "gradmix differentiates singular values once; their second derivatives "
            "(which need singular-vector derivatives) are not implemented"
        )
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    return u, vh


_svdvals.jvps[0] = lambda g, ans, a: sum_(_svd_uv(a)[0] * matmul(g, _mT(_svd_uv(a)[1])), axis=-2)
_svdvals.vjps[0] = lambda ans, a: (
    lambda g: matmul(_svd_uv(a)[0] * expand_dims(g, -2), _svd_uv(a)[1])
)


@register_numpy(np.linalg.svd)
def svd(
    a: Any, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False
) -> Any:
    """``np.linalg.svd``: singular values are differentiable; singular vectors are not."""
    if compute_uv:
        raise NoDerivativeRuleError(
            "gradmix differentiates singular values only: call np.linalg.svd(a, "
            "compute_uv=False) or np.linalg.svdvals(a)"
        )
    return bind(_svdvals, (a,), {})


if hasattr(np.linalg, "svdvals"):
    register_numpy(np.linalg.svdvals)(lambda x: bind(_svdvals, (x,), {}))


def _pinv_jvp(g: Any, p: Any, a: Any, rcond: Any) -> Any:
    m, n = np.shape(strip(a))[-2:]
    pt = _mT(p)
    gt = _mT(g)
    return (
        -matmul(matmul(p, g), p)
        + matmul(matmul(matmul(p, pt), gt), np.eye(m) - matmul(a, p))
        + matmul(matmul(np.eye(n) - matmul(p, a), gt), matmul(pt, p))
    )


def _pinv_vjp(p: Any, a: Any, rcond: Any) -> Any:
    m, n = np.shape(strip(a))[-2:]

    def vjp(g: Any) -> Any:
        pt, gt = _mT(p), _mT(g)
        return (
            -matmul(matmul(pt, g), pt)
            + matmul(matmul(np.eye(m) - matmul(a, p), gt), matmul(p, pt))
            + matmul(matmul(matmul(pt, p), gt), np.eye(n) - matmul(p, a))
        )

    return vjp


_pinv = Primitive(lambda a, rcond: np.linalg.pinv(a, rcond=rcond), "np.linalg.pinv", batched=True)
_pinv.jvps[0] = _pinv_jvp
_pinv.vjps[0] = _pinv_vjp


@register_numpy(np.linalg.pinv)
def pinv(a: Any, rcond: Any = None, hermitian: bool = False, *, rtol: Any = None) -> Any:
    """``np.linalg.pinv`` (derivative valid where the rank is locally constant)."""
    rc = 1e-15 if rcond is None and rtol is None else (rcond if rcond is not None else rtol)
    return bind(_pinv, (a,), {"rcond": rc})


@register_numpy(np.linalg.matrix_power)
def matrix_power(a: Any, n: int) -> Any:
    """``np.linalg.matrix_power`` by repeated squaring."""
    if n < 0:
        a, n = inv(a), -n
    k = np.shape(strip(a))[-1]
    result: Any = broadcast_to(np.eye(k), np.shape(strip(a)))
    base = a
    while n:
        if n & 1:
            result = matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return result


@register_numpy(np.linalg.multi_dot)
def multi_dot(arrays: Any, *, out: Any = None) -> Any:
    result = arrays[0]
    for b in arrays[1:]:
        result = dot(result, b)
    return result


@register_numpy(np.linalg.norm)
def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    """``np.linalg.norm`` for vector orders and the matrix orders fro, nuc, 1, -1, 2, -2, inf.

    The 2-norm's derivative at zero is undefined and comes out as nan.
    """
    nd = np.ndim(strip(x))
    if axis is None and ord is None:
        return _keepdims_all(np.sqrt(sum_(abs2(x))), nd, keepdims)
    if axis is None:
        axis = tuple(range(nd))
    ax = (axis,) if isinstance(axis, int | np.integer) else tuple(axis)
    if len(ax) == 1:
        a = ax[0]
        if ord is None or ord == 2:
            return np.sqrt(sum_(abs2(x), a, keepdims=keepdims))
        if ord == np.inf:
            return amax(np.abs(x), a, keepdims=keepdims)
        if ord == -np.inf:
            return amin(np.abs(x), a, keepdims=keepdims)
        if ord == 0:
            reads_values("np.linalg.norm(x, 0)", x)
            return sum_((strip(x) != 0).astype(float), a, keepdims=keepdims)
        return sum_(np.abs(x) ** ord, a, keepdims=keepdims) ** (1.0 / ord)
    r, c = (int(i) % nd for i in ax)
    if ord is None or ord == "fro":
        out = np.sqrt(sum_(abs2(x), (r, c), keepdims=keepdims))
    elif ord in (1, -1):
        colsum = sum_(np.abs(x), r, keepdims=True)
        f = amax if ord == 1 else amin
        out = f(colsum, c, keepdims=True)
        if not keepdims:
            out = squeeze(out, (r, c))
    elif ord in (np.inf, -np.inf):
        rowsum = sum_(np.abs(x), c, keepdims=True)
        f = amax if ord == np.inf else amin
        out = f(rowsum, r, keepdims=True)
        if not keepdims:
            out = squeeze(out, (r, c))
    elif ord in (2, -2, "nuc"):
        s = bind(_svdvals, (moveaxis(x, (r, c), (-2, -1)),), {})
        out = amax(s, -1) if ord == 2 else amin(s, -1) if ord == -2 else sum_(s, -1)
        if keepdims:
            out = expand_dims(expand_dims(out, r), c)
    else:
        raise ValueError(f"invalid norm order {ord!r} for matrices")
    return out


def _keepdims_all(v: Any, nd: int, keepdims: bool) -> Any:
    return reshape(v, (1,) * nd) if keepdims else v


@register_numpy(np.linalg.trace) if hasattr(np.linalg, "trace") else (lambda f: f)
def _linalg_trace(x: Any, /, *, offset: int = 0, dtype: Any = None) -> Any:
    return sum_(diagonal(x, offset, -2, -1), -1)
