"""The frozen evaluation set on realistic records and the local model's real tokenizer: what goes in,
that a version never changes, that a new version only adds, and that the dataset builder never
trains on what is in it (the card says how many were left out and the set's hash)."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.training.conftest import QUESTIONS, feedback_set, record
from training.dataset import DatasetOptions, build_dataset
from training.errors import EvaluationError
from training.evalset import EvalSets, eligible
from training.evaluate import load_examples


def validated(i: int, question: str, reference: str, *, pages=(12,), session: str | None = None):
    return record(
        f"v{i}",
        question,
        "I could not find that.",
        pages=pages,
        status="validated",
        reference=reference,
        session=session or f"val-{i}",
    )


def references() -> list:
    """Twelve SME-validated references over twelve conversations, on six distinct questions each
    asked once more in another wording (a different normalised question)."""
    out = []
    for i, (q, right, _, pages) in enumerate(QUESTIONS):
        out.append(validated(2 * i, q, right, pages=pages))
        out.append(validated(2 * i + 1, f"Tell me: {q}", right, pages=pages))
    return out


def test_only_what_an_sme_vouched_for_is_eligible():
    records = {r.id: r for r in feedback_set()}
    assert eligible(records["syn-ok"])  # a validated synthetic pair
    assert not eligible(records["syn-new"])  # not validated
    assert not eligible(records["ref"])  # a reference on a rejected answer: not validated
    assert not eligible(records["r0a"])  # rated 5, never reviewed
    assert eligible(validated(1, "How many cars?", "412 [1]."))


def test_a_frozen_version_is_hashed_repeatable_and_only_grows(tmp_path, tokenizer):
    sets = EvalSets(tmp_path / "evalsets")
    everything = feedback_set() + references()
    first = sets.freeze(everything, tokenizer, share=0.5)
    path = sets.examples_path(first.hash)
    assert first.hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert first.version == 1 and first.previous is None
    assert 0 < first.questions < 11 and first.questions == len(first.ids)  # about half of 11 eligible
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert {r["kind"] for r in rows} <= {"reference", "synthetic"}
    # The target is the SME's reference, the prompt the passages the model read.
    by_id = {r.id: r for r in everything}
    for row in rows:
        assert row["messages"][-1]["content"] == (by_id[row["id"]].review.reference_answer or by_id[row["id"]].answer)
        assert row["messages"][-2] == {"role": "user", "content": by_id[row["id"]].question}
        assert row["messages"][0]["role"] == "system"
    assert len(load_examples(path)) == first.questions  # what `ragbot eval --data` reads

    # Nothing new: the same version, not a new one.
    assert sets.freeze(everything, tokenizer, share=0.5) == first
    assert sets.current() == first

    # A reference changed after freezing does not change the frozen example; new records are added.
    changed = [
        r.model_copy(update={"review": r.review.model_copy(update={"reference_answer": "Changed [1]."})})
        if r.id in first.ids
        else r
        for r in everything
    ]
    asks_a_held_question = validated(90, by_id[first.ids[0]].question, "Same question again [1].", session="late")
    unrelated = [validated(91 + i, f"New question number {i}?", f"{i} [1].", session=f"n{i}") for i in range(4)]
    second = sets.freeze(changed + [asks_a_held_question, *unrelated], tokenizer, share=0.5)
    assert second.version == 2 and second.previous == first.hash and second.hash != first.hash
    assert set(first.ids) < set(second.ids) and "v90" in second.ids  # joins its question's side
    assert 1 <= second.added - 1 <= 4
    old = {r["id"]: r for r in rows}
    new = {json.loads(x)["id"]: json.loads(x) for x in sets.examples_path(second.hash).read_text().splitlines()}
    assert all(new[i] == old[i] for i in first.ids)  # frozen rows kept as they were
    # The first version is still there, unchanged.
    assert hashlib.sha256(sets.examples_path(first.hash).read_bytes()).hexdigest() == first.hash


def test_the_dataset_never_trains_on_the_evaluation_set_and_its_card_says_so(tmp_path, tokenizer):
    sets = EvalSets(tmp_path / "evalsets")
    everything = feedback_set() + references()
    frozen = sets.freeze(everything, tokenizer, share=0.5)
    held = frozen.holdout()
    out = tmp_path / "ds"
    card = build_dataset(everything, out, tokenizer, DatasetOptions(val_fraction=0.3, min_examples=3), {}, held)
    from training import labels

    left_out = [r for r in everything if r.id in held.ids or labels.question_key(r.question) in held.questions]
    assert len(left_out) > frozen.questions  # other askings of the same questions too
    assert card.eval_set.hash == frozen.hash
    assert card.records.excluded["in the evaluation set (never trained on)"] == card.eval_set.excluded
    trained = "".join(
        (out / kind / f"{side}.jsonl").read_text() for kind in ("sft", "kto") for side in ("train", "val")
    )
    for r in left_out:  # not as the question of any example
        assert json.dumps({"role": "user", "content": r.question}) not in trained
    assert json.dumps({"role": "user", "content": "What is the slab load?"}) in trained  # no SME asked it
    md = (out / "card.md").read_text()
    assert f"Evaluation set `{frozen.hash}`: {card.eval_set.excluded} records in it or asking its questions" in md
    # Without a holdout the card says that nothing was kept apart.
    bare = build_dataset(everything, tmp_path / "bare", tokenizer, DatasetOptions(val_fraction=0.3, min_examples=3))
    assert bare.eval_set is None and "No frozen evaluation set" in (tmp_path / "bare" / "card.md").read_text()


def test_nothing_validated_is_refused_with_what_to_do(tmp_path, tokenizer):
    with pytest.raises(EvaluationError, match="no SME-validated reference answer or validated synthetic pair"):
        EvalSets(tmp_path / "e").freeze([r for r in feedback_set() if r.id != "syn-ok"], tokenizer)
    assert EvalSets(tmp_path / "e").current() is None


def test_freeze_eval_and_train_dataset_on_the_command_line(tmp_path, local_model_dir, monkeypatch):
    from click.testing import CliRunner

    from app.cli import CliState, cli
    from app.config import Settings
    from app.services import Services

    monkeypatch.setenv("RAGBOT_LOCAL_MODEL", str(local_model_dir))  # whose tokenizer measures the examples
    services = Services(Settings())
    for r in feedback_set() + references():
        services.backends.feedback_store.put(r)

    def run(*args):
        result = CliRunner().invoke(cli, list(args), obj=CliState(services))
        assert result.exit_code == 0, result.output
        return result.stdout

    frozen = json.loads(run("loop", "freeze-eval", "--json"))
    assert frozen["version"] == 1 and frozen["questions"] == frozen["added"] > 0
    assert "ids" not in frozen  # the card's lists stay in the file
    again = run("loop", "freeze-eval")
    assert again.startswith(f"Evaluation set {frozen['hash']} (version 1): {frozen['questions']} questions")
    out = run("train", "dataset", "--out", str(tmp_path / "ds"), "--min-examples", "3", "--val-fraction", "0.3")
    card = json.loads((tmp_path / "ds" / "card.json").read_text())
    assert card["eval_set"]["hash"] == frozen["hash"]
    assert f"left out: {card['eval_set']['excluded']} records of the evaluation set {frozen['hash'][:12]}" in out
    events = services.backends.feedback_store.events(limit=10).items
    assert any(e.action == "freeze eval set" and e.target == frozen["hash"] for e in events)
