"""The dataset rows the trainers accept, and the one-line refusals for everything else."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from app.cli import cli
from tests.training.trainer_data import prompt, right, write_jsonl
from training.trainers.data import KTORow, PreferenceRow, PromptRow, SFTRow, data_hash

roles = st.sampled_from(["system", "user", "assistant"])
texts = st.text(min_size=1, max_size=20).filter(str.strip)
messages = st.lists(st.fixed_dictionaries({"role": roles, "content": texts}), max_size=5)


def is_prompt(ms: list[dict]) -> bool:
    return bool(ms) and ms[-1]["role"] == "user" and all(m["role"] != "system" for m in ms[1:])


@given(messages)
def test_an_sft_row_is_a_prompt_then_one_answer(ms):
    ok = len(ms) >= 2 and ms[-1]["role"] == "assistant" and is_prompt(ms[:-1])
    try:
        row = SFTRow.model_validate({"messages": ms})
    except ValidationError:
        assert not ok
    else:
        assert ok
        assert row.trl() == {"prompt": ms[:-1], "completion": ms[-1:]}


@given(messages, messages, messages)
def test_a_preference_row_needs_a_prompt_and_two_different_single_answers(p, chosen, rejected):
    def single(ms):
        return len(ms) == 1 and ms[0]["role"] == "assistant"

    ok = (
        is_prompt(p)
        and single(chosen)
        and single(rejected)
        and chosen[0]["content"].strip() != rejected[0]["content"].strip()
    )
    try:
        PreferenceRow.model_validate({"prompt": p, "chosen": chosen, "rejected": rejected})
    except ValidationError:
        assert not ok
    else:
        assert ok


@given(st.one_of(st.booleans(), st.integers(), st.text(max_size=3), st.none()))
def test_a_kto_label_is_a_json_boolean(label):
    row = {"prompt": prompt("docks", "24"), "completion": [right("docks", "24")], "label": label}
    if isinstance(label, bool):
        assert KTORow.model_validate(row).label is label
    else:
        with pytest.raises(ValidationError):
            KTORow.model_validate(row)


def test_blank_content_and_unknown_roles_are_refused():
    with pytest.raises(ValidationError, match="blank"):
        PromptRow.model_validate({"prompt": [{"role": "user", "content": "  "}]})
    with pytest.raises(ValidationError):
        PromptRow.model_validate({"prompt": [{"role": "tool", "content": "x"}]})


def test_the_data_hash_names_each_file_and_all_together(dataset):
    import hashlib

    files = [dataset / "sft" / "train.jsonl", dataset / "sft" / "val.jsonl"]
    hashes = data_hash(files)
    assert hashes[str(files[0])] == hashlib.sha256(files[0].read_bytes()).hexdigest()
    files[1].write_text(files[1].read_text() + "\n")
    assert data_hash(files)["all"] != hashes["all"]


def refused(args: list[str]) -> str:
    result = CliRunner().invoke(cli, ["train", *args])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def test_too_small_a_dataset_is_refused(dataset, tmp_path):
    write_jsonl(dataset / "sft" / "train.jsonl", [{"messages": [*prompt("docks", "24"), right("docks", "24")]}])
    line = refused(["sft", "--data", str(dataset), "--out", str(tmp_path / "out")])
    assert "sft/train.jsonl has 1 rows; this profile needs at least 2" in line
    assert not (tmp_path / "out").exists(), "nothing is written for a refused run"


def test_rows_of_the_wrong_shape_are_refused_with_file_line_and_field(dataset, tmp_path):
    rows = (dataset / "preference" / "train.jsonl").read_text().splitlines()
    bad = json.loads(rows[1]) | {"chosen": "There are 38 trailer positions."}
    (dataset / "preference" / "train.jsonl").write_text("\n".join([rows[0], json.dumps(bad), *rows[2:]]) + "\n")
    line = refused(["reward", "--data", str(dataset), "--out", str(tmp_path / "rm")])
    assert "preference/train.jsonl line 2 has the wrong shape for preference: chosen" in line
    (dataset / "kto" / "val.jsonl").write_text("not json\n")
    assert "kto/val.jsonl line 1 is not JSON" in refused(["kto", "--data", str(dataset), "--out", str(tmp_path / "k")])


def test_a_missing_dataset_file_says_how_to_build_it(tmp_path):
    line = refused(["dpo", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "out")])
    assert "preference/train.jsonl is missing: build the dataset with `ragbot train dataset" in line


def test_a_missing_base_model_is_refused(dataset, tmp_path):
    line = refused(["sft", "--data", str(dataset), "--out", str(tmp_path / "o"), "--base", str(tmp_path / "nowhere")])
    assert "the base model" in line and "is missing" in line
    assert "the base model 'nowhere-model' is missing" in refused(
        ["reward", "--data", str(dataset), "--out", str(tmp_path / "r"), "--base", "nowhere-model"]
    )


def test_rl_refuses_a_missing_reward_model_and_resume_with_nothing_to_resume(dataset, tmp_path):
    line = refused(
        [
            "rl",
            "--data",
            str(dataset),
            "--policy",
            "SmolLM2-135M-Instruct",
            "--reward-model",
            str(tmp_path / "rm"),
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert f"the reward model '{tmp_path / 'rm'}' is missing" in line
    line = refused(["kto", "--data", str(dataset), "--out", str(tmp_path / "k"), "--resume"])
    assert "nothing to resume" in line


def test_a_bad_set_option_is_a_usage_error(dataset, tmp_path):
    result = CliRunner().invoke(cli, ["train", "sft", "--data", str(dataset), "--out", str(tmp_path), "--set", "oops"])
    assert result.exit_code == 2 and "'oops' is not KEY=VALUE" in result.output
