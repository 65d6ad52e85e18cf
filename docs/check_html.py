"""Check a built site: every internal link reaches a page (and its anchor), every
image exists, every gallery example's page shows the picture it drew, and the
search page has an index that knows the pages and the public names.

Usage: ``python docs/check_html.py docs/_build/html``; exit 1 with one line per
problem."""

from __future__ import annotations

import json
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class _Page(HTMLParser):
    """The ids, links and image sources of one HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and "name" in a:
            self.ids.add(a["name"])
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        if tag == "img" and "src" in a:
            self.images.append(a["src"])


def _internal(url: str) -> bool:
    parts = urlsplit(url)
    return not (parts.scheme or parts.netloc or url.startswith(("mailto:", "javascript:")))


def check(root: Path) -> list[str]:
    """The problems of the site under ``root``: broken links, anchors and images, and
    gallery pages without a picture."""
    pages: dict[Path, _Page] = {}
    for path in root.rglob("*.html"):
        page = _Page()
        page.feed(path.read_text(encoding="utf-8"))
        pages[path.resolve()] = page
    problems = []
    for path, page in sorted(pages.items()):
        where = path.relative_to(root.resolve())
        for src in page.images:
            if _internal(src) and not (path.parent / unquote(urlsplit(src).path)).exists():
                problems.append(f"{where}: missing image {src}")
        for href in page.links:
            if not _internal(href):
                continue
            parts = urlsplit(href)
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(f"{where}: broken link {href}")
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else set()
                if unquote(parts.fragment) not in ids:
                    problems.append(f"{where}: no anchor #{parts.fragment} in {href}")
    gallery = root.resolve() / "auto_examples"
    for path, page in sorted(pages.items()):
        is_example = path.parent == gallery and path.stem not in ("index", "sg_execution_times")
        if is_example and not any("sphx_glr_" in src for src in page.images):
            problems.append(f"{path.relative_to(root.resolve())}: the example shows no picture")
    return problems


#: words the search index must know (Sphinx stores them stemmed, in lower case)
SEARCH_TERMS = ("gaussianmixtur", "jacobian", "hessian", "bic", "dask")
#: pages Sphinx writes without a source, which its index never lists
UNINDEXED = {"genindex", "py-modindex", "search", "_static/webpack-macros"}


def check_search(root: Path) -> list[str]:
    """The problems of the search page under ``root``: no page, no index, an index
    that does not cover every page or lacks one of :data:`SEARCH_TERMS`."""
    page, index = root / "search.html", root / "searchindex.js"
    if not page.exists() or not index.exists():
        return ["search.html or searchindex.js is missing"]
    if "searchindex.js" not in page.read_text(encoding="utf-8"):
        return ["search.html does not load searchindex.js"]
    text = index.read_text(encoding="utf-8").strip()
    prefix, suffix = "Search.setIndex(", ")"
    if not (text.startswith(prefix) and text.endswith(suffix)):
        return ["searchindex.js is not a Sphinx search index"]
    data = json.loads(text[len(prefix) : -len(suffix)])
    problems = [f"the search index lacks {t!r}" for t in SEARCH_TERMS if t not in data["terms"]]
    pages = {p.relative_to(root).with_suffix("").as_posix() for p in root.rglob("*.html")}
    unbuilt = sorted(set(data["docnames"]) - pages)
    problems += [f"the search index names a page that was not built: {d}" for d in unbuilt]
    unindexed = sorted(pages - set(data["docnames"]) - UNINDEXED)
    problems += [f"the search index does not cover {d}.html" for d in unindexed]
    return problems


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/_build/html")
    if not (root / "index.html").exists():
        print(f"{root}: no index.html (build the site first)")
        return 1
    problems = check(root) + check_search(root)
    for p in problems:
        print(p)
    print(f"{root}: {len(problems)} problems in {sum(1 for _ in root.rglob('*.html'))} pages")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
