"""The passage re-ranker (``RAGBOT_RERANKER``), trained here from the corpus and from feedback.

No cross-encoder weights can be downloaded, so the project makes its own: the packaged
all-MiniLM-L6-v2 encoder with a fresh one-output head, trained by sentence-transformers'
``CrossEncoderTrainer`` on (query, passage, label) pairs from two sources:

* **the corpus** (inverse cloze): a sentence of a chunk (6-30 words) is the query, as a reader
  might half-remember it; the chunk, read as the re-ranker reads it (context, then text), is the
  positive; the best BM25 matches of the sentence on *other* pages are the negatives: the pages
  a first stage confuses it with.
* **feedback** (Onyx does this for documents; here for passages): an answer judged good
  (``training.labels.verdict``: SME, then the user's rating, then the AI judge) endorses the
  passages it cited; an answer judged bad that has a better target (the user's correction or the
  SME's reference) demotes its cited passages.

Whole pages, and whole feedback questions, are held out before training: ``evaluate`` asks them
through the first stage with and without the new model, blended with the first stage's order as
it will be served (``rag.rerankers.blend``; the blend is saved in the model folder), so the
model is used only where it helps (``RerankerReport.helps``). The defaults (2 epochs at lr 1e-4,
192 tokens, 10 candidates, w = 0.5) are the recipe bench/rerank_blend.py measured on corpora it
never trained on (bench/RESULTS.md, issue 29 part 5): trained on ~1,200 pairs it lowered MRR
there at every blend weight, which is why the check, not the recipe, decides.
"""

from __future__ import annotations

import json
import random
import re
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

from feedback.records import Interaction
from rag.records import Chunk
from rag.rerankers.cross_encoder import passage_text
from training.errors import TrainingError
from training.labels import eligibility, question_key, target, verdict

SENTENCE = re.compile(r"(?<=[.!?])\s+")
REPORT = "reranker.json"


class Pair(NamedTuple):
    query: str
    passage: str
    label: float
    origin: str  # "corpus", "question" or "feedback"


class Question(NamedTuple):
    """A held-out query and the pages that answer it: (source, page)."""

    query: str
    pages: frozenset[tuple[str, int | None]]
    origin: str


@dataclass
class RerankerOptions:
    pairs: int = 1500
    """Corpus pairs to mine (positives and negatives together)."""
    negatives: int = 3
    holdout: float = 0.1
    """Share of pages (corpus) and of questions (feedback) kept out of training."""
    max_holdout: int = 200
    epochs: int = 2
    max_steps: int | None = None
    batch_size: int = 16
    max_length: int = 192
    learning_rate: float = 1e-4
    seed: int = 7
    candidates: int = 10
    """First-stage passages the re-ranker reads when it is checked (``RAGBOT_RERANK_CANDIDATES``)."""
    blend_weight: float = 0.5
    """The re-ranker's share of the blended order (``rag.rerankers.blend.Blend.weight``)."""


@dataclass
class Figures:
    n: int = 0
    hit_at_1: float = 0.0
    hit_at_5: float = 0.0
    mrr: float = 0.0


@dataclass
class RerankerReport:
    pairs: dict[str, int] = field(default_factory=dict)
    held_out: int = 0
    without: Figures = field(default_factory=Figures)
    with_reranker: Figures = field(default_factory=Figures)
    training: dict = field(default_factory=dict)
    blend: dict = field(default_factory=dict)

    @property
    def helps(self) -> bool:
        """Better MRR on the held-out questions and no lower hit@5."""
        w, r = self.without, self.with_reranker
        return r.n > 0 and r.mrr > w.mrr and r.hit_at_5 >= w.hit_at_5

    def save(self, out: Path) -> None:
        (out / REPORT).write_text(json.dumps(asdict(self) | {"helps": self.helps}, indent=2) + "\n")


def _held_out(key: str, share: float) -> bool:
    return zlib.crc32(key.encode()) % 1000 < share * 1000


