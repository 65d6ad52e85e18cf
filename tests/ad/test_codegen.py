"""Source transformation: traced programs, generated derivative code, their limits."""

import matplotlib

matplotlib.use("Agg")

import gc  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402
import tracemalloc  # noqa: E402
from contextlib import nullcontext  # noqa: E402
from unittest import mock  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import assume, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import gradmix as gm  # noqa: E402
from gradmix.plot import plot_graph  # noqa: E402
from tests.ad.helpers import numerical_jacobian  # noqa: E402


def lecture(x1, x2):
    return x1 * x2 + np.sin(x1)


def test_source_reads_like_the_lectures_program():
    src = gm.trace(lecture, 1.5, 2.0).source()
    assert src.splitlines() == [
        "def f(x1, x2):",
        "    w3 = x1 * x2",
        "    w4 = np.sin(x1)",
        "    w5 = w3 + w4",
        "    return w5",
    ]


def test_to_dot_has_the_computational_graph():
    dot = gm.trace(lecture, 1.5, 2.0).to_dot()
    assert dot.startswith("digraph")
    for edge in ('"x1" -> "w3"', '"x2" -> "w3"', '"x1" -> "w4"', '"w3" -> "w5"', '"w4" -> "w5"'):
        assert edge in dot


def test_compiled_lecture_example():
    vg = gm.compile(lecture, 1.5, 2.0)
    value, grad = vg(0.3, -1.0)
    assert value == pytest.approx(lecture(0.3, -1.0))
    assert grad == pytest.approx((-1.0 + np.cos(0.3), 0.3))
    assert "def value_and_grad(x1, x2):" in vg.source and "math.cos(x1)" in vg.source
    ax = plot_graph(vg.graph)
    boxes = [t for t in ax.texts if t.get_bbox_patch() is not None]
    assert len(boxes) == len(vg.graph.nodes) + 2  # operations and the two inputs


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosen_loop(x):
    s = 0.0
    for i in range(len(x) - 1):
        s = s + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
    return s


def _live_trace_nodes() -> int:
    gc.collect()
    return sum(isinstance(o, gm.ad.recording.TraceNode) for o in gc.get_objects())


def test_a_compiled_program_holds_no_values_of_its_trace():
    # the trace's nodes hold every intermediate array: 14 times the input's bytes for
    # Rosenbrock's function, and 80 000 objects for every full run of the cycle
    # collector to walk in a long scalar program, for as long as the program lived
    x = np.random.default_rng(0).normal(size=100_000)
    before = _live_trace_nodes()
    tracemalloc.start()
    try:
        vg = gm.compile(rosen)
        value, g = vg(x)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert _live_trace_nodes() == before
    assert held < 2.5 * x.nbytes  # a copy of the example, to record the graph again
    np.testing.assert_allclose(g, gm.grad(rosen)(x), rtol=1e-12)
    # the graph, recorded again when asked for, is the compiled program's
    graph = vg.graph
    assert _live_trace_nodes() > before
    assert gm.ad.emit.python_source(graph, "value_and_grad", fuse=True, release=True,
                                    scalar_math=True)[0] == vg.source  # fmt: skip


def test_a_function_that_records_another_program_is_refused_when_recorded_again():
    draws = iter([2.0, 3.0])

    def f(x):  # reads a global source of numbers: not a function of x alone
        return np.sum(x**2) * next(draws)

    vg = gm.compile(f)
    value, g = vg(np.ones(3))
    assert value == 6.0
    with pytest.raises(RuntimeError, match="different program"):
        _ = vg.graph


def gmm_like(p):
    means, log_s = p["means"], p["log_s"]
    X = np.linspace(-2, 2, 12).reshape(6, 2)
    z = (X[:, None, :] - means[None]) * np.exp(-log_s)[None, :, None]
    logp = -0.5 * np.sum(z**2, axis=2) - 2 * log_s
    return -np.sum(np.log(np.sum(np.exp(logp), axis=1)))


def linalg_mix(A, b):
    S = A @ A.T + 3 * np.eye(3)
    L = np.linalg.cholesky(S)
    return (
        np.linalg.slogdet(S)[1]
        + np.sum(np.linalg.solve(S, b) ** 2)
        + np.sum(L)
        + np.trace(np.linalg.inv(S))
    )


CASES = {
    "rosen": (rosen, (np.array([1.2, 0.8, -0.5, 1.1]),)),
    "rosen_loop_list": (rosen_loop, ([1.2, 0.8, -0.5, 1.1, 0.3],)),
    "gmm_like_dict": (gmm_like, ({"means": np.array([[0.5, -0.5], [1.0, 1.0]]),
                                  "log_s": np.array([0.1, -0.2])},)),
    "linalg": (linalg_mix, (np.arange(9.0).reshape(3, 3) / 10, np.array([1.0, -1.0, 0.5]))),
    "einsum_concat": (lambda a: np.einsum("i,i->", np.concatenate([a, a**2]),
                                          np.concatenate([np.cos(a), a])), (np.array([0.3, 0.7]),)),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_compiled_equals_eager(name):
    f, args = CASES[name]
    vg = gm.compile(f)
    value, grad = vg(*args)
    ev, eg = gm.value_and_grad(f, argnums=tuple(range(len(args))))(*args)
    assert value == pytest.approx(ev, rel=1e-13)
    got = grad if len(args) > 1 else (grad,)
    for g, e in zip(got, eg, strict=True):
        for gl, el in zip(*(gm.ad.pytree.flatten(t)[0] for t in (g, e)), strict=True):
            np.testing.assert_allclose(gl, el, rtol=1e-12, atol=1e-13)


def test_float_power_compiles_with_powers_rules():
    # (refused as a value-dependent operation before, though its rules are np.power's)
    f = lambda x: np.sum(np.float_power(np.abs(x), 1.5) + np.float_power(2.0, x) * x)  # noqa: E731
    vg = gm.compile(f, np.array([0.3, -1.2, 2.0]))
    for x in (np.array([0.3, -1.2, 2.0]), np.array([-0.8, 0.6, 1.7])):
        value, g = vg(x)
        assert value == pytest.approx(f(x), rel=1e-14)
        np.testing.assert_allclose(g, numerical_jacobian(f, (x,), 0), rtol=1e-7)


def test_constants_folded_and_dead_code_dropped():
    def f(x):
        unused = np.exp(x) * 7.0  # noqa: F841 - dead code
        c = np.sqrt(2.0) * np.pi  # constant: folded
        return x * 1.0 * c + 0.0

    src = gm.compile(f, 0.5).source
    assert "exp" not in src and "sqrt" not in src and "pi" not in src
    assert gm.compile(f)(0.5)[1] == pytest.approx(np.sqrt(2.0) * np.pi)


def test_retrace_for_new_shapes():
    vg = gm.compile(rosen)
    for n in (3, 5, 8):
        x = np.linspace(0.1, 1.0, n)
        np.testing.assert_allclose(vg(x)[1], gm.grad(rosen)(x), rtol=1e-12)
    assert len(vg._cache) == 3


def test_one_array_finds_its_program_by_shape_and_dtype_again():
    """A call on one array takes the program compiled for its shape and dtype without
    flattening its arguments again: each shape and dtype its own program, and every
    call eager mode's gradient, whichever array comes first or again."""

    def f(x):
        return np.sum(np.exp(np.sin(x)) * x)

    vg = gm.compile(f)
    arrays = [np.linspace(0.1, 1.0, 7), np.linspace(-1.0, 2.0, 5),
              np.linspace(0.1, 1.0, 7).astype(np.float32), np.ones((2, 3))]  # fmt: skip
    for x in arrays + arrays[::-1] + arrays:
        value, grad = vg(x)
        ref_value, ref_grad = gm.value_and_grad(f)(x)
        assert grad.shape == x.shape and grad.dtype == x.dtype
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-6 if x.dtype == np.float32 else 1e-13)
        assert value == pytest.approx(ref_value, rel=1e-6)
    assert len(vg._cache) == len(vg._arrays) == 4
    # a 0-d array and a subclass take the general way (a Python float, np.asarray)
    assert vg(np.array(0.5))[1] == pytest.approx(gm.grad(f)(0.5))
    np.testing.assert_allclose(vg(np.ma.masked_array(arrays[1]))[1], gm.grad(f)(arrays[1]))


