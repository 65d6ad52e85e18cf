"""The storage families' distance kernels against distances from differences.

Each family's fast distances are one product of per-row features and
per-component coefficients (``kernels.ProductDistances``); a density that is
affine in them (the Gaussian's) has the scale and its offset folded into
that product.  The reference here is ``(x - μ)ᵀ U Uᵀ (x - μ)`` computed from
the differences, component by component.
"""

import array_api_strict
import numpy as np
import pytest
from array_api_compat import array_namespace

from gradmix.mixture.arrays import to_host
from gradmix.mixture.covariance import get_model

NAMES = ["full", "tied", "diag", "spherical", "VEV", "EEI", "VII"]


def parameters(name: str, rng: np.random.Generator, far: bool) -> tuple:
    """Data, means and precision prec_chol of ``name``'s storage form; with ``far`` the
    last component is tight and ~10⁵ standard deviations away (its distances then
    come from differences: the fast formula would lose every digit)."""
    unit = get_model(name)
    K, d = 4, 3
    X = rng.normal(size=(40, d))
    means = rng.normal(size=(K, d))
    covs = []
    for _ in range(K):
        A = rng.normal(size=(d, d))
        covs.append(A @ A.T + d * np.eye(d))
    if far and not unit.pooled:
        means[-1] = 1e3
        covs[-1] = 1e-4 * np.eye(d)
        X[-5:] = 1e3 + 1e-2 * rng.normal(size=(5, d))
    prec_chol = unit.precision_cholesky(unit.from_matrices(np.array(covs)))
    return unit, X, means, prec_chol


def distances_from_differences(unit, means, prec_chol, X) -> np.ndarray:
    K, d = means.shape
    U = unit.to_matrices(prec_chol, K, d)
    out = np.empty((len(X), K))
    for k in range(K):
        Z = (X - means[k]) @ U[k]
        out[:, k] = np.sum(Z * Z, axis=1)
    return out


@pytest.mark.parametrize("far", [False, True])
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("library", ["numpy", "array_api_strict"])
def test_distances_and_their_affine_map_match_differences(name, far, library):
    rng = np.random.default_rng(7)
    unit, X, means, prec_chol = parameters(name, rng, far)
    lib = np if library == "numpy" else array_api_strict

    def put(a, dtype=None):
        return lib.asarray(np.asarray(a, dtype=np.float64 if dtype is None else dtype))

    xp = array_namespace(put(X))
    ref = unit.reference(means, prec_chol)
    assert bool(np.any(ref != 0)) == (far and not unit.pooled)  # the exact path is taken
    co = unit.coefficients(ref, put, means, prec_chol)
    Xd = put(X)
    F = unit.features(xp, Xd, co)
    expected = distances_from_differences(unit, means, prec_chol, X)
    scale = float(rng.uniform(-2, -0.1))
    offset = rng.normal(size=len(means))
    for got, want in (
        (unit.mahalanobis(xp, Xd, co, F), expected),
        (unit.scaled_mahalanobis(xp, Xd, co, F, scale, put(offset)), scale * expected + offset),
    ):
        got = to_host(got)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * np.abs(want).max())
    assert np.all(to_host(unit.mahalanobis(xp, Xd, co, F)) >= 0)
