"""Pytrees: flattening to leaves and rebuilding, for any nesting of the containers."""

from collections import OrderedDict, namedtuple

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradmix as gm
from gradmix.ad.pytree import flatten, unflatten

Params = namedtuple("Params", "scale shift")

leaf = st.one_of(st.floats(allow_nan=False), st.integers(), st.just(np.arange(3.0)))
trees = st.recursive(
    st.one_of(leaf, st.none()),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(st.text("abc", min_size=1, max_size=2), children, max_size=3),
        st.tuples(children, children).map(lambda pair: Params(*pair)),
        st.dictionaries(st.text("abc", min_size=1, max_size=2), children, max_size=3).map(
            OrderedDict
        ),
    ),
    max_leaves=12,
)


def same(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and np.array_equal(a, b)
    if isinstance(a, dict):
        return (
            type(b) is type(a) and list(a) == list(b)
            if type(a) is OrderedDict
            else type(b) is dict and a.keys() == b.keys()
        ) and all(same(a[k], b[k]) for k in a)
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


def test_a_namedtuple_is_a_container_of_its_own_type():
    # (it was a leaf: np.asarray made it an array, and p.scale an AttributeError)
    f = lambda p: np.sum(p.scale * np.arange(3.0) + p.shift) ** 2  # noqa: E731
    p = Params(np.array([0.5, 1.0, 2.0]), 0.25)
    g = gm.grad(f)(p)
    assert type(g) is Params
    total = np.sum(p.scale * np.arange(3.0) + p.shift)
    np.testing.assert_allclose(g.scale, 2 * total * np.arange(3.0))
    assert g.shift == pytest.approx(2 * total * 3)
    value, compiled = gm.compile(f)(p)
    assert type(compiled) is Params and compiled.shift == pytest.approx(g.shift)
    # inside a list, as a dict subclass is: the short path for flat lists took both for leaves
    grads = gm.grad(lambda xs: xs[0].scale * xs[1]["b"])([Params(2.0, 0.0), OrderedDict(b=3.0)])
    assert grads == [Params(3.0, 0.0), OrderedDict(b=2.0)]


def test_an_ordered_dict_keeps_its_order_and_type():
    params = OrderedDict(z=1.0, a=np.array([2.0, 3.0]))
    g = gm.grad(lambda p: p["z"] * np.sum(p["a"] ** 2))(params)
    assert type(g) is OrderedDict and list(g) == ["z", "a"]
    assert g["z"] == 13.0 and g["a"].tolist() == [4.0, 6.0]
    leaves, treedef = flatten(params)
    assert leaves[0] == 1.0 and unflatten(treedef, leaves) == params
