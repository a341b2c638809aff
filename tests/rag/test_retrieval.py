"""The Retriever's second stage, the CrossEncoder re-ranker and its blend with the first stage."""

import pytest

from rag.errors import RagError
from rag.ingest.ingestor import embedding_text
from rag.records import Chunk, ScoredChunk, chunk_id
from rag.rerankers.blend import BLEND_FILE, Blend
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
    # the new order takes the first stage's scores by position (what follows compares on that scale)
    assert [r.score for r in reranked] == [r.score for r in plain]


def scored(*names: str) -> list[ScoredChunk]:
    return [
        ScoredChunk(chunk=Chunk(id=n, source=f"{n}.pdf", folder="", page=1, text=n, doc_hash="h"), score=1.0 - i / 10)
        for i, n in enumerate(names)
    ]


def test_the_blend_moves_what_the_model_prefers_up_without_discarding_the_first_order():
    first = scored("a", "b", "c", "d", "e")
    model = [4.0, 3.0, 5.0, 2.0, 1.0]  # the model puts c first, then keeps the first stage's order
    order = {w: [r.chunk.id for r in Blend(weight=w).fuse(first, model)] for w in (0.0, 0.5, 1.0)}
    assert order == {0.0: list("abcde"), 0.5: list("acbde"), 1.0: list("cabde")}
    # reversed orders at equal weights: each pair of mirrored ranks ties, and the first stage breaks it
    assert [r.chunk.id for r in Blend(weight=0.5).fuse(first, [1, 2, 3, 4, 5])] == list("aebdc")
    fused = Blend(weight=0.5).fuse(first, model)
    assert [r.score for r in fused] == sorted((r.score for r in fused), reverse=True)
    with pytest.raises(RagError, match="2 re-ranker scores for 5 candidates"):
        Blend().fuse(first, [1.0, 2.0])
    with pytest.raises(RagError, match="blend weight 1.5 is outside 0-1"):
        Blend(weight=1.5)


def test_a_model_folder_carries_its_blend_and_a_broken_one_is_named(tmp_path):
    assert Blend.of(tmp_path) is None
    Blend(weight=0.3, k=20).save(tmp_path)
    assert Blend.of(tmp_path) == Blend(weight=0.3, k=20)
    assert CrossEncoderReranker(tmp_path).blend == Blend(weight=0.3, k=20)
    assert CrossEncoderReranker(tmp_path / "elsewhere").blend == Blend()
    (tmp_path / BLEND_FILE).write_text('{"weight": "most"}')
    with pytest.raises(RagError, match="is not a blend"):
        Blend.of(tmp_path)


@pytest.mark.slow
def test_a_cross_encoder_folder_reranks_and_a_missing_one_is_named(store, embedder, tmp_path):
    from sentence_transformers.cross_encoder import CrossEncoder

    from rag.embedders.local import resolve_model_path

    folder = tmp_path / "tiny-reranker"
    CrossEncoder(resolve_model_path("all-MiniLM-L6-v2"), num_labels=1).save_pretrained(str(folder))
    results = Retriever(store, embedder, reranker=CrossEncoderReranker(folder)).search("sprinkler density", k=3)
    assert len(results) == 3 and [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    # a blend that gives the model no share keeps the first stage's order, whatever the model says
    Blend(weight=0.0).save(folder)
    kept = Retriever(store, embedder, reranker=CrossEncoderReranker(folder)).search("sprinkler density", k=3)
    assert [r.chunk.id for r in kept] == [
        r.chunk.id for r in Retriever(store, embedder).search("sprinkler density", k=3)
    ]
    with pytest.raises(RagError, match="no such folder"):
        CrossEncoderReranker(tmp_path / "nope").rerank("q", results)
