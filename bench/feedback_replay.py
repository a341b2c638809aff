"""Feedback replay: do SME-verified answers reach the questions that ask the same thing, and only those?

``bench/questions/replay.jsonl`` (report) and ``replay-tune.jsonl`` (tune) hold hand-written
triples over the real corpora (manuals, LaTeX News, SEC filings): a question from the retrieval
sets with a reference answer written from its evidence page, a paraphrase (same ask), and a near
miss (same words, another ask: the opposite extreme, another number, entity or quantity, a
negation). Written by someone who had not seen the matching code.

The replay, through ``rag.verified.VerifiedAnswers`` with the packaged MiniLM:

1. SMEs validate the references of half the questions (every other line);
2. every paraphrase and near miss is asked; a served verified answer is counted.

Printed per corpus and in all: the share of paraphrases of a validated question that get its
verified answer (target >= 0.9), the share of near misses that get any verified answer (target <=
0.02), and for the paraphrases of the other half, any verified answer served (all wrong, since their
own question was not validated). ``--grid`` prints both rates on the tune set for a range of
thresholds, with and without the answer-aware check, to choose the default.

With ``--answers N`` the first N paraphrases of validated questions are also answered by the
local model through the app's pipeline over an index of the corpora (``--home`` from
``bench/real_retrieval.py``-style ingest; slow on a CPU), and the answers before feedback (the
model's) and after (what is served) are scored: numbers right (every number of the reference is
in the answer) and cosine similarity to the reference.

    python bench/feedback_replay.py --grid
    python bench/feedback_replay.py
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

from rag.embedders.local import SentenceTransformerEmbedder  # noqa: E402
from rag.same_ask import differences  # noqa: E402
from rag.verified import DEFAULT_THRESHOLD, VerifiedAnswers, VerifiedEntry  # noqa: E402

QUESTIONS = ROOT / "bench" / "questions"


def load(name: str) -> list[dict]:
    return [json.loads(line) for line in (QUESTIONS / name).read_text().splitlines() if line.strip()]


class NoIndex:
    """Matching alone: the entries carry no passages, so nothing is stale."""

    def documents(self):
        return {}


def replay(rows: list[dict], embedder, threshold: float, answer_aware: bool = True) -> dict:
    validated = [r for i, r in enumerate(rows) if i % 2 == 0]
    entries = [
        VerifiedEntry(id=r["id"], question=r["question"], answer=r["reference"], citations=()) for r in validated
    ]
    verified = VerifiedAnswers(embedder, NoIndex(), lambda: entries, threshold=threshold)
    if not answer_aware:
        import rag.verified as module

        module.differences = lambda new, original, answer=None: differences(new, original)
    counts = defaultdict(lambda: defaultdict(int))
    try:
        for i, r in enumerate(rows):
            own = i % 2 == 0
            for kind in ("paraphrase", "near_miss"):
                match = verified.match(r[kind])
                for corpus in (r["corpus"], "all"):
                    c = counts[corpus]
                    if kind == "paraphrase" and own:
                        c["para_asked"] += 1
                        c["para_right"] += bool(match and match.entry.id == r["id"])
                        c["para_wrong"] += bool(match and match.entry.id != r["id"])
                    elif kind == "paraphrase":
                        c["other_asked"] += 1
                        c["other_served"] += bool(match)
                    else:
                        c["near_asked"] += 1
                        c["near_served"] += bool(match)
    finally:
        if not answer_aware:
            module.differences = differences
    return counts


def rates(c: dict) -> tuple[float, float, float]:
    return (
        c["para_right"] / max(c["para_asked"], 1),
        c["near_served"] / max(c["near_asked"], 1),
        (c["para_wrong"] + c["other_served"]) / max(c["para_asked"] + c["other_asked"], 1),
    )


def numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in re.findall(r"\d[\d,]*(?:\.\d+)?", text)}


def answer_quality(rows: list[dict], embedder, home: Path, limit: int) -> None:
    """The model's answer (before) against what is served after validation (the verified answer)."""
    os.environ["RAGBOT_HOME"] = str(home)
    from app.config import Settings
    from app.services import Backends, Identity, Services

    backends = Backends(Settings())
    backends.embedder = embedder
    services = Services(backends=backends, identity=Identity(user="bench", role="admin"))
    validated = [r for i, r in enumerate(rows) if i % 2 == 0][:limit]
    before_right = after_right = 0
    before_sim, after_sim = [], []
    for r in validated:
        model = services.chat.ask(r["paraphrase"]).answer
        want = numbers(r["reference"])
        before_right += want <= numbers(model)
        after_right += 1  # the verified answer is the reference itself when served
        vectors = embedder.embed_documents([r["reference"], model])
        before_sim.append(float(vectors[0] @ vectors[1]))
        after_sim.append(1.0)
        print(f"  {r['id']}: numbers {'right' if want <= numbers(model) else 'wrong'}, similarity {before_sim[-1]:.3f}")
    n = len(validated)
    print(f"answers to {n} paraphrases of validated questions, before -> after feedback (when served):")
    print(f"  numbers right {before_right}/{n} -> {after_right}/{n}")
    print(f"  similarity to the reference {np.mean(before_sim):.3f} -> {np.mean(after_sim):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grid", action="store_true", help="threshold grid on replay-tune.jsonl")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--answers", type=int, default=0, help="also answer N paraphrases with the local model")
    parser.add_argument("--home", type=Path, help="RAGBOT_HOME holding an index of the corpora (with --answers)")
    args = parser.parse_args()
    embedder = SentenceTransformerEmbedder()
    if args.grid:
        rows = load("replay-tune.jsonl")
        print("tune set (replay-tune.jsonl), all corpora: paraphrase served right / near miss served")
        for aware in (False, True):
            for threshold in (0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95):
                para, near, wrong = rates(replay(rows, embedder, threshold, aware)["all"])
                label = "with" if aware else "without"
                print(
                    f"  {label:7s} answer check  threshold {threshold:.2f}: {para:.3f} / {near:.3f}  (wrong {wrong:.3f})"
                )
        return
    rows = load("replay.jsonl")
    counts = replay(rows, embedder, args.threshold)
    print(f"replay.jsonl, threshold {args.threshold}: validated half, paraphrases and near misses of all")
    print("corpus       paraphrase->its answer  near miss->any  wrong answer served")
    for corpus in ("manuals", "latex-news", "filings", "all"):
        c = counts[corpus]
        para, near, wrong = rates(c)
        print(
            f"{corpus:12s} {para:.3f} ({c['para_right']}/{c['para_asked']})        "
            f"{near:.3f} ({c['near_served']}/{c['near_asked']})     {wrong:.3f}"
        )
    if args.answers:
        answer_quality(rows, embedder, args.home, args.answers)


if __name__ == "__main__":
    main()
