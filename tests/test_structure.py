"""The package's structure: no import cycles, no private names across modules, and
covariance models named only where they are defined."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "gradmix"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def resolve(name: str) -> str | None:
    """The gradmix module an import of ``name`` loads (None outside gradmix)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports(path: Path):
    """(imported module, names taken from it, line) for every import, at any depth."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))  # fmt: skip
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if full in MODULES:  # a submodule
                    yield full, [], node.lineno
                else:
                    yield base, [alias.name], node.lineno


def graph():
    edges = {m: set() for m in MODULES}
    for m, path in MODULES.items():
        for target, _, _ in imports(path):
            t = resolve(target)
            if t is not None and t != m:
                edges[m].add(t)
    return edges


def find_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Circles of a directed graph (depth-first search; one per back edge)."""
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in sorted(edges[m]):
            if state.get(t) == 1:
                cycles.append(stack[stack.index(t) :] + [t])
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m)
    return cycles


def test_the_cycle_search_finds_circles():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_the_module_graph_has_no_cycle():
    graph_ = graph()
    assert len(graph_) > 50 and any(graph_.values())
    cycles = find_cycles(graph_)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_no_private_name_crosses_modules():
    offences = []
    for m, path in MODULES.items():
        aliases = {}
        for target, names, line in imports(path):
            if resolve(target) is None:
                continue
            offences += [f"{m}:{line} imports {target}.{n}" for n in names
                         if n.startswith("_") and not n.startswith("__")]  # fmt: skip
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and resolve(node.module):
                for alias in node.names:
                    if f"{node.module}.{alias.name}" in MODULES:
                        aliases[alias.asname or alias.name] = node.module
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if resolve(alias.name):
                        aliases[alias.asname or alias.name] = alias.name
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases and node.attr.startswith("_")
                    and not node.attr.startswith("__")):  # fmt: skip
                offences.append(f"{m}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert not offences, "\n".join(offences)


def string_constants(path: Path):
    """String literals of a module, docstrings excepted."""
    tree = ast.parse(path.read_text())
    docstrings = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                isinstance(body[0].value, ast.Constant):  # fmt: skip
            docstrings.add(id(body[0].value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                id(node) not in docstrings:  # fmt: skip
            yield node.value, node.lineno


@pytest.mark.parametrize("kind", ["mixture", "elsewhere"])
def test_covariance_models_are_named_only_in_their_units_and_the_registry(kind):
    from gradmix.mixture.covariance import MODELS

    units = PACKAGE / "mixture" / "covariance"
    found = []
    for m, path in MODULES.items():
        if units in path.parents or path == units / "__init__.py":
            continue
        if (kind == "mixture") != ("mixture" in path.parts):
            continue
        # The AD half never sees a mixture; its "full" is numpy's convolution mode.
        if {"ad", "scipy"} & set(path.relative_to(PACKAGE).parts[:1]):
            continue
        found += [f"{m}:{line} {text!r}" for text, line in string_constants(path) if text in MODELS]
    assert not found, "\n".join(found)
