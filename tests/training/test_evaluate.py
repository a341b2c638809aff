"""``ragbot eval`` on the real tiny local model, two examples, through click."""

from __future__ import annotations

import json

from click.testing import CliRunner

from app.cli import cli
from tests.training.conftest import feedback_set
from training.dataset import DatasetOptions, build_dataset
from training.evaluate import numbers_right


def test_eval_scores_model_and_baseline_side_by_side(tmp_path, tokenizer, local_model_dir):
    build_dataset(feedback_set(), tmp_path / "ds", tokenizer, DatasetOptions(val_fraction=0.3, min_examples=3), {})
    data = tmp_path / "ds" / "sft" / "val.jsonl"
    model = str(local_model_dir)
    args = [
        "eval",
        "--model",
        model,
        "--baseline",
        model,
        "--data",
        str(data),
        "--out",
        str(tmp_path / "rep"),
        "--limit",
        "2",
        "--max-new-tokens",
        "24",
        "--json",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["examples"] == 2
    # Greedy decoding: the same model twice gives the same answers, so the same figures.
    assert figures["model"]["similarity"] == figures["baseline"]["similarity"]
    assert 0.0 < figures["model"]["similarity"] <= 1.0
    answers = [json.loads(x) for x in (tmp_path / "rep" / "answers.jsonl").read_text().splitlines()]
    assert len(answers) == 2 and all(a["model"] == a["baseline"] and a["model"] for a in answers)
    report = (tmp_path / "rep" / "report.md").read_text()
    assert f"| model | `{model}` | 2 |" in report and "0.6419" in report


def test_eval_refuses_a_file_that_is_not_sft(tmp_path, local_model_dir):
    bad = tmp_path / "prefs.jsonl"
    bad.write_text('{"prompt": [], "chosen": [], "rejected": []}\n')
    result = CliRunner().invoke(
        cli, ["eval", "--model", str(local_model_dir), "--data", str(bad), "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 1
    assert (
        result.output
        == f"Error: {bad} line 1 is not an SFT example (a 'messages' list ending with the assistant's answer)\n"
    )


def test_numbers_right_ignores_citation_markers():
    assert numbers_right("There are 412 spaces.", "412 car parking spaces [1].") is True
    assert numbers_right("There are 120 spaces [1].", "412 car parking spaces [1].") is False
    assert numbers_right("Yes.", "It is on the north side [2].") is None
