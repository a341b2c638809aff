"""Passage feedback on real documents: does a rated answer lift its passage for questions like its
own, and leave every other question alone? (rag/passage_feedback.py, issue 28 part 2)

For each real corpus (manuals, LaTeX News, filings; ``python -m bench.fetch_corpora`` first) the
corpus is indexed into a temporary folder (embeddings cached in ``bench/corpora/cache`` as
``bench/real_retrieval.py`` does). Feedback is simulated from ``bench/questions/replay.jsonl``:
for every other triple, the original question is searched and, when a top-5 passage holds its
evidence, that passage is endorsed once (one user rated the answer 4-5). Then, with passage
feedback off and on:

- the paraphrases of those questions (feedback nearby): hit@1, hit@5 and MRR of the evidence;
- every other question of the corpus's question set and the other paraphrases (no feedback on
  their own question): the same figures, which must not drop.

    nice python -m bench.passage_feedback [--corpora manuals,latex-news,filings] [--ratings 1]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.real_retrieval import metrics, rank_of
from bench.realdocs import CACHE, CORPORA, CachedEmbedder, load_questions

from rag.embedders.local import SentenceTransformerEmbedder
from rag.ingest.ingestor import Ingestor
from rag.passage_feedback import Endorsement, PassageFeedback
from rag.retrieval import Retriever
from rag.stores.embedded import LanceDBVectorStore

ROOT = Path(__file__).resolve().parent.parent


def as_dicts(results) -> list[dict]:
    return [{"source": r.chunk.source, "page": r.chunk.page, "text": r.chunk.text, "id": r.chunk.id} for r in results]


def run(corpus: str, embedder, ratings: int, folder: Path) -> dict:
    store = LanceDBVectorStore(folder / corpus)
    Ingestor(store, embedder, skip_pages=True).ingest([CORPORA / corpus])
    questions = {q["id"]: q for q in load_questions(corpus)}
    rows = [
        json.loads(line)
        for line in (ROOT / "bench" / "questions" / "replay.jsonl").read_text().splitlines()
        if line.strip() and json.loads(line)["corpus"] == corpus
    ]
    off = Retriever(store, embedder)
    endorsed: list[Endorsement] = []
    rated = []
    for row in rows[::2]:
        q = questions[row["id"]]
        hits = as_dicts(off.search(q["query"], k=5))
        rank = rank_of(q, hits)
        if rank is not None:
            endorsed += [Endorsement(q["query"], hits[rank - 1]["id"], 1, datetime.now(UTC))] * ratings
            rated.append(row)
    on = Retriever(store, embedder, passage_feedback=PassageFeedback(embedder, lambda: endorsed))
    near = [(questions[r["id"]], r["paraphrase"]) for r in rated]
    rated_ids = {r["id"] for r in rated}
    others = [(q, q["query"]) for q in questions.values() if q["id"] not in rated_ids and q["kind"] != "unanswerable"]
    others += [
        (questions[r["id"]], r["paraphrase"]) for r in rows[1::2] if questions[r["id"]]["kind"] != "unanswerable"
    ]
    figures = {"endorsed": len(rated), "validated": len(rows[::2])}
    for name, items in (("feedback nearby", near), ("no feedback on their question", others)):
        for label, retriever in (("off", off), ("on", on)):
            ranks = [rank_of(q, as_dicts(retriever.search(text, k=5))) for q, text in items]
            figures[f"{name} / {label}"] = metrics(ranks)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", default="manuals,latex-news,filings")
    parser.add_argument("--ratings", type=int, default=1, help="how many users rated each answer 4-5")
    args = parser.parse_args()
    embedder = CachedEmbedder(SentenceTransformerEmbedder(), CACHE / "embeddings-all-MiniLM-L6-v2.sqlite")
    with tempfile.TemporaryDirectory() as folder:
        for corpus in args.corpora.split(","):
            figures = run(corpus, embedder, args.ratings, Path(folder))
            print(
                f"{corpus}: {figures['endorsed']} of {figures['validated']} rated answers held the evidence in their top 5"
            )
            for key, m in figures.items():
                if isinstance(m, dict):
                    print(
                        f"  {key:40s} n={m['n']:3d}  hit@1 {m['hit@1']:.3f}  hit@5 {m['hit@5']:.3f}  MRR {m['mrr']:.3f}"
                    )


if __name__ == "__main__":
    main()
