"""Bad settings, files and stored records on the command line: one line saying what is wrong, exit
status 1, never a traceback (issue 9, items 1, 5, 6, 7)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import CliState, cli
from app.config import Settings

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def cli_run(*args: str):
    """The CLI as a fresh process sees it: settings read when a command first needs them."""
    return CliRunner().invoke(cli, list(args), obj=CliState(), catch_exceptions=False)


def one_line_error(result, *fragments: str) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# -- settings ------------------------------------------------------------------------------------


def test_an_overlap_as_large_as_the_chunk_is_named(monkeypatch):
    monkeypatch.setenv("RAGBOT_CHUNK_SIZE", "400")
    monkeypatch.setenv("RAGBOT_CHUNK_OVERLAP", "400")
    one_line_error(cli_run("status"), "RAGBOT_CHUNK_OVERLAP=400 must be less than RAGBOT_CHUNK_SIZE=400")
    monkeypatch.setenv("RAGBOT_CHUNK_OVERLAP", "399")
    assert Settings().chunk_overlap == 399


def test_a_home_that_is_a_file_is_named(monkeypatch, tmp_path):
    home = tmp_path / "home"
    home.write_text("not a folder")
    monkeypatch.setenv("RAGBOT_HOME", str(home))
    one_line_error(cli_run("feedback", "stats"), f"RAGBOT_HOME={str(home)!r}", "is a file, not a folder")
    monkeypatch.setenv("RAGBOT_HOME", str(home / "below"))
    one_line_error(cli_run("status"), f"{home} is a file, not a folder")


def unwritable_folder(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir(mode=0o500)
        return folder
    for candidate in (Path("/proc/sys"), Path("/sys/kernel")):  # read-only even for root here
        if candidate.is_dir() and not os.access(candidate, os.W_OK):
            return candidate
    pytest.skip("running as root with no read-only folder to point RAGBOT_HOME at")


def test_a_home_that_cannot_be_written_is_named(monkeypatch, tmp_path):
    folder = unwritable_folder(tmp_path)
    monkeypatch.setenv("RAGBOT_HOME", str(folder / "ragbot"))
    one_line_error(cli_run("ingest", str(tmp_path)), "RAGBOT_HOME", "cannot be written by this user")


def test_a_named_config_file_that_is_missing_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv("RAGBOT_CONFIG", str(tmp_path / "ragbto.toml"))
    one_line_error(cli_run("status"), "RAGBOT_CONFIG=", "ragbto.toml", "does not exist")
    monkeypatch.setenv("RAGBOT_CONFIG", str(tmp_path))
    one_line_error(cli_run("status"), "is a folder")


def test_the_default_config_file_may_be_absent_and_a_named_one_is_read(monkeypatch, tmp_path):
    monkeypatch.delenv("RAGBOT_CONFIG")
    monkeypatch.chdir(tmp_path)  # no ragbot.toml here
    assert Settings().top_k == 5
    (tmp_path / "ragbot.toml").write_text("top_k = 7\n")
    assert Settings().top_k == 7
    named = tmp_path / "other.toml"
    named.write_text("top_k = 9\n")
    monkeypatch.setenv("RAGBOT_CONFIG", str(named))
    assert Settings().top_k == 9


def test_an_unknown_embedding_model_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("RAGBOT_EMBEDDING_MODEL", "all-MiniLM-L6-v3")
    one_line_error(cli_run("search", "parking"), "embedding model 'all-MiniLM-L6-v3' cannot be loaded")


# -- --queries files -------------------------------------------------------------------------------


@pytest.fixture
def indexed(ragbot, tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.md").write_text("Fire doors are rated FD60 (60 minutes).")
    assert ragbot("ingest", str(tmp_path / "docs")).exit_code == 0
    return ragbot


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"fire doors\ncaf\xe9 rating\n", "q.txt:2: not UTF-8 text (byte 0xe9 at column 4)"),
        (b'fire doors\n\n{"query": ""}\nrating\n', "q.txt:3: the query is empty"),
        (b'fire doors\n{"query": "   "}\n', "q.txt:2: the query is empty"),
        (b'fire doors\n{"query": "rating"\n', "q.txt:2: broken JSON"),
        (b'{"query": "fire"}\n{"question": 3}\n', 'q.txt:2: expected a JSON object with a "query" string'),
    ],
)
def test_a_bad_queries_file_names_the_line_and_searches_nothing(indexed, tmp_path, content, message):
    queries = tmp_path / "q.txt"
    queries.write_bytes(content)
    one_line_error(indexed("search", "--queries", str(queries), "--json"), message)  # nothing searched first


def test_a_query_the_retriever_refuses_is_named_by_its_line(indexed, tmp_path):
    queries = tmp_path / "q.txt"
    queries.write_text("fire\n" + "x" * 5000 + "\n")
    result = indexed("search", "--queries", str(queries), "--json")
    assert result.exit_code == 1 and result.output.splitlines()[-1].startswith(f"Error: {queries}:2: ")


def test_quoted_phrases_and_blank_lines_are_still_text_queries(indexed, tmp_path):
    queries = tmp_path / "q.txt"
    queries.write_text('"fire doors" rating\n\n[1] FD60\n')
    result = indexed("search", "--queries", str(queries), "--json")
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["query"] for line in result.output.splitlines()] == ['"fire doors" rating', "[1] FD60"]


# -- feedback import and a store holding a bad record --------------------------------------------


def test_import_messages_are_one_line(ragbot, tmp_path):
    from tests.feedback.contract import make

    latin1 = tmp_path / "latin1.jsonl"
    latin1.write_bytes(make("a", question="café").model_dump_json().encode("latin-1") + b"\n")
    one_line_error(ragbot("feedback", "import", str(latin1)), "line 1: not UTF-8 text", "nothing was imported")
    twice = tmp_path / "twice.jsonl"
    twice.write_text(make("a").model_dump_json() + "\n" + make("a").model_dump_json() + "\n")
    one_line_error(ragbot("feedback", "import", str(twice)), "line 2: id 'a' again (first on line 1)")
    assert "0 interactions" in ragbot("feedback", "stats").output


def test_stats_and_export_say_how_many_records_they_could_not_read(ragbot, tmp_path):
    from app.services import Services
    from tests.feedback.contract import make
    from tests.feedback.test_sqlite import spoil_sqlite

    store = Services(Settings()).backends.feedback_store
    for i, name in enumerate(["a", "b", "c"]):
        store.put(make(name, minutes=i))
    spoil_sqlite(store.inner, "b", created_at="0001-01-01T00:00:00+14:00")
    stats = ragbot("feedback", "stats")
    assert stats.exit_code == 0 and "2 interactions" in stats.output
    assert "Warning: 1 stored record could not be read and was left out of these figures" in stats.output
    assert json.loads(ragbot("feedback", "stats", "--json").output.splitlines()[-1])["unreadable"] == 1
    export = ragbot("feedback", "export", "--out", str(tmp_path / "out.jsonl"))
    assert export.exit_code == 0 and "Exported 2 interactions" in export.output
    assert "1 stored record could not be read and was left out of the export (b)" in export.output
