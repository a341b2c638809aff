"""The command-line contract of SPEC.md section 6, run through the real CLI."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import cli
from app.config import Settings
from app.services import Identity, Services
from rag.records import Answer
from rag.pipeline import to_citations
from tests.docs import make_pdf


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
    (root / "notes.md").write_text("Fire doors are rated FD60 (60 minutes).")
    return root


@pytest.fixture
def run(ragbot):
    return ragbot


def test_ingest_summary_and_exit_status(run, docs):
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 junk")
    result = run("ingest", str(docs))
    assert result.exit_code == 1
    assert "3 files: 2 indexed, 0 unchanged, 1 failed" in result.output
    assert "broken.pdf: not a readable PDF" in result.output
    (docs / "broken.pdf").unlink()
    again = run("ingest", str(docs), "--json")
    assert again.exit_code == 0
    report = json.loads(again.output)
    assert report["ok"] and report["unchanged"] == 2 and report["indexed"] == []


def test_ingest_if_empty_does_nothing_on_a_full_index(run, docs, tmp_path):
    run("ingest", str(docs))
    other = tmp_path / "other"
    make_pdf(other / "x.pdf", ["something else entirely"])
    result = run("ingest", str(other), "--if-empty")
    assert result.exit_code == 0
    status = json.loads(run("status", "--json").output)
    assert status["documents"] == 2 and status["pages"] == 4


def test_search_json_contract(run, docs):
    run("ingest", str(docs))
    result = run("search", "minimum size of a parking space", "--json", "--k", "2")
    assert result.exit_code == 0
    out = json.loads(result.output)
    assert out["query"] == "minimum size of a parking space"
    assert len(out["citations"]) == 2
    first = out["citations"][0]
    assert {"source", "page", "score", "text"} <= first.keys()
    assert (first["source"], first["page"]) == ("Design/criteria.pdf", 3)
    assert isinstance(first["score"], float) and "2.5 m by 5.0 m" in first["text"]
    pageless = json.loads(run("search", "fire door rating", "--json", "--source", "notes.md").output)["citations"]
    assert [(c["source"], c["page"]) for c in pageless] == [("notes.md", None)]


def test_search_queries_file_prints_one_line_per_query(run, docs, tmp_path):
    run("ingest", str(docs))
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": "a", "query": "trailer positions"}\n\nfire door rating\n{"query": "21 01 13"}\n')
    result = run("search", "--queries", str(queries), "--json", "--k", "1")
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["query"] for line in lines] == ["trailer positions", "fire door rating", "21 01 13"]
    assert lines[0]["id"] == "a" and "id" not in lines[1]
    assert [(line["citations"][0]["source"], line["citations"][0]["page"]) for line in lines] == [
        ("Design/criteria.pdf", 2),
        ("notes.md", None),
        ("Design/criteria.pdf", 2),
    ]


def test_bad_input_gets_a_message_not_a_traceback(docs, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"q": "oops"}\n')
    result = CliRunner().invoke(cli, ["search", "--queries", str(bad), "--json"])
    assert result.exit_code != 0 and "bad.jsonl:1" in result.output and "Traceback" not in result.output
    empty = CliRunner().invoke(cli, ["ask", "   "])
    assert empty.exit_code == 1 and "The question is empty" in empty.output
    neither = CliRunner().invoke(cli, ["search"])
    assert neither.exit_code == 2 and "either a QUERY or --queries" in neither.output


def test_a_bad_setting_is_named(monkeypatch):
    monkeypatch.setenv("RAGBOT_TOP_K", "zero")
    result = CliRunner().invoke(cli, ["status"])
    assert result.exit_code == 1 and "RAGBOT_TOP_K=" in result.output


@pytest.mark.slow
def test_ask_json_with_the_real_local_model(run, docs, local_model_dir, monkeypatch):
    monkeypatch.setenv("RAGBOT_LOCAL_MODEL", str(local_model_dir))
    run("ingest", str(docs))
    out = json.loads(run("ask", "How many car parking spaces does the site provide?", "--json").output)
    assert {"answer", "citations", "model_id", "latency_ms", "prompt_version", "found"} <= out.keys()
    assert out["found"] is True and out["answer"].strip()
    assert "412" in out["answer"]
    assert (out["citations"][0]["source"], out["citations"][0]["page"]) == ("Design/criteria.pdf", 2)
    assert out["model_id"] == str(local_model_dir) and out["latency_ms"] > 0
    # Every number the model wrote is checked against the passages: 412 is in them.
    assert "412" not in out["unsupported"] and out["sentences"]
    assert all(set(s) >= {"text", "citation"} for s in out["sentences"])


@pytest.mark.slow
def test_ask_streams_then_lists_sources(run, docs, local_model_dir, monkeypatch):
    monkeypatch.setenv("RAGBOT_LOCAL_MODEL", str(local_model_dir))
    run("ingest", str(docs))
    out = run("ask", "How many car parking spaces are there?").output
    answer, _, sources = out.partition("Sources:")
    assert answer.strip()
    assert "[1] Design/criteria.pdf – page 2" in sources
    off_topic = run("ask", "Who painted the Mona Lisa?").output
    assert "The documents do not contain the answer" in off_topic and "Searched:" in off_topic


def test_the_installed_command_runs_as_a_process(ragbot_home):
    # One real process, to prove the entry point; everything else runs in-process.
    env = os.environ | {"RAGBOT_HOME": str(ragbot_home)}
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "status", "--json"], env=env, check=True, capture_output=True, text=True
    )
    assert json.loads(out.stdout)["documents"] == 0


@pytest.mark.slow
def test_ask_says_which_verified_answer_it_serves(run, docs, local_model_dir, monkeypatch):
    monkeypatch.setenv("RAGBOT_LOCAL_MODEL", str(local_model_dir))
    run("ingest", str(docs))
    question = "How many car parking spaces does the site provide?"
    first = json.loads(run("ask", question, "--json").output)
    assert first["verified"] is None
    services = Services(Settings())
    citations = services.backends.retriever.search(question, k=3)

    answer = Answer(
        question=question,
        answer=first["answer"],
        found=True,
        citations=to_citations(citations),
        model_id="m",
        prompt_version="p",
        latency_ms=1,
    )
    record = services.chat.record_answer(answer, session_id="s", turn=1)
    sme = services.as_identity(Identity(user="sam", role="sme"))
    reference = "The site provides 412 car parking spaces [1]."
    sme.review.review(record.id, opened=None, status="validated", reference_answer=reference)

    out = json.loads(run("ask", "How many car parking spaces are provided on the site?", "--json").output)
    verified = out["verified"]
    assert verified["id"] == record.id and verified["question"] == question and verified["reviewer"] == "sam"
    assert verified["answer"] == reference and verified["similarity"] >= 0.7
    assert [(c["source"], c["page"]) for c in verified["citations"]] == [("Design/criteria.pdf", 2)]
    assert out["answer"].strip(), "the model's own answer is still given"
    near = json.loads(run("ask", "How many trailer positions does the site provide?", "--json").output)
    assert near["verified"] is None
    printed = run("ask", "How many car parking spaces are provided on the site?").output
    assert printed.startswith("Verified by sam on ") and "The model's own answer:" in printed
