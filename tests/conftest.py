from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"


@pytest.fixture(autouse=True)
def ragbot_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own RAGBOT_HOME and no config file from the working folder."""
    home = tmp_path / "ragbot-home"
    monkeypatch.setenv("RAGBOT_HOME", str(home))
    monkeypatch.setenv("RAGBOT_CONFIG", str(tmp_path / "no-config.toml"))
    for key in list(os.environ):
        if key.startswith("RAGBOT_") and key not in ("RAGBOT_HOME", "RAGBOT_CONFIG"):
            monkeypatch.delenv(key)
    return home


@pytest.fixture(scope="session")
def embedder():
    """The real default embedding model, loaded once per test session."""
    from rag.embedders.local import SentenceTransformerEmbedder

    e = SentenceTransformerEmbedder("all-MiniLM-L6-v2")
    e.embed_query("load")
    return e


@pytest.fixture(scope="session")
def local_model_dir(tmp_path_factory) -> Path:
    """SmolLM2-135M-Instruct converted from its packaged GGUF once per test session."""
    from rag.generators.local import materialize

    return materialize("SmolLM2-135M-Instruct", tmp_path_factory.mktemp("models"))
