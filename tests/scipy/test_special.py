"""gradmix.scipy.special: scipy's values, central-difference derivatives."""

import numpy as np
import pytest
import scipy.special as sc

import gradmix as gm
import gradmix.scipy.special as gsc
from tests.ad.helpers import assert_derivatives

X = np.random.default_rng(0).normal(size=5)

CASES = {
    "logsumexp": (lambda y: gsc.logsumexp(y), lambda y: sc.logsumexp(y)),
    "logsumexp_b_axis": (
        lambda y: gsc.logsumexp(np.outer(y, [1.0, 2.0]), axis=0, b=np.arange(1.0, 6.0)[:, None]),
        lambda y: sc.logsumexp(np.outer(y, [1.0, 2.0]), axis=0, b=np.arange(1.0, 6.0)[:, None]),
    ),
    "softmax": (lambda y: gsc.softmax(y), lambda y: sc.softmax(y)),
    "softmax_axis": (
        lambda y: gsc.softmax(np.outer(y, [1.0, -1.0]), axis=0),
        lambda y: sc.softmax(np.outer(y, [1.0, -1.0]), axis=0),
    ),
    "log_softmax": (lambda y: gsc.log_softmax(y), lambda y: sc.log_softmax(y)),
    "polygamma": (
        lambda y: gsc.polygamma(2, np.abs(y) + 1),
        lambda y: sc.polygamma(2, np.abs(y) + 1),
    ),
    "multigammaln": (
        lambda y: gsc.multigammaln(np.abs(y) + 3, 3),
        lambda y: sc.multigammaln(np.abs(y) + 3, 3),
    ),
    "ufunc_passthrough": (
        lambda y: gsc.erf(y) * gsc.gammaln(np.abs(y) + 1),
        lambda y: sc.erf(y) * sc.gammaln(np.abs(y) + 1),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_derivatives(name):
    ours, scipys = CASES[name]
    np.testing.assert_allclose(ours(X), scipys(X), rtol=1e-12, atol=1e-14)
    assert_derivatives(ours, X)


def test_scipys_own_python_functions_name_the_replacement():
    with pytest.raises(gm.TracerConversionError, match="gm.logsumexp"):
        gm.grad(lambda y: sc.logsumexp(y))(X)
    with pytest.raises(gm.TracerConversionError, match="gradmix.scipy"):
        gm.grad(lambda y: np.sum(sc.log_softmax(y)))(X)
    with pytest.raises(gm.TracerConversionError, match="gradmix.scipy"):
        gm.grad(lambda y: np.sum(sc.polygamma(1, np.abs(y) + 1)))(X)


def test_negative_weights_are_refused():
    with pytest.raises(ValueError, match="non-negative"):
        gsc.logsumexp(X, b=-np.ones(5))
