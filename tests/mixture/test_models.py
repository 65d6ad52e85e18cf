"""mclust's fourteen covariance models: M-steps, counts, published figures, recovery everywhere."""

import array_api_strict
import dask.array as da
import numpy as np
import pytest
from scipy.linalg import expm
from sklearn.datasets import load_iris

import gradmix as gm
from gradmix.datasets import load_old_faithful
from gradmix.mixture.arrays import to_host
from gradmix.mixture.covariance import MCLUST_NAMES, SKLEARN_NAMES, get_model

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
ITERATIVE = ["VEI", "VEE", "VEV", "EVE", "VVE"]


# ---------------------------------------------------------------- helpers, independent of gradmix
def objective(cov, W, nk):
    """Σ_k n_k log|Σ_k| + tr(Σ_k⁻¹ W_k): minus twice the expected complete-data
    log-likelihood's covariance part (what every M-step minimises)."""
    return float(sum(n * np.linalg.slogdet(S)[1] + np.trace(np.linalg.solve(S, Wk))
                     for S, Wk, n in zip(cov, W, nk, strict=True)))  # fmt: skip


def rotation(rng, d, scale):
    S = rng.normal(size=(d, d)) * scale
    return expm(S - S.T)


def random_model_covariances(letters, K, d, rng):
    """Σ_k = λ_k D_k A_k D_kᵀ with the factors mclust's letters make equal (or identity)."""
    vol = np.exp(rng.normal(0, 0.4, K if letters[0] == "V" else 1)) * np.ones(K)
    shapes = np.exp(rng.normal(0, 0.5, (K if letters[1] == "V" else 1, d))) * np.ones((K, 1))
    shapes = shapes if letters[1] != "I" else np.ones((K, d))
    shapes /= np.exp(np.log(shapes).mean(axis=1, keepdims=True))
    if letters[2] == "I":
        D = np.broadcast_to(np.eye(d), (K, d, d))
    elif letters[2] == "E":
        D = np.broadcast_to(rotation(rng, d, 1.0), (K, d, d))
    else:
        D = np.stack([rotation(rng, d, 1.0) for _ in range(K)])
    return np.einsum("k,kij,kj,klj->kil", vol, D, shapes, D)


def has_structure(cov, letters, rtol=1e-7):
    """Check the letters' equalities directly on (K, d, d) matrices."""
    d = cov.shape[1]
    dets = np.linalg.det(cov) ** (1 / d)
    normed = cov / dets[:, None, None]
    ok = np.allclose(cov, np.swapaxes(cov, 1, 2), rtol=rtol, atol=1e-12)
    if letters[0] == "E":
        ok &= np.allclose(dets, dets[0], rtol=rtol)
    eig = np.linalg.eigvalsh(normed)
    if letters[1] == "E":
        ok &= np.allclose(eig, eig[0], rtol=1e-6)
    if letters[1] == "I":
        ok &= np.allclose(normed, np.eye(d), atol=1e-8)
    if letters[2] == "I":
        ok &= np.allclose(cov * (1 - np.eye(d)), 0.0, atol=1e-12)
    if letters[2] == "E":
        products = np.einsum("aij,bjk->abik", cov, cov)
        ok &= np.allclose(products, np.swapaxes(products, 0, 1), rtol=1e-6, atol=1e-9)
    return bool(ok)


def perturbed(cov, letters, rng, eps):
    """A nearby covariance set with the same letters: scaled volumes, moved shapes in each
    component's eigenbasis, rotated orientations."""
    K, d, _ = cov.shape
    out = cov.copy()
    c = np.exp(eps * rng.normal(size=K if letters[0] == "V" else 1)) * np.ones(K)
    out = out * c[:, None, None]
    if letters[1] != "I" and d > 1:
        m = np.exp(eps * rng.normal(size=(K if letters[1] == "V" else 1, d))) * np.ones((K, 1))
        m /= np.exp(np.log(m).mean(axis=1, keepdims=True))
        if letters[2] == "I":
            out = out * np.einsum("ki,kj->kij", np.sqrt(m), np.sqrt(m))
        else:
            values, vectors = np.linalg.eigh(out)
            order = np.argsort(values, axis=1)[:, ::-1]  # decreasing, as shapes are matched
            values = np.take_along_axis(values, order, 1) * m
            vectors = np.take_along_axis(vectors, order[:, None, :], 2)
            out = np.einsum("kij,kj,klj->kil", vectors, values, vectors)
    if letters[2] != "I":
        R = [rotation(rng, d, eps)] * K if letters[2] == "E" else \
            [rotation(rng, d, eps) for _ in range(K)]  # fmt: skip
        out = np.stack([r @ s @ r.T for r, s in zip(R, out, strict=True)])
    return out


