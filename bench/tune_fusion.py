"""Choose the hybrid fusion weights on the dev questions, with the held-out ones untouched.

Reads the indexes that ``bench/real_retrieval.py`` left under ``bench/corpora/cache/index``,
fetches each dev question's candidates once (the vector and keyword sides as the store returns
them, each with both scores), then scores every ``FusionWeights`` of a small grid offline and
prints, per grid point, hybrid hit@5 on each corpus next to the better of vector-only and
keyword-only, ordered by the worst margin over the better side, then mean hit@5, then mean
MRR (to two decimals), then mean hit@1 (what the answer's first citation shows), after the
fixed-weight fusion of OpenSearch's search pipeline on the same candidates. The point
shipped in ``rag.stores.fusion`` is the best one that keeps the identifier boost: the first,
without it, lost a held-out manuals question (bench/RESULTS.md, fifth session).

Questions without a page (the ``filings`` corpus) are ranked as ``real_retrieval.py`` ranks them:
the first chunk of the right file that holds the evidence.

    nice python -m bench.tune_fusion [--corpora manuals,latex-news,filings] [--split dev]
"""

from __future__ import annotations

import argparse
import itertools
import os

from bench.real_retrieval import rank_of
from bench.realdocs import CACHE, load_questions

from rag.stores.embedded.queries import keyword_search, run_queries, vector_search


def candidates(store, embedder, question: str) -> list[dict]:
    table = store._open()
    vector = embedder.embed_query(question)
    vector_hits, keyword_hits = run_queries(
        vector_search(table, vector, None, store.candidates),
        keyword_search(table, question, vector, None, store.candidates),
    )
    vector_rows = vector_hits.to_pylist()
    vector_rank = {r["id"]: i for i, r in enumerate(vector_rows)}
    keyword_rows = store._keyword_rows(keyword_hits, question, vector)
    rows = store._fused(question, vector_rows, keyword_rows)
    keyword_rank = {r["id"]: i for i, r in enumerate(keyword_rows)}
    return [
        {
            "source": r["source"],
            "page": r["page"],
            "text": r["text"],
            "similarity": 1.0 - float(r["_distance"]),
            "bm25": r.get("_score"),
            "vector_rank": vector_rank.get(r["id"]),
            "keyword_rank": keyword_rank.get(r["id"]),
        }
        for r in rows
    ]


def page_rank(q: dict, ordered: list[dict], k: int = 10) -> int | None:
    """Rank of the expected page among distinct pages (as Retriever cites them), up to k; for a
    question without a page, of the first chunk holding its evidence."""
    if q["page"] is None:
        return rank_of(q, ordered[:k])
    seen = []
    for c in ordered:
        key = (c["source"], c["page"])
        if key in seen:
            continue
        seen.append(key)
        if key == (q["source"], q["page"]):
            return len(seen)
        if len(seen) == k:
            return None
    return None


def pipeline_order(cands: list[dict], keyword_weight: float = 0.5) -> list[dict]:
    """The candidates in the order of OpenSearch's hybrid search pipeline (min-max per side, a
    weighted arithmetic mean, 0 for a side that did not return the candidate)."""

    def normalised(key: str, rank_key: str) -> list[float]:
        values = [c[key] for c in cands if c[rank_key] is not None]
        lo, hi = min(values, default=0.0), max(values, default=0.0)
        return [0.0 if c[rank_key] is None else ((c[key] - lo) / (hi - lo) if hi > lo else 1.0) for c in cands]

    v, k = normalised("similarity", "vector_rank"), normalised("bm25", "keyword_rank")
    scores = [(1 - keyword_weight) * a + keyword_weight * b for a, b in zip(v, k, strict=True)]
    return [c for _, c in sorted(zip(scores, cands), key=lambda t: -t[0])]


