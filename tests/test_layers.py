"""The dependency rule of the README's developer map: app → training → rag, feedback → common;
rag and feedback never import each other; nothing imports app; and no module imports itself back through
others (counting imports inside functions and under TYPE_CHECKING). Read from the source, so a new import
that breaks the rule fails here, not in a review."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
MAY_IMPORT = {
    "common": set(),
    "feedback": {"common"},
    "rag": {"common"},
    "training": {"common", "feedback", "rag"},
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_a_package_imports_only_the_layers_below_it(package):
    ours = set(MAY_IMPORT) | {"app"}
    wrong = {
        str(path.relative_to(ROOT)): sorted((imported_packages(path) & ours) - MAY_IMPORT[package] - {package})
        for path in (ROOT / package).rglob("*.py")
    }
    assert not {k: v for k, v in wrong.items() if v}, f"imports that break the layering: {wrong}"


# -- import cycles -------------------------------------------------------------------------------

PRODUCT = ("app", "common", "feedback", "rag", "training")

# Cycles that remain in the product while issue 27 is worked on, each a set of modules that import
# one another. Empty it as they are cut; never add to it. A cycle found that is not inside one of
# these fails the test below, and an entry that no longer matches any cycle fails the next one.
KNOWN_CYCLES: dict[str, set[str]] = {}


def module_names(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Dotted module name -> its file, for every module of ``packages`` under ``root``."""
    modules = {}
    for package in packages:
        for path in (root / package).rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def import_graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Module -> the modules of ``packages`` it imports anywhere in its source: at the top, inside
    functions and under ``if TYPE_CHECKING:`` alike (each is an edge a reader has to follow).
    ``from package import name`` points at the submodule ``name`` when there is one."""
    modules = module_names(root, packages)

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str | None] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {known(alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parent, base] if base else parent)
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    targets.add(submodule if submodule in modules else known(base))
        graph[name] = {t for t in targets if t is not None and t != name}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The sets of two or more modules that import one another, directly or through others
    (the strongly connected components of the graph, Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def a_path_round(graph: dict[str, set[str]], cycle: set[str]) -> list[str]:
    """One way round ``cycle``, for the message: start → … → start."""
    start = min(cycle)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node] & cycle):
            if target == start:
                return [*paths[node], start]
            if target not in paths:
                paths[target] = [*paths[node], target]
                queue.append(target)
    raise AssertionError(f"{cycle} is not a cycle")


def test_the_cycle_finder_sees_imports_under_type_checking_and_inside_functions(tmp_path):
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    files = {
        "pkg/__init__.py": "",
        "pkg/sub/__init__.py": "",
        "pkg/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\n",
        "pkg/b.py": "def f():\n    from .sub import c\n",
        "pkg/sub/c.py": "import pkg.a\n",
        "pkg/d.py": "from pkg import a\n",  # imports into the cycle, is not in it
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    graph = import_graph(tmp_path, ("pkg",))
    assert graph["pkg.b"] == {"pkg.sub.c"} and graph["pkg.d"] == {"pkg.a"}
    assert import_cycles(graph) == [{"pkg.a", "pkg.b", "pkg.sub.c"}]
    assert a_path_round(graph, {"pkg.a", "pkg.b", "pkg.sub.c"}) == ["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"]
    (tmp_path / "pkg/a.py").write_text("")
    assert import_cycles(import_graph(tmp_path, ("pkg",))) == []


def test_no_module_of_the_product_imports_itself_back():
    graph = import_graph(ROOT, PRODUCT)
    new = [c for c in import_cycles(graph) if not any(c <= known for known in KNOWN_CYCLES.values())]
    assert not new, "import cycles (counting imports inside functions and under TYPE_CHECKING): " + "; ".join(
        " -> ".join(a_path_round(graph, c)) for c in new
    )


def test_every_known_cycle_is_still_there():
    found = import_cycles(import_graph(ROOT, PRODUCT))
    gone = [name for name, known in KNOWN_CYCLES.items() if not any(c <= known for c in found)]
    assert not gone, f"these cycles are cut: remove them from KNOWN_CYCLES: {gone}"