def corpus_pairs(chunks: Sequence[Chunk], search, options: RerankerOptions) -> tuple[list[Pair], list[Question]]:
    """Inverse-cloze pairs from ``chunks``; ``search(query, k)`` is a keyword search giving chunks.

    Pages whose key falls in the held-out share give questions instead of pairs."""
    rng = random.Random(options.seed)
    order = list(chunks)
    rng.shuffle(order)
    pairs: list[Pair] = []
    questions: list[Question] = []
    for chunk in order:
        sentences = [s.strip() for s in SENTENCE.split(chunk.text.replace("\n", " ")) if 6 <= len(s.split()) <= 30]
        if not sentences:
            continue
        query = rng.choice(sentences)
        page = (chunk.source, chunk.page)
        if _held_out(f"{chunk.source}#{chunk.page}", options.holdout):
            if len(questions) < options.max_holdout:
                questions.append(Question(query, frozenset([page]), "corpus"))
            continue
        if len(pairs) >= options.pairs:
            if len(questions) >= options.max_holdout or len(questions) >= options.holdout * len(pairs):
                break
            continue
        pairs.append(Pair(query, passage_text(chunk), 1.0, "corpus"))
        others = [c for c in search(query, options.negatives + 5) if (c.source, c.page) != page]
        pairs += [Pair(query, passage_text(c), 0.0, "corpus") for c in others[: options.negatives]]
    return pairs, questions


def question_pairs(query: str, positives: Sequence[Chunk], ranked: Sequence[Chunk], negatives: int) -> list[Pair]:
    """Pairs from a question whose evidence is known (written by a person or by ``ragbot synth``
    and validated): its ``positives`` against the ``negatives`` best of the first stage's
    ``ranked`` passages that are not positives (the pages a re-ranker must tell apart)."""
    right = {(c.source, c.page) if c.page is not None else c.id for c in positives}
    wrong = [c for c in ranked if ((c.source, c.page) if c.page is not None else c.id) not in right]
    return [Pair(query, passage_text(c), 1.0, "question") for c in positives] + [
        Pair(query, passage_text(c), 0.0, "question") for c in wrong[:negatives]
    ]


def feedback_pairs(
    records: Iterable[Interaction], passages: dict[str, Chunk], options: RerankerOptions
) -> tuple[list[Pair], list[Question]]:
    """Endorsed and demoted passages from rated, judged or reviewed answers (see the module doc).

    ``passages`` maps chunk ids to the indexed chunks; a cited passage no longer indexed is read
    from the record's citation."""
    pairs: list[Pair] = []
    questions: list[Question] = []
    for record in records:
        if not record.citations or not record.question.strip() or eligibility(record) is not None:
            continue
        good = verdict(record).good
        if good is None or (good is False and target(record) is None):
            continue
        if _held_out(question_key(record.question), options.holdout):
            if good and len(questions) < options.max_holdout:
                pages = frozenset((c.source, c.page) for c in record.citations)
                questions.append(Question(record.question, pages, "feedback"))
            continue
        for citation in record.citations:
            chunk = passages.get(citation.chunk_id)
            text = passage_text(chunk) if chunk is not None else citation.text
            if text.strip():
                pairs.append(Pair(record.question, text, 1.0 if good else 0.0, "feedback"))
    return pairs, questions


