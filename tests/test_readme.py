"""The README's examples run and print what it says (doctest over its ``>>>`` lines)."""

import doctest
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_examples_print_what_they_say(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = doctest.testfile(str(README), module_relative=False, verbose=False,
                              optionflags=doctest.NORMALIZE_WHITESPACE)  # fmt: skip
    assert result.attempted >= 10
    assert result.failed == 0


def test_the_readme_links_to_files_that_exist():
    root = README.parent
    text = README.read_text()
    targets = [part.split(")")[0] for part in text.split("](")[1:]]
    assert targets
    for target in targets:
        if not target.startswith("http"):
            assert (root / target).exists(), target
