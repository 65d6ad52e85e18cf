"""Sphinx configuration: the API reference from the docstrings (numpydoc, autosummary),
a gallery built by running ``examples/`` (sphinx-gallery), Markdown pages (MyST), and
the PyData theme.  Build: ``uv run --group docs sphinx-build -W -b html docs docs/_build/html``
(offline: no intersphinx inventories are fetched)."""

from __future__ import annotations

import os
import runpy
import sys
import tempfile
from pathlib import Path

import gradmix

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))  # the examples import their _common helper
# the examples write their pictures here, not into the repository; the gallery shows
# the figures they leave open
os.environ.setdefault("GRADMIX_EXAMPLES_OUT", tempfile.mkdtemp(prefix="gradmix-docs-"))
os.environ.pop("GRADMIX_FULL", None)  # quick sizes, as in the test suite

# the benchmarks page's picture, drawn from the recorded figures at every build
_plots = runpy.run_path(str(ROOT / "benchmarks" / "plot_results.py"))
_plots["DEFAULT_OUT"].parent.mkdir(parents=True, exist_ok=True)
_plots["draw"](_plots["read"]()).savefig(_plots["DEFAULT_OUT"], dpi=100, bbox_inches="tight")

project = "gradmix"
author = "the gradmix developers"
copyright = "2026, the gradmix developers"  # noqa: A001
release = version = gradmix.__version__ if hasattr(gradmix, "__version__") else "0.1.0"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "coverage.py", "sparsity_coverage.py", "compile_coverage.py",
                    "api/generated/*.examples"]
templates_path = ["_templates"]

# API reference: one page per public name, from its docstring
autosummary_generate = True
autodoc_typehints = "none"  # the numpydoc sections say the types
autodoc_default_options = {"members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = False  # fitted attributes get targets of their own

# broken cross-references are errors (with -W); the few names docstrings mention that
# have no page of their own are listed here
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|scipy|sklearn|dask|torch|cupy|jax|matplotlib)\..*"),
    (r"py:class", r"SparsityRule"),  # defsparsity's contract, described on its page
    (r"std:term", r".*"),  # scikit-learn's glossary, in the methods it documents
]
# the README's sections included as pages (getting started, development) start below
# the page's title
suppress_warnings = ["myst.header"]

myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r".*\.py",
    "ignore_pattern": r"_common\.py",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
    "abort_on_example_error": True,
}

html_theme = "pydata_sphinx_theme"
html_title = "gradmix"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path: list[str] = []


def _skip_scikit_learns_members(app, what, name, obj, skip, options):  # noqa: ANN001, ARG001
    """Inherited scikit-learn methods (``get_params``, ``set_output``, metadata routing)
    are documented by scikit-learn; the class pages show gradmix's own."""
    module = getattr(obj, "__module__", None) or ""
    return True if module.startswith("sklearn") else None


def setup(app):  # noqa: ANN001
    app.connect("autodoc-skip-member", _skip_scikit_learns_members)
