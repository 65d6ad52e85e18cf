"""Every way a derivative could be silently lost raises a clear error instead."""

import math

import numpy as np
import pytest

import gradmix as gm

X = np.array([1.0, 2.0, 3.0])


def test_function_without_rule_is_named():
    with pytest.raises(gm.NoDerivativeRuleError, match=r"numpy\.histogram2d.*gm\.primitive"):
        gm.grad(lambda x: np.sum(np.histogram2d(x, x)[1]))(X)
    with pytest.raises(gm.NoDerivativeRuleError, match=r"numpy\.histogramdd"):
        gm.grad(lambda x: np.sum(np.histogramdd(x)[1][0]))(X)
    with pytest.raises(gm.NoDerivativeRuleError, match=r"numpy\.gcd"):
        gm.jacfwd(lambda x: np.gcd(x, x))(X)


def test_float_and_math_functions():
    with pytest.raises(gm.TracerConversionError, match="float"):
        gm.grad(lambda x: float(x[0]))(X)
    with pytest.raises(gm.TracerConversionError, match="math"):
        gm.grad(lambda x: math.sin(x[0]))(X)
    with pytest.raises(gm.TracerConversionError):
        gm.derivative(lambda x: math.exp(x))(1.0)
    with pytest.raises(gm.TracerConversionError):
        gm.grad(lambda x: x[0].item())(X)


def test_storing_into_a_numpy_array():
    def f(x):
        out = np.zeros(3)
        out[0] = x[0]
        return np.sum(out)

    with pytest.raises(gm.TracerConversionError, match="numpy array"):
        gm.grad(f)(X)

    def g(x):
        out = np.zeros(3)
        out[:] = x
        return np.sum(out)

    with pytest.raises(gm.TracerConversionError):
        gm.grad(g)(X)
    with pytest.raises(gm.TracerConversionError):
        gm.grad(lambda x: np.sum(np.asarray([x[0], x[1]], dtype=float)))(X)


def test_r_and_c_index_tricks_name_the_functions_that_join_traced_arrays():
    # np.r_ and np.c_ pass every piece through np.array: the general message named
    # np.asarray and scipy, not what the user wrote
    for join in (lambda x: np.r_[x, 1.0], lambda x: np.c_[np.ones(len(x)), x]):
        with pytest.raises(gm.TracerConversionError, match=r"np.r_ and np.c_ .*np.column_stack"):
            gm.grad(lambda x, join=join: np.sum(join(x)))(X)
    # what the message offers: the gradient of Σ 1 + x², 2x
    joined = lambda x: np.sum(np.column_stack([np.ones(len(x)), x]) ** 2)  # noqa: E731
    np.testing.assert_allclose(gm.grad(joined)(X), 2 * X, rtol=1e-12)


def test_in_place_writes_into_traced_arrays():
    def f(x):
        x[0] = 0.0
        return np.sum(x)

    with pytest.raises(gm.TracerConversionError, match="in-place"):
        gm.grad(f)(X)
    with pytest.raises(gm.TracerConversionError, match=r"numpy\.exp\(\.\.\., out=\.\.\.\)"):
        gm.grad(lambda x: np.sum(np.exp(x, out=np.empty(3))))(X)
    with pytest.raises(gm.TracerConversionError, match=r"numpy\.cumsum\(\.\.\., out=\.\.\.\)"):
        gm.grad(lambda x: np.sum(np.cumsum(x, out=np.empty(3))))(X)
    with pytest.raises(gm.TracerConversionError, match="in place"):
        gm.grad(lambda x: x.sort())(X)


def test_grad_of_non_scalar_output():
    with pytest.raises(TypeError, match=r"scalar output.*shape \(3,\)"):
        gm.grad(np.sin)(X)


def test_singular_vectors_that_are_not_unique_are_refused():
    with pytest.raises(gm.NoDerivativeRuleError, match="not unique"):
        gm.grad(lambda x: np.sum(np.linalg.svd(x.reshape(3, 1))[0]))(X)
    with pytest.raises(gm.NoDerivativeRuleError, match="not unique"):
        gm.grad(lambda x: np.sum(np.linalg.qr(x.reshape(3, 1), mode="complete")[0]))(X)
    with pytest.raises(gm.NoDerivativeRuleError, match="hermitian"):
        gm.grad(lambda x: np.sum(np.linalg.svd(np.outer(x, x), hermitian=True)[0]))(X)


@pytest.mark.parametrize("x", [[1e-200, 1e-200, 1e200], [1e200, 1e200, 1e-200], [3.0, 1e-310]])
def test_cumprod_where_a_running_product_is_not_normal_is_refused(x):
    # ∂/∂x₀ of the last running product at [1e-200, 1e-200, 1e200] is 1, where dividing
    # the product (underflowed to 0) by x₀ gives 0
    for transform in (gm.grad, gm.jacfwd):
        with np.errstate(over="ignore"), pytest.raises(ValueError, match="underflows"):
            transform(lambda x: np.cumprod(x)[-1])(np.array(x))


def test_custom_primitive_without_rule():
    f = gm.primitive(lambda x: x * 2)
    with pytest.raises(gm.NoDerivativeRuleError, match="defvjp"):
        gm.grad(lambda x: np.sum(f(x)))(X)
    with pytest.raises(gm.NoDerivativeRuleError, match="defjvp"):
        gm.jacfwd(f)(X)


def test_bad_transform_arguments():
    with pytest.raises(TypeError, match="tuples"):
        gm.jvp(np.sin, 1.0, 1.0)
    with pytest.raises(ValueError, match="does not match"):
        gm.jvp(np.sin, (np.ones(3),), (np.ones(2),))
    with pytest.raises(ValueError, match="order"):
        gm.derivative(np.sin, -1)
    with pytest.raises(TypeError, match="pair"):
        gm.grad(lambda x: x, has_aux=True)(1.0)
    _, pullback = gm.vjp(np.sin, X)
    with pytest.raises(ValueError, match="cotangent shape"):
        pullback(np.ones(2))
    with pytest.raises(ValueError, match="scheme"):
        gm.divided_difference(np.sin, 1.0, 0.1, "backward")


def test_pad_modes_without_a_rule_are_named():
    with pytest.raises(gm.NoDerivativeRuleError, match="numpy.pad with mode='linear_ramp'"):
        gm.grad(lambda x: np.sum(np.pad(x, 2, mode="linear_ramp")))(X)


@pytest.mark.parametrize("x", [1.5, np.ones(2)], ids=["scalar", "array"])
@pytest.mark.parametrize("transform", ["grad", "jacfwd", "hessian", "taylor", "compile"])
def test_scipy_python_functions_on_traced_values_point_to_gradmix_scipy(transform, x):
    import scipy.special

    def f(v):
        return np.sum(scipy.special.polygamma(1, v))

    call = {"grad": lambda: gm.grad(f)(x), "jacfwd": lambda: gm.jacfwd(f)(x),
            "hessian": lambda: gm.hessian(f)(x), "taylor": lambda: gm.taylor(f, 1.5, 3),
            "compile": lambda: gm.compile(f, x)}[transform]  # fmt: skip
    with pytest.raises(gm.TracerConversionError, match="polygamma.*gradmix.scipy"):
        call()
    # the differentiable version: trigamma's derivative is tetragamma
    import gradmix.scipy.special as gsc

    assert gm.grad(lambda v: gsc.polygamma(1, v))(1.5) == pytest.approx(
        float(scipy.special.polygamma(2, 1.5)), rel=1e-12
    )
