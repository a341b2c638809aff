"""Routing by path when the files are named as EDGAR names them (rag/routing.py).

``bench/fetch_corpora.py`` names the filings "Apple/AAPL 10-Q 2024Q2.md". A user who downloads
them from EDGAR gets the primary documents' own names, "aapl-20240629.htm": ticker and
period-end date, no form, no company name. This re-scores the filings questions' hybrid
candidates (from the index ``bench/real_retrieval.py`` left) with a router built over three
namings of the same files: as fetched, EDGAR names in company folders, and EDGAR names in one
folder; and with no routing. Prints hit@1 / hit@5 per split (strict scoring: the chunk holds
the evidence).

    nice python -m bench.routing_names
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.realdocs import CACHE, load_questions
from bench.tune_fusion import candidates, page_rank

# Period-end dates of the fetched filings, as their EDGAR file names carry them.
PERIOD_END = {
    ("AAPL", "10-K 2023"): "20230930",
    ("AAPL", "10-K 2024"): "20240928",
    ("AAPL", "10-Q 2024Q1"): "20240330",
    ("AAPL", "10-Q 2024Q2"): "20240629",
    ("MSFT", "10-Q 2024Q1"): "20240331",
    ("MSFT", "10-Q 2024Q3"): "20240930",
}
CALENDAR = {"10-K 2023": "20231231", "10-K 2024": "20241231", "10-Q 2024Q1": "20240331", "10-Q 2024Q2": "20240630"}
EDGAR_TICKER = {"GOOGL": "goog"}


def edgar_name(source: str, folders: bool) -> str:
    """ "Apple/AAPL 10-Q 2024Q2.md" -> "Apple/aapl-20240629.htm" (or without the folder)."""
    folder, name = source.split("/")
    ticker, form, period = Path(name).stem.split(" ")
    date = PERIOD_END.get((ticker, f"{form} {period}")) or CALENDAR[f"{form} {period}"]
    edgar = f"{EDGAR_TICKER.get(ticker, ticker.lower())}-{date}.htm"
    return f"{folder}/{edgar}" if folders else edgar


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from rag.embedders.local import SentenceTransformerEmbedder
    from rag.retrieval import Retriever
    from rag.routing import DocumentRouter, lift
    from rag.stores.embedded import LanceDBVectorStore
    from rag.stores.fusion import fuse

    embedder = SentenceTransformerEmbedder("all-MiniLM-L6-v2")
    store = LanceDBVectorStore(CACHE / "index" / "filings")
    weight = Retriever(store, embedder).route_weight  # the shipped default
    sources = sorted(store.documents())
    namings = {
        "as fetched": {s: s for s in sources},
        "EDGAR names, company folders": {s: edgar_name(s, folders=True) for s in sources},
        "EDGAR names, one folder": {s: edgar_name(s, folders=False) for s in sources},
    }
    questions = [q for q in load_questions("filings") if q["kind"] != "unanswerable"]
    cands = [candidates(store, embedder, q["query"]) for q in questions]
    rows = {}
    for label, names in [("no routing", None), *namings.items()]:
        router = DocumentRouter(names.values()) if names else None
        for split in ("dev", "heldout"):
            first = top5 = n = 0
            for q, cs in zip(questions, cands, strict=True):
                if q["split"] != split:
                    continue
                n += 1
                fused = fuse(q["query"], [c["similarity"] for c in cs], [c["bm25"] for c in cs])
                pool = sorted(zip(fused, cs), key=lambda t: -t[0])[:15]  # what Retriever re-scores at k=5
                if router is not None:
                    routed = router.route(q["query"], [(names[c["source"]], c["text"]) for _, c in pool])
                    pool = [(lift(f, routed.get(names[c["source"]], 0.0), weight), c) for f, c in pool]
                ordered = [c for _, c in sorted(pool, key=lambda t: -t[0])]
                rank = page_rank(q, ordered)
                first += rank == 1
                top5 += rank is not None and rank <= 5
            rows.setdefault(label, []).append(f"{first / n:.3f} / {top5 / n:.3f}")
    print("| router over | dev hit@1 / hit@5 | held out hit@1 / hit@5 |\n|---|---|---|")
    for label, cells in rows.items():
        print(f"| {label} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
