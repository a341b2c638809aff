import numpy as np
import pytest

from rag.errors import StoreError
from rag.stores.embedded import LanceDBVectorStore, filter_sql
from rag.stores.embedded.schema import table_schema, upgrade_table
from rag.records import SearchFilters
from tests.rag.stores.contract import VectorStoreContract, chunk


class TestLanceDBVectorStore(VectorStoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        return LanceDBVectorStore(tmp_path / "index", ann_min_rows=1_000_000)


def test_persists_across_instances(tmp_path, embedder):
    first = LanceDBVectorStore(tmp_path / "index")
    first.check_embedding_model(embedder.model_id, embedder.dimension)
    c = chunk("a/b.pdf", "Dock doors are 3.0 m wide.", page=4)
    first.write_document("a/b.pdf", [c], embedder.embed_documents([c.text]))
    first.refresh()
    second = LanceDBVectorStore(tmp_path / "index")
    (hit,) = second.search("dock doors", embedder.embed_query("dock doors"), k=1)
    assert (hit.chunk.source, hit.chunk.page) == ("a/b.pdf", 4)


def test_ann_index_is_built_past_the_threshold(tmp_path):
    store = LanceDBVectorStore(tmp_path / "index", ann_min_rows=300)
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(400, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    chunks = [chunk(f"doc{i // 40}.pdf", f"passage number {i}", page=i % 40 + 1, index=i) for i in range(400)]
    for d in range(10):
        store.write_document(f"doc{d}.pdf", chunks[d * 40 : (d + 1) * 40], vectors[d * 40 : (d + 1) * 40])
    store.refresh()
    kinds = {i.columns[0]: i.index_type for i in store._open().list_indices()}
    assert kinds == {"search_text": "FTS", "vector": "IvfHnswSq"}
    (hit,) = store.search("passage", vectors[123], k=1, mode="vector")
    assert hit.chunk.text == "passage number 123"


def test_filter_sql_escapes_like_wildcards_and_quotes():
    sql = filter_sql(SearchFilters(folder="50%_done/O'Brien/"))
    assert "folder = '50%_done/O''Brien'" in sql
    assert "LIKE '50\\%\\_done/O''Brien/%'" in sql


def test_context_is_searched_and_embedded_but_the_text_stays_the_page_text(tmp_path, embedder):
    store = LanceDBVectorStore(tmp_path / "index")
    store.check_embedding_model(embedder.model_id, embedder.dimension)
    c = chunk("Fire/FP-300.pdf", "Density 8 mm/min over 280 m2.", page=3).model_copy(
        update={"context": "Sprinkler Design Standard · Fire · 4.2 Design density"}
    )
    other = chunk("Civil/DS-12.pdf", "Pipes are laid at 1 in 100.", page=1)
    store.write_document("Fire/FP-300.pdf", [c], embedder.embed_documents([c.text]))
    store.write_document("Civil/DS-12.pdf", [other], embedder.embed_documents([other.text]))
    store.refresh()
    (hit,) = store.search("sprinkler standard", None, k=1, mode="keyword")
    assert hit.chunk.text == c.text and hit.chunk.context == c.context


def test_an_index_from_before_contexts_gets_the_column_and_stays_searchable(tmp_path, embedder):
    import lancedb
    import pyarrow as pa

    old = chunk("a.pdf", "Dock doors are 3.0 m wide.", page=2)
    row = old.model_dump(exclude={"context"}) | {"vector": embedder.embed_documents([old.text])[0]}
    schema = table_schema(embedder.dimension)
    schema = pa.schema([f for f in schema if f.name not in ("context", "search_text")])
    db = lancedb.connect(str(tmp_path / "index"))
    db.create_table("chunks", [row], schema=schema).create_fts_index("text", use_tantivy=False, with_position=True)
    store = LanceDBVectorStore(tmp_path / "index")
    (hit,) = store.search("dock doors", embedder.embed_query("dock doors"), k=1)
    assert (hit.chunk.page, hit.chunk.context) == (2, "")
    assert store.search("dock doors", None, k=1, mode="keyword")[0].chunk.source == "a.pdf"
    new = chunk("b.pdf", "Yard lighting is 20 lux.", page=1).model_copy(update={"context": "Lighting"})
    store.write_document("b.pdf", [new], embedder.embed_documents([new.text]))
    store.refresh()
    assert store.search("lighting", None, k=1, mode="keyword")[0].chunk.source == "b.pdf"


def two_index_layout(path, chunks, embedder) -> None:
    """``chunks`` written as ragbot wrote them before KEYWORD_COLUMN: BM25 on text and on context."""
    import lancedb
    import pyarrow as pa

    schema = pa.schema([f for f in table_schema(embedder.dimension) if f.name != "search_text"])
    vectors = embedder.embed_documents([c.text for c in chunks])
    rows = [c.model_dump() | {"vector": v} for c, v in zip(chunks, vectors, strict=True)]
    table = lancedb.connect(str(path)).create_table("chunks", rows, schema=schema)
    for column in ("text", "context"):
        table.create_fts_index(column, use_tantivy=False, with_position=False)


def test_an_index_with_text_and_context_indexed_apart_is_searched_through_one_column(tmp_path, embedder):
    """The layout before KEYWORD_COLUMN: BM25 indexes on text and on context. Opening it derives
    the one column from both and indexes it, so a word of the context alone still finds its
    chunk, with no re-ingest; the two old indexes go."""

    chunks = [
        chunk("Fire/FP-300.pdf", "Density 8 mm/min over 280 m2.", page=3).model_copy(
            update={"context": "Sprinkler Design Standard · Fire"}
        ),
        chunk("Civil/DS-12.pdf", "Pipes are laid at 1 in 100.", page=1),
    ]
    two_index_layout(tmp_path / "index", chunks, embedder)

    store = LanceDBVectorStore(tmp_path / "index")
    (hit,) = store.search("sprinkler standard", None, k=1, mode="keyword")
    assert (hit.chunk.source, hit.chunk.text, hit.chunk.context) == (
        "Fire/FP-300.pdf",
        *[chunks[0].text, chunks[0].context],
    )
    (hit,) = store.search("pipes laid", None, k=1, mode="keyword")
    assert (hit.chunk.source, hit.chunk.context) == ("Civil/DS-12.pdf", "")
    assert {i.columns[0]: i.index_type for i in store._open().list_indices()} == {"search_text": "FTS"}
    again = chunks[1].model_copy(update={"context": "Drainage Standard · Civil"})
    store.write_document("Civil/DS-12.pdf", [again], embedder.embed_documents([again.text]))
    store.refresh()
    assert store.search("drainage", None, k=1, mode="keyword")[0].chunk.source == "Civil/DS-12.pdf"


def test_chunks_lists_every_passage_of_the_selected_documents_in_order(tmp_path, embedder):
    store = LanceDBVectorStore(tmp_path / "index")
    assert store.supports_listing and store.chunks() == []
    store.check_embedding_model(embedder.model_id, embedder.dimension)
    docs = {
        "Fire/FP-300.pdf": [chunk("Fire/FP-300.pdf", f"clause {i}", page=3 - i, index=i) for i in range(3)],
        "Civil/DS-12.pdf": [chunk("Civil/DS-12.pdf", "Pipes are laid at 1 in 100.", page=1)],
    }
    for source, chunks in docs.items():
        store.write_document(source, chunks, embedder.embed_documents([c.text for c in chunks]))
    store.refresh()
    listed = store.chunks()
    assert [(c.source, c.page) for c in listed] == [("Civil/DS-12.pdf", 1)] + [
        ("Fire/FP-300.pdf", p) for p in (1, 2, 3)
    ]
    assert {c.id for c in listed} == {c.id for chunks in docs.values() for c in chunks}
    assert [c.text for c in store.chunks(SearchFilters(folder="Fire"))] == ["clause 2", "clause 1", "clause 0"]
    assert store.chunks(SearchFilters(source="Civil/DS-12.pdf"))[0].text == "Pipes are laid at 1 in 100."


def test_two_processes_upgrading_one_old_index_both_end_up_searching_it(tmp_path, embedder):
    """A table opened before another process upgraded it: its own upgrade finds the work done."""
    import lancedb

    c = chunk("Fire/FP-300.pdf", "Density 8 mm/min.", page=3).model_copy(update={"context": "Sprinkler Standard"})
    two_index_layout(tmp_path / "index", [c], embedder)
    stale = lancedb.connect(str(tmp_path / "index")).open_table("chunks")  # opened before the upgrade

    assert LanceDBVectorStore(tmp_path / "index").search("sprinkler", None, k=1, mode="keyword")
    upgrade_table(stale)
    assert {i.columns[0] for i in stale.list_indices()} == {"search_text"}
    (hit,) = LanceDBVectorStore(tmp_path / "index").search("sprinkler", None, k=1, mode="keyword")
    assert hit.chunk.context == "Sprinkler Standard"


def test_a_failed_write_leaves_a_new_document_out_and_an_old_one_whole(tmp_path, embedder):
    store = LanceDBVectorStore(tmp_path / "index")
    old = [chunk("a.pdf", "The slab is 200 mm thick.", page=1), chunk("a.pdf", "Joints every 6 m.", page=2)]
    store.write_document("a.pdf", old, embedder.embed_documents([c.text for c in old]))
    assert store.count() == 2
    wrong = np.ones((1, embedder.dimension + 1), dtype=np.float32)  # a vector of another model
    new = [chunk("b.pdf", "Racking anchors M12.", page=1)]
    with pytest.raises(StoreError, match="could not write b.pdf"):
        store.write_document("b.pdf", new, wrong)
    rewrite = [chunk("a.pdf", "The slab is 250 mm thick.", page=1)]
    with pytest.raises(StoreError, match="could not write a.pdf"):
        store.write_document("a.pdf", rewrite, wrong)
    assert {c.text for c in store.chunks()} == {c.text for c in old}
    # A rewrite that succeeds replaces the document whole: one chunk fewer, one text changed.
    store.write_document("a.pdf", rewrite, embedder.embed_documents([c.text for c in rewrite]))
    store.write_document("b.pdf", new, embedder.embed_documents([c.text for c in new]))
    assert sorted(c.text for c in store.chunks()) == ["Racking anchors M12.", "The slab is 250 mm thick."]


def test_hybrid_search_fuses_with_the_stores_fusion(tmp_path, embedder):
    """The fusion a store is given decides the hybrid order: all weight on one side gives that
    side's order (over the candidates both sides returned)."""
    from rag.stores.fusion import RankFusion, ScoreFusion

    texts = [
        "Luminaires on the yard give 20 lux at ground level.",
        "Exterior lighting of the loading yard: floodlights on masts.",
        "The yard drains to a petrol interceptor before the outfall.",
        "Lux levels for exterior lighting are set in section 26 56 00.",
    ]
    chunks = [chunk("yard.pdf", t, page=i + 1, index=i) for i, t in enumerate(texts)]
    query = "exterior lighting lux on the yard"

    def order(fusion, mode="hybrid"):
        store = LanceDBVectorStore(tmp_path / type(fusion).__name__ / str(id(fusion)), fusion=fusion)
        store.write_document("yard.pdf", chunks, embedder.embed_documents(texts))
        store.refresh()
        return [r.chunk.text for r in store.search(query, embedder.embed_query(query), k=4, mode=mode)]

    vector = order(None, "vector")
    keyword = order(None, "keyword")
    assert vector != keyword, "precondition: the two sides disagree"
    assert order(ScoreFusion(keyword_weight=0.0)) == vector
    assert order(ScoreFusion(keyword_weight=1.0))[: len(keyword)] == keyword
    assert order(RankFusion(keyword_weight=1.0))[: len(keyword)] == keyword
