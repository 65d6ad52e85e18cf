"""Every rule in the primitive table: JVP (jacfwd) == VJP (jacrev) == central differences."""

from __future__ import annotations

from fractions import Fraction
from unittest import mock

import numpy as np
import pytest
import scipy.special as sc
from hypothesis import given, settings
from hypothesis import strategies as st

import gradmix as gm
from tests.ad.helpers import assert_derivatives

rng = np.random.default_rng(0)
A = rng.normal(size=(3, 4))
B = rng.normal(size=(4, 2))
V3 = rng.normal(size=3)
V4 = rng.normal(size=4)
POS = rng.uniform(0.5, 2.0, size=(2, 3))
UNIT = rng.uniform(-0.8, 0.8, size=(2, 3))
M = rng.normal(size=(3, 3))
SPD = M @ M.T + 3 * np.eye(3)
T3 = rng.normal(size=(2, 3, 4))
ROTATION = np.array([[0.5, -2.0, 0.3], [1.5, 0.2, -0.4], [0.1, 0.7, 1.1]])  # complex eigenvalues
WITH_NAN = np.zeros((3, 4), dtype=bool)
WITH_NAN[1, 2] = WITH_NAN[2, 0] = True

UNARY = {
    "negative": (np.negative, A),
    "abs": (np.abs, A),
    "exp": (np.exp, A),
    "exp2": (np.exp2, A),
    "expm1": (np.expm1, A),
    "log": (np.log, POS),
    "log2": (np.log2, POS),
    "log10": (np.log10, POS),
    "log1p": (np.log1p, POS),
    "sqrt": (np.sqrt, POS),
    "cbrt": (np.cbrt, POS),
    "square": (np.square, A),
    "reciprocal": (np.reciprocal, POS),
    "sin": (np.sin, A),
    "cos": (np.cos, A),
    "tan": (np.tan, UNIT),
    "arcsin": (np.arcsin, UNIT),
    "arccos": (np.arccos, UNIT),
    "arctan": (np.arctan, A),
    "sinh": (np.sinh, A),
    "cosh": (np.cosh, A),
    "tanh": (np.tanh, A),
    "arcsinh": (np.arcsinh, A),
    "arccosh": (np.arccosh, POS + 1.0),
    "arctanh": (np.arctanh, UNIT),
    "deg2rad": (np.deg2rad, A),
    "rad2deg": (np.rad2deg, A),
    "pow_scalar": (lambda x: x**3, A),
    "pow_half": (lambda x: x**0.5, POS),
    "pow_square": (lambda x: x**2, A),
    "rpow": (lambda x: 2.0**x, A),
    "erf": (sc.erf, A),
    "erfc": (sc.erfc, A),
    "expit": (sc.expit, A),
    "logit": (sc.logit, UNIT * 0.5 + 0.5),
    "gammaln": (sc.gammaln, POS),
    "digamma": (sc.psi, POS),
    "ndtr": (sc.ndtr, A),
    "log_ndtr": (sc.log_ndtr, A),
    "clip": (lambda x: np.clip(x, -0.5, 0.5), A),
    "where": (lambda x: np.where(x > 0, x**2, np.sin(x)), A),
    "maximum_const": (lambda x: np.maximum(x, 0.1), A),
    "minimum_const": (lambda x: np.minimum(x, 0.1), A),
    "logsumexp": (lambda x: __import__("gradmix").logsumexp(x, axis=1), A),
    "fabs": (np.fabs, A),
    "sinc": (np.sinc, A),
    "sinc_near_zero": (lambda x: np.sinc(x * 1e-3), A),
    "nan_to_num": (lambda x: np.nan_to_num(np.log(x)), A),
    "copysign": (lambda x: np.copysign(x, -V4), A),
    "ldexp": (lambda x: np.ldexp(x, 3), A),
    "frexp_mantissa": (lambda x: np.frexp(x)[0], A),
    "modf_fraction": (lambda x: np.modf(3 * x)[0], A),
    "heaviside_at_zero": (lambda h: np.heaviside(np.array([-1.0, 0.0, 2.0]), h), V3),
    "i0": (np.i0, A),
    "real_of_real": (np.real, A),
    "gamma": (sc.gamma, POS),
    "rgamma": (sc.rgamma, POS),
    "loggamma": (sc.loggamma, POS),
    "erfinv": (sc.erfinv, UNIT),
    "erfcinv": (sc.erfcinv, UNIT + 1),
    "erfcx": (sc.erfcx, A),
    "ndtri": (sc.ndtri, UNIT * 0.5 + 0.5),
    "log_expit": (sc.log_expit, A),
    "exp1": (sc.exp1, POS),
    "expi": (sc.expi, POS),
    "entr": (sc.entr, POS),
    "bessel_i0e_i1e": (lambda x: sc.i0e(x) + sc.i1e(x), A),
    "bessel_i1": (sc.i1, A),
    "bessel_j0_j1": (lambda x: sc.j0(x) * sc.j1(x), A),
    "bessel_y0_y1": (lambda x: sc.y0(x) + sc.y1(x), POS),
    "bessel_k0_k1": (lambda x: sc.k0(x) + sc.k1(x), POS),
    "bessel_iv_jv": (lambda x: sc.iv(1.5, x) + sc.jv(2.5, x), POS),
    "bessel_yv_kv": (lambda x: sc.yv(0.5, x) + sc.kv(1.5, x), POS),
    "bessel_ive_kve": (lambda x: sc.ive(1.5, x) + sc.kve(0.5, x), POS),
    "gammainc": (lambda x: sc.gammainc(2.5, x) + sc.gammaincc(1.5, x), POS),
    "zeta": (lambda q: sc.zeta(3.0, q), POS),
}

