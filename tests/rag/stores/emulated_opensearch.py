"""An emulated OpenSearch for ``FakeOpenSearch``: routes that hold documents and evaluate the
query DSL the store sends (bool, term(s), ids, range, exists, match, multi_match, match_phrase, knn; terms,
composite, cardinality and max aggregations; sort, search_after, point-in-time), in one of the
profiles the real services have:

- ``managed``: a domain: ``_refresh`` makes writes visible, custom ids and
  ``_delete_by_query`` work;
- ``serverless``: a vector collection on OpenSearch Serverless: no ``_delete_by_query`` or
  ``_refresh`` (404, as opensearch-java#1112 saw), no custom ``_id`` in index actions, and a
  write (or delete) shows in searches only after ``refresh_delay`` seconds;
- ``v3``: OpenSearch 3.x, whose k-NN plugin refuses to create nmslib indexes.

The replies have the shapes (keys, errors, statuses) a real OpenSearch 2.19 gives to the same
requests: test_emulator_fidelity.py sends both the same requests and compares them. ``hybrid``
queries are not emulated: search pipelines are accepted and stored, and hybrid search runs on the
real node (test_opensearch.py).

Scores are simple (term counts for BM25, the k-NN spaces' documented formulas for vectors): the
emulation is for the store's request flow and the services' refusals, not for ranking quality,
which the contract suite checks on a real cluster (test_opensearch.py).
"""

from __future__ import annotations

import math
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.rag.stores.fake_opensearch import FakeOpenSearch, Request


def error_body(status: int, kind: str, reason: str, **extra) -> dict:
    cause = {"type": kind, "reason": reason, **extra}
    return {"error": {"root_cause": [cause], **cause}, "status": status}


def missing_index(name: str) -> tuple[int, dict]:
    """OpenSearch 2.19's 404 for an index that does not exist, as the test node answers it."""
    extra = {"index": name, "resource.id": name, "resource.type": "index_or_alias", "index_uuid": "_na_"}
    return 404, error_body(404, "index_not_found_exception", f"no such index [{name}]", **extra)


SHARDS = {"total": 1, "successful": 1, "skipped": 0, "failed": 0}


NMSLIB_3X = (
    "nmslib engine is deprecated in OpenSearch and cannot be used for new index creation starting from version 3.0.0."
)
SERVERLESS_ID = "Document ID is not supported in create/index operation request"


@dataclass
class Doc:
    source: dict
    visible_at: float  # math.inf: until the next _refresh
    deleted_at: float = math.inf
    delete_pending: bool = False  # deleted at the next _refresh

    def visible(self, at: float) -> bool:
        return self.visible_at <= at < self.deleted_at


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+", str(text).lower())


def _ancestors(folder: str) -> set[str]:
    parts = folder.split("/") if folder else []
    return {"/".join(parts[: i + 1]) for i in range(len(parts))}


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norms if norms else 0.0


