"""Search latency of the embedded store and OpenSearch side by side, on the same real passages:
``python -m bench.search_latency --store opensearch`` runs this.

Data: every chunk of the three real corpora (bench/corpora: manuals, LaTeX News, filings) as the
Ingestor chunks them, with the all-MiniLM-L6-v2 vectors of bench/realdocs.py's embedding cache
(the first run embeds what the cache lacks), copied under ``copy NN/`` folders until there are
``n`` chunks. A copy's vectors are turned by a small random angle (cosine about 0.995 to the
original) so no two vectors are equal: HNSW graphs of exact duplicates are a case of their own.
Queries: the real questions of bench/questions, embedded by the same model.

Both stores get the same documents through ``write_document``, then ``refresh()``: LanceDB as
shipped (IVF-HNSW-SQ above 20k chunks, one BM25 column, 30 candidates per side) and OpenSearch as
shipped (Lucene HNSW m=16 ef_construction=100, english-analysed BM25 over text and context,
client-side fusion, 50 candidates per side) on the local node of bench/opensearch_node.py,
started and stopped here (``--opensearch-url``: a running cluster instead). OpenSearch is timed
as written (its segments as the writes left them) and again after ``_forcemerge`` to one segment.

Each round gives each engine and mode its own queries (``timed_apart``), the order turning from
round to round; the tables show the median over the rounds of each p50 and p95, and the ratio
OpenSearch / embedded of the medians. Recall@k of each engine's vector search is against exact
cosine over the same vectors.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np

from bench import opensearch_node
from bench.realdocs import CACHE, CORPORA, CachedEmbedder, load_questions
from bench.search_latency import DIM, K, du_mb, pct, timed_apart
from rag.records import Chunk, chunk_id

CORPUS_NAMES = ("manuals", "latex-news", "filings")
MODES = ("hybrid", "vector", "keyword")
INDEX = "ragbot-bench-latency"


def real_chunks(embedder) -> tuple[list[Chunk], np.ndarray]:
    """The chunks of the real corpora, in ingest order, and their vectors (row i: chunk i)."""
    from rag.ingest.ingestor import Ingestor, embedding_text
    from rag.stores.embedded import LanceDBVectorStore

    chunks: list[Chunk] = []
    with tempfile.TemporaryDirectory(prefix="ragbot-bench-real-") as tmp:
        for corpus in CORPUS_NAMES:
            store = LanceDBVectorStore(Path(tmp) / corpus)
            Ingestor(store, embedder).ingest([CORPORA / corpus])
            chunks += [c.model_copy(update={"source": f"{corpus}/{c.source}"}) for c in store.chunks()]
    return chunks, embedder.embed_documents([embedding_text(c) for c in chunks])


def copied_documents(chunks: list[Chunk], vectors: np.ndarray, n: int, rng: np.random.Generator):
    """``(source, chunks, vectors)`` of whole documents, copies of the real ones after the first
    pass, until ``n`` chunks have been given."""
    by_source: dict[str, list[int]] = {}
    for i, c in enumerate(chunks):
        by_source.setdefault(c.source, []).append(i)
    given, copy = 0, 0
    while given < n:
        for source, rows in by_source.items():
            rows = rows[: n - given]
            if not rows:
                return
            name = f"copy {copy:02d}/{source}"
            moved = vectors[rows]
            if copy:
                moved = moved + rng.standard_normal(moved.shape, dtype=np.float32) * (0.1 / np.sqrt(DIM))
                moved /= np.linalg.norm(moved, axis=1, keepdims=True)
            renamed = [
                chunks[i].model_copy(
                    update={
                        "id": chunk_id(name, chunks[i].page, chunks[i].text),
                        "source": name,
                        "folder": name.rpartition("/")[0],
                    }
                )
                for i in rows
            ]
            yield name, renamed, moved.astype(np.float32)
            given += len(rows)
        copy += 1


def fill(stores: dict, documents) -> tuple[dict, np.ndarray, list[str]]:
    """Every document written to every store, then each refreshed; the seconds each took, the
    vectors (row i: chunk ``ids[i]``) and the chunk ids."""
    seconds = {name: {"write": 0.0, "refresh": 0.0} for name in stores}
    matrix, ids = [], []
    for source, chunks, vectors in documents:
        for name, store in stores.items():
            started = time.perf_counter()
            store.write_document(source, chunks, vectors)
            seconds[name]["write"] += time.perf_counter() - started
        matrix.append(vectors)
        ids += [c.id for c in chunks]
    for name, store in stores.items():
        started = time.perf_counter()
        store.refresh()
        seconds[name]["refresh"] = time.perf_counter() - started
    return seconds, np.concatenate(matrix), ids


def time_rounds(stores: dict, calls: list, args) -> dict:
    """p50 and p95 (ms) of each ``engine:mode`` in each round, each its own queries."""
    names = [f"{engine}:{mode}" for mode in MODES for engine in stores]
    fns = {
        name: (lambda t, v, s=stores[name.split(":")[0]], m=name.split(":")[1]: s.search(t, v, k=K, mode=m))
        for name in names
    }
    per_round = {name: [] for name in names}
    need = args.warmup + len(names) * args.queries
    for r in range(args.rounds):
        turned = {name: fns[name] for name in names[r % len(names) :] + names[: r % len(names)]}
        pool = [calls[(r * 7 + i) % len(calls)] for i in range(need)]
        lat, _ = timed_apart(turned, args.warmup, pool)
        for name, xs in lat.items():
            per_round[name].append((pct(xs, 50), pct(xs, 95)))
    return per_round


def recall(stores: dict, matrix: np.ndarray, ids: list[str], vectors: list[np.ndarray]) -> dict:
    """Recall@K of each store's vector search against exact cosine top K."""
    found = {name: 0 for name in stores}
    for v in vectors:
        exact = {ids[i] for i in np.argsort(-(matrix @ v))[:K]}
        for name, store in stores.items():
            found[name] += len(exact & {r.chunk.id for r in store.search("", v, k=K, mode="vector")})
    return {name: hits / (K * len(vectors)) for name, hits in found.items()}