BINARY = {
    "add_broadcast": (np.add, A, V4),
    "subtract": (np.subtract, A, A[::-1]),
    "multiply_broadcast": (np.multiply, A, V4),
    "divide": (np.divide, A, POS[:1, :1] + 1),
    "power": (np.power, POS, A[:2, :3]),
    "maximum": (np.maximum, A, A[::-1]),
    "minimum": (np.minimum, A, A[::-1]),
    "arctan2": (np.arctan2, A, A[::-1]),
    "hypot": (np.hypot, A, A[::-1]),
    "logaddexp": (np.logaddexp, A, A[::-1]),
    "logaddexp2": (np.logaddexp2, A, A[::-1]),
    "mod": (np.mod, POS * 3, POS[::-1] + 0.1),
    "xlogy": (sc.xlogy, POS, POS[::-1]),
    "matmul": (np.matmul, A, B),
    "matmul_vec_mat": (np.matmul, V3, A),
    "matmul_mat_vec": (np.matmul, A, V4),
    "matmul_vec_vec": (np.matmul, V4, V4[::-1]),
    "matmul_stack": (np.matmul, T3, B),
    "dot": (np.dot, A, B),
    "inner": (np.inner, A, A),
    "outer": (np.outer, V3, V4),
    "vdot": (np.vdot, A, A[::-1]),
    "tensordot": (lambda a, b: np.tensordot(a, b, axes=([1, 2], [0, 1])), T3, A),
    "einsum_matmul": (lambda a, b: np.einsum("ij,jk->ik", a, b), A, B),
    "einsum_implicit": (lambda a, b: np.einsum("ij,jk", a, b), A, B),
    "einsum_ellipsis": (lambda a, b: np.einsum("...j,jk->...k", a, b), T3, B),
    "kron": (np.kron, M[:2, :2], B),
    "solve_vec": (np.linalg.solve, SPD, V3),
    "solve_mat": (np.linalg.solve, SPD, A),
    "concatenate": (lambda a, b: np.concatenate([a, b], axis=0), A, A[:1]),
    "stack": (lambda a, b: np.stack([a, b], axis=1), A, A[::-1]),
    # (numpy's axis by position: it was taken for a third array, and refused)
    "stack_positional_axis": (lambda a, b: np.stack((a, b), -1), A, A[::-1]),
    "hstack": (lambda a, b: np.hstack([a, b]), A, A[::-1]),
    "vstack": (lambda a, b: np.vstack([a, b]), V4, V4[::-1]),
    "column_stack": (lambda a, b: np.column_stack([a, b]), V3, V3[::-1]),
    "append": (np.append, V3, V4),
    "where_both": (lambda a, b: np.where(a > b, a, b), A, A[::-1] + 0.25),
    "average_weights": (lambda a, w: np.average(a, axis=1, weights=w), A, np.abs(V4) + 0.1),
    "fmax": (np.fmax, A, A[::-1]),
    "fmin": (np.fmin, A, A[::-1]),
    "rel_entr": (sc.rel_entr, POS, POS[::-1]),
    "kl_div": (sc.kl_div, POS, POS[::-1]),
    "betaln": (sc.betaln, POS, POS[::-1]),
    "beta": (sc.beta, POS, POS[::-1]),
    "einsum_operand_list": (lambda a, b: np.einsum(a, [0, 1], b, [1, 2], [0, 2]), A, B),
    "einsum_broadcast_ellipsis": (lambda a, b: np.einsum("...i,...i->...", a, b), A, A[::-1]),
    "cross": (np.cross, A[:, :3], A[::-1, 1:]),
    "cross_2d_3d": (lambda a, b: np.cross(a, b), V3[:2], V3),
    "vecdot": (np.vecdot, A, A[::-1]),
    "matvec": (np.matvec, A, V4),
    "vecmat": (np.vecmat, V3, A),
    "convolve": (np.convolve, V4, V3),
    "convolve_same": (lambda a, b: np.convolve(a, b, "same"), V3, V4),
    "convolve_valid": (lambda a, b: np.convolve(a, b, "valid"), V4, V3[:2]),
    "correlate": (np.correlate, V4, V3),
    "correlate_full": (lambda a, b: np.correlate(a, b, "full"), V3, V4),
    "polyval": (np.polyval, V4, A),
    "linspace": (lambda a, b: np.linspace(a, b, 5), V3, V3[::-1] + 2),
    "linspace_axis": (lambda a, b: np.linspace(a, b, 4, endpoint=False, axis=1), V3, V3 + 1),
    "interp": (lambda x, fp: np.interp(x, [0.0, 0.5, 1.5, 2.0], fp), UNIT * 2 + 1, V4),
    "trapezoid_x": (lambda y, x: np.trapezoid(y, np.cumsum(np.abs(x) + 0.1)), V4, V4[::-1]),
    "lstsq": (lambda a, b: np.linalg.lstsq(a, b)[0], A.T, V4),
}

