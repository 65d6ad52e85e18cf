"""Colourings: valid, recoverable, and no worse than networkx's greedy colourings."""

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from gradmix.ad.colouring import (
    ORDERS,
    column_colouring,
    column_reader,
    greedy_colouring,
    recover,
    row_colouring,
    row_reader,
    star_colouring,
    symmetric_reader,
)


def random_pattern(m, n, density, seed):
    rng = np.random.default_rng(seed)
    p = sp.random_array((m, n), density=density, rng=rng, format="csr") != 0
    return sp.csr_array(p + sp.eye_array(m, n, dtype=bool))


def symmetric_pattern(n, density, seed):
    p = random_pattern(n, n, density, seed)
    return sp.csr_array(p + p.T)


def networkx_best(graph):
    g = nx.Graph()
    g.add_nodes_from(range(graph.shape[0]))
    rows, cols = sp.csr_array(graph).nonzero()
    g.add_edges_from((int(a), int(b)) for a, b in zip(rows, cols, strict=True) if a != b)
    return min(max(nx.greedy_color(g, s).values(), default=-1) + 1
               for s in ("largest_first", "smallest_last", "DSATUR"))  # fmt: skip


@pytest.mark.parametrize("seed", range(6))
def test_column_colouring_is_valid_and_no_worse_than_networkx(seed):
    p = random_pattern(50, 40, 0.05, seed)
    colours = column_colouring(p)
    # columns of one colour never share a row
    for c in range(colours.max() + 1):
        assert np.all(p[:, colours == c].sum(axis=1) <= 1)
    intersection = sp.csr_array(p.T.astype(int) @ p.astype(int))
    assert colours.max() + 1 <= networkx_best(intersection)


@pytest.mark.parametrize("order", ORDERS)
def test_every_order_gives_a_proper_colouring(order):
    g = symmetric_pattern(60, 0.05, 3)
    colours = greedy_colouring(g, order)
    rows, cols = g.nonzero()
    off = rows != cols
    assert np.all(colours[rows[off]] != colours[cols[off]])


def test_unknown_order_is_an_error():
    with pytest.raises(ValueError, match="order"):
        greedy_colouring(sp.eye_array(3), "alphabetical")


def test_banded_jacobian_needs_bandwidth_colours():
    p = sp.diags_array([1, 1, 1, 1, 1], offsets=[-2, -1, 0, 1, 2], shape=(30, 30), dtype=bool)
    assert column_colouring(p).max() + 1 == 5
    assert row_colouring(p).max() + 1 == 5


@pytest.mark.parametrize("seed", range(8))
def test_star_colouring_recovers_every_entry_and_beats_distance_two(seed):
    rng = np.random.default_rng(seed)
    p = symmetric_pattern(60, 0.04, seed)
    colours = star_colouring(p)
    h = sp.csr_array(p * rng.standard_normal(p.shape))
    h = sp.csr_array(h + h.T)
    pattern = sp.csr_array(h != 0)
    seeds = np.zeros((60, colours.max() + 1))
    seeds[np.arange(60), colours] = 1
    got = recover(pattern, symmetric_reader(pattern, colours), (h @ seeds).T)
    np.testing.assert_array_equal(got.toarray(), h.toarray())
    # networkx's greedy colouring of the distance-2 graph is a star colouring too
    square = sp.csr_array(p.astype(int) @ p.astype(int))
    assert colours.max() + 1 <= networkx_best(square)


def test_recovery_from_compressed_forward_and_reverse_sweeps():
    rng = np.random.default_rng(0)
    p = random_pattern(30, 25, 0.08, 1)
    j = sp.csr_array(p * rng.standard_normal(p.shape))
    pattern = sp.csr_array(j != 0)
    cols = column_colouring(pattern)
    s = np.zeros((25, cols.max() + 1))
    s[np.arange(25), cols] = 1
    got = recover(pattern, column_reader(pattern, cols), (j @ s).T)
    np.testing.assert_array_equal(got.toarray(), j.toarray())
    rows = row_colouring(pattern)
    r = np.zeros((30, rows.max() + 1))
    r[np.arange(30), rows] = 1
    got = recover(pattern, row_reader(pattern, rows), r.T @ j)
    np.testing.assert_array_equal(got.toarray(), j.toarray())
