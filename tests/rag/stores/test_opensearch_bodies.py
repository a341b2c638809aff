"""The OpenSearch store's request bodies against OpenSearch's documented formats, without a
cluster. Over HTTP: test_opensearch_http.py and test_opensearch_serverless.py; the contract suite
against a real cluster: test_opensearch.py (needs OPENSEARCH_URL).
"""

from __future__ import annotations

import socket

import numpy as np
import pytest

from rag.errors import StoreError
from rag.records import SearchFilters
from rag.stores.embedded import queries as embedded
from rag.stores import opensearch as osmod
from rag.stores.opensearch import (
    OpenSearchVectorStore,
    bulk_actions,
    cosine_from_score,
    documents_body,
    evidence_bodies,
    filter_clauses,
    hybrid_query,
    identifier_phrases,
    index_body,
    keyword_query,
    knn_query,
    parse_documents,
    parse_version,
    pipeline_body,
    prune_query,
    redact_url,
)
from tests.rag.stores.contract import chunk
from tests.rag.stores.fake_opensearch import composite_page

INDEX = "ragbot-test"


# -- the index mapping ------------------------------------------------------------------------
# https://docs.opensearch.org/latest/mappings/supported-field-types/knn-vector/
# https://docs.opensearch.org/latest/mappings/supported-field-types/knn-methods-engines/


def test_index_body_maps_a_knn_vector_with_hnsw():
    body = index_body(384, embedding_model="all-MiniLM-L6-v2")
    assert body["settings"]["index"] == {"knn": True}
    vector = body["mappings"]["properties"]["vector"]
    assert vector == {
        "type": "knn_vector",
        "dimension": 384,
        "method": {
            "name": "hnsw",
            "engine": "lucene",
            "space_type": "cosinesimil",
            "parameters": {"m": 16, "ef_construction": 100},
        },
    }
    assert body["mappings"]["_meta"] == {
        "dimension": 384,
        "engine": "lucene",
        "space_type": "cosinesimil",
        "embedding_model": "all-MiniLM-L6-v2",
    }


@pytest.mark.parametrize("engine", ["faiss", "nmslib"])
def test_index_body_takes_the_engine_and_graph_parameters(engine):
    body = index_body(768, engine=engine, m=24, ef_construction=128, shards=2, replicas=1)
    method = body["mappings"]["properties"]["vector"]["method"]
    assert method == {
        "name": "hnsw",
        "engine": engine,
        "space_type": "cosinesimil",
        "parameters": {"m": 24, "ef_construction": 128},
    }
    assert body["settings"]["index"] == {"knn": True, "number_of_shards": 2, "number_of_replicas": 1}
    assert "embedding_model" not in body["mappings"]["_meta"]


def test_index_body_field_types():
    props = index_body(8)["mappings"]["properties"]
    for field in ("id", "source", "doc_hash"):
        assert props[field] == {"type": "keyword"}
    assert props["folder"] == {"type": "keyword", "copy_to": "folder_path"}
    assert props["page"] == {"type": "integer"} and props["chunk_index"] == {"type": "integer"}
    # BM25 over stemmed English; the phrase clauses use the unstemmed, stop-word-keeping subfield.
    assert props["text"] == {
        "type": "text",
        "analyzer": "english",
        "fields": {"exact": {"type": "text", "analyzer": "standard"}},
    }
    # Same analyzer as the text: cross_fields blends the two into one field only then.
    assert props["context"] == {"type": "text", "analyzer": "english"}


def test_folder_path_is_tokenised_by_path_hierarchy():
    # https://docs.opensearch.org/latest/analyzers/tokenizers/path-hierarchy/
    body = index_body(8)
    assert body["settings"]["analysis"]["tokenizer"]["folder_tree"] == {"type": "path_hierarchy", "delimiter": "/"}
    assert body["settings"]["analysis"]["analyzer"]["folder_tree"] == {"type": "custom", "tokenizer": "folder_tree"}
    assert body["mappings"]["properties"]["folder_path"] == {
        "type": "text",
        "analyzer": "folder_tree",
        "search_analyzer": "keyword",
    }


def test_index_body_refuses_bad_arguments():
    with pytest.raises(ValueError, match="engine"):
        index_body(8, engine="annoy")
    with pytest.raises(ValueError, match="dimension"):
        index_body(0)


# -- filters ----------------------------------------------------------------------------------