def random_statistics(rng, K, d):
    nk = rng.uniform(5, 60, K)
    W = []
    for n in nk:
        Z = rng.normal(size=(int(n) + d, d)) @ rng.normal(size=(d, d))
        W.append(Z.T @ Z * (n / (int(n) + d)))
    return np.array(W), nk


def mstep(name, W, nk, trace=None):
    model = get_model(name)
    K, d, _ = W.shape
    cov = model.estimate(model.scatter_from_matrices(W), nk, d, trace=trace)
    return np.asarray(model.to_matrices(cov, K, d))


# ------------------------------------------------------------------------------- M-steps
@pytest.mark.parametrize("name", MCLUST_NAMES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_m_step_is_the_constrained_maximum(name, seed):
    rng = np.random.default_rng(seed)
    K, d = 3, 3
    W, nk = random_statistics(rng, K, d)
    cov = mstep(name, W, nk)
    assert has_structure(cov, name)
    best = objective(cov, W, nk)
    for eps in (1e-2, 1e-3):
        for _ in range(12):
            nearby = perturbed(cov, name, rng, eps)
            assert has_structure(nearby, name, rtol=1e-6)
            assert objective(nearby, W, nk) >= best - 1e-9 * (1 + abs(best))
    for _ in range(20):  # and at random members of the family far away
        other = (
            random_model_covariances(name, K, d, rng)
            * np.mean(np.trace(W, axis1=1, axis2=2) / nk)
            / d
        )
        assert objective(other, W, nk) >= best - 1e-9 * (1 + abs(best))


@pytest.mark.parametrize("name", ITERATIVE)
@pytest.mark.parametrize("seed", range(6))
def test_iterative_m_steps_never_decrease_the_expected_likelihood(name, seed):
    rng = np.random.default_rng(10 + seed)
    K, d = int(rng.integers(2, 5)), int(rng.integers(2, 5))
    W, nk = random_statistics(rng, K, d)
    trace = []
    mstep(name, W, nk, trace)
    assert len(trace) >= 2
    steps = np.diff(trace)
    assert np.all(steps <= 1e-10 * np.abs(np.asarray(trace[1:]))), steps
    # from the current parameters: never worse than they were (EM's ascent), and never
    # worse than the M-step without them
    model = get_model(name)
    current = random_model_covariances(name, K, d, rng)
    warm = model.estimate(model.scatter_from_matrices(W), nk, d,
                          previous=model.from_matrices(current))  # fmt: skip
    warm_value = objective(np.asarray(model.to_matrices(warm, K, d)), W, nk)
    assert warm_value <= objective(current, W, nk)
    cold_value = objective(mstep(name, W, nk), W, nk)
    assert warm_value <= cold_value + 1e-9 * abs(cold_value)


def test_sklearn_names_are_the_same_models_as_mclusts():
    X = load_old_faithful()
    for sk, mc in SKLEARN_NAMES.items():
        kw = dict(n_components=3, random_state=0, tol=1e-8, init_params="kmeans")
        a = gm.GaussianMixture(covariance_type=sk, **kw).fit(X)
        b = gm.GaussianMixture(covariance_type=mc, **kw).fit(X)
        np.testing.assert_allclose(a.lower_bounds_, b.lower_bounds_, rtol=1e-12)
        assert b.covariances_.shape == (3, 2, 2)
        assert a.covariances_.shape == get_model(sk).compact_shape(3, 2)
        model = get_model(sk)
        np.testing.assert_allclose(model.to_matrices(a.covariances_, 3, 2), b.covariances_,
                                   rtol=1e-10)  # fmt: skip
        np.testing.assert_allclose(model.to_matrices(a.precisions_, 3, 2), b.precisions_,
                                   rtol=1e-9)  # fmt: skip


# --------------------------------------------------------------------------- counts, figures
def mclust_nvarparams(name, d, G):
    """mclust's nVarParams, written from its documentation."""
    return {"EII": 1, "VII": G, "EEI": d, "VEI": G + (d - 1), "EVI": 1 + G * (d - 1),
            "VVI": G * d, "EEE": d * (d + 1) // 2, "EVE": 1 + G * (d - 1) + d * (d - 1) // 2,
            "VEE": G + (d - 1) + d * (d - 1) // 2, "VVE": G + G * (d - 1) + d * (d - 1) // 2,
            "EEV": 1 + (d - 1) + G * d * (d - 1) // 2, "VEV": G + (d - 1) + G * d * (d - 1) // 2,
            "EVV": 1 + G * (d - 1) + G * d * (d - 1) // 2,
            "VVV": G * d * (d + 1) // 2}[name]  # fmt: skip


@pytest.mark.parametrize("name", MCLUST_NAMES)
def test_parameter_counts_are_mclusts(name):
    for d in (1, 2, 3, 7):
        for G in (1, 2, 5):
            assert get_model(name).n_parameters(G, d) == mclust_nvarparams(name, d, G)
    X = load_old_faithful()
    m = gm.GaussianMixture(3, covariance_type=name, random_state=0).fit(X)
    assert m._n_parameters() == mclust_nvarparams(name, 2, 3) + 3 * 2 + 2
    assert m.bic(X) == pytest.approx(-2 * m.score(X) * len(X) + m._n_parameters() * np.log(272))


@pytest.mark.parametrize(
    "name, K, loglik, df, bic",
    [("EEE", 2, -1140.187, 8, None), ("VVV", 2, -1130.264, 11, 2322.192)],
)
def test_old_faithful_matches_mclust(name, K, loglik, df, bic):
    X = load_old_faithful()
    m = gm.GaussianMixture(K, covariance_type=name, init_params="hc", reg_covar=0, tol=1e-10,
                           max_iter=5000).fit(X)  # fmt: skip
    assert m.score(X) * len(X) == pytest.approx(loglik, abs=1e-3)
    assert m._n_parameters() == df
    if bic is not None:
        assert m.bic(X) == pytest.approx(bic, abs=1e-3)


@pytest.mark.slow
def test_old_faithful_best_model_is_mclusts_and_reaches_its_optimum():
    # mclust's vignette: EEE with 3 components, log-likelihood -1126.326, 11 parameters, BIC
    # -2314.316 — printed where mclust's EM stopped (relative change 1e-5); converged, the
    # optimum is 0.010 higher (BIC 0.021 lower), which gradmix reaches
    X = load_old_faithful()
    sel = gm.select_model(X, range(1, 10), init_params="hc", reg_covar=0, random_state=0)
    assert sel.best_params_ == {"n_components": 3, "covariance_type": "EEE"}
    m = gm.GaussianMixture(3, covariance_type="EEE", init_params="hc", reg_covar=0, tol=1e-10,
                           max_iter=5000).fit(X)  # fmt: skip
    loglik = m.score(X) * len(X)
    assert -1126.326 <= loglik <= -1126.326 + 0.011
    assert m._n_parameters() == 11
    assert 2314.316 - 0.022 <= m.bic(X) <= 2314.316


@pytest.mark.slow
def test_iris_matches_mclust():
    # Mclust(iris[, 1:4]): VEV, 2 components, log-likelihood -215.7259, df 26, BIC -561.7285
    # (scikit-learn's iris is R's since scikit-learn 0.20)
    X = load_iris().data
    sel = gm.select_model(X, range(1, 10), init_params="hc", random_state=0, reg_covar=0)
    assert sel.best_params_ == {"n_components": 2, "covariance_type": "VEV"}
    m = sel.best_
    assert m.score(X) * len(X) == pytest.approx(-215.7259, abs=1e-3)
    assert m._n_parameters() == 26
    assert m.bic(X) == pytest.approx(561.7285, abs=1e-3)
    assert list(sel.table_.columns) == list(MCLUST_NAMES)


# --------------------------------------------------------------------- recovery, everywhere
def sample_from(name, seed, n=4000, K=3, d=3):
    rng = np.random.default_rng(seed)
    cov = random_model_covariances(name, K, d, rng) * 0.5
    means = np.array([[0.0, 0.0, 0.0], [7.0, 0.0, 1.0], [0.0, 7.0, -1.0]])
    weights = np.array([0.45, 0.35, 0.2])
    z = rng.choice(K, size=n, p=weights)
    X = np.empty((n, d))
    for k in range(K):
        X[z == k] = rng.multivariate_normal(means[k], cov[k], size=int(np.sum(z == k)))
    return X, means, weights, cov


@pytest.mark.parametrize("name", MCLUST_NAMES)
def test_recovers_the_parameters_of_data_drawn_from_the_model(name):
    X, means, weights, cov = sample_from(name, seed=MCLUST_NAMES.index(name))
    m = gm.GaussianMixture(3, covariance_type=name, n_init=2, tol=1e-8, random_state=0).fit(X)
    order = [int(np.argmin(np.sum((m.means_ - mu) ** 2, axis=1))) for mu in means]
    assert sorted(order) == [0, 1, 2]
    np.testing.assert_allclose(m.means_[order], means, atol=0.15)
    np.testing.assert_allclose(m.weights_[order], weights, atol=0.03)
    got = m.covariances_[order]
    rel = np.linalg.norm(got - cov, axis=(1, 2)) / np.linalg.norm(cov, axis=(1, 2))
    assert np.all(rel < 0.15), rel
    assert has_structure(got, name, rtol=1e-6)
    volume, shape, orientation = m.covariance_factors_
    np.testing.assert_allclose(
        np.einsum("k,kij,kj,klj->kil", volume, orientation, shape, orientation),
        m.covariances_,
        rtol=1e-8,
        atol=1e-12,
    )
    np.testing.assert_allclose(np.prod(shape, axis=1), 1.0, rtol=1e-10)
    for letter, factor in zip(name, (volume, shape, orientation), strict=True):
        if letter == "E":
            assert np.all(factor == factor[0])  # equal factors repeated exactly


@pytest.mark.parametrize("name", MCLUST_NAMES)
def test_every_executor_gives_the_same_fit(name):
    X = sample_from(name, seed=1, n=1500)[0]
    start = gm.GaussianMixture(3, covariance_type=name, max_iter=2, random_state=0).fit(X)
    kw = dict(n_components=3, covariance_type=name, tol=1e-9, weights_init=start.weights_,
              means_init=start.means_, precisions_init=start.precisions_)  # fmt: skip
    a = gm.GaussianMixture(**kw).fit(X)
    for Z in (array_api_strict.asarray(X), da.from_array(X, chunks=400)):
        b = gm.GaussianMixture(**kw).fit(Z)
        np.testing.assert_allclose(b.lower_bounds_, a.lower_bounds_, rtol=1e-10)
        np.testing.assert_allclose(to_host(b.covariances_), a.covariances_, rtol=1e-8,
                                   atol=1e-12)  # fmt: skip
    f = gm.GaussianMixture(**{**kw, "tol": 1e-4}).fit(X.astype(np.float32))
    assert f.covariances_.dtype == np.float32
    assert f.lower_bound_ == pytest.approx(a.lower_bound_, rel=1e-4)


@pytest.mark.parametrize("name", MCLUST_NAMES)
def test_weights_persistence_and_streaming(name, tmp_path):
    X = sample_from(name, seed=2, n=1200)[0]
    counts = np.random.default_rng(3).integers(0, 3, len(X))
    start = gm.GaussianMixture(3, covariance_type=name, max_iter=1, random_state=0).fit(X)
    kw = dict(n_components=3, covariance_type=name, tol=1e-9, weights_init=start.weights_,
              means_init=start.means_, precisions_init=start.precisions_)  # fmt: skip
    a = gm.GaussianMixture(**kw).fit(X, sample_weight=counts)
    b = gm.GaussianMixture(**kw).fit(np.repeat(X, counts, axis=0))
    np.testing.assert_allclose(a.lower_bounds_, b.lower_bounds_, rtol=1e-9)
    loaded = gm.load(a.save(tmp_path / "m.npz"))
    np.testing.assert_array_equal(loaded.predict_proba(X), a.predict_proba(X))
    online = gm.GaussianMixture(3, covariance_type=name, random_state=0)
    for rows in np.array_split(np.random.default_rng(4).permutation(len(X)), 10):
        online.partial_fit(X[rows])
    batch = gm.GaussianMixture(3, covariance_type=name, random_state=0).fit(X)
    assert online.score(X) == pytest.approx(batch.score(X), rel=0.03)


# ------------------------------------------------------------------------- starts, freezing
def test_precisions_init_must_have_the_models_structure():
    X = load_old_faithful()
    full = gm.GaussianMixture(2, covariance_type="VVV", random_state=0).fit(X)
    with pytest.raises(ValueError, match="structure of model EEE"):
        gm.GaussianMixture(2, covariance_type="EEE", precisions_init=full.precisions_).fit(X)
    with pytest.raises(ValueError, match="should have the shape"):
        gm.GaussianMixture(2, covariance_type="EEE", precisions_init=np.eye(2)).fit(X)
    eee = gm.GaussianMixture(2, covariance_type="EEE", random_state=0).fit(X)
    frozen = gm.GaussianMixture(2, covariance_type="EEE", precisions_init=eee.precisions_,
                                freeze=("covariances",), random_state=1).fit(X)  # fmt: skip
    np.testing.assert_allclose(frozen.precisions_, eee.precisions_, rtol=1e-12)


def test_univariate_names():
    x = np.r_[np.random.default_rng(0).normal(size=300), np.random.default_rng(1).normal(size=200)
              * 0.3 + 4][:, None]  # fmt: skip
    e = gm.GaussianMixture(2, covariance_type="E", random_state=0).fit(x)
    assert e.covariances_[0, 0, 0] == pytest.approx(e.covariances_[1, 0, 0])
    assert gm.select_model(x, range(1, 4), random_state=0).covariance_types == ["E", "V"]
    with pytest.raises(ValueError, match="one-dimensional"):
        gm.GaussianMixture(2, covariance_type="V").fit(load_old_faithful())


def test_unknown_names_get_sklearns_message_and_mclusts_names():
    X = load_old_faithful()
    with pytest.raises(ValueError, match="must be a str among") as err:
        gm.GaussianMixture(covariance_type="VXV").fit(X)
    assert "VEV" in str(err.value)