def test_control_flow_is_refused_with_a_pointer_to_eager_grad():
    def branchy(x):
        return x if x > 0 else -x

    def truthy(x):
        if x:
            return x
        return -x

    with pytest.raises(gm.NotCompilableError, match="eager gm.grad"):
        gm.compile(branchy, 1.0)
    with pytest.raises(gm.NotCompilableError, match="eager gm.grad"):
        gm.trace(truthy, 1.0)
    assert gm.grad(branchy)(-2.0) == -1.0  # eager mode handles it


def test_value_dependent_rules_are_refused():
    with pytest.raises(gm.NotCompilableError, match="np.nonzero"):
        gm.compile(lambda x: np.sum(x[np.nonzero(x)]), np.ones(3))


def test_a_traced_exponent_compiles():
    # (refused before: d/dy x**y = x**y log x decides at x = 0, now at every call)
    f = lambda v: np.sum(v[:2] ** v[2:] + np.float_power(2.0, v[2:]) * v[:2])  # noqa: E731
    vg = gm.compile(f, np.array([1.5, 0.7, 2.0, -0.4]))
    for x in (np.array([0.0, 0.7, 2.0, 1.3]), np.array([1.5, 0.7, 2.0, -0.4])):
        value, g = vg(x)
        assert value == pytest.approx(f(x), rel=1e-14)
        np.testing.assert_array_equal(g, gm.grad(f)(x))
        np.testing.assert_allclose(g, numerical_jacobian(f, (x,), 0), rtol=1e-7, atol=1e-9)
    scalar = gm.compile(lambda a, b: a**b * 2.0, 1.3, 0.7)  # (the scalar path: math.pow)
    for a, b in ((1.3, 0.7), (0.0, 2.0), (2.0, -1.5)):
        value, (da, db) = scalar(a, b)
        assert (da, db) == pytest.approx((2 * b * a ** (b - 1), 2 * a**b * (np.log(a) if a else 0)))


def test_compile_requires_scalar_output():
    with pytest.raises(TypeError, match="scalar"):
        gm.compile(np.sin, np.ones(3))


# scalar code on ndarray inputs --------------------------------------------------------------
def _rosen_loop(x):
    s = 0.0
    for i in range(len(x) - 1):
        s = s + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
    return s


def test_scalar_code_on_an_ndarray_is_unpacked_to_floats_and_agrees_with_differences():
    x = np.random.default_rng(3).uniform(0.5, 1.5, 12)
    vg = gm.compile(_rosen_loop, x)
    assert ".ravel().tolist()" in vg.source and "x1[" not in vg.source  # no indexing left
    value, g = vg(x)
    assert value == pytest.approx(_rosen_loop(list(x)), rel=1e-15)
    assert isinstance(g, np.ndarray) and g.shape == x.shape
    np.testing.assert_allclose(g, gm.grad(_rosen_loop)(x), rtol=1e-13)
    num = gm.divided_difference(_rosen_loop, x, 1e-6, "central")
    np.testing.assert_allclose(g, num, rtol=1e-6)
    # another point, same program
    y = x[::-1].copy()
    np.testing.assert_allclose(vg(y)[1], gm.grad(_rosen_loop)(y), rtol=1e-13)


def _every_operator(x):
    # each infix operator with the traced value on either side, integer and float
    # constants, a negation folded into a product (-a * c), a repeated product (x*x)
    a, b = x[0], x[1]
    s = 2 - a + (b - 1.5) + 3 * a * 0.5 + b / 4.0 + 1.0 / (1 + b * b) + a**3 - (-a) * 2.5
    s = s + (-b) / 3.0 + 2.0 * (-a) + a * a + a * b / (a + b) + (a - b) ** 2
    return s


def test_operators_on_traced_scalars_agree_with_eager_mode_and_differences():
    # tracing scalar code goes straight from the operator to the recording (without
    # bind): every operator, reflected or not, must record what the general way does
    x = np.array([0.7, -1.3])
    vg = gm.compile(_every_operator, x)
    for point in (x, np.array([1.9, 0.4])):
        value, g = vg(point)
        ref_value, ref_g = gm.value_and_grad(_every_operator)(point)
        assert value == pytest.approx(ref_value, rel=1e-14)
        np.testing.assert_allclose(g, ref_g, rtol=1e-13)
        num = gm.divided_difference(_every_operator, point, 1e-6, "central")
        np.testing.assert_allclose(g, num, rtol=1e-7)


def test_scalar_operators_inside_an_inner_eager_transform_are_recorded_by_it():
    # an eager gradient taken inside the compiled function: its nodes wrap the traced
    # scalars, and the operators must hand them to the inner transform first
    def f(x):
        inner = gm.grad(lambda t: t * t * x[0] + 2.0 / t)(x[1])  # 2 t x0 - 2 / t²
        return inner * x[0] + x[1]

    x = np.array([1.2, 0.8])
    value, g = gm.compile(f, x)(x)
    assert value == pytest.approx(f(x), rel=1e-14)
    np.testing.assert_allclose(g, gm.divided_difference(f, x, 1e-6, "central"), rtol=1e-7)


def test_lists_of_floats_take_the_short_call_and_agree_with_the_general_one():
    # calls with lists of Python floats skip flattening; numpy scalars, an int entry or
    # another length go the general way: all must give the same numbers and structure
    def f(x, y):
        return _rosen_loop(x) * y[0] + y[1] ** 2

    x = np.random.default_rng(5).uniform(0.5, 1.5, 7)
    vg = gm.compile(f, x.tolist(), [0.5, 2.0])
    ref_value, (ref_gx, ref_gy) = gm.value_and_grad(f, argnums=(0, 1))(x, np.array([0.5, 2.0]))
    for args in (
        (x.tolist(), [0.5, 2.0]),  # registers the program for these lengths
        (x.tolist(), [0.5, 2.0]),  # the short call
        (list(x), [0.5, 2.0]),  # numpy scalars: the short call, converted
        (x.tolist(), [0.5, 2]),  # an int: the general way
    ):
        value, (gx, gy) = vg(*args)
        assert type(gx) is list and type(gy) is list and len(gx) == 7 and len(gy) == 2
        assert value == pytest.approx(ref_value, rel=1e-14)
        np.testing.assert_allclose(gx, ref_gx, rtol=1e-13)
        np.testing.assert_allclose(gy, ref_gy, rtol=1e-13)
    longer = x.tolist() + [1.1]
    np.testing.assert_allclose(
        vg(longer, [0.5, 2.0])[1][0], gm.grad(f)(np.array(longer), np.array([0.5, 2.0])), rtol=1e-13
    )
    one = gm.compile(_rosen_loop, x.tolist())
    for _ in range(2):
        value, g = one(x.tolist())
        assert type(g) is list
        np.testing.assert_allclose(g, gm.grad(_rosen_loop)(x), rtol=1e-13)