def path_hierarchy_tokens(folder: str) -> set[str]:
    """The documented output of the path_hierarchy tokenizer: every ancestor path, the path itself."""
    parts = folder.split("/") if folder else []
    return {"/".join(parts[: i + 1]) for i in range(len(parts))}


@pytest.mark.parametrize(
    ("folder", "indexed", "matches"),
    [
        ("Design", "Design", True),
        ("Design", "Design/Criteria", True),
        ("Design", "Design/Criteria Extra/Sub", True),
        ("Design/Criteria", "Design/Criteria Extra", False),
        ("Design", "Design Extra", False),
        ("Design", "Designs/Criteria", False),
        ("Design", "design/criteria", False),
        ("Design/Criteria", "Design", False),
        ("Design", "", False),
    ],
)
def test_folder_filter_is_the_folder_and_below(folder, indexed, matches):
    (clause,) = filter_clauses(SearchFilters(folder=folder))
    assert clause == {"term": {"folder_path": folder}}  # a term query is not analysed
    assert (clause["term"]["folder_path"] in path_hierarchy_tokens(indexed)) is matches


def test_filters_strip_slashes_and_keep_quotes_as_characters():
    assert filter_clauses(SearchFilters(folder="/Design/Criteria/")) == [{"term": {"folder_path": "Design/Criteria"}}]
    assert filter_clauses(SearchFilters(folder="it's' OR 1=1 --")) == [{"term": {"folder_path": "it's' OR 1=1 --"}}]
    both = filter_clauses(SearchFilters(folder="A", source='A/"x".pdf'))
    assert both == [{"term": {"folder_path": "A"}}, {"term": {"source": 'A/"x".pdf'}}]
    assert (
        filter_clauses(None) == []
        and filter_clauses(SearchFilters()) == []
        and filter_clauses(SearchFilters(folder="")) == []
    )


# -- queries ----------------------------------------------------------------------------------


def test_identifier_rules_are_the_embedded_stores():
    assert osmod.identifier_phrases is embedded.identifier_phrases, "both stores share one definition"
    # One-token codes such as HEA06 need no phrase: the match clause finds them as they are.
    assert identifier_phrases("Is 21 01 13 in HEA06 or DD-114? 21 01 13") == ["21 01 13", "DD-114"]
    assert identifier_phrases("how many parking spaces") == []


def test_keyword_query_adds_a_phrase_per_identifier():
    # https://docs.opensearch.org/latest/query-dsl/compound/bool/
    # https://docs.opensearch.org/latest/query-dsl/full-text/match-phrase/
    assert keyword_query("section 21 01 13 and DD-114") == {
        "bool": {
            "should": [
                {
                    "multi_match": {
                        "query": "section 21 01 13 and DD-114",
                        "fields": ["text", "context"],
                        "type": "cross_fields",
                    }
                },
                {"match_phrase": {"text.exact": {"query": "21 01 13"}}},
                {"match_phrase": {"text.exact": {"query": "DD-114"}}},
            ],
            "minimum_should_match": 1,
        }
    }
    assert keyword_query("dock doors") == {
        "bool": {
            "should": [{"multi_match": {"query": "dock doors", "fields": ["text", "context"], "type": "cross_fields"}}],
            "minimum_should_match": 1,
        }
    }


def test_keyword_query_filters():
    query = keyword_query("lighting", SearchFilters(folder="Design", source="Design/a.pdf"))
    assert query["bool"]["filter"] == [{"term": {"folder_path": "Design"}}, {"term": {"source": "Design/a.pdf"}}]


@pytest.mark.parametrize("engine", ["lucene", "faiss"])
def test_knn_query_filters_inside_the_knn_clause(engine):
    # https://docs.opensearch.org/latest/vector-search/filter-search-knn/efficient-knn-filtering/
    query = knn_query(np.array([0.5, 0.25], dtype=np.float32), 10, SearchFilters(folder="Design"), engine=engine)
    assert query == {"knn": {"vector": {"vector": [0.5, 0.25], "k": 10, "filter": {"term": {"folder_path": "Design"}}}}}
    both = knn_query([1.0, 0.0], 3, SearchFilters(folder="A", source="A/b.pdf"), engine=engine)
    assert both["knn"]["vector"]["filter"] == {
        "bool": {"filter": [{"term": {"folder_path": "A"}}, {"term": {"source": "A/b.pdf"}}]}
    }
    assert knn_query([1.0, 0.0], 3, engine=engine) == {"knn": {"vector": {"vector": [1.0, 0.0], "k": 3}}}


