"""Verified answers matched to new questions, and not served once their passages change (rag.verified)."""

import pytest

from rag.ingest.ingestor import Ingestor
from rag.records import Citation, SearchFilters
from rag.stores.embedded import LanceDBVectorStore
from rag.verified import VerifiedAnswers, VerifiedEntry

DOCS = {
    "Fire/sprinklers.md": "# Tank\n\nThe effective capacity of the sprinkler storage tank is 950 m3.\n",
    "Site/parking.md": "# Parking\n\nThe site provides 412 car parking spaces and 36 truck bays.\n",
}


@pytest.fixture
def store(tmp_path, embedder):
    root = tmp_path / "docs"
    for name, text in DOCS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    store = LanceDBVectorStore(tmp_path / "index")
    Ingestor(store, embedder).ingest([root])
    return store, root


def entries_for(store, *questions_and_sources):
    made = []
    for i, (question, answer, source) in enumerate(questions_and_sources):
        chunk = store.chunks(SearchFilters(source=source))[0]
        citation = Citation(n=1, source=source, page=chunk.page, chunk_id=chunk.id, score=0.9, text=chunk.text)
        made.append(VerifiedEntry(id=f"v{i}", question=question, answer=answer, citations=(citation,), reviewer="sme"))
    return made


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_a_paraphrase_gets_the_verified_answer_and_a_near_miss_does_not(store, embedder):
    store, _ = store
    entries = entries_for(
        store,
        (
            "What is the effective capacity of the sprinkler storage tank?",
            "The effective capacity of the sprinkler storage tank is 950 m3 [1].",
            "Fire/sprinklers.md",
        ),
        (
            "How many car parking spaces does the site have?",
            "The site has 412 car parking spaces [1].",
            "Site/parking.md",
        ),
    )
    verified = VerifiedAnswers(embedder, store, lambda: entries)
    match = verified.match("What effective capacity does the sprinkler storage tank have?")
    assert match is not None and match.entry.id == "v0" and match.similarity >= verified.threshold
    assert verified.match("How many car parking spaces are there on the site?").entry.id == "v1"
    # Same words, another ask: an extreme named, and a word the answer is about swapped.
    assert verified.match("What is the minimum capacity of the sprinkler storage tank?") is None
    assert verified.match("How many truck parking spaces does the site have?") is None
    assert verified.match("What is the capital of France?") is None


def test_filters_keep_a_verified_answer_from_outside_the_documents_searched(store, embedder):
    store, _ = store
    entries = entries_for(store, ("How many car parking spaces does the site have?", "412.", "Site/parking.md"))
    verified = VerifiedAnswers(embedder, store, lambda: entries)
    question = "How many car parking spaces are there on the site?"
    assert verified.match(question, SearchFilters(folder="Site")) is not None
    assert verified.match(question, SearchFilters(folder="Fire")) is None
    assert verified.match(question, SearchFilters(source="Fire/sprinklers.md")) is None


def test_a_changed_or_removed_passage_makes_the_answer_stale(store, embedder):
    store, root = store
    entries = entries_for(
        store,
        ("What is the effective capacity of the sprinkler storage tank?", "950 m3.", "Fire/sprinklers.md"),
        ("How many car parking spaces does the site have?", "412.", "Site/parking.md"),
    )
    clock = Clock()
    verified = VerifiedAnswers(embedder, store, lambda: entries, clock=clock, recheck_s=30)
    assert verified.stale() == {}
    (root / "Fire/sprinklers.md").write_text(
        "# Tank\n\nThe effective capacity of the sprinkler storage tank is 1,200 m3.\n"
    )
    Ingestor(store, embedder).ingest([root])
    store.delete_documents(["Site/parking.md"])
    assert verified.stale() == {}, "read again only after recheck_s"
    clock.now = 31
    assert verified.stale() == {"v0": ["Fire/sprinklers.md"], "v1": ["Site/parking.md"]}
    assert verified.match("What is the effective capacity of the sprinkler storage tank?") is None


def test_invalidate_reloads_at_once_and_the_questions_are_embedded_once(store, embedder):
    store, _ = store
    current = entries_for(store, ("How many car parking spaces does the site have?", "412.", "Site/parking.md"))
    loads, embedded = [], []

    class Counting:
        dimension = embedder.dimension

        def embed_documents(self, texts):
            embedded.extend(texts)
            return embedder.embed_documents(texts)

        def embed_query(self, text):
            return embedder.embed_query(text)

    def load():
        loads.append(1)
        return list(current)

    verified = VerifiedAnswers(Counting(), store, load, clock=Clock())
    question = "What is the effective capacity of the sprinkler storage tank?"
    assert verified.match(question) is None
    current += entries_for(store, (question, "950 m3.", "Fire/sprinklers.md"))
    assert verified.match(question) is None, "the loaded set is kept until recheck_s or invalidate"
    verified.invalidate()
    assert verified.match(question).entry.question == question
    assert len(loads) == 2 and len(embedded) == 2


def test_a_name_added_is_served_unless_it_names_another_indexed_document(store, embedder):
    store, _ = store
    entries = entries_for(
        store,
        (
            "What is the effective capacity of the sprinkler storage tank?",
            "The effective capacity of the sprinkler storage tank is 950 m3 [1].",
            "Fire/sprinklers.md",
        ),
    )
    verified = VerifiedAnswers(embedder, store, lambda: entries)
    # "Fire" is the cited document's folder; "Parking" names the other document of the index.
    assert verified.match("What is the effective capacity of the Fire sprinkler storage tank?") is not None
    assert verified.match("What is the effective capacity of the Parking sprinkler storage tank?") is None
    entry = entries[0]
    assert verified.differences("What is the effective capacity of the Parking sprinkler storage tank?", entry) == [
        "names another document: parking"
    ]