@pytest.mark.parametrize("f, at", [
    (lambda x: np.log(x[0]) + x[1], [0.0, 1.3]),  # math.log: ValueError
    (lambda x: np.exp(x[0]) + x[1], [1000.0, 1.3]),  # math.exp: OverflowError
    (lambda x: x[0] / x[1], [1.0, 0.0]),  # Python's /: ZeroDivisionError
    (lambda x: np.sqrt(x[0]) + x[1], [0.0, 1.3]),  # the derivative 0.5 / sqrt(0)
    (lambda x: np.sqrt(x[0]) + x[1], [-1.0, 1.3]),
    (lambda x: np.arcsin(x[0]) + x[1], [2.0, 1.3]),
    (lambda x: x[0] ** 400.0 + x[1], [1e3, 1.3]),  # float **: OverflowError
    (lambda x: x[0] ** 0.5 + x[1], [-1.0, 1.3]),  # float **: a complex number
    (lambda x: abs(x[0] ** 1.5) + x[1], [-1.0, 1.3]),  # ... made real again by abs
    (lambda x: x[0] / 0.0 + x[1], [0.7, 1.3]),  # folded while compiling: 1 / 0
])  # fmt: skip
def test_compiled_scalar_code_gives_eager_modes_inf_and_nan(f, at):
    # the generated code computes on Python floats and math.*, which raise (or, for a
    # fractional power of a negative number, return a complex number) where numpy gives
    # inf or nan: the same program then runs on numpy scalars
    vc = gm.compile(f, np.array([0.7, 1.3]))
    with np.errstate(all="ignore"):
        value, grad = vc(np.array(at))
        ref_value, ref_grad = gm.value_and_grad(f)(np.array(at))
        listed = gm.compile(f, [0.7, 1.3])(list(at))  # the short call on lists too
    assert not np.iscomplexobj(value) and not np.iscomplexobj(grad)
    np.testing.assert_array_equal(value, ref_value)
    np.testing.assert_array_equal(grad, ref_grad)
    np.testing.assert_array_equal(listed[0], ref_value)
    np.testing.assert_array_equal(listed[1], ref_grad)
    # and at an ordinary point, the fast program's numbers
    np.testing.assert_allclose(vc(np.array([0.7, 1.3]))[1],
                               gm.grad(f)(np.array([0.7, 1.3])), rtol=1e-13)  # fmt: skip


def test_entry_reads_of_a_matrix_unread_entries_and_negative_indices():
    def f(m):
        return m[0, 1] * m[-1, -1] + np.sin(m[1, 0])

    m = np.arange(1.0, 7.0).reshape(2, 3)
    value, g = gm.compile(f, m)(m)
    expected = np.zeros((2, 3))
    expected[0, 1], expected[1, 2], expected[1, 0] = m[1, 2], m[0, 1], np.cos(m[1, 0])
    np.testing.assert_allclose(g, expected, rtol=1e-15)
    assert value == pytest.approx(f(m))


def test_arrays_used_whole_as_well_are_traced_as_one_input():
    def f(x):
        return x[0] * np.sum(x**2) + x[2]

    x = np.array([1.0, 2.0, 3.0])
    vg = gm.compile(f, x)
    np.testing.assert_allclose(vg(x)[1], gm.grad(f)(x), rtol=1e-15)
    assert ".tolist()" not in vg.source


def test_entry_reads_out_of_bounds_or_by_traced_index_are_errors():
    with pytest.raises(IndexError, match="out of bounds"):
        gm.compile(lambda x: x[5] * 2.0, np.ones(3))
    with pytest.raises(IndexError):
        gm.grad(lambda x: x[5] * 2.0)(np.ones(3))


def test_a_users_except_clause_cannot_swallow_the_retrace():
    def f(x):
        try:
            return x[0] * np.sum(x)
        except Exception:  # noqa: BLE001 - the user's own fallback must not be recorded
            return x[0] * 0.0

    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(gm.compile(f, x)(x)[1], [7.0, 1.0, 1.0])


def test_a_long_scalar_chain_compiles_without_deep_nesting():
    # single-use temporaries were all fused into one expression: 2 000 steps made Python's
    # parser fail with "too many nested parentheses"
    def f(x):
        s = x[0]
        for i in range(1, len(x)):
            s = s * 0.999 + x[i] * x[i]
        return s

    x = np.linspace(-1.0, 1.0, 2000)
    vg = gm.compile(f, x)
    value, grad = vg(x + 0.5)
    ref_value, ref_grad = gm.value_and_grad(f)(x + 0.5)
    assert value == pytest.approx(ref_value, rel=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12)
    direction = np.cos(np.arange(x.size))
    h = 1e-6
    central = (f(x + 0.5 + h * direction) - f(x + 0.5 - h * direction)) / (2 * h)
    assert grad @ direction == pytest.approx(central, rel=1e-6)
    assert _deepest_nesting(vg.source) <= 2 * gm.ad.emit.MAX_INLINE_DEPTH + 10


def _deepest_nesting(source):
    deepest = depth = 0
    for ch in source:
        depth += (ch == "(") - (ch == ")")
        deepest = max(deepest, depth)
    return deepest


@pytest.mark.parametrize("fuse_chain", [True, False])
def test_large_programs_reuse_the_names_of_dead_values(monkeypatch, fuse_chain):
    # CPython slows every call of a function with over 2**16 locals by a second or more;
    # programs above REUSE_NAMES_ABOVE locals give a dead value's name to a new one
    monkeypatch.setattr(gm.ad.emit, "REUSE_NAMES_ABOVE", 10)

    def f(x):
        s = x[0]
        for i in range(1, len(x)):
            s = s * 0.999 + x[i] * x[i] if fuse_chain else np.tanh(s) + np.sin(x[i]) * s
        v = np.stack([x[0], x[1], x[2]])
        return s + gm.logsumexp(np.where(v > 0, v, 2 * v)) + np.max(v * s)

    x = np.linspace(-1.0, 1.0, 300)
    other = np.cos(np.arange(300.0))
    vg = gm.compile(f, x)
    value, grad = vg(other)
    ref_value, ref_grad = gm.value_and_grad(f)(other)
    assert value == pytest.approx(ref_value, rel=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-15)
    names = {w for line in vg.source.splitlines() if " = " in line
             for w in [line.split(" = ")[0].strip()] if w.startswith("w")}  # fmt: skip
    assert len(names) < len(vg.graph) / 4


def test_repeated_operations_are_recorded_once():
    # sin(x) written twice, and t·t's derivative (g·t from each side): one of each
    def f(x):
        return np.sum(np.exp(np.sin(x) * np.sin(x)))

    x = np.linspace(0.1, 2.0, 7)
    vg = gm.compile(f, x)
    assert vg.source.count("np.sin(") == 1
    right_sides = [line.split(" = ", 1)[1] for line in vg.source.splitlines() if " = " in line]
    assert len(right_sides) == len(set(right_sides))
    y = np.cos(np.arange(7.0))
    value, grad = vg(y)
    assert value == pytest.approx(np.sum(np.exp(np.sin(y) ** 2)), rel=1e-14)
    np.testing.assert_allclose(grad, np.exp(np.sin(y) ** 2) * 2 * np.sin(y) * np.cos(y),
                               rtol=1e-14)  # fmt: skip


def test_scalar_functions_are_recorded_once_and_folded_negations_kept():
    # scalar code's sin, exp and negation take their own path: still one node per
    # operation (sin written twice, exp of the same negation twice), and -(c·x) still
    # folds to x·(-c)
    def f(x):
        a, b = x[0], x[1]
        return np.sin(a) * np.sin(a) + np.exp(-b) + np.exp(-b) * np.tanh(-(b * 3.0))

    x = np.array([0.3, -0.7])
    vg = gm.compile(f, x)
    body = vg.source.split("math.sin(", 1)[1]
    assert "math.sin(" not in body and vg.source.count("math.exp(") == 1
    assert "x1_1 * -3.0" in vg.source and vg.source.count("math.tanh(") == 1
    assert "1.0 / math.cosh(" in vg.source  # tanh's derivative, in scalar code
    for y in (np.array([1.1, 0.4]), np.array([-2.0, 1.5])):
        value, grad = vg(y)
        ref_value, ref_grad = gm.value_and_grad(f)(y)
        assert value == pytest.approx(ref_value, rel=1e-14)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-13)
        np.testing.assert_allclose(grad, numerical_jacobian(f, (y,), 0), rtol=1e-7)