class Emulated:
    """Documents held in memory and searched like OpenSearch does, in one profile (see the module
    docstring). Install it on a ``FakeOpenSearch``; canned routes added later still win."""

    def __init__(
        self, fake: FakeOpenSearch, profile: str = "managed", *, version: str = "2.19.1", refresh_delay: float = 0.0
    ):
        if profile not in ("managed", "serverless", "v3"):
            raise ValueError(profile)
        self.fake = fake
        self.profile = profile
        self.version = "3.1.0" if profile == "v3" and version == "2.19.1" else version
        self.refresh_delay = refresh_delay
        self.indexes: dict[str, dict[str, Any]] = {}
        self.pits: dict[str, tuple[str, float]] = {}
        self.pipelines: dict[str, dict] = {}
        self.lock = threading.RLock()
        #: called with each index action's source; a dict returned is that item's error
        self.refuse: Callable[[dict], dict | None] = lambda source: None
        i = r"/(?P<index>[a-z0-9_.-]+)"
        serverless = profile == "serverless"
        fake.on(
            "GET",
            "/",
            lambda r: (
                (404, error_body(404, "not_found", "no root on Serverless"))
                if serverless
                else (200, info_body(self.version))
            ),
        )
        fake.on(
            "GET",
            "/_cat/plugins",
            [
                {"name": "node-1", "component": c, "version": f"{self.version}.0"}
                for c in ("opensearch-knn", "opensearch-neural-search")
            ],
        )
        fake.on("HEAD", i, lambda r: (200 if self._name(r) in self.indexes else 404, None))
        fake.on("PUT", i, self._create)
        fake.on("DELETE", i, self._delete_index)
        fake.on("PUT", "/_search/pipeline/(?P<id>[^/]+)", self._put_pipeline)
        fake.on("GET", "/_search/pipeline/(?P<id>[^/]+)", self._get_pipeline)
        fake.on("GET", i + "/_mapping", self._mapping)
        fake.on("PUT", i + "/_mapping", self._put_mapping)
        fake.on("POST", "/_bulk", self._bulk)
        fake.on("POST", i + "/_bulk", self._bulk)
        fake.on("POST", i + "/_search", lambda r: self._search_route(r, self._name(r)))
        fake.on("POST", "/_search", lambda r: self._search_route(r, None))
        fake.on("GET", i + "/_search", lambda r: self._search_route(r, self._name(r)))
        fake.on("POST", "/_msearch", self._msearch)
        fake.on("POST", i + "/_count", self._count)
        fake.on("GET", i + "/_count", self._count)
        fake.on("POST", i + "/_search/point_in_time", self._create_pit)
        fake.on("DELETE", "/_search/point_in_time", self._delete_pit)
        fake.on("POST", i + "/_delete_by_query", self._delete_by_query)
        fake.on("POST", i + "/_refresh", self._refresh)

    # -- routes ------------------------------------------------------------------------------

    @staticmethod
    def _name(request: Request) -> str:
        return request.path.strip("/").split("/")[0]

    def _create(self, request: Request):
        name = self._name(request)
        body = request.json()
        method = body.get("mappings", {}).get("properties", {}).get("vector", {}).get("method", {})
        if self.profile == "v3" and method.get("engine") == "nmslib":
            return 400, error_body(400, "illegal_argument_exception", NMSLIB_3X)
        with self.lock:
            if name in self.indexes:
                uid = self.indexes[name]["uuid"]
                return 400, error_body(
                    400,
                    "resource_already_exists_exception",
                    f"index [{name}/{uid}] already exists",
                    index=name,
                    index_uuid=uid,
                )
            self.indexes[name] = self._new_index(body.get("mappings", {}))
        return 200, {"acknowledged": True, "shards_acknowledged": True, "index": name}

    @staticmethod
    def _new_index(mappings: dict) -> dict:
        # OpenSearch answers with copy_to as a list, however it was given.
        for spec in mappings.get("properties", {}).values():
            if isinstance(spec.get("copy_to"), str):
                spec["copy_to"] = [spec["copy_to"]]
        return {"mappings": mappings, "docs": {}, "uuid": uuid.uuid4().hex[:22], "seq_no": 0}

    def _delete_index(self, request: Request):
        with self.lock:
            if self.indexes.pop(self._name(request), None) is None:
                return missing_index(self._name(request))
        return 200, {"acknowledged": True}

    def _put_pipeline(self, request: Request):
        self.pipelines[request.path.rsplit("/", 1)[1]] = request.json()
        return 200, {"acknowledged": True}

    def _get_pipeline(self, request: Request):
        name = request.path.rsplit("/", 1)[1]
        if name not in self.pipelines:
            return 404, {}
        return 200, {name: self.pipelines[name]}

    def _mapping(self, request: Request):
        name = self._name(request)
        if name not in self.indexes:
            return missing_index(name)
        return 200, {name: {"mappings": self.indexes[name]["mappings"]}}

    def _put_mapping(self, request: Request):
        name = self._name(request)
        self.indexes[name]["mappings"]["_meta"] = request.json().get("_meta", {})
        return 200, {"acknowledged": True}

    def _visible_from(self) -> float:
        if self.profile == "serverless":
            return time.monotonic() + self.refresh_delay
        return math.inf  # until _refresh

    def _bulk(self, request: Request):
        lines = request.ndjson()
        items, errors, position = [], False, 0
        with self.lock:
            while position < len(lines):
                action = lines[position]
                ((op, meta),) = action.items()
                name = meta.get("_index") or self._name(request)
                if name not in self.indexes:
                    self.indexes[name] = self._new_index({})
                index = self.indexes[name]
                if op == "delete":
                    position += 1
                    doc = index["docs"].get(meta["_id"])
                    gone = doc is None or doc.deleted_at != math.inf or doc.delete_pending
                    if not gone:
                        self._delete(doc)
                    result = ("not_found", 404) if gone else ("deleted", 200)
                    items.append({"delete": self._item(index, name, meta["_id"], *result)})
                    continue
                source = lines[position + 1]
                position += 2
                refused = self.refuse(source) or self._refuse_vector(index, meta.get("_id"), source)
                if self.profile == "serverless" and "_id" in meta:
                    refused = {"type": "illegal_argument_exception", "reason": SERVERLESS_ID, "status": 400}
                if refused:
                    errors = True
                    items.append(
                        {
                            op: {
                                "_index": name,
                                "_id": meta.get("_id"),
                                "status": refused.pop("status", 400),
                                "error": refused,
                            }
                        }
                    )
                    continue
                doc_id = meta.get("_id") or uuid.uuid4().hex[:20]
                old = index["docs"].get(doc_id)
                replaced = old is not None and old.deleted_at == math.inf and not old.delete_pending
                index["docs"][doc_id] = Doc(source, self._visible_from())
                items.append(
                    {op: self._item(index, name, doc_id, *(("updated", 200) if replaced else ("created", 201)))}
                )
        return 200, {"took": 3, "errors": errors, "items": items}

    @staticmethod
    def _item(index: dict, name: str, doc_id: str, result: str, status: int) -> dict:
        index["seq_no"] += 1
        return {
            "_index": name,
            "_id": doc_id,
            "_version": 1,
            "result": result,
            "_shards": {"total": 2, "successful": 1, "failed": 0},
            "_seq_no": index["seq_no"] - 1,
            "_primary_term": 1,
            "status": status,
        }

    @staticmethod
    def _refuse_vector(index: dict, doc_id: str | None, source: dict) -> dict | None:
        """The k-NN plugin refuses a vector of another length than the mapping's."""
        spec = index["mappings"].get("properties", {}).get("vector", {})
        vector = source.get("vector")
        if vector is None or spec.get("dimension") in (None, len(vector)):
            return None
        return {
            "type": "mapper_parsing_exception",
            "reason": f"failed to parse field [vector] of type [knn_vector] in document with id '{doc_id}'. "
            "Preview of field's value: 'null'",
            "caused_by": {
                "type": "illegal_argument_exception",
                "reason": f"Vector dimension mismatch. Expected: {spec['dimension']}, Given: {len(vector)}",
            },
            "status": 400,
        }

    def _delete(self, doc: Doc) -> None:
        if self.profile == "serverless":
            doc.deleted_at = time.monotonic() + self.refresh_delay
        else:
            doc.delete_pending = True

    def _refresh(self, request: Request):
        if self.profile == "serverless":
            return 404, error_body(404, "unsupported_operation", "_refresh is not supported by OpenSearch Serverless")
        now = time.monotonic()
        if self._name(request) not in self.indexes:
            return missing_index(self._name(request))
        with self.lock:
            for doc in self.indexes[self._name(request)]["docs"].values():
                if doc.visible_at == math.inf:
                    doc.visible_at = now
                if doc.delete_pending:
                    doc.deleted_at, doc.delete_pending = now, False
        return 200, {"_shards": {"total": 2, "successful": 1, "failed": 0}}

    def _delete_by_query(self, request: Request):
        if self.profile == "serverless":
            return 404, error_body(
                404, "unsupported_operation", "_delete_by_query is not supported by OpenSearch Serverless"
            )
        name = self._name(request)
        if name not in self.indexes:
            return missing_index(name)
        with self.lock:
            hits = self._matching(name, request.json().get("query", {"match_all": {}}), time.monotonic())
            for doc_id, _, _ in hits:
                self._delete(self.indexes[name]["docs"][doc_id])
        return 200, {
            "took": 1,
            "timed_out": False,
            "total": len(hits),
            "deleted": len(hits),
            "batches": 1 if hits else 0,
            "version_conflicts": 0,
            "noops": 0,
            "retries": {"bulk": 0, "search": 0},
            "throttled_millis": 0,
            "requests_per_second": -1.0,
            "throttled_until_millis": 0,
            "failures": [],
        }

    def _create_pit(self, request: Request):
        pit = uuid.uuid4().hex
        self.pits[pit] = (self._name(request), time.monotonic())
        return 200, {
            "pit_id": pit,
            "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
            "creation_time": 0,
        }

    def _delete_pit(self, request: Request):
        ids = request.json().get("pit_id", [])
        return 200, {"pits": [{"pit_id": p, "successful": self.pits.pop(p, None) is not None} for p in ids]}

    def _count(self, request: Request):
        name = self._name(request)
        if name not in self.indexes:
            return missing_index(name)
        query = request.json().get("query", {"match_all": {}}) if request.body else {"match_all": {}}
        return 200, {"count": len(self._matching(name, query, time.monotonic())), "_shards": SHARDS}

    def _search_route(self, request: Request, name: str | None):
        body = request.json() if request.body else {}
        return self.search(name, body)

    def _msearch(self, request: Request):
        lines = request.ndjson()
        responses = []
        for header, body in zip(lines[::2], lines[1::2], strict=True):
            status, answer = self.search(header.get("index"), body)
            responses.append(answer | {"status": status})
        return 200, {"took": 2, "responses": responses}

    # -- search ------------------------------------------------------------------------------

    def search(self, name: str | None, body: dict):
        at = time.monotonic()
        if "pit" in body:
            if body["pit"]["id"] not in self.pits:
                return 404, error_body(404, "search_context_missing_exception", "no such pit")
            name, at = self.pits[body["pit"]["id"]]
        if name not in self.indexes:
            return missing_index(name)
        with self.lock:
            hits = self._matching(name, body.get("query", {"match_all": {}}), at)
        total = len(hits)  # every match, whatever search_after skips
        sort = body.get("sort")
        if sort:
            keys = [(next(iter(s)), next(iter(s.values()))) for s in sort]

            def key(hit):
                return [self._sort_value(hit[1].get(field), spec) for field, spec in keys]

            hits.sort(key=key)
            if "search_after" in body:
                hits = [
                    h
                    for h in hits
                    if key(h)
                    > [self._sort_value(v, spec) for v, (_, spec) in zip(body["search_after"], keys, strict=True)]
                ]
        else:
            hits.sort(key=lambda h: -h[2])
        size = body.get("size", 10)
        wanted = body.get("_source", True)
        out = []
        for doc_id, source, score in hits[:size]:
            hit: dict[str, Any] = {"_index": name, "_id": doc_id, "_score": None if sort else score}
            if wanted is not False:
                excludes = wanted.get("excludes", []) if isinstance(wanted, dict) else []
                hit["_source"] = {k: v for k, v in source.items() if k not in excludes}
            if sort:
                hit["sort"] = [source.get(field) for field, _ in keys]
            out.append(hit)
        scores = [h["_score"] for h in out if h["_score"] is not None]
        response: dict[str, Any] = {
            "took": 1,
            "timed_out": False,
            "_shards": SHARDS,
            "hits": {
                "total": {"value": total, "relation": "eq"},
                "max_score": max(scores, default=None),
                "hits": out,
            },
        }
        if "pit" in body:
            response = {"pit_id": body["pit"]["id"], **response}
        if "aggs" in body:
            response["aggregations"] = self._aggs(body["aggs"], [source for _, source, _ in hits])
        return 200, response

    @staticmethod
    def _sort_value(value, spec):
        """Ascending order, missing values first or last as asked (the store sorts nothing else)."""
        if (spec if isinstance(spec, str) else spec.get("order", "asc")) != "asc":
            raise ValueError("the fake sorts ascending only")
        missing = None if isinstance(spec, str) else spec.get("missing")
        present = value is not None
        return (1 if present else (0 if missing == "_first" else 2), value if present else "")

    def _matching(self, name: str, query: dict, at: float) -> list[tuple[str, dict, float]]:
        docs = [(i, d.source) for i, d in self.indexes[name]["docs"].items() if d.visible(at)]
        knn: dict[int, dict[str, float]] = {}
        out = []
        for doc_id, source in docs:
            ok, score = self._match(query, doc_id, source, docs, knn)
            if ok:
                out.append((doc_id, source, score))
        return out

    def _match(self, query: dict, doc_id: str, source: dict, docs, knn) -> tuple[bool, float]:
        ((kind, spec),) = query.items()
        if kind == "match_all":
            return True, 1.0
        if kind == "bool":
            score = 0.0
            for clause in spec.get("must", []):
                ok, s = self._match(clause, doc_id, source, docs, knn)
                if not ok:
                    return False, 0.0
                score += s
            for clause in spec.get("filter", []):
                if not self._match(clause, doc_id, source, docs, knn)[0]:
                    return False, 0.0
            for clause in spec.get("must_not", []):
                if self._match(clause, doc_id, source, docs, knn)[0]:
                    return False, 0.0
            should = [self._match(c, doc_id, source, docs, knn) for c in spec.get("should", [])]
            needed = spec.get("minimum_should_match", 0 if spec.get("must") or spec.get("filter") else 1)
            if should and sum(ok for ok, _ in should) < needed:
                return False, 0.0
            return True, score + sum(s for ok, s in should if ok)
        if kind == "term":
            ((field, value),) = spec.items()
            value = value["value"] if isinstance(value, dict) else value
            if field == "folder_path":
                return value in _ancestors(source.get("folder") or ""), 0.0
            return source.get(field) == value, 0.0
        if kind == "terms":
            ((field, values),) = spec.items()
            return source.get(field) in values, 0.0
        if kind == "ids":
            return doc_id in spec["values"], 0.0
        if kind == "exists":
            return source.get(spec["field"]) is not None, 0.0
        if kind == "range":
            ((field, bounds),) = spec.items()
            value = source.get(field)
            if value is None:
                return False, 0.0
            tests = {"lt": value.__lt__, "lte": value.__le__, "gt": value.__gt__, "gte": value.__ge__}
            return all(tests[op](bound) for op, bound in bounds.items()), 0.0
        if kind == "multi_match":
            body = " ".join(str(source.get(f.split(".")[0]) or "") for f in spec["fields"])
            words = _tokens(body)
            score = float(sum(words.count(t) for t in set(_tokens(spec["query"]))))
            return score > 0, score
        if kind in ("match", "match_phrase"):
            ((field, value),) = spec.items()
            text = value["query"] if isinstance(value, dict) else value
            body = source.get(field.split(".")[0]) or ""
            if kind == "match_phrase":
                found = " ".join(_tokens(text)) in " ".join(_tokens(body))
                return found, 2.0 if found else 0.0
            words = _tokens(body)
            score = float(sum(words.count(t) for t in set(_tokens(text))))
            return score > 0, score
        if kind == "knn":
            ((field, clause),) = spec.items()
            key = id(clause)
            if key not in knn:
                scored = []
                for other_id, other in docs:
                    if other.get(field) is None:
                        continue
                    if "filter" in clause and not self._match(clause["filter"], other_id, other, docs, {})[0]:
                        continue
                    scored.append((self._knn_score(clause["vector"], other[field]), other_id))
                scored.sort(reverse=True)
                knn[key] = {i: s for s, i in scored[: clause["k"]]}
            return (doc_id in knn[key]), knn[key].get(doc_id, 0.0)
        raise ValueError(f"the fake does not know the {kind!r} query")

    def _knn_score(self, query: list[float], vector: list[float]) -> float:
        """The k-NN score of the index's space (the formulas of OpenSearch's k-NN spaces page)."""
        spaces = [
            i["mappings"].get("properties", {}).get("vector", {}).get("method", {}) for i in self.indexes.values()
        ]
        space = next((m.get("space_type") for m in spaces if m), "cosinesimil")
        if space == "innerproduct":
            ip = sum(x * y for x, y in zip(query, vector, strict=True))
            return 1 + ip if ip >= 0 else 1 / (1 - ip)
        if space == "l2":
            return 1 / (1 + sum((x - y) ** 2 for x, y in zip(query, vector, strict=True)))
        return (1 + _cosine(query, vector)) / 2

    def _aggs(self, aggs: dict, sources: list[dict]) -> dict:
        out = {}
        for name, spec in aggs.items():
            subs = spec.get("aggs", {})
            if "terms" in spec:
                field = spec["terms"]["field"]
                groups: dict[Any, list[dict]] = {}
                for source in sources:
                    if source.get(field) is not None:
                        groups.setdefault(source[field], []).append(source)
                order = spec["terms"].get("order", {"_count": "desc"})
                if "_key" in order:
                    keys = sorted(groups, reverse=order["_key"] == "desc")
                else:
                    keys = sorted(groups, key=lambda k: (-len(groups[k]), k))
                keys = keys[: spec["terms"].get("size", 10)]
                buckets = [{"key": k, "doc_count": len(groups[k]), **self._aggs(subs, groups[k])} for k in keys]
                out[name] = {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": buckets}
            elif "composite" in spec:
                names = [next(iter(s)) for s in spec["composite"]["sources"]]
                fields = [s[n]["terms"]["field"] for s, n in zip(spec["composite"]["sources"], names, strict=True)]
                groups = {}
                for source in sources:
                    values = tuple(source.get(f) for f in fields)
                    if None not in values:
                        groups.setdefault(values, []).append(source)
                keys = sorted(groups)
                after = spec["composite"].get("after")
                if after:
                    keys = [k for k in keys if k > tuple(after[n] for n in names)]
                keys = keys[: spec["composite"]["size"]]
                buckets = [
                    {
                        "key": dict(zip(names, k, strict=True)),
                        "doc_count": len(groups[k]),
                        **self._aggs(subs, groups[k]),
                    }
                    for k in keys
                ]
                out[name] = {"buckets": buckets}
                if buckets:
                    out[name]["after_key"] = buckets[-1]["key"]
            elif "cardinality" in spec:
                field = spec["cardinality"]["field"]
                out[name] = {"value": len({s.get(field) for s in sources if s.get(field) is not None})}
            elif "max" in spec:
                values = [s[spec["max"]["field"]] for s in sources if s.get(spec["max"]["field"]) is not None]
                out[name] = {"value": float(max(values)) if values else None}
            else:
                raise ValueError(f"the fake does not know the aggregation {spec}")
        return out


def info_body(number: str) -> dict:
    return {
        "name": "node-1",
        "cluster_name": "ragbot",
        "cluster_uuid": "zXvfaYK4SOW2V2eBnbvRuA",
        "version": {
            "distribution": "opensearch",
            "number": number,
            "build_type": "tar",
            "build_hash": "2e4741fb45d1b150aaeeadf66d41445b23ff5982",
            "build_date": "2025-02-27T01:16:47.726162386Z",
            "build_snapshot": False,
            "lucene_version": "9.12.1",
            "minimum_wire_compatibility_version": "7.10.0",
            "minimum_index_compatibility_version": "7.0.0",
        },
        "tagline": "The OpenSearch Project: https://opensearch.org/",
    }
