"""Model-based hierarchical agglomeration (init_params="hc")."""

import itertools

import numpy as np
import pytest

import gradmix as gm
from gradmix.datasets import load_old_faithful
from gradmix.mixture import hierarchical
from tests.mixture.mclust_data import data_set, reference_rows


def vvv_term(rows, alpha, beta=1.0):
    """mclust's criterion for one group (its hcVVV): n log(det(W/n) + β(tr W + α)/n),
    only the trace term while n <= d; written out here from its definition."""
    n, d = rows.shape
    D = rows - rows.mean(axis=0)
    W = D.T @ D
    ridge = beta * (np.trace(W) + alpha) / n
    if n <= d:
        return n * np.log(ridge)
    return n * np.log(np.linalg.det(W / n) + ridge)


def test_first_merges_minimise_the_criterion_by_brute_force():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(9, 2))
    alpha = np.sum((X - X.mean(axis=0)) ** 2) / (len(X) * 2)
    groups = [[i] for i in range(len(X))]  # a group is named by one of its rows
    merges = hierarchical.agglomerate(X)
    for i, j in merges[:6]:
        costs = {(a, b): vvv_term(X[groups[a] + groups[b]], alpha)
                 - vvv_term(X[groups[a]], alpha) - vvv_term(X[groups[b]], alpha)
                 for a, b in itertools.combinations(range(len(groups)), 2)
                 if groups[a] and groups[b]}  # fmt: skip
        best = min(costs.values())
        assert costs[(min(i, j), max(i, j))] == pytest.approx(best, rel=1e-9, abs=1e-12)
        groups[i] = groups[i] + groups[j]
        groups[j] = []


def test_separated_groups_and_duplicates():
    rng = np.random.default_rng(1)
    centres = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 10.0, 5.0]])
    X = np.concatenate([c + rng.normal(size=(40, 3)) for c in centres])
    X = np.concatenate([X, X[:5]])  # duplicated rows
    labels = hierarchical.hierarchical_labels(X, 3)
    truth = np.r_[np.repeat([0, 1, 2], 40), [0] * 5]
    assert len(set(zip(labels, truth, strict=True))) == 3  # the same partition
    merges = hierarchical.agglomerate(hierarchical.svd_transform(X))
    assert merges.shape == (124, 2)  # every row starts alone, as in mclust
    for k in (1, 2, 5):
        assert len(np.unique(hierarchical.cut(hierarchical.svd_transform(X), merges, k))) == k
    with pytest.raises(ValueError, match="distinct rows"):
        hierarchical.cut(X[:3], hierarchical.agglomerate(X[:3]), 5)
    twice = np.r_[X[:3], X[:3]]
    with pytest.raises(ValueError, match="3 distinct rows, fewer than 4"):
        hierarchical.cut(twice, hierarchical.agglomerate(twice), 4)


@pytest.mark.parametrize("data", ["faithful", "iris", "diabetes", "banknote"])
def test_the_tree_is_mclusts(data):
    # mclust's hclass(hc(X, "VVV", use = "SVD"), 2:9) (provenance in the file).  Old
    # Faithful repeats 16 rows: mclust starts them apart and breaks the exact ties
    # between them by its order of groups; merging them first gave another tree
    X = data_set(data)
    for case in (c for c in reference_rows("mclust_hc.csv") if c["data"] == data):
        theirs = np.array(case["labels"].split(), dtype=int)
        ours = hierarchical.hierarchical_labels(X, int(case["G"]))
        assert len(np.unique(ours)) == int(case["G"])
        assert len(set(zip(ours, theirs, strict=True))) == int(case["G"]), case["G"]


def test_the_svd_transformation_makes_the_tree_unit_free():
    X = load_old_faithful()
    a = hierarchical.hierarchical_labels(X, 3)
    b = hierarchical.hierarchical_labels(X * [60.0, 1 / 60.0] + [1e3, -5.0], 3)
    np.testing.assert_array_equal(a, b)


def test_hc_start_on_many_rows_agglomerates_a_sample(monkeypatch):
    monkeypatch.setattr(hierarchical, "MAX_ROWS", 300)
    from gradmix.mixture import initialisation

    monkeypatch.setattr(initialisation, "MAX_ROWS", 300)
    rng = np.random.default_rng(2)
    X = np.concatenate([rng.normal(size=(2000, 2)), rng.normal(size=(2000, 2)) + 6])
    seen = []
    real = hierarchical.agglomerate

    def spy(Z, *a, **k):
        seen.append(len(Z))
        return real(Z, *a, **k)

    monkeypatch.setattr(hierarchical, "agglomerate", spy)
    m = gm.GaussianMixture(2, init_params="hc", random_state=0).fit(X)
    assert seen and max(seen) <= 300
    assert sorted(np.round(m.means_[:, 0])) == [0.0, 6.0]
