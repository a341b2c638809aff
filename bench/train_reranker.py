"""The re-ranker ``ragbot train reranker`` ships, trained on each real corpus and measured on it.

For each corpus index (built by ``bench/real_retrieval.py`` under ``bench/corpora/cache/index``)
this runs what the command runs (``training.reranker.build_reranker``: inverse-cloze pairs mined
from the index, hard negatives from BM25, whole pages held out, no download) and prints:

* the command's own check: hit@1/hit@5/MRR on its held-out pages, with and without the model;
* the real questions of ``bench/questions/<corpus>.jsonl`` (written by people from the pages),
  dev and held-out splits, asked through ``Retriever`` in hybrid mode with and without the model
  in the same run, with the time per query.

Feedback pairs are not part of this run: the corpora come with no feedback.

    nice python -m bench.train_reranker [--corpora manuals,latex-news] [--pairs 1500] [--epochs 1]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from bench.realdocs import CACHE, load_questions


def ask(corpus: str, store, embedder, reranker, split: str) -> list[str]:
    from bench.real_retrieval import metrics, rank_of

    from rag.retrieval import Retriever

    questions = [q for q in load_questions(corpus) if q["split"] == split and q["kind"] != "unanswerable"]
    systems = {
        "hybrid": Retriever(store, embedder),
        "hybrid + re-ranker": Retriever(store, embedder, reranker=reranker),
    }
    lines = []
    for name, retriever in systems.items():
        started = time.perf_counter()
        ranks = []
        for q in questions:
            hits = [{"source": r.chunk.source, "page": r.chunk.page} for r in retriever.search(q["query"], k=10)]
            ranks.append(rank_of(q, hits))
        m = metrics(ranks)
        per_query = (time.perf_counter() - started) / len(questions) * 1000
        lines.append(
            f"| {corpus} | {split} ({len(questions)}) | {name} | {m['hit@1']:.3f} | {m['hit@5']:.3f} | {m['mrr']:.3f} "
            f"| {per_query:.0f} ms |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", default="manuals,latex-news")
    parser.add_argument("--out", type=Path, default=CACHE / "reranker")
    parser.add_argument("--pairs", type=int, default=1500)
    parser.add_argument("--negatives", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--skip-training", action="store_true", help="measure the models already in --out")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from rag.embedders.local import SentenceTransformerEmbedder, resolve_model_path
    from rag.rerankers.cross_encoder import CrossEncoderReranker
    from rag.stores.embedded import LanceDBVectorStore
    from training.reranker import RerankerOptions, build_reranker

    embedder = SentenceTransformerEmbedder("all-MiniLM-L6-v2")
    options = RerankerOptions(pairs=args.pairs, negatives=args.negatives, epochs=args.epochs)
    print(f"# re-ranker per corpus  (load avg {os.getloadavg()[0]:.2f}; {options})")
    table = ["| corpus | questions | system | hit@1 | hit@5 | MRR | per query |", "|---|---|---|---:|---:|---:|---:|"]
    for corpus in args.corpora.split(","):
        store = LanceDBVectorStore(CACHE / "index" / corpus)
        out = args.out / corpus
        if not args.skip_training:
            started = time.perf_counter()
            report = build_reranker(
                store, embedder, [], out, options, resolve_model_path("all-MiniLM-L6-v2"), progress=print
            )
            print(
                f"{corpus}: pairs {report.pairs}, {report.training}, {time.perf_counter() - started:.0f} s; "
                f"held-out pages ({report.held_out}): without {report.without}, with {report.with_reranker}, "
                f"helps={report.helps}",
                flush=True,
            )
        reranker = CrossEncoderReranker(out)
        for split in ("dev", "heldout"):
            table += ask(corpus, store, embedder, reranker, split)
    print("\n" + "\n".join(table))


if __name__ == "__main__":
    main()
