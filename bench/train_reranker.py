"""Train a small CrossEncoder re-ranker from a corpus, with no download, and measure it.

No cross-encoder weights can be fetched here, so the project makes one: the encoder of the
packaged all-MiniLM-L6-v2 with a fresh scoring head, trained on (query, passage) pairs mined
from an index the way inverse-cloze training does:

* query: a sentence of a chunk (6-30 words), as a reader might half-remember it;
* positive: that chunk, with its context (title, folder, heading), the sentence left in;
* negatives: the best BM25 matches of the sentence on other pages (hard negatives).

Feedback can add pairs in the same shape (an answer rated up endorses its cited passages, one
rated down with a correction demotes them); ``--pairs FILE`` takes such JSONL lines
``{"query", "passage", "label"}`` from the training package's export.

Then asks the dev questions of each corpus with ``hybrid`` and ``hybrid`` + this re-ranker in
the same run and prints hit@1/hit@5/MRR, so the model is kept only where it helps.

    nice python bench/train_reranker.py --corpus manuals --out bench/corpora/cache/reranker [--pairs 1500]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from realdocs import CACHE, load_questions  # noqa: E402

SENTENCE = re.compile(r"(?<=[.!?])\s+")


def mine(store, n_pairs: int, negatives: int, seed: int) -> list[tuple[str, str, float]]:
    table = store._open()
    rows = table.search().select(["id", "source", "page", "text", "context"]).limit(table.count_rows()).to_list()
    rng = random.Random(seed)
    rng.shuffle(rows)
    pairs = []
    for row in rows:
        sentences = [s.strip() for s in SENTENCE.split(row["text"].replace("\n", " ")) if 6 <= len(s.split()) <= 30]
        if not sentences:
            continue
        query = rng.choice(sentences)
        passage = f"{row['context']}: {row['text']}"
        pairs.append((query, passage, 1.0))
        hits = store.search(query, None, k=negatives + 5, mode="keyword")
        others = [h for h in hits if (h.chunk.source, h.chunk.page) != (row["source"], row["page"])][:negatives]
        pairs += [(query, f"{h.chunk.context}: {h.chunk.text}", 0.0) for h in others]
        if len(pairs) >= n_pairs:
            break
    return pairs


def train(pairs, out: Path, epochs: int, batch_size: int, max_length: int) -> None:
    from datasets import Dataset
    from sentence_transformers.cross_encoder import CrossEncoder, CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    from rag.embedders.local import resolve_model_path

    model = CrossEncoder(resolve_model_path("all-MiniLM-L6-v2"), num_labels=1, max_length=max_length)
    data = Dataset.from_dict(
        {"query": [p[0] for p in pairs], "passage": [p[1] for p in pairs], "label": [p[2] for p in pairs]}
    )
    arguments = CrossEncoderTrainingArguments(
        output_dir=str(out / "checkpoints"),
        num_train_epochs=epochs,
        per_device_train_batch_size=batch_size,
        learning_rate=3e-5,
        warmup_ratio=0.1,
        save_strategy="no",
        logging_steps=20,
        report_to=[],
        use_cpu=True,
        seed=7,
    )
    trainer = CrossEncoderTrainer(model=model, args=arguments, train_dataset=data, loss=BinaryCrossEntropyLoss(model))
    trainer.train()
    model.save_pretrained(str(out))


def evaluate(corpus: str, store, embedder, reranker, split: str) -> None:
    from real_retrieval import metrics, rank_of

    from rag.retrieval import Retriever

    questions = [q for q in load_questions(corpus) if q["split"] == split and q["kind"] != "unanswerable"]
    systems = {
        "hybrid": Retriever(store, embedder),
        "hybrid + re-ranker": Retriever(store, embedder, reranker=reranker),
    }
    print(f"\n{corpus} ({split}, {len(questions)} questions): hit@1 / hit@5 / MRR")
    for name, retriever in systems.items():
        started = time.perf_counter()
        ranks = []
        for q in questions:
            hits = [{"source": r.chunk.source, "page": r.chunk.page} for r in retriever.search(q["query"], k=10)]
            ranks.append(rank_of(q, hits))
        m = metrics(ranks)
        per_query = (time.perf_counter() - started) / len(questions) * 1000
        print(f"| {name} | {m['hit@1']:.3f} | {m['hit@5']:.3f} | {m['mrr']:.3f} | {per_query:.0f} ms/query |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="manuals", help="index to mine pairs from (bench/corpora/cache/index/NAME)")
    parser.add_argument("--evaluate", default="manuals,latex-news")
    parser.add_argument("--out", type=Path, default=CACHE / "reranker")
    parser.add_argument("--pairs", type=int, default=1500)
    parser.add_argument(
        "--extra-pairs", type=Path, default=None, help="JSONL of {query, passage, label} (from feedback)"
    )
    parser.add_argument("--negatives", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--split", default="dev")
    parser.add_argument("--skip-training", action="store_true", help="evaluate the model already in --out")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from rag.embedders.local import SentenceTransformerEmbedder
    from rag.rerankers.cross_encoder import CrossEncoderReranker
    from rag.stores.embedded import LanceDBVectorStore

    if not args.skip_training:
        store = LanceDBVectorStore(CACHE / "index" / args.corpus)
        started = time.perf_counter()
        pairs = mine(store, args.pairs, args.negatives, seed=3)
        if args.extra_pairs:
            pairs += [
                (d["query"], d["passage"], float(d["label"]))
                for d in map(json.loads, args.extra_pairs.read_text().splitlines())
                if d
            ]
        print(
            f"mined {len(pairs)} pairs ({sum(p[2] for p in pairs):.0f} positive) in {time.perf_counter() - started:.0f} s"
        )
        started = time.perf_counter()
        train(pairs, args.out, args.epochs, args.batch_size, args.max_length)
        print(f"trained in {time.perf_counter() - started:.0f} s -> {args.out}")
    embedder = SentenceTransformerEmbedder("all-MiniLM-L6-v2")
    reranker = CrossEncoderReranker(args.out)
    for corpus in args.evaluate.split(","):
        evaluate(corpus, LanceDBVectorStore(CACHE / "index" / corpus), embedder, reranker, args.split)


if __name__ == "__main__":
    main()