def train_reranker(pairs: Sequence[Pair], out: Path, options: RerankerOptions, base: str | Path) -> dict:
    """Trains a CrossEncoder from ``base`` (a folder) on ``pairs``; saves it in ``out``."""
    from datasets import Dataset
    from sentence_transformers.cross_encoder import CrossEncoder, CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    labels = {p.label for p in pairs}
    if labels != {0.0, 1.0}:
        raise TrainingError(
            f"the re-ranker needs positive and negative pairs; got {len(pairs)} pairs with labels {sorted(labels)}"
        )
    model = CrossEncoder(str(base), num_labels=1, max_length=options.max_length)
    data = Dataset.from_dict(
        {"query": [p.query for p in pairs], "passage": [p.passage for p in pairs], "label": [p.label for p in pairs]}
    ).shuffle(seed=options.seed)
    arguments = CrossEncoderTrainingArguments(
        output_dir=str(out / "checkpoints"),
        num_train_epochs=options.epochs,
        max_steps=options.max_steps or -1,
        per_device_train_batch_size=options.batch_size,
        learning_rate=options.learning_rate,
        warmup_steps=0.1,  # a float is a share of the steps (warmup_ratio is deprecated)
        save_strategy="no",
        logging_steps=10,
        report_to="none",
        dataloader_pin_memory=False,  # no accelerator on most machines it runs on: the warning is noise
        bf16=False,  # emulated on CPUs without native bf16: 3.5x slower (training/trainers/profiles.py)
        seed=options.seed,
    )
    trainer = CrossEncoderTrainer(model=model, args=arguments, train_dataset=data, loss=BinaryCrossEntropyLoss(model))
    result = trainer.train()
    model.save_pretrained(str(out))
    return {"global_step": result.global_step, "train_loss": round(result.training_loss, 4)}


def evaluate(retriever, questions: Sequence[Question], k: int = 10) -> Figures:
    """hit@1, hit@5 and MRR@k of ``retriever`` (a ``rag.retrieval.Retriever``) on ``questions``."""
    ranks = []
    for q in questions:
        ranked = [(r.chunk.source, r.chunk.page) for r in retriever.search(q.query, k=k)]
        ranks.append(next((i for i, page in enumerate(ranked, start=1) if page in q.pages), None))
    n = len(ranks)
    if not n:
        return Figures()
    return Figures(
        n=n,
        hit_at_1=round(sum(r == 1 for r in ranks) / n, 4),
        hit_at_5=round(sum(r is not None and r <= 5 for r in ranks) / n, 4),
        mrr=round(sum(1 / r for r in ranks if r) / n, 4),
    )


def build_reranker(
    store,
    embedder,
    records: Iterable[Interaction],
    out: Path,
    options: RerankerOptions,
    base: str | Path,
    mode: str = "hybrid",
    progress: Callable[[str], None] = lambda _: None,
) -> RerankerReport:
    """Mines pairs from ``store`` and ``records``, trains the model into ``out`` and measures the
    first stage (``mode``) with and without it, blended, on the held-out questions."""
    from rag.rerankers.blend import Blend
    from rag.rerankers.cross_encoder import CrossEncoderReranker
    from rag.retrieval import Retriever

    chunks = store.chunks()
    if not chunks:
        raise TrainingError("the index is empty: ingest documents before training a re-ranker")
    progress(f"mining pairs from {len(chunks)} passages")

    def keyword(query: str, k: int) -> list[Chunk]:
        return [r.chunk for r in store.search(query, None, k=k, mode="keyword")]

    pairs, questions = corpus_pairs(chunks, keyword, options)
    more, asked = feedback_pairs(records, {c.id: c for c in chunks}, options)
    pairs += more
    questions += asked
    counts = {
        f"{origin} {'positive' if label else 'negative'}": sum(p.origin == origin and p.label == label for p in pairs)
        for origin in ("corpus", "feedback")
        for label in (1.0, 0.0)
    }
    report = RerankerReport(pairs=counts, held_out=len(questions))
    progress(f"training on {len(pairs)} pairs")
    out.mkdir(parents=True, exist_ok=True)
    report.training = train_reranker(pairs, out, options, base)
    blend = Blend(weight=options.blend_weight)
    blend.save(out)
    report.blend = asdict(blend) | {"candidates": options.candidates}
    progress(f"asking {len(questions)} held-out questions with and without the re-ranker")
    first = Retriever(store, embedder, mode=mode)  # type: ignore[arg-type]
    reranker = CrossEncoderReranker(out, max_length=options.max_length)
    second = Retriever(store, embedder, mode=mode, reranker=reranker, rerank_candidates=options.candidates)  # type: ignore[arg-type]
    report.without = evaluate(first, questions)
    report.with_reranker = evaluate(second, questions)
    report.save(out)
    return report