def test_scalar_squares_are_correctly_rounded_products_in_their_place():
    # a scalar ``a ** 2`` is written ``a * a``: numpy's square on arrays, the correctly
    # rounded one (Python's float ** is off by one unit for some numbers, as here), in
    # every position where Python's precedence could read the product otherwise
    rng = np.random.default_rng(3)
    xs = [float(v) for v in rng.random(20_000) * 10.0]
    a = next(v for v in xs if v**2 != v * v)
    b = 0.75

    def f(x):
        s = x[0] ** 2
        return 3.0 / x[0] ** 2 + np.exp(-(x[1] ** 2)) + (x[1] ** 2) ** 3 - x[1] ** 2 + s * s

    vg = gm.compile(f, [a, b])
    assert "x1 * x1" in vg.source and "** 2" not in vg.source
    value, grad = vg([a, b])
    sq_a, sq_b = (float(np.square(np.array(v))) for v in (a, b))
    assert value == 3.0 / sq_a + math.exp(-sq_b) + sq_b**3 - sq_b + sq_a * sq_a
    np.testing.assert_allclose(grad, numerical_jacobian(f, (np.array([a, b]),), 0),
                               rtol=1e-8)  # fmt: skip
    # a list of floats takes the quick path, other numbers the general one
    assert vg([a, b])[1] == list(grad)
    np.testing.assert_array_equal(vg([np.float64(a), np.float64(b)])[1], grad)
    assert vg([a, 1])[0] == vg([a, 1.0])[0]
    with pytest.raises(ValueError, match="convert string to float"):
        vg([a, "b"])


def test_broadcast_cotangents_are_summed_before_they_are_negated():
    # d/dm of Σ exp(X − m): the cotangent of the (4, 200, 3) difference is summed over
    # the rows before the minus sign, and sum's one-entry cotangent multiplies nothing
    from gradmix.ad.graph import node_label

    X = np.random.default_rng(0).normal(size=(200, 3))
    m = np.linspace(-1.0, 1.0, 12).reshape(4, 3)

    def f(m):
        return np.sum(np.exp(X[None] - m[:, None, :]))

    vg = gm.compile(f, m)
    small = {node_label(n): np.size(n._value) for n in vg.graph.nodes
             if node_label(n) in ("negative", "*")}  # fmt: skip
    assert small == {"negative": 12}
    value, grad = vg(m + 0.5)
    exact = -np.exp(X[None] - (m + 0.5)[:, None, :]).sum(axis=1)
    np.testing.assert_allclose(grad, exact, rtol=1e-13)
    np.testing.assert_allclose(gm.grad(f)(m + 0.5), exact, rtol=1e-13)
    # float32 data: a float64 one would widen the product, so it stays
    X32 = X.astype(np.float32)
    vg32 = gm.compile(lambda m: np.sum(np.exp(X32[None] - m[:, None, :])), m.astype(np.float32))
    g32 = vg32(m.astype(np.float32))[1]
    np.testing.assert_allclose(g32, gm.grad(lambda m: np.sum(np.exp(X32[None] - m[:, None, :])))(
        m.astype(np.float32)), rtol=1e-6)  # fmt: skip


def test_an_ordering_is_an_operation_of_the_generated_source():
    src = gm.trace(lambda x: np.sum(np.sort(x) ** 2), np.ones(3)).source()
    assert "w2 = np.argsort(x1, axis=-1, kind=None)" in src and "w3 = x1[w2]" in src


@pytest.mark.parametrize(
    "f, error",
    [(lambda x: np.arange(3.0)[np.argmax(x)] * x[0], IndexError),  # numpy's own error
     (lambda x: np.sum(np.arange(3.0)[np.argsort(x)] * x), gm.NotCompilableError)],
    ids=["scalar_index", "array_index"],
)  # fmt: skip
def test_a_plain_array_indexed_by_a_traced_index_points_to_take_along_axis(f, error):
    with pytest.raises(error, match=r"np.take_along_axis\(array, index, axis\)"):
        gm.compile(f, np.ones(3))


def test_auxiliary_outputs_come_from_the_same_program():
    """The gradient as an auxiliary output and the Hessian's row sums as the gradient
    of its sum, compiled once: equal to forward-over-reverse and to differences."""
    P = np.random.default_rng(0).random((60, 2))

    def cost(C):  # k-means: a min over centres, recorded as an operation
        d2 = np.sum(P * P, axis=1)[:, None] - 2.0 * (P @ C.T) + np.sum(C * C, axis=1)[None, :]
        return np.sum(np.min(d2, axis=1))

    def sum_of_gradient(C):
        g = gm.grad(cost)(C)
        return np.sum(g), {"gradient": g, "constant": 2.0}

    both = gm.compile(sum_of_gradient, P[:3].copy(), has_aux=True)
    C = P[10:13] + 0.01  # another point: other nearest centres
    (total, aux), h1 = both(C)
    g, hv = gm.jvp(gm.grad(cost), (C,), (np.ones_like(C),))
    np.testing.assert_allclose(aux["gradient"], g, rtol=1e-12)
    np.testing.assert_allclose(h1, hv, rtol=1e-12)
    assert total == pytest.approx(np.sum(g)) and aux["constant"] == 2.0
    np.testing.assert_allclose(aux["gradient"], gm.divided_difference(cost, C, 1e-6, "central"),
                               rtol=1e-6)  # fmt: skip
    with pytest.raises(TypeError, match="pair"):
        gm.compile(np.sum, np.ones(3), has_aux=True)


def test_negations_and_power_of_two_scalings_move_to_the_smaller_array():
    """-(g)·2 before a product with a (60, 2) matrix becomes the product scaled by -2:
    exactly the same numbers as eager mode, with no pass over the (60, 3) array."""
    P = np.random.default_rng(1).random((60, 2))

    def cost(C):
        d2 = np.sum(P * P, axis=1)[:, None] - 2.0 * (P @ C.T) + np.sum(C * C, axis=1)[None, :]
        return np.sum(np.min(d2, axis=1) ** 2)

    vg = gm.compile(cost, P[:3].copy())
    lines = vg.source.splitlines()
    assert not any(re.search(r"= -w\d+$", line) for line in lines)  # no negation left
    scaled = [k for k, line in enumerate(lines) if line.endswith("* -2.0")]
    assert scaled and all("@" in lines[k - 1] for k in scaled)  # the product, then the scaling
    C = P[20:23] + 0.01
    np.testing.assert_array_equal(vg(C)[1], gm.grad(cost)(C))


def test_programs_over_large_arrays_free_their_dead_values():
    # each dead array's name goes to a new value, so its memory is freed for reuse while
    # still in cache (the arrays here hold 0.4 MB each, RELEASE_ABOVE_BYTES is 1 MiB)
    def f(x):
        y = x
        for _ in range(5):
            y = np.sin(y) * x + y
        return np.sum(y**2)

    x = np.linspace(0.0, 1.0, 50_000)
    vg = gm.compile(f, x)
    names = {line.split(" = ")[0].strip() for line in vg.source.splitlines() if " = " in line}
    assert len(names) < len(vg.graph) / 2
    value, grad = vg(x[::-1].copy())
    ref_value, ref_grad = gm.value_and_grad(f)(x[::-1].copy())
    assert value == pytest.approx(ref_value, rel=1e-13)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-13)
    small = gm.compile(f, x[:10])  # small programs keep one name per value, for reading
    assert len({ln.split(" = ")[0] for ln in small.source.splitlines() if " = " in ln}) == len(
        [ln for ln in small.source.splitlines() if " = " in ln]
    )


def test_a_loop_over_a_large_array_reads_its_entries_as_scalars():
    # 60 000 entries read one by one: traced whole, every read's adjoint was a scatter of
    # the full array (60 000 of 60 000 entries: out of memory); entry by entry, as below
    # 50 000 entries, one unpacking and one packing
    def f(x):
        s = 0.0
        for i in range(len(x)):
            s = s + x[i] * x[i]
        return s

    x = np.linspace(-1.0, 1.0, 60_000)
    vg = gm.compile(f, x)
    assert "= x1.ravel().tolist()" in vg.source and "C[" not in vg.source
    value, grad = vg(2.0 * x)
    assert value == pytest.approx(4.0 * np.sum(x * x), rel=1e-12)
    np.testing.assert_array_equal(grad, 4.0 * x)


