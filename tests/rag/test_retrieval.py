"""The Retriever's second stage and the CrossEncoder re-ranker."""

import pytest

from rag.errors import RagError
from rag.ingest.ingestor import embedding_text
from rag.records import Chunk, chunk_id
from rag.rerankers.cross_encoder import CrossEncoderReranker
from rag.retrieval import Retriever
from rag.stores.embedded import LanceDBVectorStore

PASSAGES = [
    ("Sprinkler Standard", 1, "Sprinkler density is 8 mm/min over the design area."),
    ("Sprinkler Standard", 2, "Sprinkler heads are spaced at most 4 m apart."),
    ("Drainage Spec", 1, "Drainage pipes are laid at a fall of 1 in 100."),
]


@pytest.fixture
def store(tmp_path, embedder):
    store = LanceDBVectorStore(tmp_path / "index")
    store.check_embedding_model(embedder.model_id, embedder.dimension)
    for title in {p[0] for p in PASSAGES}:
        source = f"{title}.pdf"
        chunks = [
            Chunk(
                id=chunk_id(source, page, text),
                source=source,
                folder="",
                page=page,
                text=text,
                doc_hash="h",
                context=title,
            )
            for t, page, text in PASSAGES
            if t == title
        ]
        store.write_document(source, chunks, embedder.embed_documents([embedding_text(c) for c in chunks]))
    store.refresh()
    return store


class Reverse:
    """A stand-in second stage that reverses the first stage's order (tests the plumbing only)."""

    model_id = "reverse"

    def __init__(self):
        self.seen = []

    def rerank(self, query, candidates):
        self.seen.append(len(candidates))
        n = len(candidates)
        return [c.model_copy(update={"score": float(n - i)}) for i, c in enumerate(reversed(candidates))]


def test_the_reranker_reads_the_first_stage_candidates_and_its_order_is_kept(store, embedder):
    plain = Retriever(store, embedder).search("sprinkler density", k=3)
    reranker = Reverse()
    reranked = Retriever(store, embedder, reranker=reranker, rerank_candidates=3).search("sprinkler density", k=3)
    assert reranker.seen == [3]
    assert [r.chunk.id for r in reranked] == [r.chunk.id for r in reversed(plain)]


@pytest.mark.slow
def test_a_cross_encoder_folder_reranks_and_a_missing_one_is_named(store, embedder, tmp_path):
    from sentence_transformers.cross_encoder import CrossEncoder

    from rag.embedders.local import resolve_model_path

    folder = tmp_path / "tiny-reranker"
    CrossEncoder(resolve_model_path("all-MiniLM-L6-v2"), num_labels=1).save_pretrained(str(folder))
    results = Retriever(store, embedder, reranker=CrossEncoderReranker(folder)).search("sprinkler density", k=3)
    assert len(results) == 3 and [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    with pytest.raises(RagError, match="no such folder"):
        CrossEncoderReranker(tmp_path / "nope").rerank("q", results)
