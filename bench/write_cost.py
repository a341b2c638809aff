"""What one ``write_document`` costs as the embedded index grows (rag/stores/embedded.py).

A rewrite of an indexed document is one ``merge_insert`` (new chunks in, unchanged ones updated,
the rest out, in one commit), which joins the rows against the whole table: its cost grows with
the index. A new document needs none of that, so the store checks whether the source has rows
and appends. This builds an index of N chunks (100-chunk documents of ~1 kB chunks, random unit
vectors) through ``write_document``, then times, interleaved, median of ``--writes`` each:

* ``write_document`` of a new document, as shipped (the check and an append);
* the same new document written with the merge (what every write did before);
* ``write_document`` of an indexed document with one chunk changed (the merge, as shipped).

    python -m bench.write_cost [--chunks 30000,100000] [--writes 15]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from rag.records import Chunk
from rag.stores.embedded import LanceDBVectorStore, replace_document, table_rows

PER_DOC = 100


def document(d: int, rng: np.random.Generator, version: int = 0) -> tuple[str, list[Chunk], np.ndarray]:
    source = f"folder {d % 37}/document {d}.pdf"
    chunks = [
        Chunk(
            id=f"{d}-{i}-{version if i == 0 else 0}",
            source=source,
            folder=f"folder {d % 37}",
            page=i // 4 + 1,
            text=f"lorem ipsum dolor {d} {i} {version} " * 40,
            doc_hash=f"{d}-{version}",
            chunk_index=i,
        )
        for i in range(PER_DOC)
    ]
    vectors = rng.standard_normal((PER_DOC, 384)).astype(np.float32)
    return source, chunks, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def merged(store: LanceDBVectorStore, source: str, chunks: list[Chunk], vectors: np.ndarray) -> None:
    """The write as it was for every document: one merge against the whole table."""
    replace_document(store._open(), source, table_rows(chunks, vectors))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", default="30000,100000")
    parser.add_argument("--writes", type=int, default=15)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(
        "| chunks in the index | new document, as shipped | new document, merged (before) | rewrite (merge) | build |"
    )
    print("|---:|---:|---:|---:|---:|")
    for n in (int(x) for x in args.chunks.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            store = LanceDBVectorStore(Path(tmp))
            started = time.perf_counter()
            docs = n // PER_DOC
            for d in range(docs):
                store.write_document(*document(d, rng))
            store.refresh()
            build = time.perf_counter() - started
            times: dict[str, list[float]] = {"shipped": [], "merged": [], "rewrite": []}
            for i in range(args.writes):
                for name, write, d in (
                    ("shipped", store.write_document, docs + 2 * i),
                    ("merged", lambda *a: merged(store, *a), docs + 2 * i + 1),
                    ("rewrite", store.write_document, i),
                ):
                    source, chunks, vectors = document(d, rng, version=1)
                    started = time.perf_counter()
                    write(source, chunks, vectors)
                    times[name].append((time.perf_counter() - started) * 1000)
            m = {k: statistics.median(v) for k, v in times.items()}
            print(
                f"| {n:,} | {m['shipped']:.1f} ms | {m['merged']:.1f} ms ({m['merged'] / m['shipped']:.1f}x) "
                f"| {m['rewrite']:.1f} ms | {build:.0f} s |"
            )


if __name__ == "__main__":
    main()