REDUCTIONS = {
    "sum": (np.sum, A),
    "sum_axis": (lambda x: np.sum(x, axis=0), A),
    "sum_keepdims": (lambda x: np.sum(x, axis=(0, 2), keepdims=True), T3),
    "sum_method": (lambda x: x.sum(axis=1), A),
    "mean": (lambda x: np.mean(x, axis=1), A),
    "prod": (lambda x: np.prod(x, axis=1), A),
    "prod_with_zero": (lambda x: np.prod(x), np.array([1.5, 0.0, 2.0, -1.0])),
    "prod_two_zeros": (lambda x: np.prod(x, axis=0), np.array([[0.0, 1.0], [0.0, 2.0]])),
    "var": (lambda x: np.var(x, axis=0), A),
    "median_odd": (lambda x: np.median(x, axis=0), A),
    "median_even": (lambda x: np.median(x, axis=1), A),
    "median_all": (np.median, A),
    "std": (lambda x: np.std(x, ddof=1), A),
    "max": (lambda x: np.max(x, axis=1), A),
    "min": (lambda x: np.min(x, axis=0), A),
    "amax_all": (np.amax, A),
    "ptp": (lambda x: np.ptp(x, axis=1), A),
    "cumsum": (lambda x: np.cumsum(x, axis=1), A),
    "cumsum_flat": (np.cumsum, A),
    "cumprod": (lambda x: np.cumprod(x, axis=0), POS),
    "cov": (np.cov, A),
    "add_reduce": (lambda x: np.add.reduce(x, axis=1), A),
    "multiply_accumulate": (lambda x: np.multiply.accumulate(x), POS[0]),
    "trace": (np.trace, M),
    "norm": (np.linalg.norm, A),
    "norm_1": (lambda x: np.linalg.norm(x, 1), V4),
    "norm_inf": (lambda x: np.linalg.norm(x, np.inf), V4),
    "norm_3": (lambda x: np.linalg.norm(x, 3), V4),
    "norm_axis": (lambda x: np.linalg.norm(x, axis=1), A),
    "norm_fro": (lambda x: np.linalg.norm(x, "fro"), A),
    "norm_nuc": (lambda x: np.linalg.norm(x, "nuc"), A),
    "norm_2_mat": (lambda x: np.linalg.norm(x, 2), A),
    "norm_1_mat": (lambda x: np.linalg.norm(x, 1), A),
    "nansum": (lambda x: np.nansum(np.where(WITH_NAN, np.nan, x), axis=1), A),
    "nanmean": (lambda x: np.nanmean(np.where(WITH_NAN, np.nan, x), axis=0), A),
    "nanvar": (lambda x: np.nanvar(np.where(WITH_NAN, np.nan, x), ddof=1), A),
    "nanstd": (lambda x: np.nanstd(np.where(WITH_NAN, np.nan, x), axis=1), A),
    "nanmax": (lambda x: np.nanmax(np.where(WITH_NAN, np.nan, x), axis=1), A),
    "nanmin": (lambda x: np.nanmin(np.where(WITH_NAN, np.nan, x)), A),
    "nanprod": (lambda x: np.nanprod(np.where(WITH_NAN, np.nan, x), axis=0), A),
    "nancumsum": (lambda x: np.nancumsum(np.where(WITH_NAN, np.nan, x), axis=1), A),
    "nancumprod": (lambda x: np.nancumprod(np.where(WITH_NAN[:2, :3], np.nan, x)), POS),
    "quantile": (lambda x: np.quantile(x, [0.2, 0.75], axis=1), A),
    "percentile_keepdims": (lambda x: np.percentile(x, 40, axis=0, keepdims=True), A),
    "trapezoid": (lambda x: np.trapezoid(x, dx=0.5, axis=0), A),
    "gradient": (np.gradient, V4),
    "gradient_2d_spacing": (lambda x: np.stack(np.gradient(x, 0.5, 2.0)), A),
    "gradient_coordinates": (lambda x: np.gradient(x, [0.0, 0.3, 1.0, 1.2], edge_order=2), V4),
    "gradient_axis": (lambda x: np.gradient(x, axis=1, edge_order=2), A),
    "polyder": (lambda x: np.polyder(x, 2), V4),
    "vector_norm": (lambda x: np.linalg.vector_norm(x, axis=(0, 2), ord=3), T3),
    "matrix_norm": (lambda x: np.linalg.matrix_norm(x, ord="nuc"), T3),
    "std_of_equal_values": (np.std, np.full(3, 2.0)),
}

