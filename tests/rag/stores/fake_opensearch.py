"""A fake OpenSearch over HTTP on 127.0.0.1 for the store's tests, driven through the real
opensearch-py request path: ``FakeOpenSearch`` answers each request with a canned answer per
route and records it; emulated_opensearch.py adds routes that behave like the services.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from rag.stores.opensearch import index_body

INDEX = "ragbot-test"


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
                request = Request(
                    self.command,
                    url.path,
                    parse_qs(url.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    raw,
                )
                fake.requests.append(request)
                try:
                    status, payload = fake.answer(request)
                except Exception as e:  # noqa: BLE001 - a broken canned answer shows up as a 500, not a hang-up
                    status, payload = 500, {"error": {"type": "fake_server_error", "reason": repr(e)}, "status": 500}
                data = (
                    b""
                    if payload is None
                    else (payload.encode() if isinstance(payload, str) else json.dumps(payload).encode())
                )
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
        return 500, {
            "error": {
                "root_cause": [{"type": "unexpected", "reason": f"no route for {request.method} {request.path}"}],
                "type": "unexpected",
                "reason": "no route",
            },
            "status": 500,
        }

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.requests]

    def find(self, method: str, path: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path == path]


SHARDS = {"total": 1, "successful": 1, "skipped": 0, "failed": 0}
MISSING = {
    "error": {
        "root_cause": [
            {
                "type": "index_not_found_exception",
                "reason": f"no such index [{INDEX}]",
                "index": INDEX,
                "resource.id": INDEX,
                "resource.type": "index_or_alias",
                "index_uuid": "_na_",
            }
        ],
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
        "root_cause": [
            {
                "type": "security_exception",
                "reason": "no permissions for [indices:data/write/bulk] and User [name=ragbot, backend_roles=[], requestedTenant=null]",
            }
        ],
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
        "version": {
            "distribution": "opensearch",
            "number": number,
            "build_type": "tar",
            "build_hash": "abc",
            "build_date": "2025-02-27T01:22:24.665339607Z",
            "build_snapshot": False,
            "lucene_version": "9.12.1",
            "minimum_wire_compatibility_version": "7.10.0",
            "minimum_index_compatibility_version": "7.0.0",
        },
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
        {
            "index": {
                "_index": INDEX,
                "_id": action["index"].get("_id", f"generated-{i}"),
                "_version": 1,
                "result": "created",
                "_shards": {"total": 2, "successful": 1, "failed": 0},
                "_seq_no": i,
                "_primary_term": 1,
                "status": 201,
            }
        }
        for i, action in enumerate(lines[::2])
    ]
    return 200, {"took": 7, "errors": False, "items": items}


def bulk_item_error(status: int, kind: str, reason: str):
    def respond(request: Request):
        lines = request.ndjson()
        items = [
            {
                "index": {
                    "_index": INDEX,
                    "_id": a["index"]["_id"],
                    "status": status,
                    "error": {"type": kind, "reason": reason},
                }
            }
            for a in lines[::2]
        ]
        return 200, {"took": 1, "errors": True, "items": items}

    return respond


DELETED = {
    "took": 12,
    "timed_out": False,
    "total": 1,
    "deleted": 1,
    "batches": 1,
    "version_conflicts": 0,
    "noops": 0,
    "retries": {"bulk": 0, "search": 0},
    "throttled_millis": 0,
    "requests_per_second": -1.0,
    "throttled_until_millis": 0,
    "failures": [],
}


def hit(c, score):
    return {"_index": INDEX, "_id": c.id, "_score": score, "_source": c.model_dump()}


def hits_response(*hits):
    return {
        "took": 4,
        "timed_out": False,
        "_shards": SHARDS,
        "hits": {
            "total": {"value": len(hits), "relation": "eq"},
            "max_score": max((h["_score"] for h in hits), default=None),
            "hits": list(hits),
        },
    }


def msearch_response(*responses):
    return {"took": 9, "responses": [r | {"status": 200} for r in responses]}


def composite_page(buckets, after_key):
    agg = {
        "buckets": [
            {
                "key": {"source": source},
                "doc_count": n,
                "doc_hash": {
                    "doc_count_error_upper_bound": 0,
                    "sum_other_doc_count": 0,
                    "buckets": [{"key": h, "doc_count": n}],
                },
                "pages": {"value": pages},
            }
            for source, n, h, pages in buckets
        ]
    }
    if after_key:
        agg["after_key"] = {"source": after_key}
    return {
        "took": 3,
        "timed_out": False,
        "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
        "hits": {"total": {"value": 9, "relation": "eq"}, "max_score": None, "hits": []},
        "aggregations": {"docs": agg},
    }
