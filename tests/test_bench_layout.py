"""bench/ is a package of its own: its files import the product and each other through ``bench.``,
never ``tests`` and never by putting a folder on sys.path, and every benchmark command the
documentation gives names a script that exists and runs as ``python -m bench.<name>``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
BENCH = ROOT / "bench"
MODULES = {p.stem: p for p in BENCH.glob("*.py") if p.stem != "__init__"}
DOCS = [ROOT / "README.md", BENCH / "README.md", BENCH / "RESULTS.md", ROOT / "Makefile"]
RUN_AS_MODULE = re.compile(r"python3? -m bench\.(\w+)")
RUN_AS_FILE = re.compile(r"python3? (?:\./)?bench/\w+\.py")
PATH_TRICKS = re.compile(r"sys\.path\.(?:insert|append|extend)|PYTHONPATH")


def imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(module, names, line) of every import in the file, at any depth (a function's too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, [alias.name for alias in node.names], node.lineno))
    return found


def top_level_names(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return names


@pytest.mark.parametrize("path", sorted(BENCH.glob("*.py")), ids=lambda p: p.name)
def test_a_bench_file_imports_neither_tests_nor_through_sys_path(path):
    wrong = [
        f"line {line}: {module}"
        for module, _, line in imports(path)
        if module.split(".")[0] == "tests" or module.split(".")[0] in MODULES
    ]
    assert not wrong, f"{path.name} imports tests/ or a bench module without bench.: {wrong}"
    tricks = [m.group(0) for m in PATH_TRICKS.finditer(path.read_text(encoding="utf-8"))]
    assert not tricks, f"{path.name} changes the import path ({tricks}); run it as python -m bench.{path.stem}"


@pytest.mark.parametrize("path", sorted(BENCH.glob("*.py")), ids=lambda p: p.name)
def test_what_a_bench_file_imports_from_bench_is_there(path):
    missing = []
    for module, names, line in imports(path):
        if module == "bench":
            missing += [f"line {line}: bench.{n}" for n in names if n not in MODULES]
        elif module.startswith("bench."):
            target = MODULES.get(module.removeprefix("bench."))
            if target is None:
                missing.append(f"line {line}: {module}")
                continue
            defined = top_level_names(target)
            missing += [f"line {line}: {module}.{n}" for n in names if n not in defined]
    assert not missing, f"{path.name} imports what bench/ does not hold: {missing}"


def test_tests_may_import_bench_but_bench_never_imports_tests():
    # The rule above, seen from the other side: a helper the tests share with bench lives in bench.
    users = sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / "tests").rglob("*.py")
        if any(m.split(".")[0] == "bench" for m, _, _ in imports(p))
    )
    assert users, "no test imports bench/: this check would prove nothing"
    assert not any(m.split(".")[0] == "tests" for p in BENCH.glob("*.py") for m, _, _ in imports(p))


def test_no_test_reaches_bench_through_sys_path():
    this = Path(__file__).resolve()
    tricks = sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / "tests").rglob("*.py")
        if p.resolve() != this and PATH_TRICKS.search(p.read_text(encoding="utf-8"))
    )
    assert not tricks, f"import bench.<name> instead of changing the import path: {tricks}"


def test_every_benchmark_command_in_the_docs_names_a_script_that_runs_as_a_module():
    named: dict[str, set[str]] = {}
    old_style = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for name in RUN_AS_MODULE.findall(text):
            named.setdefault(name, set()).add(doc.name)
        old_style += [f"{doc.name}: {m}" for m in RUN_AS_FILE.findall(text)]
    assert not old_style, f"commands that cannot import bench's helpers; write python -m bench.<name>: {old_style}"
    assert len(named) >= 20, f"the docs name only {sorted(named)}: is RUN_AS_MODULE still matching?"
    missing = {name: docs for name, docs in named.items() if name not in MODULES}
    assert not missing, f"benchmarks named in the docs with no bench/<name>.py: {missing}"
    not_scripts = [n for n in named if 'if __name__ == "__main__"' not in MODULES[n].read_text(encoding="utf-8")]
    assert not not_scripts, f"named as commands but they do nothing when run: {not_scripts}"


def test_every_bench_file_the_docs_point_to_exists():
    pointed = {m for doc in DOCS for m in re.findall(r"bench/(\w+)\.py", doc.read_text(encoding="utf-8"))}
    assert pointed, "the docs point to no bench file: is the pattern still matching?"
    assert not pointed - set(MODULES), f"the docs point to files bench/ does not have: {pointed - set(MODULES)}"