SHAPE = {
    "reshape": (lambda x: x.reshape(4, 3), A),
    "reshape_F": (lambda x: np.reshape(x, (4, 3), order="F"), A),
    "ravel": (np.ravel, A),
    "transpose": (lambda x: x.T, A),
    "transpose_axes": (lambda x: np.transpose(x, (2, 0, 1)), T3),
    "swapaxes": (lambda x: np.swapaxes(x, 0, 2), T3),
    "moveaxis": (lambda x: np.moveaxis(x, 0, -1), T3),
    "expand_dims": (lambda x: np.expand_dims(x, 1), A),
    "squeeze": (lambda x: np.squeeze(x), A[:1]),
    "broadcast_to": (lambda x: np.broadcast_to(x, (2, 3, 4)), V4),
    "getitem_basic": (lambda x: x[1:, ::2], A),
    "getitem_int": (lambda x: x[1], A),
    "getitem_fancy": (lambda x: x[[0, 2, 2], [1, 1, 3]], A),
    "getitem_repeat": (lambda x: x[np.array([0, 0, 1])], V3),
    "getitem_bool": (lambda x: x[x > 0], A),
    "getitem_newaxis": (lambda x: x[None, :, 1], A),
    "getitem_mixed": (lambda x: x[0, :, [1, 3]], T3),
    "flip": (lambda x: np.flip(x, 1), A),
    "fliplr": (np.fliplr, A),
    "flipud": (np.flipud, A),
    "roll": (lambda x: np.roll(x, 2, axis=1), A),
    "rot90": (np.rot90, A),
    "tile": (lambda x: np.tile(x, (2, 1)), A),
    "repeat": (lambda x: np.repeat(x, 2, axis=0), A),
    "pad_constant": (lambda x: np.pad(x, 1), A),
    "pad_edge": (lambda x: np.pad(x, ((1, 0), (0, 2)), mode="edge"), A),
    "pad_reflect": (lambda x: np.pad(x, 2, mode="reflect"), V4),
    "pad_constant_values": (lambda x: np.pad(x, ((0, 1), (2, 1)), constant_values=3.0), A),
    "flip_all": (np.flip, A),
    "roll_flat": (lambda x: np.roll(x, -3), A),
    "roll_axes": (lambda x: np.roll(x, (1, -2), axis=(0, 1)), A),
    "rot90_k3": (lambda x: np.rot90(x, 3, axes=(1, 0)), A),
    "tile_longer_reps": (lambda x: np.tile(x, (2, 1, 3)), A),
    "tile_shorter_reps": (lambda x: np.tile(x, 2), A),
    "repeat_flat": (lambda x: np.repeat(x, 3), A),
    "repeat_per_entry": (lambda x: np.repeat(x, [2, 0, 1, 3][: x.shape[1]], axis=1), A),
    "triu": (np.triu, M),
    "tril": (lambda x: np.tril(x, -1), M),
    "diag_extract": (np.diag, M),
    "diag_build": (lambda x: np.diag(x, 1), V3),
    "diagonal": (lambda x: np.diagonal(x, 0, 1, 2), T3),
    "diff": (lambda x: np.diff(x, n=2, axis=1), A),
    "sort": (lambda x: np.sort(x, axis=1), A),
    "take": (lambda x: np.take(x, [0, 2], axis=1), A),
    "take_along_axis": (lambda x: np.take_along_axis(x, np.argsort(x, axis=0), 0), A),
    "split": (lambda x: np.split(x, 2, axis=1)[1], A),
    "array_split": (lambda x: np.array_split(x, 3)[0], V4),
    "select": (lambda x: np.select([x < -0.5, x > 0.5], [x**2, -x], default=x), A),
    "atleast_2d": (np.atleast_2d, V3),
    "copy": (lambda x: np.copy(x) * 2, A),
    "dstack": (lambda x: np.dstack([x, x]), A),
    "vsplit": (lambda x: np.vsplit(x, 3)[1], A),
    "hsplit": (lambda x: np.hsplit(x, [1, 3])[1], A),
    "dsplit": (lambda x: np.dsplit(x, 2)[1], T3),
    "rollaxis": (lambda x: np.rollaxis(x, 2), T3),
    "rollaxis_start": (lambda x: np.rollaxis(x, 0, 3), T3),
    "partition": (lambda x: np.partition(x, 1, axis=1), A),
    "unique": (lambda x: np.unique(np.concatenate([x, x[:2]])), V4),
    "flat_index": (lambda x: x.flat[[1, 5, 7]], A),
    "flat_iter": (lambda x: np.stack(list(x.flat)), A),
    "fftshift": (lambda x: np.fft.fftshift(x, axes=1), A),
}

