"""A realistic feedback set from the sample corpus, for measuring what training learns.

Engineers ask the questions of ``samples/questions.jsonl`` (each has a known evidence phrase in
``samples/warehouse-standards``) through the app's own services: the real retriever, the real
answer pipeline and the local model (``RAGBOT_LOCAL_MODEL``, default the packaged SmolLM2), so
every record holds the passages and prompt version exactly as at answer time. Then, as people
would:

* the asker rates the answer from its correctness: the numbers (or, without digits, the last
  words) of the evidence all in the answer → 5 with a citation, else 4; a wrong answer → 2, a
  "not found" while the documents hold the answer → 1 (``--rated`` of them are rated at all);
* most wrong answers get a correction written from the evidence: the sentence of the passage
  that holds it, cited as ``[n]`` when the model saw that passage;
* an SME reviews some answers: validates right ones, writes the same evidence sentence as the
  reference answer of wrong ones, or rejects a wrong one without a reference.

Each question is asked ``--variants`` times in different phrasings by different engineers, in
conversations of one to three questions. About ``--heldout`` of the questions (all their
phrasings) are held out: never trained on, only for measuring.

Writes, in ``--out``:

* ``feedback.jsonl`` — the training questions' records, exactly as ``ragbot feedback export
  --format jsonl`` writes them (it is written by that export), for ``ragbot train dataset --from``;
* ``heldout.jsonl`` — the held-out questions' records, same format;
* ``questions.jsonl`` — one line per record: interaction id, question id, split, evidence,
  whether the answer was right, the rating given, so a trainer can score answers by numbers.

    python -m bench.feedback_set --out bench/out/feedback [--variants 2] [--limit N] [--home DIR]

About 1–2 s per answer with the ONNX runtime on 2 cores (100 answers: a few minutes, plus
indexing the sample corpus once in a fresh RAGBOT_HOME).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from bench.local_model import ROOT, is_right, norm, prepare_home

PHRASINGS = (
    "{q}",
    "According to the documents, {lq}",
    "Quick question: {q}",
    "Can you check the specs: {lq}",
)
"""How engineers ask the same thing; the first is the question as written."""

USERS = tuple(f"engineer{i}@example.com" for i in range(1, 7))
SME = "sme@example.com"


def stable(*parts: object) -> float:
    """A number in [0, 1) fixed by ``parts``: the same set every run, no global random state."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def phrase(question: str, variant: int) -> str:
    template = PHRASINGS[variant % len(PHRASINGS)]
    return template.format(q=question, lq=question[:1].lower() + question[1:])


def evidence_sentence(evidence: str, passages: list[tuple[int | None, str]]) -> str | None:
    """The sentence holding ``evidence`` in the first passage that has it, cited ``[n]`` when the
    model saw that passage (``n`` not None); None when no passage holds it."""
    target = norm(evidence)
    for n, text in passages:
        for sentence in re.split(r"(?<=[.;:!?])\s+|\n+", text):
            if target in norm(sentence):
                clean = " ".join(sentence.split()).strip(" -•")
                if not clean.endswith((".", "!", "?")):
                    clean += "."
                return f"{clean[:-1]} [{n}]." if n is not None else clean
    return None


