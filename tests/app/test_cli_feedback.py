"""``ragbot feedback export|import|stats`` through click, against the real SQLite store."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from app.cli.feedback import feedback
from app.config import Settings
from app.services import Services
from feedback.export import export
from feedback.records import Feedback, Interaction, Review
from feedback.stores.base import InteractionFilter
from feedback.stores.sqlite import SQLiteFeedbackStore
from tests.feedback.contract import T0, make


def run(*args: str):
    return CliRunner().invoke(feedback, list(args), catch_exceptions=False)


def store():
    return Services(Settings()).backends.feedback_store


@pytest.fixture
def filled() -> list[Interaction]:
    """Five interactions over three days, by two users, rated and reviewed in different ways."""
    records = [
        make(
            "a1",
            minutes=0,
            user="ana",
            sources=("Design/Criteria/lighting.pdf",),
            feedback=Feedback(rating=1, correction="It is 25 kN/m2."),
        ),
        make("a2", minutes=60 * 24, user="ana", sources=("Design/floor.pdf",), feedback=Feedback(rating=2)),
        make("b1", minutes=60 * 24 + 30, user="bo", sources=("Specs/doors.pdf",), feedback=Feedback(rating=4)),
        make(
            "b2",
            minutes=60 * 48,
            user="bo",
            sources=("Design/Criteria/lighting.pdf",),
            feedback=Feedback(rating=5, correction="Add the clause."),
        ),
        make("c1", minutes=60 * 48 + 1, user="cy"),
    ]
    s = store()
    for r in records:
        s.put(r)
    s.set_review("b1", Review(status="validated", reviewer="sme"))
    return records


def jsonl_ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()]


# -- export --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_export_each_format(filled, tmp_path, fmt):
    out = tmp_path / f"feedback.{fmt}"
    result = run("export", "--format", fmt, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Exported 5 interactions as {fmt} to {out} (")
    assert len(result.stdout.strip().splitlines()) == 1
    if fmt == "csv":
        with open(out, encoding="utf-8-sig", newline="") as f:
            assert [r["id"] for r in csv.DictReader(f)] == ["c1", "b2", "b1", "a2", "a1"]
    elif fmt == "jsonl":
        assert jsonl_ids(out) == ["c1", "b2", "b1", "a2", "a1"]
    else:
        assert pq.read_table(out).num_rows == 5


def test_the_format_comes_from_the_suffix(filled, tmp_path):
    out = tmp_path / "feedback.parquet"
    assert run("export", "-o", str(out)).exit_code == 0
    assert pq.read_table(out).num_rows == 5


def test_an_unknown_suffix_needs_a_format(filled, tmp_path):
    result = run("export", "--out", str(tmp_path / "feedback.txt"))
    assert result.exit_code == 2 and "--format" in result.output
    assert not (tmp_path / "feedback.txt").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--user", "bo"], ["b2", "b1"]),
        (["--since", "2025-03-15"], ["c1", "b2", "b1", "a2"]),
        (["--until", "2025-03-15"], ["b1", "a2", "a1"]),  # a bare --until date includes that day
        (["--until", "2025-03-15T09:00:00"], ["a1"]),  # a date-time is exclusive
        (["--since", "2025-03-15T10:00:00+01:00", "--until", "2025-03-15T09:30:00Z"], ["a2"]),
        (["--min-rating", "4"], ["b2", "b1"]),
        (["--max-rating", "2"], ["a2", "a1"]),
        (["--min-rating", "2", "--max-rating", "4"], ["b1", "a2"]),
        (["--source", "Design/Criteria"], ["b2", "a1"]),
        (["--source", "Design"], ["b2", "a2", "a1"]),
        (["--has-correction"], ["b2", "a1"]),
        (["--no-correction"], ["c1", "b1", "a2"]),
        (["--review-status", "validated"], ["b1"]),
        (["--user", "ana", "--max-rating", "1", "--source", "Design"], ["a1"]),
    ],
)
def test_export_filters(filled, tmp_path, args, expected):
    out = tmp_path / "f.jsonl"
    result = run("export", "--out", str(out), *args)
    assert result.exit_code == 0, result.output
    assert jsonl_ids(out) == expected
    assert f"Exported {len(expected)} interactions" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "last tuesday"], "not an ISO date"),
        (["--min-rating", "0"], "--min-rating"),
        (["--max-rating", "6"], "--max-rating"),
        (["--min-rating", "4", "--max-rating", "2"], "above --max-rating"),
        (["--review-status", "approved"], "--review-status"),
        (["--format", "xlsx"], "--format"),
    ],
)
def test_bad_options_are_usage_errors(filled, tmp_path, args, message):
    out = tmp_path / "f.jsonl"
    result = run("export", "--out", str(out), *args)
    assert result.exit_code == 2
    assert message in result.output
    assert not out.exists()


def test_export_to_standard_output(filled):
    result = run("export", "--format", "jsonl", "--out", "-", "--user", "ana")
    assert result.exit_code == 0
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["a2", "a1"]
    assert "Exported 2 interactions as jsonl to standard output" in result.stderr


@pytest.mark.parametrize("role", ["engineer", "sme"])
@pytest.mark.parametrize("command", ["export", "import"])
def test_export_and_import_are_for_admins_only(filled, tmp_path, monkeypatch, role, command):
    dump = tmp_path / "dump.jsonl"
    export(store(), dump, "jsonl")
    monkeypatch.setenv("RAGBOT_ROLE", role)
    out = tmp_path / "f.jsonl"
    args = ["export", "--out", str(out)] if command == "export" else ["import", str(dump)]
    result = run(*args)
    assert result.exit_code == 1
    assert "only the admin role may" in result.stderr and f"the {role} role" in result.stderr
    assert not out.exists()


def test_an_unwritable_target_is_one_line_and_exit_1(filled, tmp_path):
    (tmp_path / "taken.jsonl").mkdir()  # a folder where the file should go
    result = run("export", "--out", str(tmp_path / "taken.jsonl"))
    assert result.exit_code == 1 and result.stderr.startswith("Error: ") and "taken.jsonl" in result.stderr
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".taken")] == []


def test_a_store_error_is_one_line_and_exit_1(tmp_path, monkeypatch):
    home = tmp_path / "ragbot-home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "feedback.db").write_bytes(b"this is not a database" * 100)
    result = run("export", "--out", str(tmp_path / "f.jsonl"))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: feedback database")
    assert "Traceback" not in result.output


# -- import --------------------------------------------------------------------------------------


def test_import_and_import_again(filled, tmp_path):
    dump = tmp_path / "dump.parquet"
    export(store(), dump, "parquet")
    # Into a fresh home, where the file is all there is.
    fresh_home = tmp_path / "fresh-home"
    runner = CliRunner(env={"RAGBOT_HOME": str(fresh_home)})
    first = runner.invoke(feedback, ["import", str(dump)], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert first.stdout.strip() == f"Imported 5 interactions from {dump}."
    second = runner.invoke(feedback, ["import", str(dump)], catch_exceptions=False)
    assert second.exit_code == 0 and "Imported 5 interactions" in second.stdout
    imported = SQLiteFeedbackStore(fresh_home / "feedback.db")
    assert len(imported.list(limit=100).items) == 5
    assert imported.get("b1") == store().get("b1")


def test_import_of_a_bad_file_names_the_line_and_imports_nothing(tmp_path):
    path = tmp_path / "bad.jsonl"
    good = make("ok").model_dump_json()
    path.write_text(good + '\n{"id": "broken"\n', encoding="utf-8")
    result = run("import", str(path))
    assert result.exit_code == 1
    assert "line 2" in result.stderr and "nothing was imported" in result.stderr
    assert store().get("ok") is None


def test_import_of_a_csv_export_is_refused(filled, tmp_path):
    path = tmp_path / "dump.csv"
    assert run("export", "--out", str(path)).exit_code == 0
    result = run("import", str(path))
    assert result.exit_code == 1
    assert "cannot be imported" in result.stderr and "JSONL or Parquet" in result.stderr


def test_import_of_a_missing_file_is_a_usage_error(tmp_path):
    result = run("import", str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 2 and "does not exist" in result.output


# -- stats ---------------------------------------------------------------------------------------


def test_stats_json(filled):
    result = run("stats", "--json")
    assert result.exit_code == 0
    stats = json.loads(result.stdout)
    assert stats["total"] == 5 and stats["rated"] == 4 and stats["negative"] == 2
    assert stats["negative_share"] == 0.5 and stats["mean_rating"] == 3.0 and stats["with_correction"] == 2
    assert [r["count"] for r in stats["ratings"]] == [1, 1, 0, 1, 1]
    assert [d["day"] for d in stats["per_day"]] == ["2025-03-14", "2025-03-15", "2025-03-16"]
    assert stats["negative_sources"] == [
        {"source": "Design/Criteria/lighting.pdf", "count": 1},
        {"source": "Design/floor.pdf", "count": 1},
    ]
    assert {b["bucket"]: b["count"] for b in stats["judge_scores"]}["unscored"] == 5


def test_stats_table(filled):
    result = run("stats")
    assert result.exit_code == 0
    out = result.stdout
    assert (
        "5 interactions, 4 rated, 2 with a better answer; negative (1–2): 2 = 50.0% of rated; mean rating 3.00" in out
    )
    assert "1 Strongly disagree" in out and "5 Strongly agree" in out
    assert "2025-03-15" in out and "Design/floor.pdf" in out and "unscored" in out


def test_stats_take_the_filters(filled):
    stats = json.loads(run("stats", "--json", "--user", "bo").stdout)
    assert stats["total"] == 2 and stats["negative"] == 0


def test_an_engineer_sees_their_own_stats_only(filled, monkeypatch):
    monkeypatch.setenv("RAGBOT_ROLE", "engineer")
    monkeypatch.setenv("RAGBOT_USER", "ana")
    stats = json.loads(run("stats", "--json").stdout)
    assert stats["total"] == 2 and stats["negative"] == 2
    assert json.loads(run("stats", "--json", "--user", "ana").stdout)["total"] == 2
    asked_for_others = run("stats", "--json", "--user", "bo")
    assert asked_for_others.exit_code == 1 and "their own questions only, not bo's" in asked_for_others.stderr
    assert "Your interactions only (ana)" in run("stats").stdout


def test_stats_of_an_empty_store(tmp_path):
    result = run("stats")
    assert result.exit_code == 0
    assert result.stdout.startswith("0 interactions, 0 rated")
    assert json.loads(run("stats", "--json").stdout)["negative_share"] is None


def test_feedback_filters_match_the_store_filter(filled):
    # The CLI's --since/--until produce the same InteractionFilter the store tests use.
    since = T0 + timedelta(days=1)
    expected = [i.id for i in store().list(InteractionFilter(since=since)).items]
    result = run("export", "--format", "jsonl", "--out", "-", "--since", since.isoformat())
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == expected


def test_export_redact_masks_users_and_keeps_their_records_grouped(filled, tmp_path):
    out = tmp_path / "redacted.jsonl"
    assert run("export", "--out", str(out), "--redact").exit_code == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    users = [r["user"] for r in rows]
    assert not {"ana", "bo", "cy"} & set(users) and all(u.startswith("person-") for u in users)
    assert sorted(users.count(u) for u in set(users)) == [1, 2, 2]
    again = tmp_path / "again.jsonl"
    run("export", "--out", str(again), "--redact")
    assert [json.loads(line)["user"] for line in again.read_text(encoding="utf-8").splitlines()] == users


def test_the_audit_log_records_exports_and_imports_and_is_exportable(filled, tmp_path, monkeypatch):
    dump = tmp_path / "dump.jsonl"
    run("export", "--out", str(dump), "--max-rating", "2")
    run("import", str(dump))
    listing = run("audit").stdout.splitlines()
    assert "import" in listing[0] and str(dump) in listing[0] and "count=2" in listing[0]
    assert "(admin via settings) import" in listing[0] and "STARTED" not in listing[0]
    assert "import" in listing[1] and listing[1].endswith("STARTED")  # begun before any record was written
    assert "export" in listing[2] and "format=jsonl" in listing[2] and "count=2" in listing[2]
    log = tmp_path / "audit.jsonl"
    assert run("audit", "--out", str(log)).exit_code == 0
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["action"], e["outcome"]) for e in events] == [
        ("import", "done"),
        ("import", "started"),
        ("export", "done"),
        ("export", "started"),
    ]
    assert events[2]["detail"]["filters"] == {"max_rating": 2}
    monkeypatch.setenv("RAGBOT_ROLE", "sme")
    refused = run("audit")
    assert refused.exit_code == 1 and "only the admin role may see the audit log" in refused.stderr