LINALG = {
    "inv": (np.linalg.inv, M + 3 * np.eye(3)),
    "det": (np.linalg.det, M),
    "slogdet": (lambda x: np.linalg.slogdet(x)[1], M),
    "cholesky": (lambda x: np.linalg.cholesky(x @ x.T + 3 * np.eye(3)), M),
    "eigvalsh": (lambda x: np.linalg.eigvalsh(x + x.T), M),
    "eigh_vectors": (lambda x: np.abs(np.linalg.eigh(x + x.T)[1]), M),
    "svdvals": (lambda x: np.linalg.svd(x, compute_uv=False), A),
    "pinv": (np.linalg.pinv, A),
    "matrix_power": (lambda x: np.linalg.matrix_power(x, 3), M),
    "matrix_power_neg": (lambda x: np.linalg.matrix_power(x, -2), M + 3 * np.eye(3)),
    "multi_dot": (lambda x: np.linalg.multi_dot([x, x.T, x]), A),
    "solve_triangular": (
        lambda x: __import__("gradmix").solve_triangular(np.tril(x) + 4 * np.eye(3), V3, True),
        M,
    ),
    "inv_stack": (np.linalg.inv, np.stack([M + 3 * np.eye(3), M.T + 4 * np.eye(3)])),
    "svd_u": (lambda x: np.linalg.svd(x, full_matrices=False)[0], A),
    "svd_vh": (lambda x: np.linalg.svd(x, full_matrices=False)[2], A.T),
    "svd_square_full": (lambda x: np.linalg.svd(x)[0] * np.linalg.svd(x)[2], M),
    "svd_stack": (lambda x: np.linalg.svd(x, full_matrices=False)[2], T3),
    "qr_q": (lambda x: np.linalg.qr(x)[0], A.T),
    "qr_r": (lambda x: np.linalg.qr(x)[1], A.T),
    "qr_r_mode": (lambda x: np.linalg.qr(x, mode="r"), M),
    "eig_values": (lambda x: np.linalg.eig(x)[0], SPD + 0.3 * M),
    "eig_vectors": (lambda x: np.linalg.eig(x)[1], SPD + 0.3 * M),
    "eigvals_complex": (lambda x: np.abs(np.linalg.eigvals(x)), ROTATION),
    "eig_vectors_complex": (lambda x: np.real(np.linalg.eig(x)[1] * (1 + 2j)), ROTATION),
    "cond": (np.linalg.cond, SPD),
    "cond_fro": (lambda x: np.linalg.cond(x, "fro"), SPD),
    "lstsq_residuals": (lambda x: np.linalg.lstsq(x, V4)[1], A.T),
    "tensorinv": (lambda x: np.linalg.tensorinv((x.T @ x + np.eye(4)).reshape(2, 2, 4), 2), A),
    "tensorsolve": (lambda x: np.linalg.tensorsolve(x @ x.T + 3 * np.eye(3), V3), A),
    "matrix_transpose": (np.linalg.matrix_transpose, T3),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(name):
    f, x = UNARY[name]
    assert_derivatives(f, x)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary(name):
    f, a, b = BINARY[name]
    assert_derivatives(f, a, b)


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reductions(name):
    f, x = REDUCTIONS[name]
    assert_derivatives(f, x)


@pytest.mark.parametrize("name", sorted(SHAPE))
def test_shape(name):
    f, x = SHAPE[name]
    assert_derivatives(f, x)


@pytest.mark.parametrize("name", sorted(LINALG))
def test_linalg(name):
    f, x = LINALG[name]
    assert_derivatives(f, x, rtol=1e-5)


@pytest.mark.parametrize(
    "name", ["cholesky", "eigvalsh", "eigh_vectors", "inv", "det", "slogdet", "pinv"]
)
def test_linalg_second_order(name):
    """Rules are differentiable again: Hessians of linear-algebra compositions."""
    import gradmix as gm

    f, x = LINALG[name]
    scalar = lambda y: np.sum(np.sin(f(y)))  # noqa: E731
    h = gm.hessian(scalar)(x)
    num = gm.divided_difference(gm.grad(scalar), x, 1e-6, "central")
    np.testing.assert_allclose(h, num, rtol=1e-5, atol=1e-6)


def test_digamma_second_derivative():
    import gradmix as gm

    x = 1.7
    np.testing.assert_allclose(gm.derivative(sc.gammaln, 3)(x), sc.polygamma(2, x), rtol=1e-12)


def test_piecewise_apply_along_axis_and_intersect1d_against_numpy_and_differences():
    x = np.linspace(-1.0, 1.0, 7)

    funcs = [np.sin, lambda v: v**3, lambda v: 2 * v]

    def pw(x):
        return np.piecewise(x, [x < 0, x > 0.5], funcs)

    np.testing.assert_allclose(pw(x), np.piecewise(x, [x < 0, x > 0.5], funcs))
    assert_derivatives(pw, x + 0.01)
    m = np.arange(1.0, 7.0).reshape(2, 3)
    for axis in (0, 1):
        f = lambda m, axis=axis: np.apply_along_axis(lambda v: np.cumsum(v**2), axis, m)  # noqa: E731
        np.testing.assert_allclose(f(m), np.apply_along_axis(lambda v: np.cumsum(v**2), axis, m))
        assert_derivatives(f, m)
    g = lambda m: np.apply_over_axes(np.sum, m**2, [0, 1])  # noqa: E731
    assert_derivatives(g, m)
    # a common value's derivative is shared evenly between the arrays it comes from
    a, b = np.array([3.0, 1.0, 2.0]), np.array([2.0, 5.0, 3.0])
    ga, gb = gm.grad(lambda a, b: np.sum(np.intersect1d(a, b) ** 2), argnums=(0, 1))(a, b)
    np.testing.assert_allclose(ga, [3.0, 0.0, 2.0])
    np.testing.assert_allclose(gb, [2.0, 0.0, 3.0])


@pytest.mark.parametrize(
    "shape_a, shape_b",
    [((3, 1, 5), (4, 5)), ((1, 5), (3, 5)), ((3, 4, 5), (1, 5)), ((2, 1, 5), (1, 3, 5))],
)
def test_einsum_with_broadcast_operands_in_both_modes(shape_a, shape_b):
    # a size-1 axis that the other operand broadcasts is summed over in reverse mode
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=shape_a), rng.normal(size=shape_b)
    assert_derivatives(lambda a, b: np.einsum("...i,...i->...", a, b) ** 2, a, b)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_large_einsums_of_two_operands_equal_numpys(data):
    """Two-operand einsums large enough to run as one batched matmul (batch, free and
    summed letters in any order, non-contiguous operands, float32): the value and the
    gradient (itself such an einsum) against numpy's einsum, to rounding."""
    draw = data.draw
    letters = iter("abcdefgh")
    parts = {kind: [next(letters) for _ in range(draw(st.integers(0, 2)))]
             for kind in ("batch", "free_a", "free_b", "summed")}  # fmt: skip
    size = {c: draw(st.integers(2, 9)) for part in parts.values() for c in part}
    sa = parts["batch"] + parts["free_a"] + parts["summed"]
    sb = parts["batch"] + parts["summed"] + parts["free_b"]
    out = parts["batch"] + parts["free_a"] + parts["free_b"]
    sa, sb, out = ("".join(draw(st.permutations(x))) for x in (sa, sb, out))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))

    def operand(subs: str) -> np.ndarray:
        x = rng.normal(size=[size[c] for c in subs][::-1]).astype(dtype)
        return x.T  # (transposed: not C-contiguous)

    a, b = operand(sa), operand(sb)
    w = rng.normal(size=[size[c] for c in out]).astype(dtype)
    spec = f"{sa},{sb}->{out}"
    value, grad = gm.value_and_grad(lambda a: np.sum(w * np.einsum(spec, a, b)))(a)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    scale = np.sum(np.abs(w * np.einsum(spec, np.abs(a), np.abs(b))))
    assert abs(value - np.sum(w * np.einsum(spec, a, b))) <= rtol * scale
    expected = np.einsum(f"{out},{sb}->{sa}", w, b)
    np.testing.assert_allclose(grad, expected, rtol=rtol,
                               atol=rtol * np.max(np.abs(expected), initial=1.0))  # fmt: skip
    assert grad.dtype == a.dtype