def test_knn_query_post_filters_on_nmslib():
    # https://docs.opensearch.org/latest/vector-search/filter-search-knn/post-filtering/
    query = knn_query([1.0, 0.0], 5, SearchFilters(source="a.pdf"), engine="nmslib")
    assert query == {
        "bool": {
            "must": [{"knn": {"vector": {"vector": [1.0, 0.0], "k": 5}}}],
            "filter": [{"term": {"source": "a.pdf"}}],
        }
    }


def test_hybrid_query_puts_keyword_first_and_filters_each_side():
    # https://docs.opensearch.org/latest/query-dsl/compound/hybrid/
    filters = SearchFilters(folder="Design")
    query = hybrid_query("HEA06", [0.1, 0.2], 50, filters)
    assert query == {"hybrid": {"queries": [keyword_query("HEA06", filters), knn_query([0.1, 0.2], 50, filters)]}}


def test_search_pipeline_body():
    # https://docs.opensearch.org/latest/search-plugins/search-pipelines/normalization-processor/
    assert pipeline_body(0.3) == {
        "description": "ragbot: min-max normalised BM25 and k-NN scores, weighted mean (keyword, vector)",
        "phase_results_processors": [
            {
                "normalization-processor": {
                    "normalization": {"technique": "min_max"},
                    "combination": {"technique": "arithmetic_mean", "parameters": {"weights": [0.3, 0.7]}},
                }
            }
        ],
    }
    with pytest.raises(ValueError, match="keyword_weight"):
        pipeline_body(1.5)


def test_evidence_bodies_restrict_both_sides_to_the_hits():
    knn, bm25 = evidence_bodies("HEA06", [0.1, 0.2], ["a", "b"])
    assert knn == {
        "size": 2,
        "_source": False,
        "query": {"knn": {"vector": {"vector": [0.1, 0.2], "k": 2, "filter": {"ids": {"values": ["a", "b"]}}}}},
    }
    assert bm25["query"] == {"bool": {"must": [keyword_query("HEA06")], "filter": [{"ids": {"values": ["a", "b"]}}]}}


# -- writes and aggregations ------------------------------------------------------------------


def test_bulk_actions_use_the_chunk_id():
    # https://docs.opensearch.org/latest/api-reference/document-apis/bulk/
    chunks = [chunk("a/b.pdf", "Dock doors are 3.0 m wide.", page=4), chunk("a/notes.md", "Notes.", page=None)]
    vectors = np.array([[0.5, 0.25], [1.0, 0.0]], dtype=np.float32)
    actions = list(bulk_actions(INDEX, chunks, vectors))
    assert [a["_id"] for a in actions] == [c.id for c in chunks]
    assert actions[0]["_op_type"] == "index" and actions[0]["_index"] == INDEX
    assert actions[0]["_source"] == chunks[0].model_dump() | {"vector": [0.5, 0.25]}
    assert actions[1]["_source"]["page"] is None and actions[1]["_source"]["folder"] == "a"
    assert all("_id" not in a for a in bulk_actions(INDEX, chunks, vectors, with_ids=False))


def test_prune_query_keeps_the_new_chunks():
    # https://docs.opensearch.org/latest/api-reference/document-apis/delete-by-query/
    assert prune_query("a.pdf", ["x", "y"]) == {
        "query": {"bool": {"filter": [{"term": {"source": "a.pdf"}}], "must_not": [{"ids": {"values": ["x", "y"]}}]}}
    }
    assert prune_query("a.pdf", []) == {"query": {"bool": {"filter": [{"term": {"source": "a.pdf"}}]}}}


def test_documents_body_is_a_composite_aggregation():
    # https://docs.opensearch.org/latest/aggregations/bucket/composite/
    body = documents_body({"source": "b.pdf"}, page_size=2)
    assert body["size"] == 0
    docs = body["aggs"]["docs"]
    assert docs["composite"] == {
        "size": 2,
        "sources": [{"source": {"terms": {"field": "source"}}}],
        "after": {"source": "b.pdf"},
    }
    assert docs["aggs"]["doc_hash"] == {"terms": {"field": "doc_hash", "size": 1, "order": {"_key": "desc"}}}
    assert docs["aggs"]["pages"] == {"cardinality": {"field": "page"}}
    assert "after" not in documents_body()["aggs"]["docs"]["composite"]


