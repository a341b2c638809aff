"""``ragbot train dataset`` through click: from the feedback store, from an export file, and the
one-line refusals."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from app.cli import cli
from app.config import Settings
from app.services import Services
from feedback.export import export
from tests.training.conftest import feedback_set


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def stored():
    store = Services(Settings()).backends.feedback_store
    for r in feedback_set():
        store.put(r)
    return store


def test_from_the_store_with_filters(stored, tmp_path, local_model_dir):
    out = tmp_path / "ds"
    result = run(
        "train",
        "dataset",
        "--out",
        str(out),
        "--base",
        str(local_model_dir),
        "--min-rating",
        "4",
        "--min-examples",
        "3",
        "--val-fraction",
        "0.3",
    )
    assert result.exit_code == 0, result.output
    card = json.loads((out / "card.json").read_text())
    assert card["source"] == {"store": "sqlite", "filters": {"min_rating": 4}}
    assert card["records"]["read"] == 6  # rated 4 or 5 only
    assert "leakage: 0 questions in both train and val" in result.output
    assert result.output.endswith(
        f"Next: ragbot train sft --data {out} --out OUT  (OUT: a new folder for the adapter)\n"
    )
    # An evaluation-only set (--val-fraction 1) has nothing to train on: the next step is eval.
    result = run("train", "dataset", "--out", str(out), "--base", str(local_model_dir), "--val-fraction", "1")
    assert result.exit_code == 0, result.output
    assert f"Next: ragbot eval --model MODEL --data {out / 'sft' / 'val.jsonl'} --out REPORT" in result.output


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_from_an_export_file(stored, tmp_path, local_model_dir, fmt):
    path = tmp_path / f"feedback.{fmt}"
    export(stored, path, fmt)
    out = tmp_path / "ds"
    result = run(
        "train",
        "dataset",
        "--from",
        str(path),
        "--out",
        str(out),
        "--base",
        str(local_model_dir),
        "--val-fraction",
        "0.3",
    )
    assert result.exit_code == 0, result.output
    assert json.loads((out / "card.json").read_text())["records"]["read"] == 21
    assert (out / "sft" / "train.jsonl").exists() and (out / "card.md").exists()


def test_wrong_file_shapes_and_small_sets_are_refused_in_one_line(stored, tmp_path, local_model_dir):
    csv = tmp_path / "feedback.csv"
    export(stored, csv, "csv")
    notes = tmp_path / "notes.jsonl"
    notes.write_text('{"question": "no"}\n')
    for bad, expected in ((csv, "is a CSV export"), (notes, "1 bad record out of 1, nothing was imported")):
        result = run(
            "train", "dataset", "--from", str(bad), "--out", str(tmp_path / "ds"), "--base", str(local_model_dir)
        )
        assert result.exit_code == 1
        assert expected in result.output and result.output.count("\n") == 1, result.output
    result = run("train", "dataset", "--out", str(tmp_path / "ds"), "--base", str(local_model_dir), "--user", "nobody")
    assert (
        result.exit_code == 1
        and result.output
        == "Error: no interactions to build a dataset from (the feedback store, filters: user=nobody)\n"
    )
    result = run("train", "dataset", "--out", str(tmp_path / "ds"), "--base", str(tmp_path / "missing"))
    assert result.exit_code == 1 and "cannot give its tokenizer" in result.output
    assert not (tmp_path / "ds").exists()