@pytest.mark.parametrize("fn", [np.max, np.min])
@pytest.mark.parametrize(
    "shape, dtype", [((1000, 3), np.float64), ((40, 30, 5), np.float32), ((2000, 16), np.int64),
                     ((500, 2), np.float64), ((100, 17), np.float64)],
)  # fmt: skip
def test_extremes_of_many_short_rows_are_numpys(fn, shape, dtype):
    """A maximum or minimum over a short last axis of many rows is taken column by column
    (numpy's reduction pays per row): numpy's values, NaN rows included, kept dimensions
    too; and the derivative shares ties in their rows, as by the mask."""
    rng = np.random.default_rng(1)
    x = (rng.normal(size=shape) * 3).astype(dtype)
    if dtype != np.int64:
        x[5, ..., 1] = np.nan
    x[7, ..., 0] = x[7, ..., 1] = fn(x[7], axis=-1)  # ties
    prim = gm.ad.rules.reductions.max_p if fn is np.max else gm.ad.rules.reductions.min_p
    for keepdims in (False, True):
        got = prim.impl(x, axes=(x.ndim - 1,), keepdims=keepdims)
        expected = fn(x, axis=-1, keepdims=keepdims)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)
    if dtype == np.float64:
        v = np.where(np.isnan(x), 0.0, x)
        grad = gm.grad(lambda a: np.sum(fn(a, axis=-1) ** 2))(v)
        hits = v == fn(v, axis=-1, keepdims=True)
        np.testing.assert_array_equal(
            grad, hits * 2 * fn(v, axis=-1, keepdims=True) / hits.sum(axis=-1, keepdims=True)
        )


def test_tie_counts_are_per_position_in_kept_dimensions_with_or_without_ties():
    """A compiled maximum's tie counts: ones where no position ties (one count of the
    mask), numpy's per-position counts where one does; ``hits``' shape with the reduced
    axes kept, whether the extreme is an array or a scalar."""
    tie_counts = gm.ad.rules.reductions.tie_counts
    x = np.array([[1.0, 3.0, 2.0], [5.0, 4.0, 0.0]])
    m = x.max(axis=1, keepdims=True)
    for extreme in (m, m[:, 0]):
        got = tie_counts(x == m, extreme, (1,))
        np.testing.assert_array_equal(got, [[1], [1]])
    x[0, 2] = 3.0
    np.testing.assert_array_equal(tie_counts(x == m, m, (1,)), [[2], [1]])
    v = np.array([2.0, 7.0, 1.0])
    assert tie_counts(v == 7.0, np.float64(7.0), (0,)).shape == (1,)
    v[0] = 7.0
    np.testing.assert_array_equal(tie_counts(v == 7.0, np.float64(7.0), (0,)), [2])


