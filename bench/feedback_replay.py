"""Feedback replay: do SME-verified answers reach the questions that ask the same thing, and only
those, and do answers get better? (issue 28 part 1)

Hand-written triples over real documents: a question with a reference answer written from its
evidence page, a paraphrase (same ask), and a near miss (same words, another ask: the opposite
extreme, another number, entity, period or quantity, a negation). Two sets:

- ``--set tune``: ``replay-tune.jsonl``, ``replay.jsonl`` (136 triples over the manuals, LaTeX
  News and the filings, questions of the retrieval sets) and ``replay-tune2.jsonl`` (25 more,
  written the way users type: terse, lower case, typos, each naming its own source and page).
  ``replay.jsonl`` was the held-out set of the first two sessions; it is tuning data now.
- ``--set heldout`` (the default): ``replay-heldout2.jsonl``, 57 triples written before the third
  round of changes to the checks, from pages no earlier triple uses (R manuals, SDCC and gputils,
  PARI/GP, filings sections); each row names its own source, page and evidence. Only its totals
  are looked at.

Matching (the default), through ``rag.verified.VerifiedAnswers`` with the packaged MiniLM:

1. SMEs validate the references of half the questions (every other line; ``--half 1`` the other
   half, ``--half both`` each in turn). A verified answer cites its evidence passage (the page's
   text, as the index holds it) in its document, and the index holds every file of the corpora;
2. every paraphrase and near miss is asked; a served verified answer is counted.

Printed per corpus and in all: the share of paraphrases of a validated question that get its
verified answer (target >= 0.9), the share of near misses that get any verified answer (target <=
0.02), and the share of all paraphrases given a verified answer of another question. ``--grid``
prints both rates on the tune set, each half validated in turn, for a range of thresholds, with
and without the answer-aware check, to choose the default; ``--misses`` lists each miss of the
tune set (``--misses --set heldout`` lists the held-out set's, which spends it: done once, after the
last change, to say what is left); ``--cost`` times the matching per question.

``--answers N`` replays through the app instead (slow: the local model writes answers on a CPU):
the three corpora are indexed into ``--home`` (kept for the next run), every original question is
searched and recorded as an interaction, an SME validates the reference of every other one on
the Review service, and then

- the first N paraphrases of validated questions (taken in turn from each corpus) are asked in
  the chat before the validation (the model answers) and after it (what the chat serves: the
  verified answer, or the model's): numbers right (every number of the reference is in the
  answer) and cosine similarity to the reference, before -> after;
- every paraphrase and near miss is matched after it, through the chat's own ``find``;
- hit@5 and MRR of the evidence for every paraphrase, searched with passage feedback off and on
  (the validated references endorse the passages that hold their numbers, as the app does).

    python -m bench.feedback_replay --grid
    python -m bench.feedback_replay [--set heldout|tune] [--half both] [--cost]
    nice python -m bench.feedback_replay --answers 12 --home /tmp/replay-home [--corpora latex-news]
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import defaultdict
from functools import cache
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from bench.realdocs import CORPORA, QUESTIONS, load_questions
from rag.embedders.local import SentenceTransformerEmbedder
from rag.records import Citation
from rag.verified import DEFAULT_THRESHOLD, VerifiedAnswers, VerifiedEntry

CORPUS_NAMES = ("manuals", "latex-news", "filings")
SETS = {"tune": ("replay-tune.jsonl", "replay.jsonl", "replay-tune2.jsonl"), "heldout": ("replay-heldout2.jsonl",)}


def load(name: str) -> list[dict]:
    return [json.loads(line) for line in (QUESTIONS / name).read_text().splitlines() if line.strip()]


def load_set(name: str) -> list[dict]:
    return [row for file in SETS[name] for row in load(file)]


def corpora_of(rows: list[dict]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(r["corpus"] for r in rows))


@cache
def sources() -> dict[str, dict]:
    """The retrieval-set question behind each replay id (its source, page and evidence)."""
    return {q["id"]: q | {"corpus": corpus} for corpus in CORPUS_NAMES for q in load_questions(corpus)}


@cache
def page_text(corpus: str, source: str, page: int | None, evidence: str) -> str:
    """The text of the evidence's page (a PDF's page as pypdfium2 reads it; for a file without
    pages, the evidence line itself)."""
    if page is None:
        return evidence
    import pypdfium2

    document = pypdfium2.PdfDocument(str(CORPORA / corpus / source))
    try:
        return document[page - 1].get_textpage().get_text_range()
    finally:
        document.close()


class CorpusIndex:
    """Stands for an index of every file of the corpora, each passage a verified answer cites
    held: matching alone, nothing is stale."""

    supports_listing = True

    def __init__(self, corpora=CORPUS_NAMES):
        files = [p.relative_to(CORPORA / c) for c in corpora for p in (CORPORA / c).rglob("*") if p.is_file()]
        self._documents = {str(f): SimpleNamespace(doc_hash="h") for f in files}
        self.cited: set[str] = set()

    def documents(self):
        return self._documents

    def chunks(self, filters):
        return [SimpleNamespace(id=f"{filters.source}#evidence")]


class Remembering:
    """The embedder, each text embedded once: the grid asks the same questions many times."""

    def __init__(self, inner):
        self.inner = inner
        self.dimension = inner.dimension
        self._seen: dict = {}

    def embed_query(self, text: str) -> np.ndarray:
        if text not in self._seen:
            self._seen[text] = np.asarray(self.inner.embed_query(text), dtype=np.float32)
        return self._seen[text]

    def embed_documents(self, texts):
        missing = [t for t in dict.fromkeys(texts) if ("doc", t) not in self._seen]
        if missing:
            for text, vector in zip(missing, self.inner.embed_documents(missing), strict=True):
                self._seen[("doc", text)] = np.asarray(vector, dtype=np.float32)
        return np.stack([self._seen[("doc", t)] for t in texts])


class RememberingVerified(VerifiedAnswers):
    """VerifiedAnswers that works out each pair's differences once: the grid asks the same pairs at
    every threshold."""

    _seen: dict = {}

    def differences(self, question, entry, state=None):
        key = (question, entry.id, entry.question, self.answer_aware)
        if key not in self._seen:
            self._seen[key] = super().differences(question, entry, state)
        return self._seen[key]


def entry_for(row: dict) -> VerifiedEntry:
    q = row if "source" in row else sources()[row["id"]]
    citations = ()
    if q["source"]:
        text = page_text(row["corpus"], q["source"], q["page"], q["evidence"])
        citations = (
            Citation(n=1, source=q["source"], page=q["page"], chunk_id=f"{q['source']}#evidence", score=1.0, text=text),
        )
    return VerifiedEntry(id=row["id"], question=row["question"], answer=row["reference"], citations=citations)


def replay(rows: list[dict], embedder, threshold: float, *, half: int = 0, answer_aware: bool = True) -> dict:
    """Validate every other row (from ``half``), ask every paraphrase and near miss; counts per corpus."""
    entries = [entry_for(r) for i, r in enumerate(rows) if i % 2 == half]
    index = CorpusIndex(corpora_of(rows))
    verified = RememberingVerified(embedder, index, lambda: entries, threshold=threshold, answer_aware=answer_aware)
    counts = defaultdict(lambda: defaultdict(int))
    for i, r in enumerate(rows):
        own = i % 2 == half
        for kind in ("paraphrase", "near_miss"):
            match = verified.match(r[kind])
            tally(counts, r, kind, own, match.entry.id if match else None)
    return counts


def tally(counts, row: dict, kind: str, own: bool, served: str | None) -> None:
    for corpus in (row["corpus"], "all"):
        c = counts[corpus]
        if kind == "paraphrase" and own:
            c["para_asked"] += 1
            c["para_right"] += served == row["id"]
            c["para_wrong"] += bool(served and served != row["id"])
        elif kind == "paraphrase":
            c["other_asked"] += 1
            c["other_served"] += bool(served)
        else:
            c["near_asked"] += 1
            c["near_served"] += bool(served)


def merged(*runs: dict) -> dict:
    out = defaultdict(lambda: defaultdict(int))
    for run in runs:
        for corpus, c in run.items():
            for key, n in c.items():
                out[corpus][key] += n
    return out


def rates(c: dict) -> tuple[float, float, float]:
    return (
        c["para_right"] / max(c["para_asked"], 1),
        c["near_served"] / max(c["near_asked"], 1),
        (c["para_wrong"] + c["other_served"]) / max(c["para_asked"] + c["other_asked"], 1),
    )


def print_table(counts: dict, corpora=CORPUS_NAMES) -> None:
    print("corpus       paraphrase->its answer  near miss->any  paraphrase->another's answer")
    for corpus in (*corpora, "all"):
        c = counts[corpus]
        para, near, wrong = rates(c)
        print(
            f"{corpus:12s} {para:.3f} ({c['para_right']}/{c['para_asked']})        "
            f"{near:.3f} ({c['near_served']}/{c['near_asked']})     {wrong:.3f}"
        )


def grid(embedder) -> None:
    rows = load_set("tune")
    print(f"tune set ({' + '.join(SETS['tune'])}, {len(rows)} triples, each half validated in turn):")
    print("paraphrase served its answer / near miss served any / paraphrase served another's")
    for aware in (True, False):
        for threshold in (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9):
            counts = merged(*(replay(rows, embedder, threshold, half=h, answer_aware=aware) for h in (0, 1)))
            c = counts["all"]
            para, near, wrong = rates(c)
            label = "with" if aware else "without"
            print(
                f"  {label:7s} answer check  threshold {threshold:.2f}: {para:.3f} ({c['para_right']}/{c['para_asked']})"
                f" / {near:.3f} ({c['near_served']}/{c['near_asked']}) / {wrong:.3f}",
                flush=True,
            )


def misses(embedder, threshold: float, name: str = "tune") -> None:
    """Each paraphrase not served its answer and each near miss served one (each half validated in
    turn), with the similarity to its own question and what the checks found. Listing the held-out
    set's spends it: it is done once, after the last change, to describe what is left."""
    rows = load_set(name)
    for half in (0, 1):
        entries = [entry_for(r) for i, r in enumerate(rows) if i % 2 == half]
        verified = VerifiedAnswers(embedder, CorpusIndex(corpora_of(rows)), lambda e=entries: e, threshold=threshold)
        own_of = {e.id: e for e in entries}
        for i, r in enumerate(rows):
            for kind in ("paraphrase", "near_miss"):
                if kind == "paraphrase" and i % 2 != half:
                    continue
                match = verified.match(r[kind])
                served = match.entry.id if match else None
                if (served == r["id"]) if kind == "paraphrase" else served is None:
                    continue
                similarity = _cosine(embedder, r[kind], r["question"])
                why = verified.differences(r[kind], own_of[r["id"]]) if r["id"] in own_of else "(not validated)"
                got = f"served {served}" if served else "not served"
                print(f"{r['id']} {kind} {got}: similarity {similarity:.3f} {why}\n    {r[kind]}\n    {r['question']}")


