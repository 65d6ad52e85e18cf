"""The documentation site's sources: every public name has an API entry and a
docstring, and the built-site checker finds broken links and images."""

import importlib
import json
import re
import runpy
from pathlib import Path

import pytest

import gradmix as gm

DOCS = Path(__file__).resolve().parents[1] / "docs"
API = "\n".join(p.read_text() for p in (DOCS / "api").glob("*.rst"))
PUBLIC_MODULES = ["gradmix.solve", "gradmix.optim", "gradmix.scipy.special",
                  "gradmix.scipy.signal", "gradmix.scipy.stats", "gradmix.plot",
                  "gradmix.datasets"]  # fmt: skip


def documented(name: str) -> bool:
    """Listed in an autosummary table, or documented with its module's members."""
    return bool(re.search(rf"^\s+{re.escape(name)}\s*$", API, re.M)) or \
        bool(re.search(rf"\.\. automodule:: {re.escape(name)}\b", API))  # fmt: skip


@pytest.mark.parametrize("name", sorted(gm.__all__))
def test_every_public_name_has_an_api_page_and_a_docstring(name):
    if name == "families":
        assert documented("gradmix.mixture.families")
    else:
        assert documented(name), f"gradmix.{name} is missing from docs/api/"
    assert (getattr(gm, name).__doc__ or "").strip(), f"gradmix.{name} has no docstring"


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_every_public_subpackage_name_has_an_api_entry(module):
    mod = importlib.import_module(module)
    for name in mod.__all__:
        member = getattr(mod, name)
        entry = f"{module}.{name}" if module.startswith("gradmix.scipy.stats") else name
        listed = documented(entry) or re.search(rf":members:.*\b{name}\b", API)
        assert listed, f"{module}.{name} is missing from docs/api/"
        assert (member.__doc__ or "").strip(), f"{module}.{name} has no docstring"


def test_the_html_checker_finds_broken_links_anchors_and_images(tmp_path):
    check = runpy.run_path(str(DOCS / "check_html.py"))["check"]
    (tmp_path / "index.html").write_text(
        '<a href="page.html#here">ok</a><a href="gone.html">x</a>'
        '<a href="page.html#nowhere">y</a><img src="pic.png"><img src="lost.png">'
        '<a href="https://example.org/x">external</a>'
    )
    (tmp_path / "page.html").write_text('<h1 id="here">page</h1><a href="index.html">back</a>')
    (tmp_path / "pic.png").write_bytes(b"")
    problems = check(tmp_path)
    assert sorted(problems) == sorted([
        "index.html: broken link gone.html",
        "index.html: no anchor #nowhere in page.html#nowhere",
        "index.html: missing image lost.png",
    ])  # fmt: skip


def test_the_html_checker_finds_gallery_pages_without_a_picture(tmp_path):
    check = runpy.run_path(str(DOCS / "check_html.py"))["check"]
    gallery = tmp_path / "auto_examples"
    gallery.mkdir()
    (gallery / "index.html").write_text("<h1>Gallery</h1>")
    (gallery / "drawn.html").write_text('<img src="../_images/sphx_glr_drawn_001.png">')
    (gallery / "printed.html").write_text("<pre>only text</pre>")
    (tmp_path / "_images").mkdir()
    (tmp_path / "_images" / "sphx_glr_drawn_001.png").write_bytes(b"")
    assert check(tmp_path) == ["auto_examples/printed.html: the example shows no picture"]


def test_the_recorded_benchmark_figures_name_their_machine_and_draw():
    plots = runpy.run_path(str(DOCS.parent / "benchmarks" / "plot_results.py"))
    rows = plots["read"]()
    assert {r["panel"] for r in rows} == set(plots["PANELS"])
    for r in rows:
        assert r["machine"] and r["date"].startswith("2026-") and r["command"].startswith("uv run")
        assert float(r["low"]) <= float(r["value"]) <= float(r["high"]), r
    fig = plots["draw"](rows)
    assert len(fig.axes) == len(plots["PANELS"])


def test_the_html_checker_finds_a_search_page_that_cannot_search(tmp_path):
    check_search = runpy.run_path(str(DOCS / "check_html.py"))["check_search"]
    assert check_search(tmp_path) == ["search.html or searchindex.js is missing"]
    (tmp_path / "search.html").write_text('<script src="searchindex.js"></script>')
    (tmp_path / "index.html").write_text("<h1>home</h1>")
    (tmp_path / "orphan.html").write_text("<h1>not indexed</h1>")
    terms = {"gaussianmixtur": 0, "jacobian": 0, "hessian": 0, "bic": 0}
    index = {"docnames": ["index", "gone"], "terms": terms}
    (tmp_path / "searchindex.js").write_text(f"Search.setIndex({json.dumps(index)})")
    assert sorted(check_search(tmp_path)) == sorted([
        "the search index lacks 'dask'",
        "the search index names a page that was not built: gone",
        "the search index does not cover orphan.html",
    ])  # fmt: skip