def test_a_float32_array_read_by_entries_computes_in_float32():
    # a float64 array's entries are unpacked to Python floats (the same arithmetic); a
    # float32 one's are read from the array, so the program computes what f does
    def f(x):
        s = 0.0
        for i in range(len(x)):
            s = s + x[i] * x[i] / 3.0
        return s

    x = np.linspace(0.0, 1.0, 100, dtype=np.float32)
    vg = gm.compile(f, x)
    assert ".tolist()" not in vg.source
    value, grad = vg(x)
    ref_value, ref_grad = gm.value_and_grad(f)(x)
    assert value.dtype == grad.dtype == np.float32
    assert value == ref_value == f(x)
    np.testing.assert_array_equal(grad, ref_grad)


def test_a_few_entries_of_a_large_array_are_read_alone():
    # the source does not grow with the array: the entries read are taken by their
    # positions (or as a leading slice), the gradient placed among zeros; on numpy
    # scalars too, where a Python float overflows
    def f(x):
        return x[3] * x[17] + np.exp(1000.0 * x[-1])

    def g(x):
        return x[0] * x[1] + x[2]

    x = np.linspace(0.0, 0.5, 1_000_000)
    vf, vg = gm.compile(f, x), gm.compile(g, x)
    assert len(vf.source) < 500 and "x1.ravel()[[3, 17, 999999]]" in vf.source
    assert "x1.ravel()[:3]" in vg.source
    y = x.copy()
    y[[3, 17]] = 2.0, 5.0
    for at_last, exp_last in ((0.25, math.exp(250.0)), (1.0, math.inf)):
        y[-1] = at_last
        with np.errstate(over="ignore"):
            value, grad = vf(y)
        assert value == 10.0 + exp_last
        assert np.flatnonzero(grad).tolist() == [3, 17, 999_999]
        assert grad[[3, 17, 999_999]].tolist() == [5.0, 2.0, 1000.0 * exp_last]
    value, grad = vg(y)
    assert value == y[0] * y[1] + y[2]
    np.testing.assert_array_equal(grad[:4], [y[1], y[0], 1.0, 0.0])
    assert not grad[3:].any()


def test_entries_read_from_a_computed_array_make_one_array_of_their_cotangents():
    # y = exp(x) read entry by entry: the reads' cotangents become one array (and are
    # added to the rest of y's, here from np.sum), not a scatter of zeros of y's size per
    # read (which held 60 000 arrays of 60 000 entries while compiling, and made each
    # call a pass over y per read); y[-1] and y[n - 1] are one entry read twice
    def f(x):
        y = np.exp(x)
        s = np.sum(y)
        for i in range(len(y)):
            s = s * 0.999 + y[i] * y[i]
        return s + y[-1] * y[len(y) - 1]

    n = 1000
    x = np.linspace(-1.0, 1.0, n)
    vg = gm.compile(f, x)
    assert "idx=" not in vg.source and "] += " not in vg.source
    value, grad = vg(x[::-1].copy())
    ref_value, ref_grad = gm.value_and_grad(f)(x[::-1].copy())
    assert value == pytest.approx(ref_value, rel=1e-14)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-14)
    y = np.exp(x[::-1])
    weights = 0.999 ** np.arange(n)[::-1]  # y_i's square is scaled once per later step
    expected = y * (0.999**n + 2.0 * weights * y)
    expected[-1] += 2.0 * y[-1] ** 2
    np.testing.assert_allclose(grad, expected, rtol=1e-12)

    def g(X):  # entries of a matrix, by (row, column)
        Z = np.exp(X)
        return sum(Z[i, j] ** 3 for i in range(Z.shape[0]) for j in range(Z.shape[1]))

    X = np.linspace(-1.0, 1.0, 12).reshape(3, 4)
    value, grad = gm.compile(g, X)(X)
    np.testing.assert_allclose(grad, 3.0 * np.exp(3.0 * X), rtol=1e-14)

    def h(x):  # windows of a computed array, and its rows
        y = np.sin(x)
        s = 0.0
        for i in range(len(y) - 2):
            s = s + np.sum(y[i : i + 3] ** 2) * 0.5
        Y = np.reshape(y, (-1, 4))
        return s + sum(np.sum(Y[i] * Y[i]) for i in range(Y.shape[0]))

    x = np.linspace(-1.0, 1.0, 400)
    ref_value, ref_grad = gm.value_and_grad(h)(x[::-1].copy())
    count = np.convolve(np.ones(len(x) - 2), np.ones(3))  # windows holding each entry
    y = np.sin(x[::-1])
    # few entries in all: a scatter per slice, added in place; else one adds_at
    for most, made in ((2**23, "] += "), (0, "places=")):
        with mock.patch.object(gm.ad.rules.shape, "FULL_SIZE_SCATTERS_AT_MOST", most):
            vh = gm.compile(h, x)
        assert made in vh.source and vh.source.count("idx=") == (made == "] += ")
        value, grad = vh(x[::-1].copy())
        assert value == pytest.approx(ref_value, rel=1e-14)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-13)
        np.testing.assert_allclose(grad, (count + 2.0) * y * np.cos(x[::-1]), rtol=1e-12)


def test_a_gradient_over_reads_inside_a_compiled_function_is_differentiated():
    # the inner gradient's cotangents of y's entries and windows are one entries and one
    # adds_at node of the program, which the outer sweep then differentiates
    def f(x):
        y = np.sin(x)
        s = sum(y[i] ** 3 for i in range(len(y)))
        return s + sum(np.sum(y[i : i + 2] ** 2) * x[0] for i in range(len(y) - 1))

    def outer(x):
        g = gm.grad(f)(x)
        return np.sum(g * g)

    x = np.linspace(-1.0, 1.0, 30)
    for most in (2**23, 0):
        with mock.patch.object(gm.ad.rules.shape, "FULL_SIZE_SCATTERS_AT_MOST", most):
            vo = gm.compile(outer, x)
        assert "places=" in vo.source if most == 0 else "places=" not in vo.source
        value, grad = vo(x[::-1].copy())
        ref_value, ref_grad = gm.value_and_grad(outer)(x[::-1].copy())
        assert value == pytest.approx(ref_value, rel=1e-13)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-12)
        np.testing.assert_allclose(grad, numerical_jacobian(outer, (x[::-1].copy(),), 0),
                                   rtol=1e-6)  # fmt: skip


def test_large_programs_with_orderings_free_only_dead_values():
    """Gathers by recorded indices in a program that frees dead arrays: the same value
    and gradient as eager mode at another point (a gather's emission once freed the
    names dead after statement 1 a second time, so two live values shared a name)."""
    rng = np.random.default_rng(5)
    A = rng.normal(size=(3, 30_000))

    def f(beta):
        v = (beta * 2.0) @ A  # statements 0 and 1: the doubled beta is dead after 1
        M = np.outer(np.sin(v), beta) + np.cos(A.T)  # (30 000, 3)
        best = np.argmax(M, axis=1)
        picked = M[np.arange(30_000), best]  # a gather at index position 1
        return np.sum(picked**2) + np.sum(np.sort(M[:, 0])[-100:])

    vg = gm.compile(f, np.array([0.3, -0.2, 0.1]))
    beta = np.array([0.9, -1.8, 0.7])
    value, grad = vg(beta)
    ref_value, ref_grad = gm.value_and_grad(f)(beta)
    assert value == pytest.approx(ref_value, rel=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-11)
    np.testing.assert_allclose(grad, gm.divided_difference(f, beta, 1e-6, "central"), rtol=1e-5)


