"""Check a built site: every internal link reaches a page (and its anchor), every
image exists, every gallery example's page shows the picture it drew.

Usage: ``python docs/check_html.py docs/_build/html``; exit 1 with one line per
problem."""

from __future__ import annotations

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


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/_build/html")
    if not (root / "index.html").exists():
        print(f"{root}: no index.html (build the site first)")
        return 1
    problems = check(root)
    for p in problems:
        print(p)
    print(f"{root}: {len(problems)} problems in {sum(1 for _ in root.rglob('*.html'))} pages")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
