"""The contract every vector store passes. A backend's test module subclasses
``VectorStoreContract`` and provides the ``store`` fixture (see test_embedded.py)."""

from __future__ import annotations

import numpy as np
import pytest

from rag.errors import EmbeddingModelMismatch
from rag.ingest.ingestor import embedding_text
from rag.records import Chunk, SearchFilters, chunk_id

# Section numbers that share their digits with 21 01 13, the way MasterFormat numbers do.
SECTIONS = [
    "Section 21 01 31. Sprinkler pipe hangers shall be galvanised steel.",
    "Section 12 01 13. Roof drainage outlets shall be cleaned twice a year.",
    "Section 21 10 13. Dock levellers shall have a capacity of 6 tonnes.",
    "Section 21 13 01. Fire alarm panels shall be addressable.",
    "Section 13 01 21. Fence posts shall be set in concrete.",
    "Section 01 21 13. Office carpets shall be tiles.",
    "Section 21 01 12. Battery chargers shall be ventilated.",
    "Section 21 01 14. Yard markings shall be thermoplastic.",
    "Section 31 01 13. Gate barriers shall fail open.",
    "Section 21 00 13. Toilets shall have sensor taps.",
]
SECTION_TARGET = "Section 21 01 13. Vehicle spaces are provided for staff and visitors as shown on the site plan."

DISTRACTORS = [
    "Exterior lighting on the yard shall give an average of 20 lux at ground level.",
    "Interior lighting in the warehouse shall be LED high-bay luminaires with daylight sensors.",
    "Office lighting shall reach 500 lux on the working plane with a uniformity of 0.6.",
    "Emergency lighting shall operate for three hours after a mains failure.",
    "Lighting controls shall dim luminaires in unoccupied aisles to 10 percent.",
    "Loading dock lighting shall be mounted above each dock leveller.",
    "Car park lighting columns shall be 8 m high with full cut-off optics.",
    "Lighting circuits shall be fed from dedicated distribution boards per zone.",
    "Security lighting along the fence line shall be motion activated.",
    "Maintenance of luminaires shall be possible from a scissor lift.",
    "The floor slab shall be designed for a uniformly distributed load of 50 kN/m2.",
    "Floor flatness shall meet FM2 in very narrow aisles.",
    "Sprinkler systems shall follow the fire protection standard FP-300.",
    "Dock doors shall be insulated sectional doors 3.0 m wide and 3.2 m high.",
    "Storm water from roofs shall discharge into attenuation tanks.",
]
TARGET = "Luminaire schedule reference HEA06 applies to mezzanine stair cores."


def chunk(source: str, text: str, page: int | None = 1, doc_hash: str = "h1", index: int = 0) -> Chunk:
    return Chunk(
        id=chunk_id(source, page, text),
        source=source,
        folder=source.rpartition("/")[0],
        page=page,
        text=text,
        doc_hash=doc_hash,
        chunk_index=index,
    )


_VECTORS: dict[tuple[str, str, str], np.ndarray] = {}


def embedded(embedder, texts: list[str], kind: str = "document") -> np.ndarray:
    """The embedder's vectors of ``texts``, computed once per test session: the contract runs for
    several stores and fusions over the same corpus, and on two busy cores embedding it again
    for every test cost more than the stores did."""
    key = lambda t: (embedder.model_id, kind, t)  # noqa: E731
    missing = [t for t in dict.fromkeys(texts) if key(t) not in _VECTORS]
    if missing:
        vectors = (
            embedder.embed_documents(missing) if kind == "document" else [embedder.embed_query(t) for t in missing]
        )
        _VECTORS.update({key(t): np.asarray(v) for t, v in zip(missing, vectors, strict=True)})
    return np.stack([_VECTORS[key(t)] for t in texts])