def test_sums_and_scalings_move_before_products():
    """A mixture-like quadratic form: the means' cotangent summed over the points is
    summed before its product with the precision factor, x + x is one scaling, and
    scalings by 2 move past sums and products: the only full-size product left is the
    forward one.  Equal to eager mode and to central differences."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 3))

    def f(mu, Q):
        r = (X - mu[:, None, :]) @ Q  # (K, n, d)
        return np.sum(r * r)

    mu, Q = rng.normal(size=(4, 3)), rng.normal(size=(4, 3, 3))
    vg = gm.compile(f, mu, Q)
    full = [n for n in vg.graph.nodes if n.prim is gm.ad.rules.linalg.matmul_p
            and np.size(n._value) == 4 * 400 * 3]  # fmt: skip
    assert len(full) == 1
    assert not any(" + " in ln and ln.split(" = ")[1].split(" + ")[0] == ln.split(" + ")[1]
                   for ln in vg.source.splitlines() if " = " in ln)  # no x + x left  # fmt: skip
    mu2, Q2 = mu + 0.3, Q * 1.1
    value, (g_mu, g_Q) = vg(mu2, Q2)
    ref_value, (r_mu, r_Q) = gm.value_and_grad(f, argnums=(0, 1))(mu2, Q2)
    assert value == pytest.approx(ref_value, rel=1e-14)
    np.testing.assert_allclose(g_mu, r_mu, rtol=1e-12)
    np.testing.assert_allclose(g_Q, r_Q, rtol=1e-12)
    np.testing.assert_allclose(g_mu, gm.divided_difference(lambda m: f(m, Q2), mu2, 1e-6,
                                                           "central"), rtol=1e-6)  # fmt: skip


def test_log_sum_exp_programs_sum_once_and_add_tie_shares_in_place():
    """A log-sum-exp over 3·10⁵ entries whose maximum ties at three of them: the
    derivative's sum of the softmax is the forward sum scaled (one pass over memory
    fewer), and the tie share of the maximum is added into the softmax's memory with
    ``where=`` (no full-size product).  The gradient is the softmax, the closed form, and
    a maximum's derivative is spread evenly over its ties."""

    def lse(x):
        a = np.max(x)
        return a + np.log(np.sum(np.exp(x - a)))

    rng = np.random.default_rng(4)
    x = rng.uniform(-30.0, 0.0, 300_000)
    x[[7, 1000, 299_999]] = 0.0  # three ties at the maximum
    vg = gm.compile(lse, x)
    full_sums = [n for n in vg.graph.nodes if n.prim is gm.ad.rules.reductions.sum_p
                 and np.size(n.args[0]._value) == x.size]  # fmt: skip
    assert len(full_sums) == 1 and "where=" in vg.source
    value, grad = vg(x)
    e = np.exp(x - x.max())
    assert value == pytest.approx(np.log(np.sum(e)), rel=1e-13)
    np.testing.assert_allclose(grad, e / np.sum(e), rtol=1e-12, atol=1e-20)

    def peak(x):
        return 3.0 * np.max(x) + np.sum(x**2)

    vg = gm.compile(peak, x)
    assert "where=" in vg.source
    expected = 2.0 * x
    expected[[7, 1000, 299_999]] += 1.0  # 3 / 3 ties
    np.testing.assert_allclose(vg(x)[1], expected, rtol=1e-15)
    y = x.copy()
    y[1000] = 0.5  # another point: one maximum
    expected = 2.0 * y
    expected[1000] += 3.0
    np.testing.assert_allclose(vg(y)[1], expected, rtol=1e-15)


@pytest.mark.parametrize("axes", [0, 1, (0, 1), -1])
@pytest.mark.parametrize("c_shape", [(), (1,), (3,), (4, 1), (1, 3), (4, 3), (1, 1, 3)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_sums_of_scaled_values_reuse_the_programs_own_sums(axes, c_shape, keepdims):
    """Σ c·x where the program already sums x: c·Σ x where c is constant along the
    summed axes, Σ c·x otherwise, each equal to eager mode and to central differences."""
    c = np.linspace(0.5, 1.5, math.prod(c_shape)).reshape(c_shape)

    def f(x):
        e = np.exp(x)
        first = np.sum(e, axis=axes, keepdims=True)
        second = np.sum(c * e, axis=axes, keepdims=keepdims)
        return np.sum(np.sin(first)) + np.sum(second**2)

    x = np.random.default_rng(8).normal(size=(4, 3))
    vg = gm.compile(f, x)
    y = x[::-1].copy() * 0.7
    value, grad = vg(y)
    ref_value, ref_grad = gm.value_and_grad(f)(y)
    assert value == pytest.approx(ref_value, rel=1e-13)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12)
    np.testing.assert_allclose(grad, gm.divided_difference(f, y, 1e-6, "central"), rtol=1e-6)
    exp_p = gm.ad.dispatch.numpy_rule(np.exp)
    reshape_p, linalg = gm.ad.rules.shape.reshape_p, gm.ad.rules.linalg

    def reads_exp(n):
        return any(getattr(a, "prim", None) in (exp_p, reshape_p) and
                   (a.prim is exp_p or a.args[0].prim is exp_p) for a in n.args)  # fmt: skip

    # Σ c·e: a sum of the product, or over every axis an inner product (c @ e, einsum)
    sums_of_products = [
        n for n in vg.graph.nodes if n.prim is gm.ad.rules.reductions.sum_p
        and reads_exp(n.args[0]) or n.prim in (linalg.matmul_p, linalg.einsum_p) and reads_exp(n)
    ]  # fmt: skip
    along = {a % 2 for a in np.atleast_1d(axes)}
    constant_along = len(c_shape) <= 2 and all(
        n == 1 for i, n in enumerate(c_shape[::-1]) if 1 - i in along
    )
    assert len(sums_of_products) == (0 if constant_along else 1)


@pytest.mark.parametrize("threshold", [0, None])
def test_an_infinite_cotangent_leaves_the_entries_off_the_maximum_alone(threshold):
    """exp(800·max x) overflows: its cotangent is inf.  The entries off the maximum
    have derivative 2x all the same (the maximum's share is selected onto its entries,
    not multiplied by a mask: 0 · inf is NaN), in eager mode and compiled, with the
    share added into the other cotangent in place (threshold 0) or not."""

    def f(x):
        return np.sum(np.exp(800.0 * np.max(x, axis=0, keepdims=True))) + np.sum(x**2)

    x = np.array([0.1, 1.0, 0.3, 0.7])
    expected = np.array([0.2, np.inf, 0.6, 1.4])
    sizes = {"RELEASE_ABOVE_BYTES": threshold, "WRITE_INTO_BYTES": threshold}
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(gm.grad(f)(x), expected)
        with mock.patch.multiple(gm.ad.emit, **sizes) if threshold == 0 else nullcontext():
            vg = gm.compile(f, x)
        assert ("where=" in vg.source) == (threshold == 0)
        np.testing.assert_array_equal(vg(x)[1], expected)
        tangent = np.array([np.inf, 1.5, -np.inf, 0.0])  # infinite off the maximum only
        assert gm.jvp(lambda v: np.max(v), (x,), (tangent,))[1] == 1.5


def test_row_log_sum_exps_add_tie_shares_per_row():
    """Row-wise log-sum-exp of a (50 000, 6) matrix, ties in some rows: the tie share is
    a column broadcast under ``where=``; the gradient is eager mode's and the softmax."""

    def f(M):
        a = np.max(M, axis=1, keepdims=True)
        return np.sum(a[:, 0] ** 2 + np.log(np.sum(np.exp(M - a), axis=1)))

    rng = np.random.default_rng(6)
    M = rng.normal(size=(50_000, 6))
    M[::7, 2] = M[::7, 4] = 5.0  # ties in every seventh row
    vg = gm.compile(f, M)
    assert "where=" in vg.source
    value, grad = vg(M)
    ref_value, ref_grad = gm.value_and_grad(f)(M)
    assert value == pytest.approx(ref_value, rel=1e-13)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-15)
    a = M.max(axis=1, keepdims=True)
    e = np.exp(M - a)
    ties = M == a
    # d/da of a² + log Σ exp(M - a) is 2a - 1, shared by the ties
    expected = e / e.sum(axis=1, keepdims=True) + ties * (2.0 * a - 1.0) / ties.sum(
        axis=1, keepdims=True
    )
    np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-15)


