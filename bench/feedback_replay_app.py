"""The feedback replay through the app: ``python -m bench.feedback_replay --answers N --home DIR``.

The corpora are indexed into ``DIR`` once (the index is kept for the next run; the feedback
store starts empty each run). Every original question of the replay is searched through the
pipeline and recorded as an interaction with the passages found (its answer is not written by
the model: only the SME's reference is served later, and a CPU writes about one answer a minute);
an SME validates the reference of every other one on the Review service. Then:

- answers: the first N paraphrases of validated questions, one corpus after another, asked in
  the chat before the validation (the model answers) and after it (what the chat serves);
- matching: every paraphrase and near miss through the chat's ``find``;
- retrieval: every paraphrase searched with passage feedback off and on (the validated
  references endorse the passages holding their numbers: ``app.endorsement_source``).
"""

from __future__ import annotations

import os
import re
import time
from collections import defaultdict
from itertools import chain, zip_longest
from pathlib import Path

import numpy as np

from bench.real_retrieval import metrics, rank_of
from bench.realdocs import CACHE, CORPORA, CachedEmbedder

CORPUS_NAMES = ("manuals", "latex-news", "filings")


def numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in re.findall(r"\d[\d,]*(?:\.\d+)?", text)}


def _services(home: Path, embedder):
    os.environ["RAGBOT_HOME"] = str(home)
    from app.config import Settings
    from app.services import Backends, Identity, Services

    backends = Backends(Settings())
    backends.embedder = CachedEmbedder(embedder, CACHE / "embeddings-all-MiniLM-L6-v2.sqlite")
    return {
        role: Services(backends=backends, identity=Identity(user=user, role=role))
        for role, user in (("admin", "bench"), ("sme", "sam"), ("engineer", "eve"))
    }


def _ask(services, question: str, session: str, *, verified: bool = True):
    """What the chat gives for ``question`` in a new conversation: (text, served verified id or None)."""
    run = services.chat.answer(question, session_id=session, turn=1, verified=verified)
    for _ in run:
        pass
    if run.served is not None:
        return run.served.answer, run.served.verified.id
    return run.answer.answer, None


def _score(embedder, reference: str, answer: str) -> tuple[bool, float]:
    vectors = np.asarray(embedder.embed_documents([reference, answer]), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return numbers(reference) <= numbers(answer), float(vectors[0] @ vectors[1])


def _searched(backends, question: str, passage_feedback: bool) -> list[dict]:
    from rag.retrieval import Retriever

    retriever = backends.pipeline.retriever
    if not passage_feedback:
        retriever = Retriever(retriever.store, retriever.embedder)
    results = retriever.search(question, k=5)
    return [{"source": r.chunk.source, "page": r.chunk.page, "text": r.chunk.text} for r in results]


def replay_app(rows: list[dict], home: Path | None, n: int, embedder, corpora=CORPUS_NAMES) -> None:
    """The replay through the app over ``corpora`` (their rows only; every other row validated)."""
    rows = [r for r in rows if r["corpus"] in corpora]
    if home is None:
        raise SystemExit("--answers needs --home DIR (the corpora are indexed there once)")
    home.mkdir(parents=True, exist_ok=True)
    (home / "feedback.db").unlink(missing_ok=True)
    roles = _services(home, embedder)
    admin, sme, eng = roles["admin"], roles["sme"], roles["engineer"]
    backends = admin.backends
    if admin.corpus.status().documents == 0:
        started = time.perf_counter()
        report = admin.corpus.ingest([CORPORA / c for c in corpora])
        print(f"indexed {len(report.indexed)} documents in {time.perf_counter() - started:.0f} s")
    from bench.feedback_replay import sources

    questions = sources()
    validated = rows[::2]
    by_corpus = [[r for r in validated if r["corpus"] == c] for c in corpora]
    chosen = [r for r in chain.from_iterable(zip_longest(*by_corpus)) if r][:n]

    print(f"before feedback: the model answers {len(chosen)} paraphrases of questions the SMEs will validate")
    before = {}
    for r in chosen:
        started = time.perf_counter()
        before[r["id"]] = _ask(eng, r["paraphrase"], f"before-{r['id']}", verified=False)[0]
        print(f"  {r['id']}: {time.perf_counter() - started:.0f} s", flush=True)

    # The originals, searched and recorded; the SME validates every other reference.
    for i, r in enumerate(rows):
        events = backends.pipeline.stream(r["question"])
        citations = next(e.citations for e in events if e.kind == "citations")
        events.close()  # searched only: the model is not asked
        if i % 2:
            continue
        recorded = eng.chat.record_answer(
            _unwritten(r["question"], citations, backends.generator.model_id), session_id=f"original-{r['id']}", turn=1
        )
        sme.review.review(recorded.id, opened=None, status="validated", reference_answer=r["reference"])
        r["record"] = recorded.id

    print(f"after feedback ({len(validated)} references validated):")
    scores = defaultdict(list)
    for r in chosen:
        text, served = _ask(eng, r["paraphrase"], f"after-{r['id']}")
        for label, answer in (("before", before[r["id"]]), ("after", text)):
            right, similarity = _score(embedder, r["reference"], answer)
            scores[label].append((right, similarity))
        print(f"  {r['id']}: {'verified answer served' if served else 'the model answers'}")
    for label in ("before", "after"):
        right = sum(s[0] for s in scores[label])
        mean = float(np.mean([s[1] for s in scores[label]])) if scores[label] else 0.0
        print(f"  {label:6s}: numbers right {right}/{len(chosen)}, similarity to the reference {mean:.3f}")

    own = {r["record"]: r["id"] for r in rows if "record" in r}
    counts = defaultdict(lambda: defaultdict(int))
    from bench.feedback_replay import print_table, tally

    for i, r in enumerate(rows):
        for kind in ("paraphrase", "near_miss"):
            match = eng.verified.find(r[kind])
            tally(counts, r, kind, i % 2 == 0, own.get(match.entry.id) if match else None)
    print("matching through the chat's find:")
    print_table(counts)

    print("retrieval of the evidence for the paraphrases, passage feedback off -> on (hit@1 / hit@5 / MRR):")
    for label, group in (("of validated questions", rows[::2]), ("of the others", rows[1::2])):
        for corpus in (*corpora, "all"):
            items = [(questions[r["id"]], r["paraphrase"]) for r in group if corpus in ("all", r["corpus"])]
            items = [(q, p) for q, p in items if q["source"]]
            figures = [metrics([rank_of(q, _searched(backends, p, on)) for q, p in items]) for on in (False, True)]
            off, on = (" / ".join(f"{f[k]:.3f}" for k in ("hit@1", "hit@5", "mrr")) for f in figures)
            print(f"  {label:24s} {corpus:12s} {off} -> {on} (n={len(items)})")


def _unwritten(question: str, citations, model_id: str):
    from rag.records import Answer
    from rag.prompts import PROMPT_VERSION

    return Answer(
        question=question,
        answer="(searched only: the replay does not have the model answer the originals)",
        found=True,
        citations=citations,
        model_id=model_id,
        prompt_version=PROMPT_VERSION,
        latency_ms=0,
    )
