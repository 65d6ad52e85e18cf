"""Traps that once gave a plausible wrong number: each is now the right number or an error.

Every right number is checked against central differences of the actual numpy
function at the same point.
"""

import numpy as np
import pytest

import gradmix as gm
import gradmix.scipy.special as sc
from gradmix.ad.rules import elementwise, linalg, numerical

from .helpers import assert_derivatives, numerical_jacobian

X0 = np.array([3.2, -1.4, 2.6])
# a point where every value-dependent decision below comes out differently
X1 = np.array([-1.7, 2.3, 0.4])

# results whose shape depends on the values, and Python control flow
VALUE_DEPENDENT = {
    "mask": lambda x: np.sum(x[x > 0]),
    "nonzero": lambda x: np.sum(x[np.nonzero(x > 0)]),
    "lexsort": lambda x: np.sum(x[np.lexsort((x,))] * np.arange(3.0)),
    "take_wrap": lambda x: np.sum(np.take(x, np.argsort(x), mode="wrap") * np.arange(3.0)),
    "if": lambda x: x[0] * 2 if x[0] > 0 else x[0],
}


@pytest.mark.parametrize("name", sorted(VALUE_DEPENDENT))
@pytest.mark.parametrize("point", [X0, X1], ids=["x0", "x1"])
def test_compile_refuses_value_dependent_decisions(name, point):
    """Traced at either point, the program would replay that point's decision at the
    other one; it is refused, and eager mode gets both points right."""
    f = VALUE_DEPENDENT[name]
    with pytest.raises(gm.NotCompilableError, match="eager gm.grad"):
        gm.compile(f, point)
    for x in (X0, X1):
        g = gm.grad(f)(x)
        np.testing.assert_allclose(g, numerical_jacobian(f, (x,), 0), rtol=1e-6, atol=1e-8)