def beams(url: str, matrix: np.ndarray, ids: list[str], calls: list, args) -> list[str]:
    """OpenSearch's vector search by ``ef_search`` (the k-NN query's k): recall@K against exact
    cosine and p50 / p95, each width its own queries."""
    from rag.stores.opensearch import OpenSearchVectorStore

    stores = {e: OpenSearchVectorStore(url, INDEX, ef_search=e) for e in (50, 100, 200, 400)}
    found = recall(stores, matrix, ids, [v for _, v in calls[:100]])
    fns = {e: (lambda t, v, s=s: s.search(t, v, k=K, mode="vector")) for e, s in stores.items()}
    lat, _ = timed_apart(fns, args.warmup, [calls[i % len(calls)] for i in range(args.warmup + 4 * args.queries)])
    lines = ["| ef_search (k-NN k) | recall@5 | p50 / p95 ms |", "|---:|---:|---:|"]
    for e in stores:
        lines.append(f"| {e} | {found[e]:.1%} | {pct(lat[e], 50):.1f} / {pct(lat[e], 95):.1f} |")
    for store in stores.values():
        store.close()
    return lines


def opensearch_figures(store) -> dict:
    client = store.client()
    stats = client.indices.stats(index=store.index)["_all"]["primaries"]
    heap = [n["jvm"]["mem"] for n in client.nodes.stats(metric="jvm")["nodes"].values()]
    return {
        "segments": stats["segments"]["count"],
        "size_mb": stats["store"]["size_in_bytes"] / 2**20,
        "heap_used_mb": max(h["heap_used_in_bytes"] for h in heap) / 2**20,
        "heap_max_mb": max(h["heap_max_in_bytes"] for h in heap) / 2**20,
    }