def test_compiled_tie_counts_are_not_fooled_by_a_nan_row_beside_a_tie():
    """A compiled minimum counts its ties per row only when the mask's total says some
    row ties.  A NaN row (no entry equals its NaN minimum) beside a row with two ties
    makes that total the number of rows: the counts are taken all the same, so the tied
    row shares its derivative in halves, as in eager mode and as the closed form says."""
    w = np.array([1.0, 10.0, 100.0])

    def f(x):
        return w @ np.min(x, axis=1)

    vg = gm.compile(f, np.array([[2.0, 1.0, 3.0], [4.0, 3.0, 0.5], [1.0, 2.0, 3.0]]))
    x = np.array([[2.0, np.nan, 3.0], [0.5, 3.0, 0.5], [1.0, 2.0, 3.0]])
    value, grad = vg(x)
    assert np.isnan(value)
    np.testing.assert_array_equal(grad[1:], [[5.0, 0.0, 5.0], [100.0, 0.0, 0.0]])
    np.testing.assert_array_equal(grad, gm.grad(f)(x))
    # and without the NaN, one tie: the other rows count one entry each
    x[0, 1] = 1.0
    np.testing.assert_array_equal(vg(x)[1], [[0.0, 1.0, 0.0], [5.0, 0.0, 5.0], [100.0, 0, 0]])


def test_compiled_programs_call_numpys_reductions_and_methods_the_listing_keeps_np_sum():
    """A compiled program sums by ``np.add.reduce`` and reshapes and transposes arrays by
    their methods (numpy's functions are Python wrappers of these: a few µs a call); the
    readable listing of ``gm.trace`` keeps ``np.sum``, ``np.reshape``, ``np.transpose``.
    The gradient is eager mode's and the closed form's, the rows' softmax."""

    def f(x):
        y = np.reshape(x, (40, 30)).T
        return np.sum(np.log(np.sum(np.exp(y), axis=0)))

    x = np.linspace(0.5, 2.0, 1200)
    listing = gm.trace(f, x).source()
    assert "np.sum(" in listing and "np.reshape(" in listing and "np.transpose(" in listing
    vg = gm.compile(f, x)
    value, grad = vg(x)
    src = vg.source
    assert "np.add.reduce(" in src and "np.sum(" not in src
    assert "x1.reshape((40, 30))" in src and ".transpose((1, 0))" in src
    assert "np.reshape(" not in src and "np.transpose(" not in src
    ref_value, ref_grad = gm.value_and_grad(f)(x)  # (its sums in another order: rounding)
    assert value == pytest.approx(ref_value, rel=1e-14)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-14)
    e = np.exp(x.reshape(40, 30))  # the softmax of each row of 30
    np.testing.assert_allclose(grad, (e / e.sum(axis=1, keepdims=True)).ravel(), rtol=1e-14)


def test_scalar_code_doubles_and_joins_scalings():
    """x·x's derivative, g·x + x·g, is one scaling of x in scalar code: x + x is x·2,
    which joins the constant g (exact), so the gradient is one line of products, bit
    for bit eager mode's."""

    def chain(x):
        s = 0.0
        for i in range(len(x)):
            s = s * 0.999 + x[i] * x[i]
        return s

    x = np.linspace(-1.0, 2.0, 200)
    vg = gm.compile(chain, x)
    assert len(vg.source.splitlines()) < 20 and "x1_199 * 2.0]" in vg.source
    y = x[::-1] * 1.3
    value, grad = vg(y)
    ref_value, ref_grad = gm.value_and_grad(chain)(y)
    assert value == ref_value
    np.testing.assert_array_equal(grad, ref_grad)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_scalings_by_constants_join_where_that_is_exact(dtype):
    """(x·3)·4 is x·12 (exact: 4 is a power of two): in float64 the same numbers as
    eager mode bit for bit; (x·3)·5 keeps both scalings (3·5 may round).  (In float32
    the compiled gradient is eager mode's to rounding: a reduction's cotangent is a
    float64 constant of the program there, and the gradient is cast at the end.)"""

    def joined(x):
        return np.sum(np.cos((np.sin(x) * 3.0) * 4.0))

    def kept(x):
        return np.sum(np.cos((np.sin(x) * 3.0) * 5.0))

    x = np.linspace(-2.0, 2.0, 50).astype(dtype)
    for f, forward in ((joined, ["* 12.0"]), (kept, ["* 3.0", "* 5.0"])):
        vg = gm.compile(f, x)
        found = re.findall(r"\* \d+\.0\b", vg.source)
        assert found[: len(forward)] == forward and "* 4.0" not in found
        y = x[::-1] * dtype(0.9)
        value, grad = vg(y)
        ref_value, ref_grad = gm.value_and_grad(f)(y)
        assert value == ref_value and grad.dtype == dtype
        if dtype is np.float64:
            np.testing.assert_array_equal(grad, ref_grad)
        else:
            np.testing.assert_allclose(grad, ref_grad, rtol=1e-6, atol=1e-6)


def test_programs_over_large_arrays_write_into_dead_arrays():
    """Rosenbrock on 2·10⁵ entries: results go into the memory of dead arrays
    (``out=``), the adjoint's scatter of ``x[:-1]`` is added into the other's
    (``w[idx] += g``), and that other, ``200·(b - a²)``, is computed straight into its
    scatter's array (``placed_result``): no array of its own, no copy. The gradient
    is the closed form's, the input is never written, and a second call gives the
    same numbers."""
    x = np.random.default_rng(3).uniform(0.5, 1.5, 200_000)
    vg = gm.compile(rosen, x)
    assert "out=" in vg.source and re.search(r"w\d+\[C\[\d+\]\] \+= w\d+", vg.source)
    assert re.search(r"= C\[\d+\]\(\(200000,\), C\[\d+\], C\[\d+\], np.multiply, ", vg.source)
    a, b = x[:-1], x[1:]
    expected = np.zeros_like(x)
    expected[1:] = 200.0 * (b - a**2)
    expected[:-1] += -400.0 * a * (b - a**2) - 2.0 * (1 - a)
    given = x.copy()
    value, grad = vg(given)
    np.testing.assert_array_equal(given, x)
    assert value == pytest.approx(rosen(x), rel=1e-13)
    np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(vg(x)[1], grad)


def test_every_call_returns_gradients_of_its_own():
    """A gradient that is a constant of the program (``x * y`` with ``y`` fixed), the
    input itself (Σ x²/2) or a view of it, or one array in two places (``x + y``),
    changed in place by the caller, leaves the next call's gradients, the input and
    the other gradient as they were."""
    y = np.arange(3.0)
    vg = gm.compile(lambda x: np.sum(x * y), np.ones(3))
    first = vg(np.ones(3))[1]
    first += 100.0
    np.testing.assert_array_equal(vg(np.ones(3))[1], y)

    x = np.array([1.0, -2.0, 3.0])
    for f in (lambda v: np.sum(v**2) / 2, lambda v: np.sum(v.reshape(3, 1) ** 2) / 2):
        for grad in (gm.compile(f, x)(x)[1], gm.grad(f)(x)):
            np.testing.assert_array_equal(grad, x)
            grad *= 10.0
            np.testing.assert_array_equal(x, [1.0, -2.0, 3.0])

    def f(a, b):
        return np.sum(np.sin(a + b))

    a, b = np.ones(3), np.full(3, 0.5)
    for vg2 in (gm.compile(f, a, b), gm.value_and_grad(f, argnums=(0, 1))):
        ga, gb = vg2(a, b)[1]
        ga += 100.0
        np.testing.assert_allclose(gb, np.cos(a + b), rtol=1e-15)