@pytest.mark.parametrize("zeros_below", [0, 2**40], ids=["complement", "whole"])
@pytest.mark.parametrize(
    "idx",
    [(slice(None), slice(0, 2)), (slice(1, None, 2), 1), (Ellipsis, slice(-2, None)),
     (None, slice(None, None, -1), np.int64(0)), (slice(3, 1), slice(None))],
)  # fmt: skip
def test_a_slices_cotangent_is_zeros_with_it_written_at_the_slice(idx, zeros_below):
    """``untake`` of a basic index: zeros of the full shape and the cotangent at the
    index, whether the zeros are written whole (small arrays) or only outside the slice's
    box (large ones); eager and compiled gradients of a slice's weighted sum alike."""
    x = np.arange(1.0, 16.0).reshape(5, 3)
    w = np.random.default_rng(0).normal(size=x[idx].shape)
    expected = np.zeros_like(x)
    expected[idx] = w
    with mock.patch.object(gm.ad.rules.shape, "ZEROS_BELOW_BYTES", zeros_below):
        got = gm.ad.rules.shape.untake(w, idx, x.shape)
        np.testing.assert_array_equal(got, expected)
        f = lambda v: np.sum(v[idx] * w)  # noqa: E731
        np.testing.assert_array_equal(gm.grad(f)(x), expected)
        np.testing.assert_array_equal(gm.compile(f, x)(x)[1], expected)


@pytest.mark.parametrize("share", [0.5, 0.02], ids=["dense", "sparse"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_select_or_zero_is_where_with_zeros_even_at_infinities(dtype, share):
    """The maximum's share is placed by select_or_zero: np.where(c, x, 0)'s numbers and
    dtype (broadcast), with 0 off the condition even where x is inf or NaN, for a
    condition that holds at many entries (np.where) or at few (zeros, then a copy)."""
    from gradmix.ad.rules.elementwise import select_or_zero

    rng = np.random.default_rng(0)
    cond = rng.random((50, 4)) < share
    cond[1:3, 0] = True
    x = rng.normal(size=(50, 1)).astype(dtype)
    x[1, 0], x[2, 0] = np.inf, np.nan
    got = select_or_zero(cond, x)
    expected = np.where(cond, x, 0.0)
    assert got.dtype == expected.dtype == dtype and got.shape == (50, 4)
    np.testing.assert_array_equal(got, expected)
    assert np.all(got[~cond] == 0.0)


@pytest.mark.parametrize("x", [
    [1.8414709848078965, 5e-324],  # the product subnormal (hypothesis: 4.0 for 3.68)
    [3.0, 1e-310, 2.0],
    [1e-200, 1e-200, 1e200],  # the product underflows to 0; the others' do not
    [1e200, 1e200, 1e-200],  # the product overflows; two of the others' do not
])  # fmt: skip
def test_prod_derivative_is_the_product_of_the_others_where_the_product_is_not_normal(x):
    x = np.array(x)
    with np.errstate(over="ignore"):
        others = np.array([np.prod(np.delete(x, i)) for i in range(len(x))])
        np.testing.assert_allclose(gm.grad(np.prod)(x), others, rtol=1e-15)
        np.testing.assert_allclose(gm.jacfwd(np.prod)(x), others, rtol=1e-15)


def _cofactor_matrix(m):
    """The outside reference: (-1)^(i+j) times numpy's determinant of each minor."""
    n = len(m)
    return np.array([[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(m, i, 0), j, 1))
                      for j in range(n)] for i in range(n)])  # fmt: skip


_SINGULAR_COMPLEX = np.outer([1.0 + 2.0j, -0.5j, 3.0], [2.0, 1.0 - 1.0j, 0.25j]) + np.outer(
    [0.5, 1.0j, -1.0], [1.0, 2.0, 3.0 + 1.0j]
)  # rank 2


@pytest.mark.parametrize("a", [
    np.array([[1.0, 2.0], [2.0, 4.0]]),  # singular: numpy's inverse raised LinAlgError
    np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]),  # det 0.0 in numpy
    np.diag([1e-200, 1e-200, 1e50]),  # det underflows to 0; two cofactors are 1e-150
    np.diag([1e154, 1e154, 1e10]),  # det overflows; the cofactors do not
    _SINGULAR_COMPLEX,
])  # fmt: skip
def test_det_derivative_is_the_cofactor_matrix_where_det_is_not_normal(a):
    expected = _cofactor_matrix(a)
    # (a complex determinant has no real gradient: its holomorphic derivative, by forward
    # mode)
    transforms = ((lambda f: gm.jacfwd(f, holomorphic=True),) if np.iscomplexobj(a)
                  else (gm.grad, gm.jacfwd))  # fmt: skip
    with np.errstate(over="ignore"):
        for transform in transforms:
            got = transform(np.linalg.det)(a)
            np.testing.assert_allclose(got, expected, rtol=1e-12,
                                       atol=1e-13 * np.max(np.abs(expected)))  # fmt: skip


def test_det_derivative_with_a_cofactor_beyond_the_float_range_is_refused():
    with np.errstate(over="ignore"), pytest.raises(ValueError, match="slogdet"):
        gm.grad(np.linalg.det)(np.diag([1e200, 1e200, 1e-50]))