def test_parse_documents_reads_buckets_and_the_next_key():
    docs, after = parse_documents(composite_page([("a.pdf", 3, "h1", 2), ("notes.md", 1, "h2", 0)], "notes.md"))
    assert after == {"source": "notes.md"}
    assert docs["a.pdf"].model_dump() == {"source": "a.pdf", "doc_hash": "h1", "chunks": 3, "pages": 2}
    assert docs["notes.md"].pages == 1  # page-less: no page values, one page
    assert parse_documents(composite_page([], None)) == ({}, None)


# -- scores -----------------------------------------------------------------------------------


@pytest.mark.parametrize("cos", [-1.0, -0.2, 0.0, 0.31, 0.9, 1.0])
def test_cosine_from_score_inverts_the_documented_translation(cos):
    # https://docs.opensearch.org/latest/mappings/supported-field-types/knn-spaces/ :
    # cosinesimil d = 1 - cos, score = (2 - d) / 2 (Lucene always; every engine from 2.19);
    # nmslib before 2.19 scored 1 / (1 + d).
    d = 1.0 - cos
    for engine in ("lucene", "faiss"):
        assert cosine_from_score((2 - d) / 2, engine=engine) == pytest.approx(cos)
        assert cosine_from_score((2 - d) / 2, engine=engine, version=(2, 11, 0)) == pytest.approx(cos)
    assert cosine_from_score((2 - d) / 2, engine="nmslib", version=(2, 19, 1)) == pytest.approx(cos)
    assert cosine_from_score(1 / (1 + d), engine="nmslib", version=(2, 17, 0)) == pytest.approx(cos)


def test_cosine_from_score_stays_in_range():
    assert cosine_from_score(1.2) == 1.0 and cosine_from_score(-0.5) == -1.0
    assert cosine_from_score(0.0, engine="nmslib", version=(2, 9)) == -1.0


def test_parse_version_and_redact_url():
    assert parse_version("2.19.1") == (2, 19, 1) and parse_version("3.0.0-SNAPSHOT") == (3, 0, 0)
    assert redact_url("https://admin:s3cret@search.example.com:9200/") == "https://search.example.com:9200/"
    assert redact_url("localhost:9200") == "http://localhost:9200"


# -- the store without a network ------------------------------------------------------------


def test_init_is_lazy(monkeypatch):
    import opensearchpy

    def no_client(*args, **kwargs):
        raise AssertionError("the client was created in __init__")

    def no_socket(*args, **kwargs):
        raise AssertionError("a connection was opened in __init__")

    monkeypatch.setattr(opensearchpy, "OpenSearch", no_client)
    monkeypatch.setattr(socket, "create_connection", no_socket)
    store = OpenSearchVectorStore("https://admin:s3cret@10.255.255.1:9200", "x", auth="sigv4", region="eu-west-1")
    assert not store._conn.made
    assert "s3cret" not in repr(store) and store.url == "https://10.255.255.1:9200"


def test_constructor_names_bad_arguments():
    with pytest.raises(ValueError, match="engine"):
        OpenSearchVectorStore("http://localhost:9200", engine="annoy")
    with pytest.raises(ValueError, match="hybrid"):
        OpenSearchVectorStore("http://localhost:9200", hybrid="server")
    with pytest.raises(ValueError, match="url_or_hosts"):
        OpenSearchVectorStore(" , ")
    with pytest.raises(ValueError, match="service"):
        OpenSearchVectorStore("http://localhost:9200", service="lambda")


def test_hosts_can_be_a_list_or_comma_separated():
    assert OpenSearchVectorStore("http://a:9200, http://b:9200").hosts == ["http://a:9200", "http://b:9200"]
    assert OpenSearchVectorStore(["http://a:9200"]).hosts == ["http://a:9200"]


def test_search_checks_its_arguments_before_any_request():
    store = OpenSearchVectorStore("http://10.255.255.1:9200")
    with pytest.raises(StoreError, match="needs a query vector"):
        store.search("x", None, mode="vector")
    with pytest.raises(StoreError, match="unknown search mode"):
        store.search("x", None, mode="fuzzy")
    assert store.search("x", None, k=0, mode="keyword") == []
    with pytest.raises(StoreError, match="1 chunks but 2 vectors"):
        store.write_document("x.pdf", [chunk("x.pdf", "a")], np.zeros((2, 4), dtype=np.float32))
    assert not store._conn.made
