"""Pytrees: flattening to leaves and rebuilding, for any nesting of the containers."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from gradmix.ad.pytree import flatten, unflatten

leaf = st.one_of(st.floats(allow_nan=False), st.integers(), st.just(np.arange(3.0)))
trees = st.recursive(
    st.one_of(leaf, st.none()),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(st.text("abc", min_size=1, max_size=2), children, max_size=3),
    ),
    max_leaves=12,
)


def same(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and np.array_equal(a, b)
    if isinstance(a, dict):
        return type(b) is dict and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    return a == b and type(a) is type(b)


@given(trees)
def test_unflatten_rebuilds_what_flatten_took_apart(tree):
    """Flat sequences of leaves take a shortcut each way; nested ones do not: both give
    the same structure back, and the leaves in order."""
    leaves, treedef = flatten(tree)
    assert same(unflatten(treedef, leaves), tree)
    renamed = unflatten(treedef, [f"leaf {k}" for k in range(len(leaves))])
    assert flatten(renamed) == ([f"leaf {k}" for k in range(len(leaves))], treedef)