def rating_for(answer, right: bool) -> int:
    if right:
        return 5 if re.search(r"\[\d+\]", answer.answer) else 4
    return 1 if not answer.found else 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--out", type=Path, required=True, help="folder for feedback.jsonl, heldout.jsonl, questions.jsonl"
    )
    parser.add_argument("--variants", type=int, default=2, help="phrasings asked per question (1–4)")
    parser.add_argument("--heldout", type=float, default=0.2, help="share of questions held out")
    parser.add_argument("--rated", type=float, default=0.9, help="share of answers their asker rates")
    parser.add_argument("--corrected", type=float, default=0.7, help="share of wrong rated answers given a correction")
    parser.add_argument("--reviewed", type=float, default=0.3, help="share of answers an SME reviews")
    parser.add_argument("--limit", type=int, help="only the first N questions (a quick run)")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--home", type=Path, help="RAGBOT_HOME to use (default: a temporary one)")
    args = parser.parse_args()

    questions = [json.loads(x) for x in (ROOT / "samples/questions.jsonl").read_text().splitlines() if x.strip()]
    for i, q in enumerate(questions):
        q["id"] = f"wh-{i + 1:03d}"
    questions = questions[: args.limit] if args.limit else questions
    # The held-out questions: the lowest hashes, so the set does not depend on --limit or order.
    ranked = sorted(questions, key=lambda q: stable("heldout", q["query"]))
    heldout = {q["id"] for q in ranked[: max(1, round(len(questions) * args.heldout))]}

    with tempfile.TemporaryDirectory() as tmp:
        home = args.home or Path(tmp)
        os.environ["RAGBOT_HOME"] = str(home)
        os.environ.setdefault("RAGBOT_MAX_NEW_TOKENS", str(args.max_new_tokens))
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        print(f"indexing the sample corpus into {home} (once) …", file=sys.stderr, flush=True)
        prepare_home(home)
        from app.config import Settings
        from app.services import Identity, Services
        from feedback.stores.base import InteractionFilter
        from rag.records import Turn

        admin = Services(Settings(role="admin", user="admin@example.com"))
        sme = admin.as_identity(Identity(user=SME, role="sme"))
        manifest: list[dict] = []
        split_of: dict[str, str] = {}

        # Conversations: the phrasings of one split shuffled (fixed), cut into runs of 1–3 questions.
        asks = [(q, v) for q in questions for v in range(args.variants)]
        asks.sort(key=lambda a: stable("order", a[0]["id"], a[1]))
        started = time.perf_counter()
        for split in ("train", "heldout"):
            todo = [a for a in asks if (a[0]["id"] in heldout) == (split == "heldout")]
            session = 0
            while todo:
                size = 1 + int(stable("size", split, session) * 3)
                chunk, todo = todo[:size], todo[size:]
                user = USERS[int(stable("user", split, session) * len(USERS))]
                chat = admin.as_identity(Identity(user=user, role="engineer")).chat
                session_id = f"{split}-{session:04d}"
                session += 1
                history = []
                for turn, (q, variant) in enumerate(chunk, start=1):
                    text = phrase(q["query"], variant)
                    answer = chat.ask(text, history)
                    record = chat.record_answer(answer, session_id=session_id, turn=turn)
                    history.append(Turn(question=answer.question, answer=answer.answer))
                    right = is_right(answer.answer, q["evidence"])
                    rating = None
                    correction = None
                    if stable("rated", q["id"], variant) < args.rated:
                        rating = rating_for(answer, right)
                        if rating <= 2 and stable("corrected", q["id"], variant) < args.corrected:
                            correction = _evidence_sentence(admin, answer, q)
                        chat.rate(record.id, rating, correction=correction)
                    review = None
                    if stable("reviewed", q["id"], variant) < args.reviewed:
                        opened = None
                        if right:
                            sme.review.review(record.id, opened=opened, status="validated", sme_score=5.0)
                            review = "validated"
                        elif stable("reference", q["id"], variant) < 0.75:
                            reference = _evidence_sentence(admin, answer, q)
                            sme.review.review(
                                record.id, opened=opened, status="validated", sme_score=1.0, reference_answer=reference
                            )
                            review = "validated+reference"
                        else:
                            sme.review.review(record.id, opened=opened, status="rejected", sme_score=1.0)
                            review = "rejected"
                    split_of[record.id] = split
                    manifest.append(
                        {
                            "interaction_id": record.id,
                            "question_id": q["id"],
                            "split": split,
                            "question": text,
                            "evidence": q["evidence"],
                            "kind": q.get("kind"),
                            "right": right,
                            "found": answer.found,
                            "rating": rating,
                            "correction": correction is not None,
                            "review": review,
                        }
                    )
                    done = len(manifest)
                    print(
                        f"\r{done}/{len(asks)} answers ({time.perf_counter() - started:.0f}s)",
                        end="",
                        file=sys.stderr,
                        flush=True,
                    )
        print(file=sys.stderr)

        args.out.mkdir(parents=True, exist_ok=True)
        everything = Path(tmp) / "all.jsonl"
        count = admin.feedback.export(everything, "jsonl", InteractionFilter())
        files = {"train": open(args.out / "feedback.jsonl", "wb"), "heldout": open(args.out / "heldout.jsonl", "wb")}
        foreign = 0
        with everything.open("rb") as lines:
            for line in lines:  # the export's own bytes, split by question; nothing is rewritten
                split = split_of.get(json.loads(line)["id"])
                if split is None:  # left in --home's store by an earlier run
                    foreign += 1
                    continue
                files[split].write(line)
        count -= foreign
        for f in files.values():
            f.close()
        (args.out / "questions.jsonl").write_text("".join(json.dumps(m) + "\n" for m in manifest))

    seconds = time.perf_counter() - started
    for split in ("train", "heldout"):
        rows = [m for m in manifest if m["split"] == split]
        if not rows:
            continue
        right = sum(m["right"] for m in rows)
        rated = [m["rating"] for m in rows if m["rating"] is not None]
        print(
            f"{split}: {len(rows)} answers to {len({m['question_id'] for m in rows})} questions, "
            f"{right} right ({right / len(rows):.0%}), {len(rated)} rated, "
            f"{sum(m['correction'] for m in rows)} corrections, {sum(m['review'] is not None for m in rows)} reviewed"
        )
    print(f"exported {count} interactions to {args.out} in {seconds:.0f}s")
    if foreign:
        print(f"({foreign} records an earlier run left in the store were not exported)")


def _evidence_sentence(services, answer, q: dict) -> str | None:
    """The correction a person would write: the evidence sentence from the passages the model saw,
    else from the document itself (searched for the evidence), else the evidence phrase."""
    seen = [(c.n, c.text) for c in answer.citations]
    found = evidence_sentence(q["evidence"], seen)
    if found:
        return found
    hits = services.backends.retriever.search(q["evidence"], k=10, mode="keyword")
    found = evidence_sentence(q["evidence"], [(None, h.chunk.text) for h in hits if h.chunk.source == q["source"]])
    return found or f"{q['evidence']}."


if __name__ == "__main__":
    main()