# choices numpy makes as operations: compiled into the program and recomputed at every
# call (JAX's jit compiles these too), with the derivative rules' choices recorded alike
CHOICES_AS_OPERATIONS = {
    "floor": lambda x: np.sum(np.floor(x) * x),
    "where_condition": lambda x: np.sum(np.where(x > 0, x, -2 * x)),
    "where_of_a_square": lambda x: np.sum(np.where(x**2 > 2.0, np.sin(x), np.cos(x))),
    "max": lambda x: np.max(x) * x[0],
    "max_of_rows": lambda x: np.sum(np.max(np.outer(x, x), axis=1)),
    "min": lambda x: np.min(x**2) + x[1],
    "abs": lambda x: np.sum(np.abs(x) * x),
    "relu": lambda x: np.sum(np.maximum(x, 0.0) ** 2),
    "fmin": lambda x: np.sum(np.fmin(x, 1.0) * x),
    "logsumexp": lambda x: gm.logsumexp(3.0 * x),
    "mask_product": lambda x: np.sum(x * (x > 0.5)),
    "sign": lambda x: np.sum(np.sign(x) * x**2),
    "sort": lambda x: np.sum(np.sort(x) * np.arange(3.0)),
    "argsort": lambda x: np.sum(x[np.argsort(x)] * np.arange(3.0)),
    "sort_rows": lambda x: np.sum(np.sort(np.outer(x, x - 1.0), axis=1) * np.arange(3.0)),
    "median": lambda x: np.median(x),
    "quantile": lambda x: np.quantile(x**3, 0.3),
    "partition": lambda x: np.sum(np.partition(x, 1)[:2] ** 2),
    "argmax_index": lambda x: x[np.argmax(x)],
    "argmin_take": lambda x: np.take(x, np.argmin(x)) * 2.0,
    "argmax_rows": lambda x: np.sum(
        np.outer(x, x)[np.arange(3), np.argmax(np.outer(x, x), axis=1)]
    ),
    "take_along_axis": lambda x: np.sum(
        np.take_along_axis(np.outer(x, x), np.argmin(np.outer(x, x), axis=0)[None], axis=0)
    ),  # fmt: skip
    "index_of_a_constant": lambda x: np.sum(
        np.take_along_axis(np.array([1.0, 10.0, 100.0]), np.argsort(x), 0) * x
    ),  # fmt: skip
    "round": lambda x: np.sum(np.round(x) * x),
    "astype_int": lambda x: np.sum(x.astype(int) * x),
    "digitize": lambda x: np.sum(np.digitize(x, [0.0, 1.0, 3.0]) * x**2),
    "count_nonzero": lambda x: np.count_nonzero(x > 0) * np.sum(x**2),
    "any": lambda x: np.sum(np.where(np.any(x > 3.0), x, 2.0 * x)),
    "inside_grad": lambda x: np.sum(
        gm.grad(lambda y: np.max(y) * np.sum(y**2) + np.sum(np.abs(y)))(x) ** 2
    ),  # fmt: skip
    # (np.sinc's series near 0: traced at X1, a program without it gave NaN at X0)
    "sinc": lambda x: np.sum(np.sinc(x - 2.6) * x),
    # comparisons inside a transform inside gm.compile were refused
    "comparisons_inside_grad": lambda x: np.sum(
        gm.grad(lambda y: np.sum(np.where(y > 0, y, -2 * y) ** 3 + np.sign(y) * y**2))(x) ** 2
    ),  # fmt: skip
    "sinc_inside_grad": lambda x: np.sum(gm.grad(lambda y: np.sum(np.sinc(y - 2.6)))(x) ** 2),
    # a root's kink at 0 (equal values, a zero vector): NaN in a program traced elsewhere
    "std_of_equal_values": lambda x: np.std(np.minimum(x[[0, 2]], 2.5)) * x[1],
    "norm_of_zeros": lambda x: np.linalg.norm(np.minimum(x[[1, 2]], 0.0)) * x[0],
    "norm3_of_zeros": lambda x: np.linalg.norm(np.minimum(x[[1, 2]], 0.0), 3) * x[0],
    # a product through an entry that is 0 at one point (its derivative there: the product
    # of the others, not 0 / 0), and along an axis
    "prod_through_a_zero": lambda x: np.prod(x - np.array([0.0, -1.4, 0.0])) * x[2],
    "prod_along_an_axis": lambda x: np.sum(np.prod(np.outer(x, x - 2.6), axis=1)),
    # the determinant's derivative at a singular matrix (cofactors by the SVD; the
    # program's det · a⁻ᵀ raised LinAlgError there)
    "det_of_a_singular_matrix": lambda x: np.linalg.det(
        np.stack([np.stack([x[0] - 3.2, x[1]]), np.stack([0.5 * x[1] - 0.5 * x[1], x[2]])])
    ),  # fmt: skip
    # which entries are replaced: refused where some were, left unreplaced elsewhere
    "nan_to_num": lambda x: np.sum(np.nan_to_num(np.where(x > 0, x, np.inf), posinf=4.0) * x),
}


