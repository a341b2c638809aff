"""The re-ranker the project trains itself (``ragbot train reranker``): pairs from the corpus and
from feedback, held-out pages that never reach training, a model that learns, and the command."""

from __future__ import annotations

import pytest

from rag.embedders.local import resolve_model_path
from rag.records import Chunk
from rag.rerankers.cross_encoder import CrossEncoderReranker, passage_text
from tests.docs import make_pdf
from tests.training.conftest import record
from training.reranker import Pair, RerankerOptions, corpus_pairs, feedback_pairs, question_pairs, train_reranker

MINILM = resolve_model_path("all-MiniLM-L6-v2")


def indexed(page: int) -> Chunk:
    return Chunk(
        id=f"chunk-{page}",
        source="criteria.pdf",
        folder="",
        page=page,
        text=f"indexed text of page {page}",
        doc_hash="h",
        chunk_index=0,
        context="Criteria · Parking",
    )


def test_feedback_endorses_good_answers_and_demotes_corrected_ones():
    records = [
        record("good", "How many car parking spaces?", "412 [1].", pages=(12,), rating=5),
        record("fixed", "How wide is a parking bay?", "3 m [1].", pages=(11,), rating=1, correction="2.5 m wide."),
        record("bad-no-fix", "How many dock doors?", "12 [1].", pages=(6,), rating=1),
        record("neutral", "What is the slab load?", "50 [1].", pages=(3,), rating=3),
        record("unvalidated", "What is the slab design load?", "50 [1].", pages=(3,), judge=5.0, origin="synthetic"),
    ]
    pairs, questions = feedback_pairs(records, {"chunk-12": indexed(12)}, RerankerOptions(holdout=0.0))
    assert questions == []
    assert pairs == [
        # the indexed passage, with its context, as the re-ranker reads it
        Pair("How many car parking spaces?", "Criteria · Parking: indexed text of page 12", 1.0, "feedback"),
        # no longer indexed: the text the record cited
        Pair(
            "How wide is a parking bay?",
            "Car parking bays shall be a minimum of 2.5 m wide by 5.0 m long.",
            0.0,
            "feedback",
        ),
    ]


def test_a_question_with_known_evidence_learns_its_page_against_the_first_stages_wrong_pages():
    page_12_again = indexed(12).model_copy(update={"id": "chunk-12b", "text": "more of page 12"})
    ranked = [indexed(3), page_12_again, indexed(12), indexed(5), indexed(7)]
    pairs = question_pairs("How many car parking spaces?", [indexed(12)], ranked, negatives=2)
    assert [(p.passage, p.label) for p in pairs] == [
        ("Criteria · Parking: indexed text of page 12", 1.0),
        # another chunk of the evidence page is neither a positive nor a negative
        ("Criteria · Parking: indexed text of page 3", 0.0),
        ("Criteria · Parking: indexed text of page 5", 0.0),
    ]
    assert {p.origin for p in pairs} == {"question"}
    # a page-less document: only the chunks named as positives are right
    pageless = [c.model_copy(update={"page": None}) for c in (indexed(1), indexed(2))]
    assert [p.label for p in question_pairs("q", pageless[:1], pageless, negatives=3)] == [1.0, 0.0]


def test_held_out_feedback_questions_are_asked_not_trained_on():
    records = [record(f"r{i}", f"Question number {i} about parking?", "412 [1].", rating=5) for i in range(40)]
    pairs, questions = feedback_pairs(records, {}, RerankerOptions(holdout=0.3))
    asked = {q.query for q in questions}
    assert 4 <= len(asked) <= 24, "about 30% held out"
    assert not asked & {p.query for p in pairs}
    assert all(q.pages == {(p.source, p.page) for p in records[0].citations} for q in questions)


@pytest.fixture
def manual(tmp_path, embedder):
    """A small real index: 12 pages of two PDFs, through the real Ingestor."""
    from rag.ingest.ingestor import Ingestor
    from rag.stores.embedded import LanceDBVectorStore

    topics = ["pump", "valve", "door", "slab", "roof", "lamp", "fence", "drain", "rack", "beam", "duct", "cable"]
    for name, part in (("first.pdf", topics[:6]), ("second.pdf", topics[6:])):
        make_pdf(
            tmp_path / "docs" / name,
            [
                f"The {t} section. Every {t} shall be inspected by the installer before handover.\n"
                f"The rated capacity of the {t} is {40 + i} units at the nominal test pressure."
                for i, t in enumerate(part)
            ],
        )
    store = LanceDBVectorStore(tmp_path / "index")
    Ingestor(store, embedder, skip_pages=False).ingest([tmp_path / "docs"])
    return store


def test_corpus_pairs_keep_held_out_pages_out_and_take_negatives_from_other_pages(manual):
    chunks = manual.chunks()

    def keyword(query, k):
        return [r.chunk for r in manual.search(query, None, k=k, mode="keyword")]

    options = RerankerOptions(pairs=200, negatives=2, holdout=0.25)
    pairs, questions = corpus_pairs(chunks, keyword, options)
    held = {page for q in questions for page in q.pages}
    assert questions and held
    by_passage = {passage_text(c): (c.source, c.page) for c in chunks}
    positives = [p for p in pairs if p.label == 1.0]
    assert len(positives) + len(held) == len(chunks)
    assert not {by_passage[p.passage] for p in positives} & held
    for positive in positives:
        page = by_passage[positive.passage]
        assert positive.query in positive.passage.replace("\n", " ")
        negatives = [p for p in pairs if p.query == positive.query and p.label == 0.0]
        assert negatives and all(by_passage[n.passage] != page for n in negatives)


@pytest.mark.slow
def test_the_model_learns_which_passage_answers(tmp_path):
    """Trained on which passage names the part asked about, it ranks unseen parts' passages too."""
    parts = [f"{w}-{n}" for w in ("pump", "valve", "damper", "louver", "hydrant", "boiler") for n in range(8)]

    def example(i: int) -> tuple[str, str, str]:
        asked, other = parts[i], parts[(i * 7 + 3) % len(parts)]
        return (
            f"rated capacity of {asked}",
            f"The {asked} has a rated capacity of {i} units.",
            f"The {other} has a rated capacity of {i} units.",
        )

    train = [example(i) for i in range(36)]
    pairs = [Pair(q, pos, 1.0, "corpus") for q, pos, _ in train] + [Pair(q, neg, 0.0, "corpus") for q, _, neg in train]
    out = tmp_path / "reranker"
    metrics = train_reranker(
        pairs, out, RerankerOptions(epochs=6, batch_size=8, max_length=48, learning_rate=1e-4), MINILM
    )
    assert metrics["global_step"] == 54
    model = CrossEncoderReranker(out).model
    unseen = [example(i) for i in range(36, 48)]
    pos = model.predict([(q, p) for q, p, _ in unseen])
    neg = model.predict([(q, n) for q, _, n in unseen])
    assert sum(p > n for p, n in zip(pos, neg, strict=True)) >= 10, (pos, neg)


def test_training_needs_both_labels(tmp_path):
    from training.errors import TrainingError

    with pytest.raises(TrainingError, match="positive and negative pairs"):
        train_reranker([Pair("q", "p", 1.0, "corpus")], tmp_path / "r", RerankerOptions(), MINILM)
