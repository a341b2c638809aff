"""The embedded store at a million chunks: build time, memory, disk, search p50/p95.

Where should a team move from the embedded store to OpenSearch? This fills one
``LanceDBVectorStore`` with ``--chunks`` synthetic chunks (the vocabulary, section numbers and
codes of ``search_latency.py``, a context per chunk, random unit vectors of dimension 384) and
times, for the whole store:

* loading: appended in slices of ``--slice`` rows with LanceDB's ``add`` (what a one-time bulk
  load does; ``write_document``'s per-document cost at this size is the per-document figure of
  ``search_latency.py`` times the number of documents, since each write merges into the table);
* ``refresh()``: the BM25 index (context and text in one column), then the IVF-HNSW-SQ vector index, then
  compaction, each timed;
* ``store.search`` p50/p95 in the three modes, interleaved, ``--queries`` queries each;
* peak memory (max RSS) of the process and the store's size on disk.

    nice python -m bench.search_scale [--chunks 1000000] [--queries 100]

``--real-text`` fills the store with the chunks of the real-document indexes instead
(``bench/real_retrieval.py`` leaves them under ``bench/corpora/cache/index``: Debian's manuals
and LaTeX News, with their contexts), copied as often as ``--chunks`` needs, under a new file
name per copy, and asks the 127 real questions of ``bench/questions/`` in turn. The synthetic
vocabulary has about 2,000 words, so every query word's posting list spans a large share of the
store: BM25's worst case. Real text has a long tail of rare words. Copies of one corpus keep its
vocabulary and make every posting list as long as the number of copies, which is still harder
than 100k chunks of different manuals would be.

    nice python -m bench.search_scale --real-text --chunks 100000 --queries 200
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.search_latency import (
    DIM,
    K,
    _Timer,
    chunk_texts,
    du_mb,
    pct,
    query_texts,
    section,
    timed_apart,
    unit_vectors,
    vocabulary,
)

from rag.records import chunk_id
from rag.stores.embedded import LanceDBVectorStore, search_text
from rag.stores.identifiers import identifier_phrases


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def real_chunks() -> list[dict]:
    """The chunks of the real-document indexes (text, context, source, page), vectors left out."""
    from bench.realdocs import CACHE

    out = []
    for corpus in ("manuals", "latex-news"):
        index = CACHE / "index" / corpus
        if not index.is_dir():
            sys.exit(f"no index at {index}: run python -m bench.fetch_corpora and bench/real_retrieval.py first")
        out += [c.model_dump() for c in LanceDBVectorStore(index).chunks()]
    return out


def real_questions(n: int) -> list[str]:
    from bench.realdocs import load_questions

    asked = [q["query"] for corpus in ("manuals", "latex-news") for q in load_questions(corpus)]
    return [asked[i % len(asked)] for i in range(n)]


def real_rows(chunks: list[dict], start: int, n: int, rng) -> list[dict]:
    """Rows ``start`` to ``start + n`` of the copies of ``chunks``; copy c of a file is "cN/file"."""
    rows = []
    for i, vector in zip(range(start, start + n), unit_vectors(rng, n), strict=True):
        copy, c = divmod(i, len(chunks))
        base = chunks[c]
        source = f"c{copy}/{base['source']}"
        rows.append(
            base
            | {
                "id": chunk_id(source, base["page"], base["text"]),
                "source": source,
                "folder": source.rpartition("/")[0],
                "search_text": search_text(base["context"], base["text"]),
                "vector": vector,
            }
        )
    return rows


def synthetic_rows(start: int, n: int, args, rng, words, probs) -> list[dict]:
    """Rows ``start`` to ``start + n`` of synthetic documents of ``args.per_doc`` chunks."""
    rows = []
    for i, (text, vector) in enumerate(zip(chunk_texts(rng, words, probs, n), unit_vectors(rng, n), strict=True)):
        d, c = divmod(start + i, args.per_doc)
        source = f"Division {d % 33 + 1:02d}/Standard {d:06d}.pdf"
        folder = source.rpartition("/")[0]
        context = f"Standard {d:06d} · {folder} · {section(rng)}"
        rows.append(
            {
                "id": chunk_id(source, c // 3 + 1, text),
                "source": source,
                "folder": folder,
                "page": c // 3 + 1,
                "text": text,
                "doc_hash": f"{d:064x}",
                "chunk_index": c,
                "context": context,
                "search_text": search_text(context, text),
                "vector": vector,
            }
        )
    return rows


def search(store, args, rng, words, probs, work: Path) -> None:
    """p50/p95 of each mode, each on its own queries; the store's size once old versions are gone."""
    if args.real_text:
        q_texts = real_questions(10 + 3 * args.queries)
    else:
        q_texts = query_texts(rng, words, probs, 10 + 3 * args.queries)
    q_vecs = unit_vectors(rng, 10 + 3 * args.queries)
    lat, given = timed_apart(
        {m: (lambda t, v, m=m: store.search(t, v, k=K, mode=m)) for m in ("vector", "keyword", "hybrid")},
        10,
        list(zip(q_texts, q_vecs, strict=True)),
    )
    print("\n| chunks | mode | p50 ms | p95 ms |\n|---:|---|---:|---:|")
    for mode in ("hybrid", "vector", "keyword"):
        print(f"| {store.count():,} | {mode} | {pct(lat[mode], 50):.1f} | {pct(lat[mode], 95):.1f} |")
    ident = [x for x, (t, _) in zip(lat["hybrid"], given["hybrid"], strict=True) if identifier_phrases(t)]
    if ident:
        print(
            f"| {store.count():,} | hybrid, queries with an identifier ({len(ident)}) | {pct(ident, 50):.1f} | {pct(ident, 95):.1f} |"
        )
    from datetime import timedelta

    store._open().optimize(cleanup_older_than=timedelta(0), delete_unverified=True)
    print(
        f"\non disk without old versions {du_mb(work / 'index'):.0f} MB; peak rss {rss_mb():.0f} MB; load avg {os.getloadavg()[0]:.2f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chunks", type=int, default=1_000_000)
    ap.add_argument("--slice", type=int, default=50_000)
    ap.add_argument("--per-doc", type=int, default=100)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--keep", type=Path, default=None, help="build here and keep the store")
    ap.add_argument("--reuse", action="store_true", help="with --keep: search the store kept there, build nothing")
    ap.add_argument("--real-text", action="store_true", help="copies of the real-document chunks, real questions")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    words, probs = vocabulary(rng)
    text = "copies of the real-document chunks" if args.real_text else "synthetic text"
    print(
        f"# embedded store at {args.chunks:,} chunks of {text}  (load avg {os.getloadavg()[0]:.2f}, {os.cpu_count()} cpus)"
    )
    chunks = real_chunks() if args.real_text else None
    work = args.keep or Path(tempfile.mkdtemp(prefix="ragbot-bench-scale-"))
    try:
        store = LanceDBVectorStore(work / "index")
        if args.reuse:
            search(store, args, rng, words, probs, work)
            return
        started = time.perf_counter()
        gen_s = 0.0
        for start in range(0, args.chunks, args.slice):
            t = time.perf_counter()
            n = min(args.slice, args.chunks - start)
            if chunks is not None:
                rows = real_rows(chunks, start, n, rng)
            else:
                rows = synthetic_rows(start, n, args, rng, words, probs)
            gen_s += time.perf_counter() - t
            table = store._open(dimension=DIM)
            table.add(rows)
            print(
                f"  {start + n:,} rows loaded, {time.perf_counter() - started:.0f} s, rss {rss_mb():.0f} MB", flush=True
            )
        load_s = time.perf_counter() - started - gen_s
        timer = _Timer(store._open(), ["create_fts_index", "create_index", "optimize"])
        t = time.perf_counter()
        store.refresh()
        refresh_s = time.perf_counter() - t
        size = du_mb(work / "index")
        indices = {i.columns[0]: i.index_type for i in store._open().list_indices()}
        print(
            f"loaded {store.count():,} chunks in {load_s:.0f} s (data generation {gen_s:.0f} s not counted); refresh {refresh_s:.0f} s "
            f"({', '.join(f'{k} {v:.0f} s' for k, v in timer.seconds.items())}); indexes {indices}; {size:.0f} MB on disk; "
            f"peak rss {rss_mb():.0f} MB",
            flush=True,
        )
        search(store, args, rng, words, probs, work)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
