"""Recall of the embedded store's ANN vector search, and what a wider HNSW search costs.

``search_latency.py`` fills its stores with uniform random vectors, on which any ANN index
finds few true neighbours, so its recall figure is a worst case. This script builds one store
just past ``ann_min_rows`` (default 25k chunks, so ``refresh()`` builds the IVF-HNSW-SQ index as
in production) twice: with random unit vectors, and with clustered ones (points around 300
random centres, queries near stored points), a closer stand-in for text embeddings. For each it
prints recall@5 against exact top-5 and p50 latency, for ``store.search(mode="vector")`` as
shipped and for the same LanceDB query with ``.ef(n)`` and ``.refine_factor(n)``. Asserts nothing.

    python -m bench.ann_recall
    python -m bench.ann_recall --chunks 25000 --queries 100
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from bench.search_latency import DIM, K, build_store, timed_interleaved, unit_vectors, vocabulary


def normalise(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chunks", type=int, default=25_000)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()

    rng = np.random.default_rng(args.seed)
    words, probs = vocabulary(rng)
    centres = normalise(rng.standard_normal((300, DIM)))

    def clustered(rng, n):
        return normalise(centres[rng.integers(0, len(centres), n)] + 0.08 * rng.standard_normal((n, DIM)))

    print(
        f"# ANN recall  ({args.chunks:,} chunks, dim {DIM}, k={K}, {args.queries} queries, "
        f"{os.cpu_count()} cpus, load avg {os.getloadavg()[0]:.2f})"
    )
    print()
    print(f"| vectors | query | recall@{K} | p50 ms | p95 ms |")
    print("|---|---|---:|---:|---:|")
    work = Path(tempfile.mkdtemp(prefix="ragbot-bench-recall-"))
    try:
        for name, make in (("random", unit_vectors), ("clustered", clustered)):
            store, matrix, *_ = build_store(work / name, args.chunks, 100, rng, words, probs, make_vectors=make)
            if name == "random":
                queries = unit_vectors(rng, args.queries)
            else:
                queries = normalise(
                    matrix[rng.integers(0, len(matrix), args.queries)] + 0.08 * rng.standard_normal((args.queries, DIM))
                )
            table = store._open()
            index = {i.columns[0]: i.index_type for i in table.list_indices()}.get("vector", "none")

            def lance(v, ef=None, refine=None, limit=K):
                q = table.search(v, vector_column_name="vector").distance_type("cosine").limit(limit)
                if ef:
                    q = q.ef(ef)
                if refine:
                    q = q.refine_factor(refine)
                rows = q.select(["source", "chunk_index", "_distance"]).to_arrow().to_pylist()
                return [(r["source"], r["chunk_index"]) for r in rows[:K]]

            variants = {
                f"store.search(mode='vector') as shipped ({index})": lambda v: [
                    (r.chunk.source, r.chunk.chunk_index) for r in store.search("", v, k=K, mode="vector")
                ],
                ".ef(50)": lambda v: lance(v, ef=50),
                ".ef(100)": lambda v: lance(v, ef=100),
                ".ef(200)": lambda v: lance(v, ef=200),
                ".refine_factor(10)": lambda v: lance(v, refine=10),
                f".limit({store.candidates}), first {K} (the vector side of a hybrid search)": lambda v: lance(
                    v, limit=store.candidates
                ),
            }

            def row(source, chunk_index):
                return int(source.rsplit(" ", 1)[1].split(".")[0]) * 100 + chunk_index

            exact = [set(np.argsort(-(matrix @ v))[:K].tolist()) for v in queries]
            lat = timed_interleaved(variants, 5, [(v,) for v in queries])
            for label, fn in variants.items():
                hits = sum(len(e & {row(s, c) for s, c in fn(v)}) for e, v in zip(exact, queries, strict=True))
                xs = np.asarray(lat[label]) * 1000
                print(
                    f"| {name} | {label} | {hits / (K * len(queries)):.1%} | {np.percentile(xs, 50):.1f} | {np.percentile(xs, 95):.1f} |"
                )
            store = None  # free it before the next size (the closures above are done)
            shutil.rmtree(work / name, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"\n({time.perf_counter() - started:.0f} s)")