def test_det_derivative_of_a_stack_with_a_singular_matrix():
    rng = np.random.default_rng(4)
    stack = np.stack([rng.normal(size=(3, 3)), np.array([[1.0, 2, 3], [2, 4, 6], [0, 1, 1]])])
    got = gm.grad(lambda s: np.sum(np.linalg.det(s)))(stack)
    for k in range(2):
        np.testing.assert_allclose(got[k], _cofactor_matrix(stack[k]), rtol=1e-12, atol=1e-13)


def test_det_second_derivative_where_det_is_not_normal_is_refused():
    with pytest.raises(ValueError, match="first order only"):
        gm.hessian(np.linalg.det)(np.array([[1.0, 2.0], [2.0, 4.0]]))


# where the function's value is near a constant, a derivative written from the value
# (1 - tanh², expm1 + 1, expit·(1 - expit)) loses its digits: the closed forms from x,
# to rounding (expit' = sech²(x/2)/4)
SATURATED = np.array([0.5, -5.0, 10.0, -18.0, 25.0, 300.0, 800.0])


def _sech2(x):
    return 4 * np.exp(-2 * abs(x)) / (1 + np.exp(-2 * abs(x))) ** 2


@pytest.mark.parametrize(
    ("f", "first", "second", "x"),
    [
        (np.tanh, _sech2, lambda x: -2 * np.tanh(x) * _sech2(x), SATURATED),
        (np.expm1, np.exp, np.exp, np.array([1.0, -1e-9, -20.0, -40.0, -700.0])),
        (
            sc.expit,
            lambda x: _sech2(x / 2) / 4,
            lambda x: -np.tanh(x / 2) * _sech2(x / 2) / 4,
            np.array([-40.0, 0.3, 20.0, 40.0, 700.0]),
        ),
    ],
    ids=["tanh", "expm1", "expit"],
)
def test_derivatives_where_the_value_saturates_keep_their_digits(f, first, second, x):
    def total(v):
        return np.sum(f(v))

    expected = first(x)
    for got in (gm.grad(total)(x), np.diag(gm.jacfwd(f)(x)), gm.compile(total, x)(x)[1],
                # scalar code (math.tanh, math.exp), and its numpy fallback past math's range
                gm.compile(lambda v: sum(f(v[i]) for i in range(len(v))), x)(x)[1]):  # fmt: skip
        np.testing.assert_allclose(got, expected, rtol=1e-14, atol=0)
    # the second derivatives, finite and to rounding where cosh overflows
    np.testing.assert_allclose(np.diag(gm.hessian(total)(x)), second(x), rtol=1e-13, atol=0)


def _exact(fn):
    """fn of x as an exact fraction, rounded once (a reference to the last unit)."""
    return np.vectorize(lambda x: float(fn(Fraction(x))))


@pytest.mark.parametrize(
    ("f", "derivative", "x"),
    [
        (np.arcsin, lambda x: 1 / np.sqrt(_exact(lambda t: 1 - t * t)(x)),
         np.array([1 - 1e-8, -1 + 1e-10, 0.3, 1 - 2**-52])),
        (np.arccos, lambda x: -1 / np.sqrt(_exact(lambda t: 1 - t * t)(x)),
         np.array([1 - 1e-8, -1 + 1e-10, -0.3])),
        (np.arctanh, lambda x: 1 / _exact(lambda t: 1 - t * t)(x),
         np.array([1 - 1e-8, -1 + 1e-10, 0.5])),
        (np.arccosh, lambda x: np.where(x < 1e100, 1 / np.sqrt(_exact(lambda t: t * t - 1)(
            np.minimum(x, 1e100))), 1 / x), np.array([1 + 1e-8, 1 + 2**-52, 3.0, 1e200])),
    ],
    ids=["arcsin", "arccos", "arctanh", "arccosh"],
)  # fmt: skip
def test_inverse_function_derivatives_near_the_domains_edge_keep_their_digits(f, derivative, x):
    """1 - x² written (1 - x)(1 + x), exact near ±1 (1 - x**2 kept 8 digits at
    x = 1 - 1e-8), and x² - 1 as √(x - 1)·√(x + 1), with no overflow past 1e154."""
    expected = derivative(x)
    for got in (gm.grad(lambda v: np.sum(f(v)))(x), np.diag(gm.jacfwd(f)(x)),
                gm.compile(lambda v: np.sum(f(v)), x)(x)[1],
                gm.compile(lambda v: sum(f(v[i]) for i in range(len(v))), x)(x)[1]):  # fmt: skip
        np.testing.assert_allclose(got, expected, rtol=4e-16 * 8, atol=0)


def test_arccosh_derivative_on_the_complex_plane_is_numpys_branch():
    """d/dz arccosh z = 1 / (√(z - 1)·√(z + 1)) on numpy's principal branch; the
    1 / √(z² - 1) it was had the wrong sign where Re z < 0."""
    z = np.array([-2.0 + 0.5j, 0.3 - 1.2j, -0.5 - 0.1j, 2.0 + 1.0j])
    h = 1e-6
    central = (np.arccosh(z + h) - np.arccosh(z - h)) / (2 * h)
    got = np.diag(gm.jacfwd(np.arccosh, holomorphic=True)(z))
    np.testing.assert_allclose(got, central, rtol=1e-8)
