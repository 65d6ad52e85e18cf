"""Lloyd's iterations with Hamerly's pruning (numpy in memory, from PRUNED_ROWS rows) and
without (fewer rows, Dask blocks), and scikit-learn's compiled ones (numpy in memory where
the distances' products do not dominate), against scikit-learn's Lloyd and each other: the
same labels, centres and iterations, whatever the data's separation, ties, weights, dtype
or empty clusters."""

import contextlib
import warnings
from unittest import mock

import dask.array as da
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans as SkKMeans

import gradmix as gm
from gradmix.mixture import lloyd


def passes(kind):
    """The Lloyd iterations numpy data in memory take, whatever their size: gradmix's with
    Hamerly's bounds ("pruned") or without ("plain"), or scikit-learn's ("compiled")."""
    stack = contextlib.ExitStack()
    own = kind != "compiled"
    stack.enter_context(mock.patch.object(lloyd, "OWN_PASS_LEAST", 0 if own else np.inf))
    stack.enter_context(mock.patch.object(lloyd, "OWN_PASS_DK", 0 if own else np.inf))
    stack.enter_context(mock.patch.object(lloyd, "COMPILED_FROM_ROWS", np.inf if own else 0))
    stack.enter_context(mock.patch.object(lloyd, "PRUNED_ROWS", 0 if kind == "pruned" else 2**62))
    return stack


def clustered(seed, n, d, k, scale, duplicates=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=scale, size=(k, d))
    X = centres[rng.integers(0, k, n)] + rng.normal(size=(n, d))
    if duplicates:
        X[:duplicates] = X[duplicates : 2 * duplicates]  # exact ties between rows
    return X


def fit_both(X, init, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = SkKMeans(len(init), init=init, n_init=1, algorithm="lloyd", **kw).fit(X)
        b = gm.KMeans(len(init), init=init, n_init=1, **kw).fit(X)
    return a, b


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), k=st.integers(2, 12), scale=st.floats(0.0, 8.0),
       duplicates=st.integers(0, 20), tol=st.sampled_from([0.0, 1e-4]))  # fmt: skip
@pytest.mark.parametrize("kind", ["pruned", "plain", "compiled"])
def test_lloyd_equals_sklearn(kind, seed, k, scale, duplicates, tol):
    X = clustered(seed, 600, 3, k, scale, duplicates)
    init = X[np.random.default_rng(seed).choice(len(X), k, replace=False)]
    with passes(kind):
        a, b = fit_both(X, init, max_iter=60, tol=tol)
    np.testing.assert_array_equal(b.labels_, a.labels_)
    np.testing.assert_allclose(b.cluster_centers_, a.cluster_centers_, rtol=1e-10, atol=1e-12)
    assert b.n_iter_ == a.n_iter_
    assert b.inertia_ == pytest.approx(a.inertia_, rel=1e-10)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pruned_equals_unpruned_passes(dtype):
    """Dask blocks take the plain passes; numpy in memory the pruned ones."""
    X = clustered(3, 5000, 8, 20, 3.0).astype(dtype)
    w = np.random.default_rng(0).integers(1, 4, len(X)).astype(dtype)
    init = X[:20].copy()
    kw = dict(n_clusters=20, init=init, n_init=1, max_iter=100, tol=0.0)
    with passes("pruned"):
        a = gm.KMeans(**kw).fit(X, sample_weight=w)
    b = gm.KMeans(**kw).fit(da.from_array(X, chunks=(900, 8)), sample_weight=da.from_array(w))
    np.testing.assert_array_equal(np.asarray(b.labels_), a.labels_)
    # float32 centres: the float64 sums' order differs, their rounding to float32 may not
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(b.cluster_centers_, a.cluster_centers_, **tol)
    assert a.n_iter_ == b.n_iter_


@pytest.mark.parametrize("kind", ["pruned", "plain", "compiled"])
def test_empty_clusters_relocate_as_in_sklearn(kind):
    X = clustered(1, 400, 2, 3, 6.0)
    init = np.vstack([X[:3], [[100.0, 100.0], [-100.0, 50.0]]])  # two centres nobody picks
    with passes(kind):
        a, b = fit_both(X, init, max_iter=50, tol=0.0)
    np.testing.assert_array_equal(b.labels_, a.labels_)
    np.testing.assert_allclose(b.cluster_centers_, a.cluster_centers_, rtol=1e-10)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ["pruned", "plain", "compiled"])
