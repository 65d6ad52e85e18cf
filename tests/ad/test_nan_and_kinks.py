"""NaN entries that NaN-skipping reductions drop get zero derivative, through the
operations that made them; the norms take the subgradient 0 at the origin."""

import numpy as np
import pytest

import gradmix as gm

DATA = np.array([[1.0, 2.0], [np.nan, 1.0], [3.0, 0.5], [0.25, np.nan]])
W = np.array([1.5, -0.5])
H = 1e-6

FUNCTIONS = {
    "nansum of a product": lambda w: np.nansum(DATA * w),
    "nanmean of squares": lambda w: np.nanmean((DATA - w) ** 2),
    "nansum of logs": lambda w: np.nansum(np.log(DATA * w**2)),
    "nanmean along an axis": lambda w: np.sum(np.nanmean(np.exp(DATA * w), axis=0) ** 2),
    "nanvar": lambda w: np.nanvar(DATA * w),
    "nanstd along an axis": lambda w: np.sum(np.nanstd(DATA + w, axis=1)),
    "nanmax": lambda w: np.nanmax(DATA * w),
    "fmax": lambda w: np.sum(np.fmax(DATA * w, 0.7)),
    "where on isnan": lambda w: np.sum(np.where(np.isnan(DATA), 0.0, np.sin(DATA * w))),
}


def central_difference(f, w):
    return np.array([(f(w + H * e) - f(w - H * e)) / (2 * H) for e in np.eye(len(w))])


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_dropped_nan_entries_have_zero_derivative(name):
    f = FUNCTIONS[name]
    with np.errstate(invalid="ignore"):
        expected = central_difference(f, W)
        assert np.isfinite(expected).all()
        for jac in (gm.grad(f), gm.jacfwd(f)):
            np.testing.assert_allclose(jac(W), expected, rtol=1e-6, atol=1e-8)


SCALAR_CODE = {
    "fmax": lambda x: np.fmax(np.sqrt(x[0]), x[1]) * x[1],
    "where": lambda x: np.where(x[0] > 0, np.log(x[0]), x[1] ** 2),
    "nansum of entries": lambda x: np.nansum(np.array([np.sqrt(x[0]) * x[1], x[1] ** 3])),
}


@pytest.mark.parametrize("name", sorted(SCALAR_CODE))
@pytest.mark.parametrize("kind", [np.array, list])
def test_dropped_nan_scalars_have_zero_derivative_as_entries_of_arrays_do(name, kind):
    # reverse mode's scalar path skipped the rule (and did not see a NaN scalar), so
    # scalar code gave NaN where the same function on arrays gives the derivative
    f, x = SCALAR_CODE[name], [-1.0, 2.0]
    with np.errstate(invalid="ignore"):
        expected = central_difference(lambda v: f(list(v)), np.array(x))
        assert np.isfinite(expected).all()
        np.testing.assert_allclose(np.asarray(gm.grad(f)(kind(x)), dtype=float), expected,
                                   rtol=1e-6, atol=1e-8)  # fmt: skip


def test_a_nan_the_output_depends_on_stays_nan():
    # the plain sum is NaN, so its gradient must not come out finite
    with np.errstate(invalid="ignore"):
        assert np.isnan(gm.grad(lambda w: np.sum(DATA * w) + np.nansum(DATA * w))(W)).any()
        assert np.isnan(gm.grad(lambda w: np.nansum(DATA * w) * np.sum(DATA))(W)).all()


@pytest.mark.parametrize(
    "kwargs, shape",
    [
        ({}, (3,)),
        ({"ord": 3}, (3,)),
        ({"ord": 2}, (3,)),
        ({"axis": 1}, (2, 3)),
        ({"ord": "fro"}, (2, 2)),
        ({}, (2, 2)),
    ],  # fmt: skip
)
def test_norm_at_the_origin_has_subgradient_zero(kwargs, shape):
    def f(x):
        return np.sum(np.linalg.norm(x, **kwargs))

    zero = np.zeros(shape)
    assert np.array_equal(gm.grad(f)(zero), zero)
    assert np.array_equal(np.reshape(gm.jacfwd(f)(zero), shape), zero)
    # away from it, the usual derivative
    x = np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape)
    fd = np.reshape(central_difference(lambda v: f(v.reshape(shape)), x.ravel()), shape)
    np.testing.assert_allclose(gm.grad(f)(x), fd, rtol=1e-7)
