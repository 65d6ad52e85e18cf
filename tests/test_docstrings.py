"""Every example in a docstring runs and prints what it shows (they are documentation users
copy, so a stale one is a wrong answer in print)."""

import doctest
import importlib
import pkgutil

import pytest

import gradmix

MODULES = [
    m.name
    for m in pkgutil.walk_packages(gradmix.__path__, "gradmix.")
    if not m.name.endswith("__main__")  # running it is the command line
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, optionflags=flags, report=True)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed (above)"
