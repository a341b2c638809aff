"""ragbot end to end on a real OpenSearch (the session's node, or OPENSEARCH_URL; see conftest.py):
ingest, search, ask, status and --prune through the command line with RAGBOT_VECTOR_STORE=opensearch,
each test in an index of its own."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.docs import make_pdf

pytestmark = pytest.mark.integration


@pytest.fixture
def index(opensearch, monkeypatch):
    """A fresh index that the command line writes to, deleted afterwards."""
    name = f"ragbot-cli-{uuid.uuid4().hex[:12]}"
    for key, value in opensearch.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("RAGBOT_OPENSEARCH_INDEX", name)
    yield name
    from opensearchpy import OpenSearch

    client = OpenSearch([opensearch.url], http_auth=opensearch.auth, verify_certs=opensearch.verify_certs)
    client.indices.delete(index=name, ignore_unavailable=True)
    client.close()


@pytest.fixture
def ragbot(shared_models, index):
    """The command line in-process, settings read at each call, the session's models shared."""
    from app.cli import CliState, cli
    from app.config import Settings
    from app.services import Backends, Services

    def run(*args: str):
        state = CliState(Services(backends=shared_models(Backends(Settings()))))
        result = CliRunner().invoke(cli, list(args), obj=state, catch_exceptions=False)
        return result

    return run


@pytest.fixture
def docs(tmp_path) -> Path:
    root = tmp_path / "standards"
    make_pdf(
        root / "Design" / "criteria.pdf",
        [
            "General requirements for the building envelope.",
            "21 01 13 Parking. The site provides 412 car parking spaces and 38 trailer positions.",
            "Minimum parking space size is 2.5 m by 5.0 m.",
        ],
    )
    make_pdf(root / "Operations" / "yard.pdf", ["Yard lighting shall give 20 lux at ground level."])
    (root / "notes.md").write_text("Fire doors are rated FD60 (60 minutes).")
    return root


def status(ragbot) -> dict:
    result = ragbot("status", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def search(ragbot, *args: str) -> list[dict]:
    result = ragbot("search", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["citations"]


def test_ingest_search_status_and_prune(ragbot, docs, opensearch):
    result = ragbot("ingest", str(docs))
    assert result.exit_code == 0, result.output
    assert "3 files: 3 indexed" in result.output

    info = status(ragbot)
    assert (info["documents"], info["pages"]) == (3, 5)
    assert info["embedding_model"] == "all-MiniLM-L6-v2"
    detected = info["store"]
    assert (detected["distribution"], detected["engine"], detected["writes"]) == ("opensearch", "lucene", "ids")
    assert "opensearch-knn" in detected["plugins"]

    (first, *_) = search(ragbot, "minimum size of a parking space", "--k", "2")
    assert (first["source"], first["page"]) == ("Design/criteria.pdf", 3)
    assert "2.5 m by 5.0 m" in first["text"]
    # The identifier as typed, by keyword; filters by folder and by document.
    (hit,) = search(ragbot, "21 01 13", "--k", "1", "--mode", "keyword")
    assert (hit["source"], hit["page"]) == ("Design/criteria.pdf", 2)
    assert {c["source"] for c in search(ragbot, "lighting parking", "--folder", "Operations")} == {
        "Operations/yard.pdf"
    }
    assert [c["source"] for c in search(ragbot, "fire door rating", "--source", "notes.md")] == ["notes.md"]
    assert search(ragbot, "parking", "--folder", "Oper") == []  # a folder is matched whole

    # Unchanged files are skipped; a changed one is rewritten, leaving one copy of its chunks.
    again = ragbot("ingest", str(docs), "--json")
    assert json.loads(again.output)["unchanged"] == 3
    (docs / "notes.md").write_text("Fire doors are rated FD90 (90 minutes) since the 2024 survey.")
    assert ragbot("ingest", str(docs)).exit_code == 0
    notes = search(ragbot, "fire door rating", "--source", "notes.md", "--k", "10")
    assert [c["text"] for c in notes] == ["Fire doors are rated FD90 (90 minutes) since the 2024 survey."]
    assert status(ragbot)["chunks"] == info["chunks"]

    # --prune removes what is no longer under the folder.
    (docs / "Operations" / "yard.pdf").unlink()
    pruned = ragbot("ingest", str(docs), "--prune")
    assert pruned.exit_code == 0, pruned.output
    assert "Operations/yard.pdf" in pruned.output
    after = status(ragbot)
    assert (after["documents"], after["pages"]) == (2, 4)
    assert all(c["source"] != "Operations/yard.pdf" for c in search(ragbot, "yard lighting lux", "--k", "10"))


@pytest.mark.parametrize("hybrid", ["client", "pipeline"])
def test_hybrid_fusion_modes(ragbot, docs, monkeypatch, hybrid):
    """Both fusions on the real engine; ``pipeline`` runs the neural-search plugin's
    normalization-processor, which the test node carries."""
    monkeypatch.setenv("RAGBOT_OPENSEARCH_HYBRID", hybrid)
    assert ragbot("ingest", str(docs)).exit_code == 0
    assert status(ragbot)["store"]["hybrid_mode"] == hybrid
    citations = search(ragbot, "How many trailer positions does the site have?", "--k", "3")
    assert (citations[0]["source"], citations[0]["page"]) == ("Design/criteria.pdf", 2)
    scores = [c["score"] for c in citations]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.slow
def test_ask_with_the_real_local_model(ragbot, docs, local_model_dir, monkeypatch):
    monkeypatch.setenv("RAGBOT_LOCAL_MODEL", str(local_model_dir))
    assert ragbot("ingest", str(docs)).exit_code == 0
    out = json.loads(ragbot("ask", "How many car parking spaces does the site provide?", "--json").output)
    assert out["found"] is True and "412" in out["answer"]
    assert (out["citations"][0]["source"], out["citations"][0]["page"]) == ("Design/criteria.pdf", 2)