class VectorStoreContract:
    """Tests of behaviour the rest of ragbot relies on, for any store."""

    @pytest.fixture
    def store(self):  # overridden by each backend
        raise NotImplementedError

    @pytest.fixture
    def corpus(self, store, embedder):
        """Distractors in one folder tree, the identifier passage in another."""
        store.check_embedding_model(embedder.model_id, embedder.dimension)
        docs = {
            "Design/Criteria/lighting.pdf": [
                chunk("Design/Criteria/lighting.pdf", t, page=i + 1, index=i) for i, t in enumerate(DISTRACTORS)
            ],
            "Design/Criteria Extra/schedule.pdf": [chunk("Design/Criteria Extra/schedule.pdf", TARGET, page=7)],
            "Design/criteria.pdf": [
                chunk("Design/criteria.pdf", t, page=i + 1, index=i) for i, t in enumerate([*SECTIONS, SECTION_TARGET])
            ],
            "notes.md": [chunk("notes.md", "Handover notes: keep O&M manuals in the site office.", page=None)],
        }
        for source, chunks in docs.items():
            store.write_document(source, chunks, embedded(embedder, [embedding_text(c) for c in chunks]))
        store.refresh()
        return docs

    def search(self, store, embedder, text, **kw):
        return store.search(text, embedded(embedder, [text], "query")[0], **kw)

    def test_empty_store(self, store, embedder):
        assert store.count() == 0
        assert store.documents() == {}
        assert self.search(store, embedder, "anything", k=3) == []

    def test_write_count_and_documents(self, store, corpus):
        assert store.count() == len(DISTRACTORS) + len(SECTIONS) + 3
        docs = store.documents()
        assert set(docs) == set(corpus)
        assert docs["Design/Criteria/lighting.pdf"].chunks == len(DISTRACTORS)
        assert docs["Design/Criteria/lighting.pdf"].pages == len(DISTRACTORS)
        assert docs["Design/Criteria/lighting.pdf"].doc_hash == "h1"

    def test_pages_and_sources_come_back_unchanged(self, store, embedder, corpus):
        (hit,) = self.search(store, embedder, "luminaire schedule HEA06 mezzanine stair cores", k=1)
        assert hit.chunk.source == "Design/Criteria Extra/schedule.pdf"
        assert hit.chunk.page == 7
        (note,) = self.search(store, embedder, "where are the O&M manuals kept", k=1)
        assert note.chunk.page is None and note.chunk.folder == ""

    def test_write_document_replaces_its_chunks(self, store, embedder, corpus):
        new = [chunk("notes.md", "Handover notes were moved to the document portal.", page=None, doc_hash="h2")]
        store.write_document("notes.md", new, embedder.embed_documents([c.text for c in new]))
        store.refresh()
        assert store.count() == len(DISTRACTORS) + len(SECTIONS) + 3
        assert store.documents()["notes.md"].doc_hash == "h2"
        texts = [r.chunk.text for r in self.search(store, embedder, "handover notes", k=20, mode="keyword")]
        assert "Handover notes were moved to the document portal." in texts
        assert not any("site office" in t for t in texts)

    def test_delete_documents(self, store, embedder, corpus):
        assert store.delete_documents(["notes.md", "never-indexed.pdf"]) == 1
        store.refresh()
        assert set(store.documents()) == set(corpus) - {"notes.md"}
        assert all(r.chunk.source != "notes.md" for r in self.search(store, embedder, "handover notes O&M", k=20))

    def test_exact_identifier_found_by_keyword_and_hybrid_not_vector(self, store, embedder, corpus):
        vector = [r.chunk.text for r in self.search(store, embedder, "21 01 13", k=3, mode="vector")]
        assert SECTION_TARGET not in vector, "precondition: the vector ranking alone misses the section"
        keyword = self.search(store, embedder, "21 01 13", k=3, mode="keyword")
        assert keyword[0].chunk.text == SECTION_TARGET, "the exact sequence outranks its permutations"
        hybrid = [r.chunk.text for r in self.search(store, embedder, "21 01 13", k=3, mode="hybrid")]
        assert SECTION_TARGET in hybrid

    def test_a_word_only_in_the_context_finds_the_chunk(self, store, embedder, corpus):
        """A question naming the document (its title, folder or section) reaches its chunks by
        keyword, though the passage never repeats the name; the text comes back as written."""
        source = "Design/Criteria/yard.pdf"
        titled = chunk(source, "Lamps are mounted at 12 m on galvanised columns.", page=2).model_copy(
            update={"context": "Floodlighting Handbook · Design/Criteria · 3 Masts"}
        )
        store.write_document(source, [titled], embedder.embed_documents([embedding_text(titled)]))
        store.refresh()
        (hit,) = self.search(store, embedder, "floodlighting handbook", k=1, mode="keyword")
        assert (hit.chunk.source, hit.chunk.text, hit.chunk.context) == (source, titled.text, titled.context)
        assert source in [r.chunk.source for r in self.search(store, embedder, "floodlighting handbook masts", k=3)]

    def test_code_with_letters_and_digits(self, store, embedder, corpus):
        assert self.search(store, embedder, "HEA06", k=1, mode="keyword")[0].chunk.text == TARGET
        assert TARGET in [r.chunk.text for r in self.search(store, embedder, "What does HEA06 apply to?", k=3)]

    def test_hybrid_reports_both_kinds_of_evidence(self, store, embedder, corpus):
        results = self.search(store, embedder, "exterior lighting lux on the yard", k=5)
        assert results[0].chunk.text == DISTRACTORS[0]
        assert results[0].similarity is not None and results[0].similarity > 0.5
        assert results[0].keyword_score is not None and results[0].keyword_score > 0
        scores = [r.score for r in results]
        assert scores == sorted(scores, reverse=True)

    def test_folder_filter_includes_subfolders_but_not_siblings(self, store, embedder, corpus):
        only = self.search(store, embedder, "lighting luminaire", k=30, filters=SearchFilters(folder="Design/Criteria"))
        assert only and {r.chunk.source for r in only} == {"Design/Criteria/lighting.pdf"}
        below = self.search(store, embedder, "lighting luminaire", k=30, filters=SearchFilters(folder="Design"))
        assert {r.chunk.source for r in below} == {
            "Design/Criteria/lighting.pdf",
            "Design/Criteria Extra/schedule.pdf",
            "Design/criteria.pdf",
        }

    def test_source_filter_and_quotes_in_values(self, store, embedder, corpus):
        results = self.search(
            store, embedder, "lighting", k=30, filters=SearchFilters(source="Design/Criteria Extra/schedule.pdf")
        )
        assert [r.chunk.source for r in results] == ["Design/Criteria Extra/schedule.pdf"]
        assert self.search(store, embedder, "lighting", k=5, filters=SearchFilters(folder="it's' OR 1=1 --")) == []

    def test_embedding_model_mismatch_is_refused(self, store, corpus):
        with pytest.raises(EmbeddingModelMismatch, match="all-MiniLM-L6-v2"):
            store.check_embedding_model("another-model", 384)
        with pytest.raises(EmbeddingModelMismatch):
            store.check_embedding_model("all-MiniLM-L6-v2", 768)

    def test_vectors_must_match_chunks(self, store, corpus):
        from rag.errors import StoreError

        with pytest.raises(StoreError):
            store.write_document("x.pdf", [chunk("x.pdf", "a")], np.zeros((2, 384), dtype=np.float32))