def test_weighted_lloyd_equals_sklearn(kind, dtype):
    """Sample weights and float32 data, on each kind of passes, from the same start."""
    X = clustered(5, 3000, 4, 6, 2.0).astype(dtype)
    w = np.random.default_rng(1).uniform(0.5, 3.0, len(X)).astype(dtype)
    init = X[:6].copy()
    kw = dict(init=init, n_init=1, max_iter=100, tol=1e-4)
    a = SkKMeans(6, algorithm="lloyd", **kw).fit(X, sample_weight=w)
    with passes(kind):
        b = gm.KMeans(6, **kw).fit(X, sample_weight=w)
    np.testing.assert_array_equal(b.labels_, a.labels_)
    assert b.n_iter_ == a.n_iter_
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.cluster_centers_, a.cluster_centers_, **tol)
    assert b.inertia_ == pytest.approx(a.inertia_, rel=1e-5 if dtype == np.float32 else 1e-10)


def _messages(text):
    """Printed lines as (words, numbers): scikit-learn's Elkan omits a final period."""
    lines = []
    for line in text.strip().splitlines():
        words = line.rstrip(".").replace(",", "").split()
        numbers = [float(w) for w in words if w[0].isdigit() and "." in w]
        lines.append(([w for w in words if not (w[0].isdigit() and "." in w)], numbers))
    return lines


@pytest.mark.parametrize(("kind", "tol"), [(kind, tol) for kind in ("pruned", "plain", "compiled")
                                            for tol in (0.0, 1e-4)] + [("dask", 1e-4)])  # fmt: skip
def test_verbose_prints_scikit_learns_messages(kind, tol, capsys):
    """Each start, each iteration's inertia and the way it converged (strict, or the
    centre shift within the absolute tolerance), as scikit-learn prints them.  (A Dask
    array's passes keep no labels to compare: with tol=0 its fit stops where the shift is
    0, and says so.)"""
    X = clustered(7, 900, 3, 4, 3.0)
    init = X[:4].copy()
    SkKMeans(4, init=init, n_init=1, tol=tol, verbose=1).fit(X)
    expected = _messages(capsys.readouterr().out)
    data = da.from_array(X, chunks=(200, 3)) if kind == "dask" else X
    with passes(kind) if kind != "dask" else contextlib.nullcontext():
        gm.KMeans(4, init=init, n_init=1, tol=tol, verbose=1).fit(data)
    printed = _messages(capsys.readouterr().out)
    assert expected[0] == (["Initialization", "complete"], [])
    assert len(printed) == len(expected) > 3
    for (words, numbers), (sk_words, sk_numbers) in zip(printed, expected, strict=True):
        assert words == sk_words
        np.testing.assert_allclose(numbers, sk_numbers, rtol=1e-9)
    gm.KMeans(4, init=init, n_init=1, tol=tol).fit(X)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("kind", ["pruned", "compiled"])
def test_elkan_and_copy_x_are_accepted_with_lloyds_results(kind):
    """Elkan's bounds skip only distances that cannot change a label: scikit-learn's
    Elkan gives Lloyd's result, and so does gradmix's fit named so; X is untouched."""
    X = clustered(11, 2000, 5, 6, 2.5)
    before = X.copy()
    init = X[:6].copy()
    a = SkKMeans(6, init=init, n_init=1, algorithm="elkan").fit(X)
    with passes(kind):
        b = gm.KMeans(6, init=init, n_init=1, algorithm="elkan", copy_x=False).fit(X)
    np.testing.assert_array_equal(b.labels_, a.labels_)
    np.testing.assert_allclose(b.cluster_centers_, a.cluster_centers_, rtol=1e-10, atol=1e-12)
    assert b.n_iter_ == a.n_iter_
    np.testing.assert_array_equal(X, before)
    with pytest.raises(ValueError, match="The 'algorithm' parameter of KMeans must be"):
        gm.KMeans(6, algorithm="full").fit(X)