def hit5(q: dict, ordered: list[dict]) -> bool:
    rank = page_rank(q, ordered)
    return rank is not None and rank <= 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", default="manuals,latex-news,filings")
    parser.add_argument("--split", default="dev")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from rag.embedders.local import SentenceTransformerEmbedder
    from rag.stores.embedded import LanceDBVectorStore
    from rag.stores.fusion import FusionWeights, fuse

    embedder = SentenceTransformerEmbedder("all-MiniLM-L6-v2")
    data = {}
    for corpus in args.corpora.split(","):
        store = LanceDBVectorStore(CACHE / "index" / corpus)
        qs = [q for q in load_questions(corpus) if q["split"] == args.split and q["kind"] != "unanswerable"]
        data[corpus] = [(q, candidates(store, embedder, q["query"])) for q in qs]

    def side(cands, key):
        return sorted((c for c in cands if c[key] is not None), key=lambda c: c[key])

    best_side = {}
    for corpus, items in data.items():
        v = sum(hit5(q, side(c, "vector_rank")) for q, c in items) / len(items)
        k = sum(hit5(q, side(c, "keyword_rank")) for q, c in items) / len(items)
        v_mrr = sum(1 / r for q, c in items if (r := page_rank(q, side(c, "vector_rank")))) / len(items)
        k_mrr = sum(1 / r for q, c in items if (r := page_rank(q, side(c, "keyword_rank")))) / len(items)
        best_side[corpus] = max(v, k)
        print(f"{corpus}: n={len(items)} hit@5/MRR vector {v:.3f}/{v_mrr:.3f} keyword {k:.3f}/{k_mrr:.3f}")

    # OpenSearch's search pipeline (RAGBOT_OPENSEARCH_HYBRID=pipeline) on the same candidates:
    # each side min-max normalised over its own hits, a side that missed a candidate gives it 0,
    # one fixed weight (0.5).
    for corpus, items in data.items():
        ranks = [page_rank(q, pipeline_order(c)) for q, c in items]
        h5 = sum(r is not None and r <= 5 for r in ranks) / len(items)
        mrr = sum(1 / r for r in ranks if r) / len(items)
        print(f"{corpus}: search pipeline (fixed 0.5) hit@5/MRR {h5:.3f}/{mrr:.3f}")

    results = []
    grid = itertools.product(
        [0.3, 0.4, 0.5, 0.6, 0.7], [0.0, 0.15, 0.3], [0.0, 0.3, 0.6, 0.9], [0.1, 0.15, 0.2], [0.8, 0.85, 0.9]
    )
    for base, ident, peak, floor, ceiling in grid:
        weights = FusionWeights(base=base, identifier=ident, peak=peak, floor=floor, ceiling=ceiling)
        scores, mrr, top = {}, {}, {}
        for corpus, items in data.items():
            hits = rr = first = 0.0
            for q, cands in items:
                fused = fuse(q["query"], [c["similarity"] for c in cands], [c["bm25"] for c in cands], weights)
                ordered = [c for _, c in sorted(zip(fused, cands), key=lambda t: -t[0])]
                rank = page_rank(q, ordered)
                hits += rank is not None and rank <= 5
                rr += 1 / rank if rank else 0.0
                first += rank == 1
            scores[corpus], mrr[corpus], top[corpus] = hits / len(items), rr / len(items), first / len(items)
        margin = min(scores[c] - best_side[c] for c in scores)
        n = len(scores)
        results.append(
            (
                margin,
                sum(scores.values()) / n,
                round(sum(mrr.values()) / n, 2),
                sum(top.values()) / n,
                weights,
                scores,
                mrr,
            )
        )
    results.sort(key=lambda r: (-r[0], -r[1], -r[2], -r[3]))
    shipped = FusionWeights()
    for margin, mean, mean_mrr, mean_top, weights, scores, mrr in (
        results[:6] + [r for r in results if r[4] == shipped] + results[-3:]
    ):
        mark = " (shipped)" if weights == shipped else ""
        print(
            f"margin {margin:+.3f} hit@5 {mean:.3f} MRR {mean_mrr:.2f} hit@1 {mean_top:.3f} {weights}{mark} "
            + " ".join(f"{c} {scores[c]:.3f}/{mrr[c]:.3f}" for c in scores)
        )


if __name__ == "__main__":
    main()