def test_float32_arguments_get_float32_gradients():
    """As in eager mode: a float32 argument's compiled gradient is float32 (the seed and
    a maximum's tie count are float64 and int, and made it float64), and equal to eager
    mode's to float32's precision, ties shared evenly."""
    x = np.array([1.0, 3.0, 3.0, 2.0], dtype=np.float32)
    for f in (lambda v: np.max(v), lambda v: np.sum(np.exp(v - np.max(v))),
              lambda v: np.sum(v**2) + np.min(v)):  # fmt: skip
        value, grad = gm.compile(f, x)(x)
        ref_value, ref_grad = gm.value_and_grad(f)(x)
        assert grad.dtype == ref_grad.dtype == np.float32
        assert value == pytest.approx(ref_value, rel=1e-6)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(gm.compile(np.max, x)(x)[1], [0.0, 0.5, 0.5, 0.0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sums_over_a_short_last_axis_are_products_with_ones(dtype):
    """Sums over the last axis, or the one before it, of arrays whose last axis is short
    run as products with ones (numpy's reduction loops over the short axis): the
    value and gradient are eager mode's to rounding, in the argument's dtype, with
    keepdims or without."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(400, 3)).astype(dtype)

    def f(means):
        d = X[None, :, :] - means[:, None, :]  # (K, n, 3)
        r = np.sum(d * d, axis=2)  # over the last axis
        s = np.sum(np.sin(d), axis=1, keepdims=True)  # over the one before it
        t = np.sum(np.cos(d), axis=2, keepdims=True)
        return np.sum(np.log1p(r)) + np.sum(s**2) + np.sum(t * d) + np.sum(np.sum(d, axis=1))

    means = rng.normal(size=(5, 3)).astype(dtype)
    vg = gm.compile(f, means)
    products = [ln for ln in vg.source.splitlines() if re.search(r"@ C\[\d+\]\)|\(C\[\d+\] @", ln)]
    assert len(products) >= 4
    value, grad = vg(means)
    ref_value, ref_grad = gm.value_and_grad(f)(means)
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    assert value == pytest.approx(ref_value, rel=rtol)
    assert grad.dtype == dtype
    np.testing.assert_allclose(grad, ref_grad, rtol=rtol, atol=rtol * np.max(np.abs(ref_grad)))


# arithmetic of scalar code as trees: ("x", i), ("c", value), ("neg", t), ("pow", t, n), (op, a, b)
_LEAVES = st.one_of(
    st.tuples(st.just("x"), st.integers(0, 3)),
    st.tuples(st.just("c"), st.sampled_from([0.1, -0.3, 2.0, -1.7, 3.0, 0.999, -2.0])),
)


def _extend(children):
    return st.one_of(
        st.tuples(st.just("neg"), children),
        st.tuples(st.just("pow"), children, st.sampled_from([2, 3])),
        st.tuples(st.sampled_from(["+", "-", "*", "/"]), children, children),
    )


def _evaluate(tree, x, squares_as_products=False):
    """The tree's value at ``x``; with ``squares_as_products``, a ** 2 as a * a, the
    correctly rounded square that compiled scalar code writes (a square's base is always
    named there: the derivative reads it too), where Python's float ** 2 is a unit in the
    last place off for about one number in a thousand (0.8221141156319245)."""
    kind = tree[0]
    if kind == "x":
        return x[tree[1]]
    if kind == "c":
        return tree[1]
    if kind == "neg":
        return -_evaluate(tree[1], x, squares_as_products)
    if kind == "pow":
        base = _evaluate(tree[1], x, squares_as_products)
        return base * base if squares_as_products and tree[2] == 2 else base ** tree[2]
    a, b = _evaluate(tree[1], x, squares_as_products), _evaluate(tree[2], x, squares_as_products)
    if kind == "+":
        return a + b
    if kind == "-":
        return a - b
    return a * b if kind == "*" else a / b


@settings(max_examples=300)
@given(st.recursive(_LEAVES, _extend, max_leaves=40),
       st.lists(st.floats(-3.0, 3.0), min_size=4, max_size=4))  # fmt: skip
@example(("pow", ("x", 0), 2), [0.8221141156319245, 0.0, 0.0, 0.0])  # (Python's ** 2 is off)
def test_compiled_scalar_arithmetic_keeps_pythons_order_of_operations(tree, entries):
    """The generated code writes parentheses only where Python's precedence needs them
    (a - (b - c), (a + b) * c, (-a) ** 2, (a ** 2) ** 3): the compiled value is the same
    number, bit for bit, as the function's own on Python floats, whose sums and products
    are not associative, with squares correctly rounded (a * a)."""
    with np.errstate(all="ignore"):
        try:
            expected = _evaluate(tree, entries, squares_as_products=True)
        except (ZeroDivisionError, OverflowError):
            expected = math.inf
        assume(isinstance(expected, float) and math.isfinite(expected) and abs(expected) < 1e100)
        x = np.array(entries)
        value, grad = gm.compile(lambda v: _evaluate(tree, v) * 1.0)(x)
        eager = gm.grad(lambda v: _evaluate(tree, v) * 1.0)(x)
    assert value == expected
    # (the derivative's own operations may come in another order than eager mode's: equal
    # to rounding, at the scale of the largest entry, where sums cancel)
    np.testing.assert_allclose(grad, eager, rtol=1e-9, atol=1e-9 * (1 + np.max(np.abs(eager))))


def test_float64_sums_over_long_axes_are_products_or_einsum():
    """Float64 sums over a longer last axis are one product of the rows with ones (the
    stack's rows reshaped, when laid out in order), over the axis before it a product
    for a matrix and numpy's einsum for a stack: eager mode's value and gradient to
    rounding, with keepdims or without.  (Sums of products are inner products:
    tests/ad/test_inner_products.py.)"""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 40))

    def f(means):
        d = X[None, :, :] - means[:, None, :]  # (K, n, 40), in order
        r = np.sum(np.abs(d), axis=2)  # a stack's last axis
        t = np.sum(np.cos(d), axis=2, keepdims=True)
        s = np.sum(np.sin(d), axis=1, keepdims=True)  # a stack's axis before the last
        u = np.sum(np.exp(np.swapaxes(d, 1, 2)), axis=2)  # the last axis of a transposed view
        m = np.sum(np.exp(means), axis=1)  # a matrix's last axis
        c = np.sum(np.tanh(means), axis=0)  # a matrix's first axis
        return (np.sum(np.log1p(r)) + np.sum(s**2) + np.sum(t * d) + np.sum(np.sum(d, axis=1))
                + np.sum(np.sqrt(u)) + np.sum(m**2) + np.sum(c**3))  # fmt: skip

    means = rng.normal(size=(6, 40))
    vg = gm.compile(f, means)
    assert "np.reshape(" in vg.source and "np.einsum('...ij->...j'" in vg.source
    assert len(re.findall(r"@ C\[\d+\]\)|\(C\[\d+\] @", vg.source)) >= 4
    value, grad = vg(means)
    ref_value, ref_grad = gm.value_and_grad(f)(means)
    assert value == pytest.approx(ref_value, rel=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-11, atol=1e-11 * np.max(np.abs(ref_grad)))


def test_a_value_passed_on_in_its_own_name_writes_no_statement():
    """The maximum's derivative reads it through stop_gradient: where that value keeps
    its name, the program writes no ``w2 = w2``."""

    def f(z):
        a = np.max(z, axis=0, keepdims=True)
        return np.sum(a[0] + np.log(np.sum(np.exp(z - a), axis=0)))

    z = np.random.default_rng(0).normal(size=(1000, 300))
    vg = gm.compile(f, z)
    assert not re.findall(r"^\s+(\w+) = \1$", vg.source, re.M)
    value, grad = vg(z)
    ref_value, ref_grad = gm.value_and_grad(f)(z)
    assert value == pytest.approx(ref_value, rel=1e-13)
    # (at each column's maximum the gradient adds 1 - Σ softmax, a rounding residue that
    # the program's sums, in BLAS's order, leave different from eager mode's)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-13, atol=1e-14)
