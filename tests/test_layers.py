"""The dependency rule of the README's developer map: app → training → rag, feedback → common;
rag and feedback never import each other; nothing imports app. Read from the source, so a new import that
breaks the rule fails here, not in a review."""

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
