"""bench.training_recipe: the held-out set shares no document with training, and the training
targets quote the passage the model read."""

from __future__ import annotations

import json

from bench.training_recipe import extractive_target, questions, with_evidence, write_preference
from rag.prompts import NOT_FOUND


def test_the_held_out_questions_share_no_document_and_no_question_with_training():
    held, train = questions()
    assert len(held) >= 60
    assert all(q["reference"] for q in held)
    assert {q["source"] for q in held}.isdisjoint(q["source"] for q in train)
    assert {q["query"] for q in held}.isdisjoint(q["query"] for q in train)
    assert {q["corpus"] for q in held} == {"manuals", "latex-news", "filings"}
    assert {"pari", "r-manuals", "toolchains"} <= {q["corpus"] for q in train}


def test_a_training_prompt_gets_its_evidence_passage_in_place_of_one_of_the_five_with_that_places_scores():
    from rag.records import Chunk, ScoredChunk

    def hit(i: int, text: str) -> ScoredChunk:
        chunk = Chunk(id=f"c{i}", source="a.pdf", folder="", page=i, text=text, doc_hash="h")
        return ScoredChunk(chunk=chunk, score=1 - i / 10, similarity=0.9 - i / 10)

    results = [hit(i, f"Passage {i} about nothing.") for i in range(7)] + [hit(7, "The default is 27 degrees.")]
    q = {"id": "man-047", "evidence": "default is 27"}
    top = with_evidence(q, results)
    assert len(top) == 5 and [r.chunk.id for r in top].count("c7") == 1
    swapped = next(i for i, r in enumerate(top) if r.chunk.id == "c7")
    assert (top[swapped].score, top[swapped].similarity) == (results[swapped].score, results[swapped].similarity)
    assert [r.chunk.id for i, r in enumerate(top) if i != swapped] == [f"c{i}" for i in range(5) if i != swapped]
    # Evidence already read, or found nowhere: the top 5 as retrieved.
    assert [r.chunk.id for r in with_evidence(q, results[7:] + results[:7])] == ["c7", "c0", "c1", "c2", "c3"]
    assert [r.chunk.id for r in with_evidence(q | {"evidence": "absent"}, results)] == [f"c{i}" for i in range(5)]


def test_an_extractive_target_is_the_sentence_holding_the_evidence_with_its_citation():
    row = {
        "evidence": "up to 50% slower",
        "passages": {
            "1": "Release notes. Nothing here.",
            "2": "Compatibility mode is provided. Unfortunately, it can run up to 50%\nslower than LaTeX 2.09 did. More text.",
        },
    }
    assert extractive_target(row) == "Unfortunately, it can run up to 50% slower than LaTeX 2.09 did [2]."


def test_a_table_row_loses_its_pipes_and_a_miss_is_taught_not_found():
    row = {"evidence": "Greater China | | | 16,372", "passages": {"1": "Americas | 37,273\nGreater China | | | 16,372"}}
    assert extractive_target(row) == "Greater China 16,372 [1]."
    assert extractive_target(row | {"evidence": "Japan | 6,262"}) == NOT_FOUND


def test_a_preference_pair_is_kept_only_where_the_models_answer_misses_a_number(tmp_path):
    prompt = [{"role": "system", "content": "Passages"}, {"role": "user", "content": "How much slower?"}]
    row = {"prompt": prompt, "evidence": "up to 50% slower", "passages": {"1": "It can run up to 50% slower."}}
    rows = [row] * 8 + [row | {"evidence": "Nothing like it"}]
    answers = ["It is 20% slower."] * 7 + ["It can run up to 50% slower [1]."] + ["Whatever 3."]
    assert write_preference(rows, answers, tmp_path) == 6  # 7 wrong answers, every 8th pair to val
    pairs = [json.loads(line) for line in (tmp_path / "preference" / "train.jsonl").read_text().splitlines()]
    assert pairs[0]["chosen"][0]["content"] == "It can run up to 50% slower [1]."
    assert pairs[0]["rejected"][0]["content"] == "It is 20% slower."
    assert (tmp_path / "preference" / "val.jsonl").read_text().count("\n") == 1
