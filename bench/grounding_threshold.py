"""Where to draw the line when attributing an answer's sentences to passages (rag/grounding.py).

For each sample question, the passages ragbot retrieves are checked against two sentences: one
that states the question's known evidence (what a right answer says, e.g. "412 car parking
spaces.") and one that states another question's evidence (what an answer copied from
elsewhere says). Prints both similarity distributions and the threshold that separates them
best (balanced accuracy), next to the one in use.

    python -m bench.grounding_threshold [--docs samples/warehouse-standards] [--questions samples/questions.jsonl]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", default="samples/warehouse-standards")
    parser.add_argument("--questions", default="samples/questions.jsonl")
    args = parser.parse_args()

    from rag.embedders.local import SentenceTransformerEmbedder
    from rag.grounding import DEFAULT_THRESHOLD, split_sentences
    from rag.ingest.chunking import PageChunker
    from rag.ingest.ingestor import Ingestor
    from rag.pipeline import to_citations
    from rag.retrieval import Retriever
    from rag.stores.embedded import LanceDBVectorStore

    questions = [json.loads(line) for line in Path(args.questions).read_text().splitlines() if line.strip()]
    questions = [q for q in questions if q.get("evidence")]
    embedder = SentenceTransformerEmbedder("all-MiniLM-L6-v2")
    rng = random.Random(7)
    positives, negatives = [], []
    with tempfile.TemporaryDirectory() as home:
        store = LanceDBVectorStore(Path(home) / "index")
        Ingestor(store, embedder, PageChunker(1000, 150)).ingest([Path(args.docs)])
        retriever = Retriever(store, embedder)

        def best(sentence: str, passages: list[str]) -> float:
            vectors = embedder.embed_documents([sentence, *passages])
            return float(np.max(vectors[1:] @ vectors[0]))

        for q in questions:
            citations = to_citations(retriever.search(q["query"], k=5))
            sentences = [s for c in citations for s in split_sentences(c.text) if len(s) > 3]
            other = rng.choice([o for o in questions if o["evidence"] != q["evidence"] and o["source"] != q["source"]])
            positives.append(best(f"{q['evidence']}.", sentences))
            negatives.append(best(f"{other['evidence']}.", sentences))
    pos, neg = np.array(positives), np.array(negatives)
    candidates = np.arange(0.2, 0.9, 0.01)
    balanced = [((pos >= t).mean() + (neg < t).mean()) / 2 for t in candidates]
    best_t = float(candidates[int(np.argmax(balanced))])
    pct = lambda a: " ".join(f"{np.percentile(a, p):.2f}" for p in (5, 25, 50, 75, 95))  # noqa: E731
    print(f"{len(pos)} questions")
    print(f"right evidence   p5/25/50/75/95: {pct(pos)}")
    print(f"other evidence   p5/25/50/75/95: {pct(neg)}")
    for t in (best_t, DEFAULT_THRESHOLD):
        print(
            f"threshold {t:.2f}: supported kept {(pos >= t).mean():.0%}, copied-from-elsewhere rejected {(neg < t).mean():.0%}"
        )


if __name__ == "__main__":
    main()
