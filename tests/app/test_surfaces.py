"""The pages and the command line act through services: none of them reaches ``services.backends``
(a store, the embedder, a model) itself, so every action keeps its role check and audit, and the
question's walk goes page or command → service → backend, never round a service (issue 27)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).parents[2] / "app"
SURFACES = sorted(
    [*(APP / "cli").glob("*.py"), *(APP / "app_pages").glob("*.py"), APP / "chat_parts.py", *APP.glob("*_view.py")]
)


def reaches_backends(source: str) -> list[int]:
    """The lines that read an attribute named ``backends`` (``services.backends.store``)."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute) and node.attr == "backends"
    ]


@pytest.mark.parametrize("path", SURFACES, ids=lambda p: str(p.relative_to(APP)))
def test_a_page_or_command_acts_through_services(path):
    assert not reaches_backends(path.read_text(encoding="utf-8")), f"{path.name} reaches services.backends"


def test_the_check_sees_a_command_that_reaches_the_store():
    assert reaches_backends("def train(services):\n    return services.backends.store.count()\n") == [2]
    assert reaches_backends("def train(services):\n    return services.training.train_reranker()\n") == []
