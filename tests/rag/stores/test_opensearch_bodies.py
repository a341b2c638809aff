"""The OpenSearch store without a cluster: its request bodies against OpenSearch's documented
formats, and the store driven through the real opensearch-py request path against a small
HTTP server on 127.0.0.1 that records requests and answers in OpenSearch's response shapes.

The contract suite against a real cluster is test_opensearch.py (needs OPENSEARCH_URL).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from rag.errors import EmbeddingModelMismatch, StoreError
from rag.models import SearchFilters
from rag.stores import embedded
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
    reciprocal_rank_fusion,
    redact_url,
)
from tests.rag.stores.contract import chunk

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
        "method": {"name": "hnsw", "engine": "lucene", "space_type": "cosinesimil", "parameters": {"m": 16, "ef_construction": 100}},
    }
    assert body["mappings"]["_meta"] == {"dimension": 384, "engine": "lucene", "space_type": "cosinesimil", "embedding_model": "all-MiniLM-L6-v2"}


@pytest.mark.parametrize("engine", ["faiss", "nmslib"])
def test_index_body_takes_the_engine_and_graph_parameters(engine):
    body = index_body(768, engine=engine, m=24, ef_construction=128, shards=2, replicas=1)
    method = body["mappings"]["properties"]["vector"]["method"]
    assert method == {"name": "hnsw", "engine": engine, "space_type": "cosinesimil", "parameters": {"m": 24, "ef_construction": 128}}
    assert body["settings"]["index"] == {"knn": True, "number_of_shards": 2, "number_of_replicas": 1}
    assert "embedding_model" not in body["mappings"]["_meta"]


def test_index_body_field_types():
    props = index_body(8)["mappings"]["properties"]
    for field in ("id", "source", "doc_hash"):
        assert props[field] == {"type": "keyword"}
    assert props["folder"] == {"type": "keyword", "copy_to": "folder_path"}
    assert props["page"] == {"type": "integer"} and props["chunk_index"] == {"type": "integer"}
    # BM25 over stemmed English; the phrase clauses use the unstemmed, stop-word-keeping subfield.
    assert props["text"] == {"type": "text", "analyzer": "english", "fields": {"exact": {"type": "text", "analyzer": "standard"}}}


def test_folder_path_is_tokenised_by_path_hierarchy():
    # https://docs.opensearch.org/latest/analyzers/tokenizers/path-hierarchy/
    body = index_body(8)
    assert body["settings"]["analysis"]["tokenizer"]["folder_tree"] == {"type": "path_hierarchy", "delimiter": "/"}
    assert body["settings"]["analysis"]["analyzer"]["folder_tree"] == {"type": "custom", "tokenizer": "folder_tree"}
    assert body["mappings"]["properties"]["folder_path"] == {"type": "text", "analyzer": "folder_tree", "search_analyzer": "keyword"}


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
    assert filter_clauses(None) == [] and filter_clauses(SearchFilters()) == [] and filter_clauses(SearchFilters(folder="")) == []


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
                {"match": {"text": {"query": "section 21 01 13 and DD-114"}}},
                {"match_phrase": {"text.exact": {"query": "21 01 13"}}},
                {"match_phrase": {"text.exact": {"query": "DD-114"}}},
            ],
            "minimum_should_match": 1,
        }
    }
    assert keyword_query("dock doors") == {"bool": {"should": [{"match": {"text": {"query": "dock doors"}}}], "minimum_should_match": 1}}


def test_keyword_query_filters():
    query = keyword_query("lighting", SearchFilters(folder="Design", source="Design/a.pdf"))
    assert query["bool"]["filter"] == [{"term": {"folder_path": "Design"}}, {"term": {"source": "Design/a.pdf"}}]


@pytest.mark.parametrize("engine", ["lucene", "faiss"])
def test_knn_query_filters_inside_the_knn_clause(engine):
    # https://docs.opensearch.org/latest/vector-search/filter-search-knn/efficient-knn-filtering/
    query = knn_query(np.array([0.5, 0.25], dtype=np.float32), 10, SearchFilters(folder="Design"), engine=engine)
    assert query == {"knn": {"vector": {"vector": [0.5, 0.25], "k": 10, "filter": {"term": {"folder_path": "Design"}}}}}
    both = knn_query([1.0, 0.0], 3, SearchFilters(folder="A", source="A/b.pdf"), engine=engine)
    assert both["knn"]["vector"]["filter"] == {"bool": {"filter": [{"term": {"folder_path": "A"}}, {"term": {"source": "A/b.pdf"}}]}}
    assert knn_query([1.0, 0.0], 3, engine=engine) == {"knn": {"vector": {"vector": [1.0, 0.0], "k": 3}}}


def test_knn_query_post_filters_on_nmslib():
    # https://docs.opensearch.org/latest/vector-search/filter-search-knn/post-filtering/
    query = knn_query([1.0, 0.0], 5, SearchFilters(source="a.pdf"), engine="nmslib")
    assert query == {"bool": {"must": [{"knn": {"vector": {"vector": [1.0, 0.0], "k": 5}}}], "filter": [{"term": {"source": "a.pdf"}}]}}


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
    assert knn == {"size": 2, "_source": False, "query": {"knn": {"vector": {"vector": [0.1, 0.2], "k": 2, "filter": {"ids": {"values": ["a", "b"]}}}}}}
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
    assert docs["composite"] == {"size": 2, "sources": [{"source": {"terms": {"field": "source"}}}], "after": {"source": "b.pdf"}}
    assert docs["aggs"]["doc_hash"] == {"terms": {"field": "doc_hash", "size": 1, "order": {"_key": "desc"}}}
    assert docs["aggs"]["pages"] == {"cardinality": {"field": "page"}}
    assert "after" not in documents_body()["aggs"]["docs"]["composite"]


def composite_page(buckets, after_key):
    agg = {"buckets": [
        {
            "key": {"source": source},
            "doc_count": n,
            "doc_hash": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": [{"key": h, "doc_count": n}]},
            "pages": {"value": pages},
        }
        for source, n, h, pages in buckets
    ]}
    if after_key:
        agg["after_key"] = {"source": after_key}
    return {"took": 3, "timed_out": False, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
            "hits": {"total": {"value": 9, "relation": "eq"}, "max_score": None, "hits": []}, "aggregations": {"docs": agg}}


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


def test_reciprocal_rank_fusion_matches_lancedb():
    import pyarrow as pa
    from lancedb.rerankers import RRFReranker

    vector, keyword = ["a", "b", "c"], ["d", "a"]
    fused = reciprocal_rank_fusion([vector, keyword])
    assert [doc for doc, _ in fused] == ["a", "d", "b", "c"]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    # The embedded store fuses with LanceDB's RRFReranker: same order, same scores.
    rowid = {"a": 1, "b": 2, "c": 3, "d": 4}
    v = pa.table({"_rowid": pa.array([rowid[x] for x in vector], pa.uint64()), "text": vector, "_distance": pa.array([0.1, 0.2, 0.3], pa.float32())})
    f = pa.table({"_rowid": pa.array([rowid[x] for x in keyword], pa.uint64()), "text": keyword, "_score": pa.array([5.0, 3.0], pa.float32())})
    lance = RRFReranker(return_score="all").rerank_hybrid("q", v, f).to_pylist()
    assert [r["text"] for r in lance] == [doc for doc, _ in fused]
    assert [r["_relevance_score"] for r in lance] == pytest.approx([s for _, s in fused])


def test_reciprocal_rank_fusion_breaks_ties_by_first_appearance():
    assert reciprocal_rank_fusion([["x", "y"], ["y", "x"]]) == [("x", pytest.approx(1 / 61 + 1 / 62)), ("y", pytest.approx(1 / 61 + 1 / 62))]
    assert reciprocal_rank_fusion([[], []]) == []


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


# -- a fake OpenSearch over HTTP ------------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    raw: bytes  # as sent, before gzip decoding

    def json(self):
        return json.loads(self.body)

    def ndjson(self) -> list:
        return [json.loads(line) for line in self.body.decode().splitlines() if line.strip()]


Responder = Callable[[Request], tuple[int, object]]


class FakeOpenSearch:
    """Answers each request with the last registered route that matches it, and records it."""

    def __init__(self):
        self.requests: list[Request] = []
        self.routes: list[tuple[str, re.Pattern, Responder]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = body = self.rfile.read(length) if length else b""
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(raw)
                url = urlsplit(self.path)
                request = Request(self.command, url.path, parse_qs(url.query), {k.lower(): v for k, v in self.headers.items()}, body, raw)
                fake.requests.append(request)
                try:
                    status, payload = fake.answer(request)
                except Exception as e:  # a broken canned answer shows up as a 500, not a hang-up
                    status, payload = 500, {"error": {"type": "fake_server_error", "reason": repr(e)}, "status": 500}
                data = b"" if payload is None else (payload.encode() if isinstance(payload, str) else json.dumps(payload).encode())
                self.send_response(status)
                ctype = "text/plain; charset=UTF-8" if isinstance(payload, str) else "application/json; charset=UTF-8"
                self.send_header("Content-Type", ctype)
                if status == 401:
                    self.send_header("WWW-Authenticate", 'Basic realm="OpenSearch Security"')
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_one

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def on(self, method: str, path: str, answer: object = None, status: int = 200):
        """Route ``method path`` (a regex) to a fixed answer, or to a callable(request) -> (status, body)."""
        responder = answer if callable(answer) else (lambda request: (status, answer))
        self.routes.append((method, re.compile(path + r"\Z"), responder))

    def sequence(self, method: str, path: str, *answers: tuple[int, object]):
        """Answer successive matching requests with successive answers (the last one repeats)."""
        answers = list(answers)
        self.on(method, path, lambda request: answers.pop(0) if len(answers) > 1 else answers[0])

    def answer(self, request: Request) -> tuple[int, object]:
        for method, pattern, responder in reversed(self.routes):
            if method == request.method and pattern.match(request.path):
                return responder(request)
        return 500, {"error": {"root_cause": [{"type": "unexpected", "reason": f"no route for {request.method} {request.path}"}], "type": "unexpected", "reason": "no route"}, "status": 500}

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.requests]

    def find(self, method: str, path: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path == path]


SHARDS = {"total": 1, "successful": 1, "skipped": 0, "failed": 0}
MISSING = {
    "error": {
        "root_cause": [{"type": "index_not_found_exception", "reason": f"no such index [{INDEX}]", "index": INDEX, "resource.id": INDEX, "resource.type": "index_or_alias", "index_uuid": "_na_"}],
        "type": "index_not_found_exception",
        "reason": f"no such index [{INDEX}]",
        "index": INDEX,
        "resource.id": INDEX,
        "resource.type": "index_or_alias",
        "index_uuid": "_na_",
    },
    "status": 404,
}
FORBIDDEN = {
    "error": {
        "root_cause": [{"type": "security_exception", "reason": "no permissions for [indices:data/write/bulk] and User [name=ragbot, backend_roles=[], requestedTenant=null]"}],
        "type": "security_exception",
        "reason": "no permissions for [indices:data/write/bulk] and User [name=ragbot, backend_roles=[], requestedTenant=null]",
    },
    "status": 403,
}


def info(number="2.19.1"):
    return {
        "name": "node-1",
        "cluster_name": "ragbot",
        "cluster_uuid": "Jb8Qn7bRQaWmE7lA6dVw2Q",
        "version": {"distribution": "opensearch", "number": number, "build_type": "tar", "build_hash": "abc", "build_date": "2025-02-27T01:22:24.665339607Z",
                    "build_snapshot": False, "lucene_version": "9.12.1", "minimum_wire_compatibility_version": "7.10.0", "minimum_index_compatibility_version": "7.0.0"},
        "tagline": "The OpenSearch Project: https://opensearch.org/",
    }


def plugins(*components):
    return [{"name": "node-1", "component": c, "version": "2.19.1.0"} for c in components]


def mapping(meta=None, dimension=384):
    props = index_body(dimension)["mappings"]["properties"]
    return {INDEX: {"mappings": {"_meta": meta or {}, "properties": props}}}


def bulk_ok(request: Request):
    lines = request.ndjson()
    items = [
        {"index": {"_index": INDEX, "_id": action["index"].get("_id", f"generated-{i}"), "_version": 1, "result": "created",
                   "_shards": {"total": 2, "successful": 1, "failed": 0}, "_seq_no": i, "_primary_term": 1, "status": 201}}
        for i, action in enumerate(lines[::2])
    ]
    return 200, {"took": 7, "errors": False, "items": items}


def bulk_item_error(status: int, kind: str, reason: str):
    def respond(request: Request):
        lines = request.ndjson()
        items = [{"index": {"_index": INDEX, "_id": a["index"]["_id"], "status": status, "error": {"type": kind, "reason": reason}}} for a in lines[::2]]
        return 200, {"took": 1, "errors": True, "items": items}

    return respond


DELETED = {"took": 12, "timed_out": False, "total": 1, "deleted": 1, "batches": 1, "version_conflicts": 0, "noops": 0,
           "retries": {"bulk": 0, "search": 0}, "throttled_millis": 0, "requests_per_second": -1.0, "throttled_until_millis": 0, "failures": []}


def hit(c, score):
    return {"_index": INDEX, "_id": c.id, "_score": score, "_source": c.model_dump()}


def hits_response(*hits):
    return {"took": 4, "timed_out": False, "_shards": SHARDS,
            "hits": {"total": {"value": len(hits), "relation": "eq"}, "max_score": max((h["_score"] for h in hits), default=None), "hits": list(hits)}}


def msearch_response(*responses):
    return {"took": 9, "responses": [r | {"status": 200} for r in responses]}


@pytest.fixture
def fake():
    server = FakeOpenSearch()
    server.thread.start()
    server.on("GET", "/", info())
    server.on("GET", "/_cat/plugins", plugins("opensearch-knn"))
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def store(fake):
    s = OpenSearchVectorStore(fake.url, INDEX, initial_backoff=0.01, timeout=5)
    yield s
    s.close()


C1 = chunk("Design/Criteria/lighting.pdf", "Exterior lighting on the yard shall give 20 lux.", page=3)
C2 = chunk("Design/Criteria/lighting.pdf", "Emergency lighting shall operate for three hours.", page=4, index=1)
C3 = chunk("notes.md", "Handover notes.", page=None)


def test_first_write_creates_the_index_and_bulk_indexes(fake, store):
    fake.on("GET", f"/{INDEX}/_mapping", MISSING, status=404)
    fake.on("PUT", f"/{INDEX}", {"acknowledged": True, "shards_acknowledged": True, "index": INDEX})
    fake.on("POST", "/_bulk", bulk_ok)
    fake.on("POST", f"/{INDEX}/_delete_by_query", DELETED)
    vectors = np.array([[0.5, 0.25, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0]], dtype=np.float32)

    assert store.write_document(C1.source, [C1, C2], vectors) == 2

    assert fake.calls() == [("GET", f"/{INDEX}/_mapping"), ("PUT", f"/{INDEX}"), ("POST", "/_bulk"), ("POST", f"/{INDEX}/_delete_by_query")]
    assert fake.requests[1].json() == index_body(4, engine="lucene")
    lines = fake.requests[2].ndjson()
    assert lines[0] == {"index": {"_index": INDEX, "_id": C1.id}}
    assert lines[1] == C1.model_dump() | {"vector": [0.5, 0.25, 0.0, 1.0]}
    assert lines[2] == {"index": {"_index": INDEX, "_id": C2.id}} and len(lines) == 4
    assert fake.requests[2].headers["content-encoding"] == "gzip"  # the server got it compressed
    prune = fake.requests[3]
    assert prune.json() == prune_query(C1.source, [C1.id, C2.id]) and prune.query["conflicts"] == ["proceed"]


def test_rewriting_an_unrefreshed_document_refreshes_first(fake, store):
    fake.on("GET", f"/{INDEX}/_mapping", mapping({"embedding_model": "m", "dimension": 2}, dimension=2))
    fake.on("POST", "/_bulk", bulk_ok)
    fake.on("POST", f"/{INDEX}/_delete_by_query", DELETED)
    fake.on("POST", f"/{INDEX}/_refresh", {"_shards": {"total": 2, "successful": 1, "failed": 0}})
    vectors = np.ones((1, 2), dtype=np.float32)
    store.write_document("notes.md", [C3], vectors)
    store.write_document("other.md", [chunk("other.md", "x", page=None)], vectors)
    assert not fake.find("POST", f"/{INDEX}/_refresh")
    store.write_document("notes.md", [C3], vectors)
    assert fake.calls()[-3:] == [("POST", f"/{INDEX}/_refresh"), ("POST", "/_bulk"), ("POST", f"/{INDEX}/_delete_by_query")]


def test_vectors_of_another_size_are_refused_before_writing(fake, store):
    fake.on("GET", f"/{INDEX}/_mapping", mapping({"embedding_model": "m", "dimension": 384}))
    with pytest.raises(StoreError, match="384-dimensional"):
        store.write_document("a.pdf", [C1], np.ones((1, 8), dtype=np.float32))
    assert not fake.find("POST", "/_bulk")


def test_bulk_retries_documents_rejected_with_429(fake, store):
    fake.on("GET", f"/{INDEX}/_mapping", mapping({"embedding_model": "m", "dimension": 2}, dimension=2))
    rejected = bulk_item_error(429, "es_rejected_execution_exception", "rejected execution of coordinating operation")
    answers = [rejected, bulk_ok]
    fake.on("POST", "/_bulk", lambda request: answers.pop(0)(request))
    fake.on("POST", f"/{INDEX}/_delete_by_query", DELETED)

    assert store.write_document(C1.source, [C1, C2], np.ones((2, 2), dtype=np.float32)) == 2

    bulks = fake.find("POST", "/_bulk")
    assert len(bulks) == 2 and bulks[0].body == bulks[1].body


def test_a_failed_bulk_takes_the_document_out_and_says_why(fake, store):
    fake.on("GET", f"/{INDEX}/_mapping", mapping({"embedding_model": "m", "dimension": 2}, dimension=2))
    fake.on("POST", "/_bulk", bulk_item_error(400, "mapper_parsing_exception", "failed to parse field [vector] of type [knn_vector]"))
    fake.on("POST", f"/{INDEX}/_refresh", {"_shards": {"total": 2, "successful": 1, "failed": 0}})
    fake.on("POST", f"/{INDEX}/_delete_by_query", DELETED)

    with pytest.raises(StoreError, match=r"could not index 2 of 2 chunks .*HTTP 400.*mapper_parsing_exception"):
        store.write_document(C1.source, [C1, C2], np.ones((2, 2), dtype=np.float32))

    (cleanup,) = fake.find("POST", f"/{INDEX}/_delete_by_query")
    assert cleanup.json() == prune_query(C1.source, [])


def test_documents_pages_through_the_composite_aggregation(fake, store):
    fake.sequence(
        "POST",
        f"/{INDEX}/_search",
        (200, composite_page([("a.pdf", 3, "h1", 2), ("b.pdf", 1, "h9", 1)], "b.pdf")),
        (200, composite_page([("notes.md", 1, "h2", 0)], "notes.md")),
        (200, composite_page([], None)),
    )
    docs = store.documents()
    assert sorted(docs) == ["a.pdf", "b.pdf", "notes.md"]
    assert docs["a.pdf"].chunks == 3 and docs["a.pdf"].pages == 2 and docs["a.pdf"].doc_hash == "h1"
    bodies = [r.json() for r in fake.find("POST", f"/{INDEX}/_search")]
    assert [b["aggs"]["docs"]["composite"].get("after") for b in bodies] == [None, {"source": "b.pdf"}, {"source": "notes.md"}]


def test_a_missing_index_reads_as_an_empty_store(fake, store):
    for method, path in [("GET", f"/{INDEX}/_count"), ("POST", f"/{INDEX}/_count"), ("POST", f"/{INDEX}/_search"), ("GET", f"/{INDEX}/_mapping"), ("POST", f"/{INDEX}/_refresh")]:
        fake.on(method, path, MISSING, status=404)
    fake.on("HEAD", f"/{INDEX}", None, status=404)
    assert store.count() == 0
    assert store.documents() == {}
    assert store.search("lighting", None, mode="keyword") == []
    assert store.search("lighting", np.ones(4), mode="vector") == []
    assert store.embedding_model() is None
    assert store.delete_documents(["a.pdf"]) == 0
    store.refresh()


def test_count(fake, store):
    fake.on("GET", f"/{INDEX}/_count", {"count": 27, "_shards": SHARDS})
    fake.on("POST", f"/{INDEX}/_count", {"count": 27, "_shards": SHARDS})
    assert store.count() == 27


def test_delete_documents_counts_only_indexed_ones(fake, store):
    fake.on("HEAD", f"/{INDEX}", None)
    present = hits_response() | {"aggregations": {"present": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": [{"key": "notes.md", "doc_count": 1}]}}}
    fake.on("POST", f"/{INDEX}/_search", present)
    fake.on("POST", f"/{INDEX}/_delete_by_query", DELETED)
    assert store.delete_documents(["notes.md", "never-indexed.pdf"]) == 1
    lookup = fake.find("POST", f"/{INDEX}/_search")[0].json()
    assert lookup["query"] == {"terms": {"source": ["notes.md", "never-indexed.pdf"]}}
    (delete,) = fake.find("POST", f"/{INDEX}/_delete_by_query")
    assert delete.json() == {"query": {"terms": {"source": ["notes.md"]}}}


def test_embedding_model_binding(fake, store):
    fake.on("GET", f"/{INDEX}/_mapping", mapping({"embedding_model": "all-MiniLM-L6-v2", "dimension": 384}))
    store.check_embedding_model("all-MiniLM-L6-v2", 384)
    with pytest.raises(EmbeddingModelMismatch, match=r"built with embedding model 'all-MiniLM-L6-v2' \(384 dimensions\) but the configured model is 'another-model'.*RAGBOT_EMBEDDING_MODEL=all-MiniLM-L6-v2"):
        store.check_embedding_model("another-model", 384)
    with pytest.raises(EmbeddingModelMismatch):
        store.check_embedding_model("all-MiniLM-L6-v2", 768)


def test_check_embedding_model_creates_the_index_with_the_model(fake, store):
    fake.on("GET", f"/{INDEX}/_mapping", MISSING, status=404)
    fake.on("PUT", f"/{INDEX}", {"acknowledged": True, "shards_acknowledged": True, "index": INDEX})
    store.check_embedding_model("all-MiniLM-L6-v2", 384)
    assert fake.find("PUT", f"/{INDEX}")[0].json()["mappings"]["_meta"]["embedding_model"] == "all-MiniLM-L6-v2"


def test_check_embedding_model_records_a_model_on_an_unbound_index(fake, store):
    fake.on("GET", f"/{INDEX}/_mapping", mapping({"dimension": 384}))
    fake.on("PUT", f"/{INDEX}/_mapping", {"acknowledged": True})
    store.check_embedding_model("all-MiniLM-L6-v2", 384)
    assert fake.find("PUT", f"/{INDEX}/_mapping")[0].json() == {"_meta": {"dimension": 384, "embedding_model": "all-MiniLM-L6-v2"}}


def test_vector_search_reports_cosine_similarity(fake, store):
    fake.on("POST", f"/{INDEX}/_search", hits_response(hit(C1, 0.9), hit(C2, 0.55)))
    results = store.search("yard lighting", np.array([0.5, 0.5]), k=2, mode="vector", filters=SearchFilters(folder="Design"))
    assert [r.chunk for r in results] == [C1, C2]
    assert [r.similarity for r in results] == pytest.approx([0.8, 0.1]) and results[0].score == pytest.approx(0.8)
    assert results[0].keyword_score is None
    body = fake.requests[-1].json()
    assert body == {"size": 2, "_source": {"excludes": ["vector"]}, "query": knn_query([0.5, 0.5], 50, SearchFilters(folder="Design"))}


def test_keyword_search_reports_bm25(fake, store):
    fake.on("POST", f"/{INDEX}/_search", hits_response(hit(C3, 3.25)))
    (result,) = store.search("handover 21 01 13", None, k=1, mode="keyword")
    assert result.chunk == C3 and result.chunk.page is None
    assert result.keyword_score == 3.25 and result.score == 3.25 and result.similarity is None
    assert fake.requests[-1].json()["query"] == keyword_query("handover 21 01 13")


def test_hybrid_without_neural_search_fuses_one_msearch(fake, store):
    fake.on("POST", "/_msearch", msearch_response(hits_response(hit(C1, 0.9), hit(C2, 0.7)), hits_response(hit(C3, 4.0), hit(C1, 2.0))))
    results = store.search("yard lighting", np.array([0.5, 0.5]), k=3, filters=SearchFilters(source=C1.source))
    assert [r.chunk.id for r in results] == [C1.id, C3.id, C2.id]
    assert results[0].similarity == pytest.approx(0.8) and results[0].keyword_score == 2.0
    assert results[1].similarity is None and results[1].keyword_score == 4.0
    assert results[2].similarity == pytest.approx(0.4) and results[2].keyword_score is None
    assert [r.score for r in results] == pytest.approx([1 / 61 + 1 / 62, 1 / 61, 1 / 62])
    filters = SearchFilters(source=C1.source)
    assert fake.find("POST", "/_msearch")[0].ndjson() == [
        {"index": INDEX}, {"size": 50, "_source": {"excludes": ["vector"]}, "query": knn_query([0.5, 0.5], 50, filters)},
        {"index": INDEX}, {"size": 50, "_source": {"excludes": ["vector"]}, "query": keyword_query("yard lighting", filters)},
    ]
    assert not fake.find("PUT", "/_search/pipeline/ragbot-hybrid")
    store.search("again", np.array([0.5, 0.5]))
    assert len(fake.find("GET", "/")) == 1  # the cluster is asked once


def test_hybrid_with_neural_search_uses_the_pipeline(fake, store):
    fake.on("GET", "/_cat/plugins", plugins("opensearch-knn", "opensearch-neural-search"))
    fake.on("PUT", "/_search/pipeline/ragbot-hybrid", {"acknowledged": True})
    fake.on("POST", f"/{INDEX}/_search", hits_response(hit(C1, 0.75), hit(C3, 0.5), hit(C2, 0.1)))
    fake.on("POST", "/_msearch", msearch_response(
        hits_response({"_index": INDEX, "_id": C1.id, "_score": 0.9}, {"_index": INDEX, "_id": C3.id, "_score": 0.6}),
        hits_response({"_index": INDEX, "_id": C1.id, "_score": 2.5}),
    ))
    results = store.search("HEA06 lighting", np.array([0.5, 0.5]), k=2)

    assert fake.find("PUT", "/_search/pipeline/ragbot-hybrid")[0].json() == pipeline_body(0.5)
    search = fake.find("POST", f"/{INDEX}/_search")[0]
    assert search.query["search_pipeline"] == ["ragbot-hybrid"]
    assert search.json() == {"size": 50, "_source": {"excludes": ["vector"]}, "query": hybrid_query("HEA06 lighting", [0.5, 0.5], 50)}
    assert fake.find("POST", "/_msearch")[0].ndjson()[1::2] == evidence_bodies("HEA06 lighting", [0.5, 0.5], [C1.id, C3.id])
    assert [r.chunk.id for r in results] == [C1.id, C3.id]
    assert [r.score for r in results] == [0.75, 0.5]
    assert results[0].similarity == pytest.approx(0.8) and results[0].keyword_score == 2.5
    assert results[1].similarity == pytest.approx(0.2) and results[1].keyword_score is None


def test_hybrid_falls_back_to_the_client_when_the_pipeline_is_refused(fake, store):
    fake.on("GET", "/_cat/plugins", plugins("opensearch-knn", "opensearch-neural-search"))
    fake.on("PUT", "/_search/pipeline/ragbot-hybrid", FORBIDDEN, status=403)
    fake.on("POST", "/_msearch", msearch_response(hits_response(hit(C1, 0.9)), hits_response()))
    (result,) = store.search("lighting", np.array([0.5, 0.5]), k=3)
    assert result.chunk == C1 and store._searcher.hybrid_mode == "client"


def test_hybrid_on_old_clusters_uses_the_client(fake, store):
    fake.on("GET", "/", info("2.9.0"))
    fake.on("GET", "/_cat/plugins", plugins("opensearch-knn", "opensearch-neural-search"))
    fake.on("POST", "/_msearch", msearch_response(hits_response(), hits_response()))
    assert store.search("lighting", np.array([0.5, 0.5])) == []
    assert not fake.find("PUT", "/_search/pipeline/ragbot-hybrid")


def test_msearch_errors_for_a_missing_index_read_as_empty(fake, store):
    error = {"error": MISSING["error"], "status": 404}
    fake.on("POST", "/_msearch", {"took": 1, "responses": [error, error]})
    assert store.search("lighting", np.array([0.5, 0.5])) == []


def test_msearch_errors_are_store_errors(fake, store):
    error = {"error": {"root_cause": [{"type": "illegal_argument_exception", "reason": "zero vector is not supported"}], "type": "search_phase_execution_exception", "reason": "all shards failed"}, "status": 400}
    fake.on("POST", "/_msearch", {"took": 1, "responses": [error, error]})
    with pytest.raises(StoreError, match="zero vector is not supported"):
        store.search("lighting", np.zeros(2))


def test_nmslib_similarity_follows_the_cluster_version(fake):
    fake.on("GET", "/", info("2.17.0"))
    fake.on("POST", f"/{INDEX}/_search", hits_response(hit(C1, 1 / (1 + 0.2))))  # d = 1 - cos = 0.2
    store = OpenSearchVectorStore(fake.url, INDEX, engine="nmslib")
    (result,) = store.search("x", np.ones(2), k=1, mode="vector")
    assert result.similarity == pytest.approx(0.8)
    store.close()


# -- errors -----------------------------------------------------------------------------------


def test_connection_refused_names_the_url_and_the_setting():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = OpenSearchVectorStore(f"http://admin:s3cret@127.0.0.1:{port}", INDEX, timeout=2)
    with pytest.raises(StoreError, match=rf"Could not reach OpenSearch at http://127.0.0.1:{port} .*OPENSEARCH_URL") as e:
        store.count()
    assert "s3cret" not in str(e.value)
    with pytest.raises(StoreError, match="Could not reach"):
        store.search("x", np.ones(2))  # auto mode does not settle on a fusion while the cluster is down
    assert store._searcher.hybrid_mode is None


def test_401_says_to_check_the_credentials(fake):
    fake.on("GET", f"/{INDEX}/_count", "Unauthorized", status=401)
    fake.on("POST", f"/{INDEX}/_count", "Unauthorized", status=401)
    store = OpenSearchVectorStore(fake.url, INDEX, auth=("ragbot", "wrong"))
    with pytest.raises(StoreError, match=r"rejected the credentials \(HTTP 401\).*user name and password"):
        store.count()
    assert fake.requests[-1].headers["authorization"] == "Basic " + base64.b64encode(b"ragbot:wrong").decode()
    store.close()


def test_403_names_the_missing_permission(fake, store):
    fake.on("GET", f"/{INDEX}/_mapping", mapping({"embedding_model": "m", "dimension": 2}, dimension=2))
    fake.on("POST", "/_bulk", FORBIDDEN, status=403)
    with pytest.raises(StoreError, match=r"HTTP 403.*indices:data/write/bulk"):
        store.write_document(C1.source, [C1], np.ones((1, 2), dtype=np.float32))


def test_other_errors_carry_the_reason(fake, store):
    fake.on("POST", f"/{INDEX}/_search", {"error": {"root_cause": [{"type": "query_shard_exception", "reason": "failed to create query"}], "type": "search_phase_execution_exception", "reason": "all shards failed"}, "status": 400}, status=400)
    with pytest.raises(StoreError, match=r"HTTP 400.*query_shard_exception: failed to create query") as e:
        store.search("x", None, mode="keyword")
    assert e.value.__cause__ is not None


# -- SigV4 ------------------------------------------------------------------------------------


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    return monkeypatch


def test_sigv4_signs_every_request_for_serverless(fake, aws_env):
    fake.on("POST", f"/{INDEX}/_count", {"count": 3, "_shards": SHARDS})
    fake.on("GET", f"/{INDEX}/_count", {"count": 3, "_shards": SHARDS})
    store = OpenSearchVectorStore(fake.url, INDEX, auth="sigv4", service="aoss", region="eu-west-1")
    assert store.count() == 3
    headers = fake.requests[-1].headers
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/aoss/aws4_request" in headers["authorization"]
    assert "x-amz-date" in headers and "x-amz-content-sha256" in headers
    assert "content-encoding" not in headers
    before = len(fake.requests)
    store.refresh()  # Serverless has no _refresh API
    assert len(fake.requests) == before
    store.close()


def test_sigv4_signs_the_body_as_sent(fake, aws_env):
    fake.on("GET", f"/{INDEX}/_mapping", mapping({"embedding_model": "m", "dimension": 2}, dimension=2))
    fake.on("POST", "/_bulk", bulk_ok)
    fake.on("POST", f"/{INDEX}/_delete_by_query", DELETED)
    store = OpenSearchVectorStore(fake.url, INDEX, auth="sigv4", region="eu-west-1")
    store.write_document(C1.source, [C1], np.ones((1, 2), dtype=np.float32))
    (bulk,) = fake.find("POST", "/_bulk")
    assert bulk.headers["content-encoding"] == "gzip"
    assert bulk.headers["x-amz-content-sha256"] == hashlib.sha256(bulk.raw).hexdigest()
    store.close()


def test_serverless_deletes_first_and_lets_the_server_pick_ids(fake, aws_env):
    fake.on("GET", f"/{INDEX}/_mapping", MISSING, status=404)
    fake.on("PUT", f"/{INDEX}", {"acknowledged": True, "shards_acknowledged": True, "index": INDEX})
    fake.on("POST", "/_bulk", bulk_ok)
    fake.on("POST", f"/{INDEX}/_delete_by_query", DELETED)
    store = OpenSearchVectorStore(fake.url, INDEX, auth="sigv4", service="aoss", region="eu-west-1")
    store.write_document(C1.source, [C1], np.ones((1, 2), dtype=np.float32))
    assert fake.calls()[-2:] == [("POST", f"/{INDEX}/_delete_by_query"), ("POST", "/_bulk")]
    assert fake.find("PUT", f"/{INDEX}")[0].json()["mappings"]["properties"]["vector"]["method"]["engine"] == "faiss"
    assert fake.find("POST", f"/{INDEX}/_delete_by_query")[0].json() == prune_query(C1.source, [])
    assert fake.find("POST", "/_bulk")[0].ndjson()[0] == {"index": {"_index": INDEX}}
    store.close()


def test_sigv4_region_comes_from_boto3(fake, aws_env):
    aws_env.setenv("AWS_DEFAULT_REGION", "us-east-2")
    fake.on("GET", f"/{INDEX}/_count", {"count": 0, "_shards": SHARDS})
    fake.on("POST", f"/{INDEX}/_count", {"count": 0, "_shards": SHARDS})
    store = OpenSearchVectorStore(fake.url, INDEX, auth="sigv4")
    store.count()
    assert "/us-east-2/es/aws4_request" in fake.requests[-1].headers["authorization"]
    store.close()


def test_sigv4_without_credentials_or_region_says_what_to_set(aws_env):
    store = OpenSearchVectorStore("https://search.example.com", INDEX, auth="sigv4")
    with pytest.raises(StoreError, match="needs an AWS region"):
        store.count()
    aws_env.delenv("AWS_ACCESS_KEY_ID")
    aws_env.delenv("AWS_SECRET_ACCESS_KEY")
    store = OpenSearchVectorStore("https://search.example.com", INDEX, auth="sigv4", region="eu-west-1")
    with pytest.raises(StoreError, match="no AWS credentials"):
        store.count()
