"""``training.dataset``: the rules that make targets, pairs and labels, the split, passages cut to
fit, synthetic records, refusals, and files that ``datasets`` loads as written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.prompts import build_messages
from tests.training.conftest import QUESTIONS, citations, feedback_set, record
from training.dataset import DatasetOptions, build, build_dataset
from training.errors import DatasetError
from training.labels import question_key

OPTIONS = DatasetOptions(val_fraction=0.3, seed=1, min_examples=3)


def rows(folder: Path, kind: str) -> list[dict]:
    out = []
    for side in ("train", "val"):
        path = folder / kind / f"{side}.jsonl"
        if path.exists():
            out += [json.loads(line) for line in path.read_text().splitlines()]
    return out


def last(messages: list[dict]) -> str:
    return messages[-1]["content"]


def user_question(messages: list[dict]) -> str:
    return [m for m in messages if m["role"] == "user"][-1]["content"]


@pytest.fixture
def built(tmp_path, tokenizer):
    out = tmp_path / "ds"
    card = build_dataset(feedback_set(), out, tokenizer, OPTIONS, {"file": "test.jsonl"})
    return out, card


def test_sft_targets_reference_then_correction_then_rated_or_judged(built):
    out, card = built
    by_question = {user_question(r["messages"]): last(r["messages"]) for r in rows(out, "sft")}
    q0, right0, wrong0, _ = QUESTIONS[0]
    assert by_question[q0] == right0  # rated 5: the answer itself
    assert by_question[q0.lower()] == right0  # rated 2 with a correction: the correction
    assert by_question[q0 + " Please check."] == "412 car parking spaces [1]."  # the SME's reference
    assert by_question["What is the slab load?"] == "50 kN/m2 [1]."  # judged 4.5
    # Judged 1.5 without a correction, and unlabelled: no target. The rejected answer never is one.
    assert f"Quick question: {q0}" not in by_question
    assert "Where is the site?" not in by_question
    assert "I do not know." not in by_question.values()
    assert card.files["sft"].rules == {"rated": 6, "correction": 5, "reference": 1, "judged": 1, "sme_validated": 1}


def test_system_prompt_is_the_answer_prompt_and_later_turns_carry_the_conversation(built):
    out, _ = built
    sft = {user_question(r["messages"]): r["messages"] for r in rows(out, "sft")}
    q0, right0, _, pages = QUESTIONS[0]
    expected = [m.model_dump() for m in build_messages(q0, citations(*pages))]
    assert sft[q0][:-1] == expected
    # A follow-up is asked as one standalone question; the earlier answer is not in its prompt.
    follow = sft[f"{q0} And the trailers?"]
    assert [m["role"] for m in follow] == ["system", "user", "assistant"]
    assert right0 not in follow[0]["content"] + follow[1]["content"]


def test_preference_pairs_correction_over_answer_and_rated_over_rated(built):
    out, card = built
    pairs = {
        (user_question(r["prompt"]), r["chosen"][0]["content"], r["rejected"][0]["content"])
        for r in rows(out, "preference")
    }
    q0, right0, wrong0, _ = QUESTIONS[0]
    assert (q0.lower(), right0, wrong0) in pairs  # the correction over the answer it corrects
    assert (q0, right0, wrong0) in pairs  # rated 5 over rated 2 on the same normalised question
    assert (q0 + " Please check.", "412 car parking spaces [1].", "I do not know.") in pairs  # rejected side
    assert card.files["preference"].rules == {
        "correction over answer": 5,
        "rated over rated": 5,
        "reference over answer": 1,
    }
    for r in rows(out, "preference"):
        assert r["chosen"] != r["rejected"]


def test_kto_labels_good_and_bad(built):
    out, _ = built
    labelled = {(user_question(r["prompt"]), r["completion"][0]["content"]): r["label"] for r in rows(out, "kto")}
    q0, right0, wrong0, _ = QUESTIONS[0]
    assert labelled[(q0, right0)] is True
    assert labelled[(q0.lower(), right0)] is True and labelled[(q0.lower(), wrong0)] is False
    assert labelled[(f"Quick question: {q0}", wrong0)] is False  # judged 1.5
    assert labelled[(q0 + " Please check.", "I do not know.")] is False  # SME rejected
    assert not any(q == "Where is the site?" for q, _ in labelled)


def test_split_keeps_conversations_and_questions_on_one_side(built):
    out, card = built
    for kind in ("sft", "preference", "kto", "prompts"):
        sides = {}
        for side in ("train", "val"):
            path = out / kind / f"{side}.jsonl"
            lines = [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
            sides[side] = {question_key(user_question(r.get("messages") or r["prompt"])) for r in lines}
        assert not sides["train"] & sides["val"], kind
        assert card.split.leakage[kind]["questions_in_both"] == 0
        assert card.split.leakage[kind]["conversations_in_both"] == 0
    assert card.split.val_records > 0 and card.split.train_records > 0
    # The follow-up turn travels with its conversation, and with it the other record of that question.
    sft = {
        user_question(r["messages"]): side
        for side in ("train", "val")
        for r in map(json.loads, (out / "sft" / f"{side}.jsonl").read_text().splitlines())
    }
    assert sft[f"{QUESTIONS[0][0]} And the trailers?"] == sft[QUESTIONS[0][0]] == sft[QUESTIONS[0][0].lower()]


def test_a_question_asked_in_two_conversations_never_splits(tokenizer):
    records = [record(f"x{i}", f"Question number {i % 4}?", "412 [1].", rating=5, session=f"c{i}") for i in range(24)]
    for seed in range(5):
        built = build(records, tokenizer, DatasetOptions(val_fraction=0.3, seed=seed, min_examples=3), {})
        assert built.card.split.leakage["sft"]["questions_in_both"] == 0
        assert built.files["sft"]["val"] and built.files["sft"]["train"]


def test_synthetic_records_enter_only_when_validated_and_are_counted_apart(built):
    out, card = built
    questions = {user_question(r["messages"]) for r in rows(out, "sft")}
    assert "How many car parking spaces does the site provide?" in questions
    assert "What is the trailer count?" not in questions
    assert card.records.synthetic_read == 2 and card.records.synthetic_used == 1
    assert card.files["sft"].synthetic == 1
    assert card.records.excluded == {"synthetic, not validated by an SME (review: unreviewed)": 1}
    assert "Synthetic: 2 read, 1 used" in (out / "card.md").read_text()


def test_long_passages_are_cut_to_fit_never_dropped(tmp_path, tokenizer):
    records = [
        record(
            f"l{i}", f"Long question {i}?", "412 car parking spaces [1].", rating=5, pages=(12, 11, 6), text_times=120
        )
        for i in range(10)
    ]
    max_tokens = 600
    card = build_dataset(records, tmp_path / "ds", tokenizer, DatasetOptions(max_tokens=max_tokens, min_examples=3), {})
    sft = rows(tmp_path / "ds", "sft")
    assert len(sft) == 10 and card.files["sft"].truncated == 10 and not card.files["sft"].dropped
    assert card.tokens_removed > 0
    for r in sft:
        prompt = r["messages"][:-1]
        assert tokenizer.prompt_tokens(prompt) + tokenizer.text_tokens(last(r["messages"])) <= max_tokens
        system = r["messages"][0]["content"]
        assert all(f"[{n}] (" in system for n in (1, 2, 3)), "every passage keeps its number"
        assert "[…]" in system
    assert card.files["prompts"].truncated == 10
    assert "Passages were cut to fit 600 tokens in 30 examples" in (tmp_path / "ds" / "card.md").read_text()


def test_an_example_too_long_without_passages_is_dropped_and_counted(tmp_path, tokenizer):
    records = [record(f"ok{i}", f"Short question {i}?", "412 [1].", rating=5) for i in range(6)]
    records.append(record("huge", "How many cars? " * 200, "412 [1].", rating=5))
    card = build_dataset(
        records, tmp_path / "ds", tokenizer, DatasetOptions(max_tokens=400, min_examples=3, val_fraction=0.5), {}
    )
    assert card.files["sft"].dropped == {"too long even with the passages cut": 1}
    assert card.files["sft"].train + card.files["sft"].val == 6
    assert "too long even with the passages cut 1" in (tmp_path / "ds" / "card.md").read_text()


def test_not_found_without_passages_is_left_out_with_its_reason(tokenizer):
    records = feedback_set() + [
        record("nf", "Who won the cup?", "The documents do not contain the answer.", rating=5, context="")
    ]
    card = build(records, tokenizer, OPTIONS, {}).card
    assert card.records.excluded["no passages: the model was not asked (nothing relevant was retrieved)"] == 1


def test_refuses_empty_and_too_small_sets_in_one_line(tmp_path, tokenizer):
    with pytest.raises(
        DatasetError, match=r"^no interactions to build a dataset from \(the feedback store, filters: min_rating=4\)$"
    ):
        build([], tokenizer, OPTIONS, {"filters": {"min_rating": 4}})
    few = [record("a", "How many cars?", "412 [1].", rating=5), record("b", "Trailers?", "38", rating=1)]
    with pytest.raises(DatasetError) as e:
        build(few, tokenizer, DatasetOptions(min_examples=8), {})
    assert "\n" not in str(e.value)
    assert str(e.value).startswith("too small to train on: 1 SFT examples from 2 interactions")
    one_conversation = [
        record(f"t{i}", f"Question {i}?", "412 [1].", rating=5, session="one", turn=i + 1) for i in range(10)
    ]
    with pytest.raises(
        DatasetError,
        match=r"cannot split 10 SFT examples into train and val \(10 and 0\): they come from 1 conversation",
    ):
        build(one_conversation, tokenizer, DatasetOptions(min_examples=3), {})
    assert not (tmp_path / "ds").exists()


def test_refuses_to_overwrite_a_folder_that_is_not_a_dataset(tmp_path, tokenizer):
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    with pytest.raises(DatasetError, match="is not a dataset folder"):
        build_dataset(feedback_set(), target, tokenizer, OPTIONS, {})
    assert (target / "notes.txt").read_text() == "keep me"


def test_rebuilding_replaces_the_dataset_and_the_hash_follows_the_data(tmp_path, tokenizer):
    first = build_dataset(feedback_set(), tmp_path / "ds", tokenizer, OPTIONS, {})
    again = build_dataset(feedback_set(), tmp_path / "ds", tokenizer, OPTIONS, {})
    assert first.data_hash == again.data_hash
    other = build_dataset(feedback_set(), tmp_path / "ds", tokenizer, OPTIONS.model_copy(update={"seed": 7}), {})
    assert json.loads((tmp_path / "ds" / "card.json").read_text())["data_hash"] == other.data_hash
    assert other.data_hash != first.data_hash
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".ds")], "no staging folder left behind"


def test_every_file_loads_with_datasets_unchanged(built, tmp_path):
    import datasets

    out, card = built
    written = 0
    for kind in ("sft", "preference", "kto", "prompts"):
        files = {
            side: str(out / kind / f"{side}.jsonl")
            for side in ("train", "val")
            if (out / kind / f"{side}.jsonl").exists()
        }
        assert set(card.files[kind].written) == {f"{side}.jsonl" for side in files}
        loaded = datasets.load_dataset("json", data_files=files, cache_dir=str(tmp_path / "hf"))
        for side, path in files.items():
            assert loaded[side].to_list() == [json.loads(x) for x in Path(path).read_text().splitlines()]
            written += 1
    assert written >= 7
    assert loaded_columns(out) == {
        "sft": ["messages"],
        "preference": ["prompt", "chosen", "rejected"],
        "kto": ["prompt", "completion", "label"],
        "prompts": ["prompt"],
    }


def loaded_columns(out: Path) -> dict[str, list[str]]:
    return {
        kind: list(json.loads((out / kind / "train.jsonl").read_text().splitlines()[0]))
        for kind in ("sft", "preference", "kto", "prompts")
    }