def summary(rounds: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(p for p, _ in rounds), statistics.median(p for _, p in rounds)


def table(label: str, per_round: dict, engines: tuple[str, str]) -> list[str]:
    first, second = engines
    lines = [
        f"| {label}: mode | {first} p50 / p95 ms | {second} p50 / p95 ms | ratio p50 | ratio p95 |",
        "|---|---:|---:|---:|---:|",
    ]
    for mode in MODES:
        a, b = summary(per_round[f"{first}:{mode}"]), summary(per_round[f"{second}:{mode}"])
        lines.append(
            f"| {mode} | {a[0]:.1f} / {a[1]:.1f} | {b[0]:.1f} / {b[1]:.1f} | {b[0] / a[0]:.2f}x | {b[1] / a[1]:.2f}x |"
        )
    return lines


def side_by_side(args) -> None:
    """``search_latency.py --store opensearch``: see the module docstring."""
    from rag.embedders.local import SentenceTransformerEmbedder
    from rag.stores.embedded import LanceDBVectorStore
    from rag.stores.opensearch import OpenSearchVectorStore

    rng = np.random.default_rng(args.seed)
    model = SentenceTransformerEmbedder("all-MiniLM-L6-v2")
    embedder = CachedEmbedder(model, CACHE / "embeddings-all-MiniLM-L6-v2.sqlite")
    started = time.perf_counter()
    chunks, vectors = real_chunks(embedder)
    questions = [q["query"] for corpus in CORPUS_NAMES for q in load_questions(corpus)]
    calls = [(q, model.embed_query(q)) for q in questions]
    print(
        f"real passages: {len(chunks):,} chunks of {len({c.source for c in chunks})} files "
        f"(embedded {embedder.computed}, from cache {embedder.cached}; {time.perf_counter() - started:.0f} s); "
        f"{len(calls)} real questions; k={K}; {args.rounds} rounds of {args.queries} queries per engine and mode "
        f"after {args.warmup} warm-up queries"
    )
    local = not args.opensearch_url
    with opensearch_node.running(heap=args.heap) if local else nullcontext() as node:
        url = args.opensearch_url or node.url
        where = f"the local node, -Xmx{args.heap}" if local else "the cluster"
        for n in sorted(args.sizes):
            work = Path(tempfile.mkdtemp(prefix="ragbot-bench-side-"))
            opensearch = OpenSearchVectorStore(url, INDEX, timeout=600)
            opensearch.client().indices.delete(index=INDEX, ignore_unavailable=True)
            stores = {"embedded": LanceDBVectorStore(work / "embedded"), "opensearch": opensearch}
            try:
                seconds, matrix, ids = fill(stores, copied_documents(chunks, vectors, n, rng))
                before = opensearch_figures(opensearch)
                vector_index = {i.columns[0]: i.index_type for i in stores["embedded"]._open().list_indices()}
                print(f"\n## {len(ids):,} chunks; OpenSearch: {where} at {url}, {opensearch.detected()['version']}")
                print("\n| engine | write_document, all | refresh | on disk | index |\n|---|---:|---:|---:|---|")
                print(
                    f"| embedded | {seconds['embedded']['write']:.1f} s | {seconds['embedded']['refresh']:.1f} s "
                    f"| {du_mb(work / 'embedded'):.0f} MB | {vector_index.get('vector', 'flat')} |"
                )
                print(
                    f"| opensearch | {seconds['opensearch']['write']:.1f} s | {seconds['opensearch']['refresh']:.1f} s "
                    f"| {before['size_mb']:.0f} MB | Lucene HNSW, {before['segments']} segments; heap used "
                    f"{before['heap_used_mb']:.0f} of {before['heap_max_mb']:.0f} MB |"
                )
                sample = [v for _, v in calls[:100]]
                found = recall(stores, matrix, ids, sample)
                print(
                    f"\nrecall@{K} of vector search against exact cosine, {len(sample)} questions: "
                    + ", ".join(f"{name} {r:.1%}" for name, r in found.items())
                )
                per_round = time_rounds(stores, calls, args)
                print()
                print("\n".join(table(f"{len(ids):,} chunks, store.search", per_round, ("embedded", "opensearch"))))
                print("\nOpenSearch vector search by search width, as written:\n")
                print("\n".join(beams(url, matrix, ids, calls, args)))
                started = time.perf_counter()
                opensearch.client().indices.forcemerge(index=INDEX, max_num_segments=1, request_timeout=3600)
                opensearch.refresh()  # searches, and the segment count, see the merged segment from here on
                merge_s = time.perf_counter() - started
                merged = opensearch_figures(opensearch)
                found = recall({"opensearch": opensearch}, matrix, ids, sample)["opensearch"]
                print(
                    f"\nOpenSearch _forcemerge to 1 segment: {merge_s:.0f} s, {merged['segments']} segments, "
                    f"{merged['size_mb']:.0f} MB; vector recall@{K} {found:.1%}"
                )
                again = time_rounds(stores, calls, args)
                print()
                print("\n".join(table("after the merge", again, ("embedded", "opensearch"))))
                print("\nOpenSearch vector search by search width, one segment:\n")
                print("\n".join(beams(url, matrix, ids, calls, args)))
                print(f"\nheap used at the end: {opensearch_figures(opensearch)['heap_used_mb']:.0f} MB")
            finally:
                opensearch.client().indices.delete(index=INDEX, ignore_unavailable=True)
                opensearch.close()
                shutil.rmtree(work, ignore_errors=True)
    print(f"\nload avg at end {os.getloadavg()[0]:.2f}")