def _cosine(embedder, a: str, b: str) -> float:
    u, v = (np.asarray(embedder.embed_query(t)) for t in (a, b))
    return float(u @ v / np.linalg.norm(u) / np.linalg.norm(v))


def cost(rows: list[dict], embedder, threshold: float) -> None:
    """Per-question time of ``VerifiedAnswers.match`` (the query embedded, then the checks against
    every candidate above the threshold), and of the checks alone against the question's own
    verified answer."""
    from rag.same_ask import differences

    entries = [entry_for(r) for i, r in enumerate(rows) if i % 2 == 0]
    index = CorpusIndex(corpora_of(rows))
    verified = VerifiedAnswers(embedder, index, lambda: entries, threshold=threshold)
    asked = [r[kind] for r in rows for kind in ("paraphrase", "near_miss")]
    verified.match(asked[0])  # loads the model and embeds the verified questions
    matched = []
    for text in asked:
        started = time.perf_counter()
        verified.match(text)
        matched.append(time.perf_counter() - started)
    checks = []
    documents = list(index.documents())
    for r, entry in zip(rows[::2], entries, strict=True):
        cited = [c.source for c in entry.citations] + [c.text for c in entry.citations]
        for kind in ("paraphrase", "near_miss"):
            started = time.perf_counter()
            differences(r[kind], r["question"], r["reference"], cited=cited, indexed=documents)
            checks.append(time.perf_counter() - started)
    for label, times in (("match (embedding + checks)", matched), ("checks alone, one candidate", checks)):
        ms = np.asarray(times) * 1000
        print(
            f"{label}: n={len(ms)} mean {ms.mean():.2f} ms, p50 {np.median(ms):.2f} ms, p95 {np.percentile(ms, 95):.2f} ms"
        )


def numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in re.findall(r"\d[\d,]*(?:\.\d+)?", text)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--set", choices=tuple(SETS), help="the triples replayed (default: heldout; tune for --misses and --cost)"
    )
    parser.add_argument("--grid", action="store_true", help="threshold grid on the tune set")
    parser.add_argument("--misses", action="store_true", help="list the misses on the tune set")
    parser.add_argument("--cost", action="store_true", help="time the matching per question on --set")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--half", choices=("0", "1", "both"), default="0", help="which half the SMEs validate")
    parser.add_argument("--answers", type=int, default=0, help="replay through the app, answering N paraphrases")
    parser.add_argument("--home", type=Path, help="RAGBOT_HOME for --answers (the corpora are indexed there)")
    parser.add_argument(
        "--corpora",
        default=",".join(CORPUS_NAMES),
        help="with --answers: the corpora replayed (indexing all three is slow)",
    )
    args = parser.parse_args()
    if args.cost:
        return cost(load_set(args.set or "tune"), SentenceTransformerEmbedder(), args.threshold)
    embedder = Remembering(SentenceTransformerEmbedder())
    if args.grid:
        return grid(embedder)
    if args.misses:
        return misses(embedder, args.threshold, args.set or "tune")
    if args.answers:
        rows = load("replay.jsonl")
        from bench.feedback_replay_app import replay_app

        return replay_app(rows, args.home, args.answers, embedder.inner, tuple(args.corpora.split(",")))
    rows = load_set(args.set or "heldout")
    halves = (0, 1) if args.half == "both" else (int(args.half),)
    counts = merged(*(replay(rows, embedder, args.threshold, half=h) for h in halves))
    which = (
        "each half in turn" if args.half == "both" else ("every other line" if args.half == "0" else "the other half")
    )
    files = " + ".join(SETS[args.set or "heldout"])
    print(
        f"{files} ({len(rows)} triples), threshold {args.threshold}: SMEs validate {which}; all paraphrases and near misses asked"
    )
    print_table(counts, corpora_of(rows))


if __name__ == "__main__":
    main()