@pytest.mark.parametrize("name", sorted(CHOICES_AS_OPERATIONS))
@pytest.mark.parametrize("traced, other", [(X0, X1), (X1, X0)], ids=["x0", "x1"])
def test_compile_records_choices_as_operations_of_the_program(name, traced, other):
    """Traced at one point, the program is right at the other, where every choice comes
    out differently: value and gradient equal eager mode's and central differences."""
    f = CHOICES_AS_OPERATIONS[name]
    vg = gm.compile(f, traced)
    for x in (other, traced):
        value, grad = vg(x)
        np.testing.assert_allclose(value, f(x), rtol=1e-12)
        np.testing.assert_allclose(grad, gm.grad(f)(x), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(grad, numerical_jacobian(f, (x,), 0), rtol=1e-6, atol=1e-8)


VALUE_INDEPENDENT = {
    "sort_of_constant": lambda x: np.sum(np.sort(np.array([3.0, 1.0, 2.0])) * x**2),
    "argmax_of_constant": lambda x: x[np.argmax(np.array([0.0, 5.0, 1.0]))] ** 3,
    "where_of_constant": lambda x: np.sum(np.where(np.array([True, False, True]), x, 2 * x)),
    "mask_of_constant": lambda x: np.sum(x[np.array([True, False, True])] ** 2),
    "slogdet": lambda x: np.linalg.slogdet(np.diag(x) + 4.0)[0] * np.sum(x**2),
}


@pytest.mark.parametrize("name", sorted(VALUE_INDEPENDENT))
def test_compile_keeps_decisions_on_constants(name):
    f = VALUE_INDEPENDENT[name]
    vg = gm.compile(f, X0)
    for x in (X0, X1):
        value, g = vg(x)
        np.testing.assert_allclose(value, f(x), rtol=1e-6)
        np.testing.assert_allclose(g, numerical_jacobian(f, (x,), 0), rtol=1e-5, atol=1e-7)


def test_a_compiled_second_derivative_of_det():
    """The cofactors of a compiled program have derivative rules of their own: a gradient
    of det inside gm.compile, on a batch of matrices, against central differences."""
    rng = np.random.default_rng(1)

    def f(x):
        inner = gm.grad(lambda y: np.sum(np.linalg.det(np.reshape(y, (2, 3, 3))) ** 2))(x)
        return np.sum(inner**2)

    def forward(x):  # (forward over reverse: the cofactors' JVP rule too)
        inner = lambda y: gm.grad(lambda z: np.linalg.det(np.reshape(z, (3, 3))))(y)  # noqa: E731
        return np.sum(gm.jvp(inner, (x[:9],), (np.arange(9.0),))[1] ** 2)

    for fn in (f, forward):
        vg = gm.compile(fn, rng.normal(size=18))
        for x in (rng.normal(size=18), rng.normal(size=18)):
            value, g = vg(x)
            assert value == pytest.approx(fn(x), rel=1e-12)
            np.testing.assert_allclose(g, numerical_jacobian(fn, (x,), 0), rtol=1e-6, atol=1e-9)


def test_slogdet_sign_is_recomputed_by_a_compiled_program():
    f = lambda x: np.linalg.slogdet(np.diag(x))[0] * np.sum(x**2)  # noqa: E731
    vg = gm.compile(f, X0)  # sign -1 here
    value, g = vg(np.abs(X0))  # sign +1 there
    assert value == pytest.approx(f(np.abs(X0)))
    np.testing.assert_allclose(g, numerical_jacobian(f, (np.abs(X0),), 0), rtol=1e-6)


def test_compile_freezes_captured_arrays_at_trace_time():
    """Value and gradient both come from the array as it was when traced."""
    A = np.array([1.0, 2.0, 3.0])
    before = A.copy()
    vg = gm.compile(lambda x: np.sum(A * x * x) + np.sum(np.exp(A) @ x), X0)
    A[:] = [10.0, 20.0, 30.0]
    reference = lambda x: np.sum(before * x * x) + np.sum(np.exp(before) @ x)  # noqa: E731
    value, g = vg(X1)
    assert value == pytest.approx(reference(X1))
    np.testing.assert_allclose(g, numerical_jacobian(reference, (X1,), 0), rtol=1e-6)


# complex intermediates ---------------------------------------------------------
def test_real_part_of_a_complex_intermediate():
    f = lambda x: np.abs(np.real(np.exp(1j * x)))  # noqa: E731
    value, g = gm.value_and_grad(f)(0.5)
    assert value == pytest.approx(np.cos(0.5))
    assert g == pytest.approx(float(numerical_jacobian(f, (0.5,), 0)), rel=1e-7)
    g_attr = gm.grad(lambda x: np.exp(1j * x).real * x)(0.5)
    assert g_attr == pytest.approx(np.cos(0.5) - 0.5 * np.sin(0.5), rel=1e-12)


def test_abs_of_a_complex_intermediate():
    f = lambda x: np.abs(x * (1 + 1j))  # noqa: E731
    assert gm.grad(f)(0.5) == pytest.approx(np.sqrt(2), rel=1e-12)
    assert gm.jvp(f, (0.5,), (1.0,))[1] == pytest.approx(np.sqrt(2), rel=1e-12)


def test_jvp_of_a_real_part_is_real():
    out, tangent = gm.jvp(lambda z: np.real(z**2), (1.0 + 2j,), (1.0 + 0j,))
    assert out == -3.0
    assert not np.iscomplexobj(tangent)
    assert tangent == pytest.approx(2.0)


# symmetric-matrix routines read one triangle --------------------------------------
NONSYM = np.array([[4.0, 1.0, 0.5], [2.5, 5.0, -1.0], [0.3, 0.7, 6.0]])


@pytest.mark.parametrize(
    "name, f",
    [
        ("eigvalsh_L", lambda a: np.linalg.eigvalsh(a)),
        ("eigvalsh_U", lambda a: np.linalg.eigvalsh(a, UPLO="U")),
        ("eigh_U_values", lambda a: np.linalg.eigh(a, UPLO="U")[0]),
        ("eigh_U_vectors", lambda a: np.abs(np.linalg.eigh(a, UPLO="U")[1])),
        ("eigh_L_vectors", lambda a: np.abs(np.linalg.eigh(a)[1])),
        ("cholesky", lambda a: np.linalg.cholesky(a)),
        ("cholesky_upper", lambda a: np.linalg.cholesky(a, upper=True)),
    ],
)
def test_symmetric_routines_differentiate_what_numpy_computes(name, f):
    """Non-symmetric input: value and derivative are those of numpy's own function,
    which reads one triangle (derivative zero with respect to the other)."""
    traced = gm.jvp(f, (NONSYM,), (np.zeros((3, 3)),))[0]
    np.testing.assert_allclose(traced, f(NONSYM), rtol=1e-12)
    assert_derivatives(f, NONSYM, rtol=1e-5)


def test_eigvalsh_upper_value():
    """The probe's case: numpy's UPLO='U' eigenvalue, not the lower triangle's."""
    M = np.array([[2.0, 1.0], [5.0, 3.0]])
    value, _ = gm.value_and_grad(lambda a: np.linalg.eigvalsh(a, UPLO="U")[1])(M)
    assert value == pytest.approx(np.linalg.eigvalsh(M, UPLO="U")[1], rel=1e-14)


def test_symmetric_input_keeps_the_symmetric_result_through_the_chain_rule():
    B = np.array([[1.0, 0.2], [0.4, 1.5]])
    f = lambda b: np.linalg.slogdet(np.linalg.cholesky(b @ b.T))[1]  # noqa: E731
    # log|det L| = log|det B|: the gradient is B⁻ᵀ
    np.testing.assert_allclose(gm.grad(f)(B), np.linalg.inv(B).T, rtol=1e-12)


# fmax / fmin ------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [np.fmax, np.fmin, np.maximum, np.minimum])
def test_nan_operands(fn):
    c = np.array([np.nan, 1.0, np.nan, 10.0])
    f = lambda x: np.nansum(fn(x, c) * np.arange(1.0, 5.0))  # noqa: E731
    x = np.array([2.0, 3.0, np.nan, 0.5])
    g = gm.grad(
        lambda x: np.sum(np.where(np.isnan(fn(x, c)), 0.0, fn(x, c)) * np.arange(1.0, 5.0))
    )(x)
    reference = numerical_jacobian(f, (x,), 0)
    finite = np.isfinite(x)
    np.testing.assert_allclose(g[finite], reference[finite], atol=1e-8)


def test_fmax_follows_the_operand_that_is_not_nan():
    g = gm.grad(lambda x: np.sum(np.fmax(x, np.array([np.nan, 1.0]))))(np.array([2.0, 3.0]))
    np.testing.assert_array_equal(g, [1.0, 1.0])
    g = gm.grad(lambda y: np.sum(np.fmin(np.array([np.nan, 5.0]), y)))(np.array([2.0, 3.0]))
    np.testing.assert_array_equal(g, [1.0, 1.0])


# outputs ----------------------------------------------------------------------------
@pytest.mark.parametrize("order", [1, 2, 3])
def test_derivative_of_an_array_built_from_traced_scalars(order):
    f = lambda x: np.array([x, x**2, np.sin(x)])  # noqa: E731
    d = gm.derivative(f, order)(1.5)
    assert d.dtype == np.float64
    reference = {1: [1.0, 3.0, np.cos(1.5)], 2: [0.0, 2.0, -np.sin(1.5)],
                 3: [0.0, 0.0, -np.cos(1.5)]}[order]  # fmt: skip
    np.testing.assert_allclose(d, reference, atol=1e-12)
    if order == 2:  # and against central differences of the first derivative
        num = numerical_jacobian(gm.derivative(f, 1), (1.5,), 0)
        np.testing.assert_allclose(d, num, atol=1e-6)


def test_derivative_falls_back_to_nested_forward_mode_with_array_output():
    f = lambda x: np.array([np.abs(x) ** 3, np.angle(x + 1j)])  # noqa: E731 - angle has no Taylor rule
    d = gm.derivative(f, 2)(0.7)
    num = numerical_jacobian(gm.derivative(f, 1), (0.7,), 0)
    np.testing.assert_allclose(d, num, atol=1e-6)


# escaped tracers ----------------------------------------------------------------------
@pytest.mark.parametrize("transform", ["grad", "jvp", "compile"])
def test_a_tracer_used_after_its_transform_is_an_error(transform):
    leak = []

    def f(x):
        leak.append(x)
        return x * x

    if transform == "grad":
        gm.grad(f)(2.0)
    elif transform == "jvp":
        gm.jvp(f, (2.0,), (1.0,))
    else:
        gm.compile(f, 2.0)
    with pytest.raises(gm.TracerConversionError, match="escaped the transform"):
        leak[0] * 3.0
    with pytest.raises(gm.TracerConversionError, match="escaped the transform"):
        np.sin(leak[0])


def test_nested_transforms_keep_working():
    inner = lambda x: gm.grad(lambda y: np.sin(x * y))(1.0)  # noqa: E731
    assert gm.grad(inner)(0.3) == pytest.approx(-0.3 * np.sin(0.3) + np.cos(0.3), rel=1e-12)


# where hides a nan ---------------------------------------------------------------------
def test_two_where_pattern_gives_the_finite_difference_answer():
    """A where selects values, not derivatives: where the unselected branch's value is
    finite but its slope infinite (sqrt at 0), the slope leaks, 0 · inf = NaN (as in
    JAX).  Where that value is NaN itself (0 / 0, sqrt(-1)), the NaN is dropped and
    has derivative 0, for a scalar as for an array (the scalar path of reverse mode
    used to skip that rule and gave NaN).  The documented pattern feeds the branch a
    safe input."""

    def sinc_naive(x):
        return np.where(x == 0, 1.0, np.sin(x) / x)

    def sinc_safe(x):
        safe = np.where(x == 0, 1.0, x)
        return np.where(x == 0, 1.0, np.sin(safe) / safe)

    def root_naive(x):
        return np.where(x > 0, np.sqrt(x), 0.0)

    def root_safe(x):
        safe = np.where(x > 0, x, 1.0)
        return np.where(x > 0, np.sqrt(safe), 0.0)

    with np.errstate(all="ignore"):
        assert np.isnan(gm.grad(root_naive)(0.0))
        assert np.isnan(gm.grad(lambda x: np.sum(root_naive(x)))(np.zeros(2))).all()
        for f, x in ((sinc_naive, 0.0), (root_naive, -1.0)):  # dropped NaN values
            assert gm.grad(f)(x) == 0.0
            assert gm.grad(lambda v, f=f: np.sum(f(v)))(np.full(2, x)).tolist() == [0.0, 0.0]
    for f, x in ((sinc_safe, 0.0), (root_safe, -1.0), (sinc_safe, 0.4), (root_safe, 2.0)):
        assert gm.grad(f)(x) == pytest.approx(float(numerical_jacobian(f, (x,), 0)), abs=1e-8)


@pytest.mark.parametrize("ndigits", [None, 1])
def test_pythons_round_of_a_traced_scalar(ndigits):
    # round(x) on a numpy float64 works (its derivative is 0 where it has one); on a
    # tracer it was a TypeError
    f = lambda x: round(x, ndigits) * x**2 if ndigits else round(x) * x**2  # noqa: E731
    assert_derivatives(f, 2.63)
    assert gm.hessian(f)(2.63) == pytest.approx(2 * round(2.63, ndigits))
    with pytest.raises(TypeError, match="np.round"):
        gm.grad(lambda x: np.sum(round(x)))(np.ones(2))


@pytest.mark.parametrize(
    ("x", "axis"),
    [
        ([1.5, 0.0, 2.0, 0.5, 0.0, 3.0], 0),  # two zeros in a line
        ([0.0, 1.5, 2.0], 0),
        ([1.5, 2.0, 0.0], 0),
        ([0.0, 0.0, 2.0], 0),
        ([[1.5, 0.0, 2.0], [0.5, 1.2, 0.0], [2.0, 3.0, 1.1]], 1),
        ([[1.5, 0.0, 2.0], [0.5, 1.2, 0.0], [0.0, 3.0, 1.1]], 0),
    ],
)
def test_cumprod_is_differentiated_through_zeros_to_every_order(x, axis):
    """It raised at a zero entry (its rules divide by the entries); from each line's first
    zero on it is rewritten as x_z · cumprod(the line with x_z = 1), the same polynomial,
    so every order is exact: against central differences of numpy's own cumprod."""
    x = np.array(x)
    weights = np.arange(1.0, x.size + 1).reshape(x.shape)
    f = lambda v: np.cumprod(v, axis=axis)  # noqa: E731
    s = lambda v: np.sum(np.cumprod(v, axis=axis) * weights)  # noqa: E731
    assert_derivatives(f, x, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(gm.hessian(s)(x), numerical_jacobian(gm.grad(s), (x,), 0),
                               rtol=1e-7, atol=1e-8)  # fmt: skip
    np.testing.assert_allclose(gm.jacrev(gm.grad(s))(x), gm.hessian(s)(x), rtol=1e-12)
    line = lambda t: s(x + t)  # noqa: E731
    third = (line(2e-3) - 2 * line(1e-3) + 2 * line(-1e-3) - line(-2e-3)) / 2e-9
    assert gm.derivative(line, order=3)(0.0) == pytest.approx(third, rel=1e-5)


@pytest.mark.parametrize(
    ("x", "xp", "fp"),
    [
        ([0.5, 1.0, 0.5], [0.5, 0.5, 0.5], [0.5, 1.0, 2.0]),  # every knot one value
        ([0.2, 1.0, 1.5, 2.0, 2.5], [0.0, 1.0, 1.0, 2.0, 2.0], [0.0, 1.0, 3.0, 2.0, 5.0]),
    ],
)
def test_interp_with_repeated_knots_has_numpys_values(x, xp, fp):
    """At or past repeated last knots the span 0 made NaN, which reached the value through
    ``0 * t`` (numpy: the last knot's value) and the derivatives through the wheres."""
    x, xp, fp = map(np.array, (x, xp, fp))
    weights = np.arange(1.0, x.size + 1)
    f = lambda a, b, c: np.sum(np.interp(a, b, c) * weights)  # noqa: E731
    value, grads = gm.value_and_grad(f, argnums=(0, 1, 2))(x, xp, fp)
    assert value == f(x, xp, fp)  # numpy's own
    assert all(np.all(np.isfinite(g)) for g in grads)
    program = gm.compile(f, x + 0.1, xp, fp)
    assert program(x, xp, fp)[0] == value
    # between knots, central differences of numpy's interp
    inner = np.linspace(0.13, 1.91, x.size)  # (no knot among them)
    np.testing.assert_allclose(gm.grad(f)(inner, xp, fp),
                               numerical_jacobian(lambda a: f(a, xp, fp), (inner,), 0),
                               rtol=1e-7)  # fmt: skip


def _rotated(eigenvalues, seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(len(eigenvalues),) * 2))
    return q @ np.diag(eigenvalues) @ q.T


def _top_projection(a):
    """c·v for the eigenvector of the largest eigenvalue, squared (its sign does not
    matter): a function of a unique eigenvector, whatever the others are."""
    v = np.linalg.eigh(np.reshape(a, (4, 4)))[1][:, -1]
    return (np.array([0.3, -1.2, 0.8, 0.5]) @ v) ** 2


def _through_eigenvectors(a):
    """exp(A) summed, written with every eigenvector."""
    w, v = np.linalg.eigh(np.reshape(a, (4, 4)))
    return np.sum(v @ np.diag(np.exp(w)) @ v.T)


@pytest.mark.parametrize("a", [np.diag([1.0, 1.0, 1.0, 3.0]), _rotated([1.0, 1.0, 1.0, 3.0])],
                         ids=["exactly", "to rounding"])  # fmt: skip
def test_eigenvectors_of_a_repeated_eigenvalue(a):
    """The derivative of a unique eigenvector beside a repeated eigenvalue exists: it was
    NaN (inf · 0) where the repeats were exact. A function of the repeated eigenvalue's
    own eigenvectors has none from these rules: where the repeats were to rounding the
    rules divided rounding noise by rounding noise, and exp(A) written with eigh had a
    gradient 0.59 off central differences; now an error (jacfwd: NaN)."""
    x = a.ravel()
    reference = numerical_jacobian(_top_projection, (x,), 0)
    np.testing.assert_allclose(gm.grad(_top_projection)(x), reference, atol=1e-8)
    np.testing.assert_allclose(gm.jacfwd(_top_projection)(x), reference, atol=1e-8)
    with pytest.raises(gm.NoDerivativeRuleError, match="eigenvectors of a repeated eigenvalue"):
        gm.grad(_through_eigenvectors)(x)
    assert np.isnan(gm.jacfwd(_through_eigenvectors)(x)).any()
    # distinct eigenvalues: exact as before
    b = _rotated([1.0, 1.5, 2.0, 3.0]).ravel()
    expected = numerical_jacobian(_through_eigenvectors, (b,), 0)
    np.testing.assert_allclose(gm.grad(_through_eigenvectors)(b), expected, rtol=1e-6)


def test_singular_vectors_of_repeated_or_zero_singular_values_are_refused():
    # (the rank-one matrix of ones: 3e32 from rounding noise over rounding noise)
    for a in (np.ones((3, 3)), np.diag([2.0, 1.0, 1.0])):
        for transform in (gm.grad, gm.jacfwd):
            with pytest.raises(gm.NoDerivativeRuleError, match="singular vectors of repeated"):
                transform(lambda m: np.sum(np.linalg.svd(np.reshape(m, (3, 3)))[0][:, 0]))(
                    a.ravel())  # fmt: skip


def test_std_of_equal_values_has_derivative_zero():
    _, t = gm.jvp(np.std, (np.full(4, 2.0),), (np.ones(4),))
    assert t == 0.0
    assert np.all(gm.grad(np.std)(np.full(4, 2.0)) == 0.0)
    x = np.array([1.0, 2.0, 4.0])
    np.testing.assert_allclose(gm.grad(np.std)(x), numerical_jacobian(np.std, (x,), 0), rtol=1e-7)


# every primitive whose rules are formulas (elementwise.FORMULA_RULES) compiles, and the
# program is right at another point: on (1, ∞), on (0.1, 0.9) and on the line
def _pos(x):
    return 1.0 + x**2


def _unit(x):
    return 0.5 + 0.4 * np.tanh(x)


FORMULAS = {
    "np.clip": lambda x: np.sum(np.clip(x, -1.0, 1.0) * x),
    "np.remainder": lambda x: np.sum(np.remainder(3.0 * x, 1.3) * x),
    "np.fmod": lambda x: np.sum(np.fmod(3.0 * x, 1.3) * x),
    "np.erf": lambda x: np.sum(sc.erf(x)),
    "np.erfc": lambda x: np.sum(sc.erfc(x)),
    "np.erfinv": lambda x: np.sum(sc.erfinv(_unit(x))),
    "np.erfcinv": lambda x: np.sum(sc.erfcinv(_unit(x))),
    "np.erfcx": lambda x: np.sum(sc.erfcx(x)),
    "np.expit": lambda x: np.sum(sc.expit(x)),
    "np.log_expit": lambda x: np.sum(sc.log_expit(x)),
    "np.logit": lambda x: np.sum(sc.logit(_unit(x))),
    "np.ndtr": lambda x: np.sum(sc.ndtr(x)),
    "np.log_ndtr": lambda x: np.sum(sc.log_ndtr(x)),
    "np.ndtri": lambda x: np.sum(sc.ndtri(_unit(x))),
    "np.gamma": lambda x: np.sum(sc.gamma(_pos(x))),
    "np.rgamma": lambda x: np.sum(sc.rgamma(_pos(x))),
    "np.gammaln": lambda x: np.sum(sc.gammaln(_pos(x))),
    "np.loggamma": lambda x: np.sum(sc.loggamma(_pos(x))),
    "np.psi": lambda x: np.sum(sc.psi(_pos(x))),
    "scipy.special.polygamma": lambda x: np.sum(sc.polygamma(1, _pos(x))),
    "np.beta": lambda x: np.sum(sc.beta(_pos(x), _pos(x[::-1]))),
    "np.betaln": lambda x: np.sum(sc.betaln(_pos(x), _pos(x[::-1]))),
    "np.gammainc": lambda x: np.sum(sc.gammainc(2.5, _pos(x))),
    "np.gammaincc": lambda x: np.sum(sc.gammaincc(2.5, _pos(x))),
    "np.xlogy": lambda x: np.sum(sc.xlogy(x, _pos(x[::-1]))),
    "np.xlog1py": lambda x: np.sum(sc.xlog1py(x, _pos(x[::-1]))),
    "np.entr": lambda x: np.sum(sc.entr(_pos(x))),
    "np.rel_entr": lambda x: np.sum(sc.rel_entr(_pos(x), _pos(x[::-1]))),
    "np.kl_div": lambda x: np.sum(sc.kl_div(_pos(x), _pos(x[::-1]))),
    "np.exp1": lambda x: np.sum(sc.exp1(_pos(x))),
    "np.expi": lambda x: np.sum(sc.expi(_pos(x))),
    "np.iv": lambda x: np.sum(sc.iv(1.0, x)),
    "np.ive": lambda x: np.sum(sc.ive(1.0, x)),
    "np.jv": lambda x: np.sum(sc.jv(1.5, _pos(x))),
    "np.yv": lambda x: np.sum(sc.yv(1.5, _pos(x))),
    "np.kv": lambda x: np.sum(sc.kv(1.5, _pos(x))),
    "np.kve": lambda x: np.sum(sc.kve(1.5, _pos(x))),
    "np.i0": lambda x: np.sum(sc.i0(x)),
    "np.i1": lambda x: np.sum(sc.i1(x)),
    "np.i0e": lambda x: np.sum(sc.i0e(x)),
    "np.i1e": lambda x: np.sum(sc.i1e(x)),
    "np.j0": lambda x: np.sum(sc.j0(x)),
    "np.j1": lambda x: np.sum(sc.j1(x)),
    "np.y0": lambda x: np.sum(sc.y0(_pos(x))),
    "np.y1": lambda x: np.sum(sc.y1(_pos(x))),
    "np.k0": lambda x: np.sum(sc.k0(_pos(x))),
    "np.k1": lambda x: np.sum(sc.k1(_pos(x))),
    "np._zeta": lambda x: np.sum(sc.zeta(3.0, _pos(x))),
}


def _spd(x):
    """A symmetric matrix with distinct eigenvalues, from x."""
    return np.outer(x, x) + np.diag(x**2 + np.array([1.0, 2.5, 4.0]))


def _vector_weights(v):  # sign-free: each singular or eigen vector enters squared
    return np.sum(v**2 * np.arange(1.0, 4.0)[:, None] * np.arange(1.0, 4.0))


FORMULAS.update({
    "eigvalsh": lambda x: np.sum(np.linalg.eigvalsh(_spd(x)) ** 2 * np.arange(1.0, 4.0)),
    "eigh": lambda x: _vector_weights(np.linalg.eigh(_spd(x))[1]),
    "svdvals": lambda x: np.sum(np.linalg.svd(_spd(x) - 2.0, compute_uv=False) ** 3),
    "svd_u": lambda x: _vector_weights(np.linalg.svd(_spd(x) - 2.0)[0]),
    "svd_vh": lambda x: _vector_weights(np.linalg.svd(_spd(x) - 2.0)[2].T),
    "qr_q": lambda x: _vector_weights(np.linalg.qr(_spd(x) - 2.0)[0]),
    "qr_r": lambda x: np.sum(np.linalg.qr(_spd(x) - 2.0)[1] ** 2 * np.arange(1.0, 4.0)),
    "pinv": lambda x: np.sum(np.linalg.pinv(_spd(x)[:, :2]) * np.arange(1.0, 4.0)),
    "convolve": lambda x: np.sum(np.convolve(x, x**2, "same") * np.arange(1.0, 4.0)),
    # knots and values traced too; x at X0 and X1 falls in different intervals
    "interp": lambda x: np.sum(np.interp(2.0 * x, [-3.0, -1.0, 0.5, 2.0], [1.0, 2.0, -1.0, 0.5]))
    + np.interp(x[0], np.array([-2.0, 0.0, 3.0]) + 0.1 * x, x**2 + np.array([0.0, 1.0, 2.0])),
})  # fmt: skip


def test_every_formula_rule_has_a_compiled_check():
    seen = set()
    for f in FORMULAS.values():
        seen |= {node.prim for node in gm.compile(f, X0).compile_for(X0).graph.nodes}
    assert elementwise.FORMULA_RULES | linalg.FORMULA_RULES | numerical.FORMULA_RULES <= seen


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_formula_rules_compile_and_hold_at_another_point(name):
    f = FORMULAS[name]
    vg = gm.compile(f, X0)
    value, grad = vg(X1)
    np.testing.assert_allclose(value, f(X1), rtol=1e-12)
    np.testing.assert_allclose(grad, gm.grad(f)(X1), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grad, numerical_jacobian(f, (X1,), 0), rtol=1e-6, atol=1e-8)
