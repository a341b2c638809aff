"""Leave one corpus out: hybrid fusion chosen on some corpora, reported on the one it never saw.

Issue 29: the per-query fusion weights, the identifier boost and the routing weight were tuned
on the three corpora they were then reported on, and on two corpora nobody tuned on hybrid fell
below its own keyword side and below a naive reciprocal rank fusion. This script asks every
question of every corpus (``bench/fetch_corpora.py``; questions in ``bench/questions/``) of:

* ``vector``, ``keyword``: ragbot's ``Retriever`` in that mode (what each side finds alone);
* ``tutorial``: the LangChain tutorial pipeline (``bench.realdocs.TutorialPipeline``: PyPDFLoader
  pages, RecursiveCharacterTextSplitter 1000/200, the same MiniLM, exact cosine search);
* every fusion of ``FUSIONS`` through ragbot's ``Retriever`` in hybrid mode (routing, one
  citation per page) over the store's real candidates: each question's two candidate lists are
  fetched from the store once and fused by each setting in turn (``FrozenCandidates``; a check
  prints how many top 10s equal the store's own hybrid search). ``rrf k=60`` is the naive RRF of
  BM25 + vector a user would build.

Then, for each corpus, the setting with the best mean hit@5 over the *other* corpora (MRR, then
hit@1, break ties) is reported on it: the held-out figure. Beside it, the same corpus's figures
for the shipped default, naive RRF, each side and the tutorial, by the question files' own
split (dev / heldout), a paired bootstrap interval of the held-out setting against the default
and against naive RRF, and the questions whose hit@5 changes. A hit is the file and page of the
evidence (``bench.real_retrieval.rank_of``; the ``filings`` Markdown: a chunk holding it).

    nice -n 10 python -m bench.fusion_loo [--corpora manuals,latex-news,filings,toolchains,pari,r-manuals]
    python -m bench.fusion_loo --report-only bench/corpora/cache/fusion-loo.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import time
from pathlib import Path

import numpy as np

from bench.real_retrieval import K, rank_of
from bench.realdocs import CACHE, CORPORA, CachedEmbedder, TutorialPipeline, load_questions
from rag.stores.fusion import DEFAULT_FUSION, PerQueryFusion, RankFusion, ScoreFusion

CORPUS_NAMES = "manuals,latex-news,filings,toolchains,pari,r-manuals"
NAIVE = "rrf k=60"
SHIPPED = "shipped"
PREVIOUS = "per-query"
"""The per-query weights, the default before issue 29, tuned on manuals, latex-news and filings."""

FUSIONS = {
    SHIPPED: DEFAULT_FUSION,
    "per-query": PerQueryFusion(),
    **{f"rrf k={k}": RankFusion(k=k) for k in (2, 5, 10, 20, 40, 60, 100)},
    **{f"rrf k={k} w={w}": RankFusion(k=k, keyword_weight=w) for k in (10, 60) for w in (0.3, 0.4, 0.6, 0.7)},
    **{
        f"{n} w={w}": ScoreFusion(n, keyword_weight=w)
        for n in ("minmax", "zscore")
        for w in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
    },
}
"""Corpus-agnostic settings of the three families (``rag.stores.fusion``); ``shipped`` is the
default of the code under test."""


class QueryCache:
    """The embedder, each query embedded once however many settings ask it."""

    def __init__(self, inner):
        self.inner, self.model_id, self.dimension = inner, inner.model_id, inner.dimension
        self.queries: dict[str, np.ndarray] = {}

    def embed_documents(self, texts):
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        if text not in self.queries:
            self.queries[text] = self.inner.embed_query(text)
        return self.queries[text]


class FrozenCandidates:
    """A LanceDB store whose hybrid searches fuse candidates fetched once per query with
    ``fusion``: the store's own ``_fused`` over the two lists its ``search`` would fetch."""

    def __init__(self, store):
        self.store, self.fusion, self.fetched = store, store.fusion, {}

    def __getattr__(self, name: str):
        return getattr(self.store, name)

    def search(self, text, vector, *, k=5, mode="hybrid", filters=None):
        from rag.stores.embedded.queries import keyword_search, run_queries, vector_search

        if mode != "hybrid" or filters is not None:
            return self.store.search(text, vector, k=k, mode=mode, filters=filters)
        limit = max(k, self.store.candidates)
        if (text, limit) not in self.fetched:
            table = self.store._open()
            vector_hits, keyword_hits = run_queries(
                vector_search(table, vector, None, limit), keyword_search(table, text, vector, None, limit)
            )
            self.fetched[text, limit] = (vector_hits.to_pylist(), self.store._keyword_rows(keyword_hits, text, vector))
        vector_rows, keyword_rows = self.fetched[text, limit]
        shipped, self.store.fusion = self.store.fusion, self.fusion
        try:
            rows = self.store._fused(text, [dict(r) for r in vector_rows], [dict(r) for r in keyword_rows])
        finally:
            self.store.fusion = shipped
        return [self.store._scored(row, "hybrid") for row in rows[:k]]


def hits_of(results) -> list[dict]:
    return [{"source": r.chunk.source, "page": r.chunk.page, "text": r.chunk.text} for r in results]


def run_corpus(corpus: str, embedder, reuse: bool) -> dict:
    """Every system's rank of the evidence for each answerable question of ``corpus``."""
    from rag.ingest.ingestor import Ingestor
    from rag.retrieval import Retriever
    from rag.stores.embedded import LanceDBVectorStore

    questions = [q for q in load_questions(corpus) if q["kind"] != "unanswerable"]
    started = time.perf_counter()
    index = CACHE / "index-loo" / corpus  # its own: bench.real_retrieval rebuilds index/ when it runs
    fresh = not (reuse and index.is_dir())
    if fresh:
        shutil.rmtree(index, ignore_errors=True)
    store = LanceDBVectorStore(index)
    if fresh:
        Ingestor(store, embedder, skip_pages=True).ingest([CORPORA / corpus])
    ingest_s = time.perf_counter() - started
    tutorial = TutorialPipeline(embedder, CORPORA / corpus, CACHE)
    ranks: dict[str, list[int | None]] = {"tutorial": [rank_of(q, tutorial.search(q["query"], K)) for q in questions]}
    for mode in ("vector", "keyword"):
        retriever = Retriever(store, embedder, mode=mode)
        ranks[mode] = [rank_of(q, hits_of(retriever.search(q["query"], k=K))) for q in questions]
    real = Retriever(store, embedder, mode="hybrid")
    real_hits = [hits_of(real.search(q["query"], k=K)) for q in questions]
    frozen = FrozenCandidates(store)
    retriever = Retriever(frozen, embedder, mode="hybrid")
    for name, fusion in FUSIONS.items():
        frozen.fusion = fusion
        found = [hits_of(retriever.search(q["query"], k=K)) for q in questions]
        ranks[name] = [rank_of(q, h) for q, h in zip(questions, found)]
        if name == SHIPPED:
            same = sum(a == b for a, b in zip(found, real_hits))
    info = {
        "chunks": store.count(),
        "ingest s": round(ingest_s, 1),
        "frozen = store top 10": f"{same}/{len(questions)}",
    }
    return {"questions": [{k: q[k] for k in ("id", "split", "kind")} for q in questions], "ranks": ranks, "info": info}


def hit(rank: int | None, k: int) -> bool:
    return rank is not None and rank <= k


def figures(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks) or 1
    return {
        "hit@1": sum(hit(r, 1) for r in ranks) / n,
        "hit@5": sum(hit(r, 5) for r in ranks) / n,
        "mrr": sum(1 / r for r in ranks if r and r <= K) / n,
    }


def choose(runs: dict, corpora: list[str]) -> str:
    """The setting with the best mean hit@5 over ``corpora`` (then MRR, then hit@1)."""

    def key(name: str) -> tuple:
        f = [figures(runs[c]["ranks"][name]) for c in corpora]
        return tuple(round(statistics.fmean(x[m] for x in f), 6) for m in ("hit@5", "mrr", "hit@1"))

    return max((n for n in FUSIONS if n != SHIPPED), key=key)


def bootstrap(a: list[int | None], b: list[int | None], resamples: int = 2000) -> tuple[float, float]:
    """95% paired bootstrap interval of hit@5(a) - hit@5(b), over the questions."""
    diff = np.array([hit(x, 5) - hit(y, 5) for x, y in zip(a, b)], dtype=float)
    picks = np.random.default_rng(0).integers(0, len(diff), size=(resamples, len(diff)))
    means = diff[picks].mean(axis=1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def changed(a: list[int | None], b: list[int | None]) -> str:
    gained = sum(hit(x, 5) and not hit(y, 5) for x, y in zip(a, b))
    lost = sum(hit(y, 5) and not hit(x, 5) for x, y in zip(a, b))
    return f"+{gained} / -{lost}"


def report(runs: dict) -> list[str]:
    corpora = list(runs)
    held = {c: choose(runs, [o for o in corpora if o != c]) for c in corpora}
    overall = choose(runs, corpora)
    lines = [
        "",
        f"## Leave one corpus out: the setting chosen on the other {len(corpora) - 1} corpora, on the one left out",
        "",
        "hit@1 / hit@5 by the question files' split; `LOO` is the setting chosen without the corpus.",
        "",
        "| corpus | split | n | LOO hybrid (setting) | per-query hybrid (before) | naive RRF k=60 | vector | keyword | tutorial |",
        "|---|---|---:|---|---|---|---|---|---|",
    ]
    for c in corpora:
        run = runs[c]
        for split in ("dev", "heldout", "all"):
            idx = [i for i, q in enumerate(run["questions"]) if split == "all" or q["split"] == split]
            cells = []
            for name in (held[c], PREVIOUS, NAIVE, "vector", "keyword", "tutorial"):
                f = figures([run["ranks"][name][i] for i in idx])
                cells.append(f"{f['hit@1']:.3f} / **{f['hit@5']:.3f}**")
            cells[0] += f" ({held[c]})"
            lines.append(f"| {c} | {split} | {len(idx)} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| held-out corpus | LOO setting | hit@5 LOO - per-query (95% CI; +gained / -lost) | LOO - naive RRF | "
        "LOO - better side | per-query - better side | naive RRF - better side |",
        "|---|---|---|---|---:|---:|---:|",
    ]
    for c in corpora:
        r = runs[c]["ranks"]
        five = {n: figures(r[n])["hit@5"] for n in r}
        side = max(five["vector"], five["keyword"])
        cells = []
        for other in (PREVIOUS, NAIVE):
            lo, hi = bootstrap(r[held[c]], r[other])
            cells.append(f"{five[held[c]] - five[other]:+.3f} [{lo:+.3f}, {hi:+.3f}]; {changed(r[held[c]], r[other])}")
        lines.append(
            f"| {c} | {held[c]} | {cells[0]} | {cells[1]} | {five[held[c]] - side:+.3f} | "
            f"{five[PREVIOUS] - side:+.3f} | {five[NAIVE] - side:+.3f} |"
        )
    lines += [
        "",
        f"Chosen on all {len(corpora)} corpora: **{overall}**; each fold's choice: "
        + ", ".join(f"without {c}: {held[c]}" for c in corpora),
        "",
        "Every setting, hit@5 on all questions of each corpus (its worst margin over the better side"
        " and over naive RRF, and the mean):",
        "",
        "| setting | " + " | ".join(corpora) + " | worst vs better side | worst vs naive RRF | mean |",
        "|---|" + "---:|" * (len(corpora) + 3),
    ]
    for name in FUSIONS:
        five = [figures(runs[c]["ranks"][name])["hit@5"] for c in corpora]
        side = [max(figures(runs[c]["ranks"][m])["hit@5"] for m in ("vector", "keyword")) for c in corpora]
        naive = [figures(runs[c]["ranks"][NAIVE])["hit@5"] for c in corpora]
        lines.append(
            f"| {name} | "
            + " | ".join(f"{v:.3f}" for v in five)
            + f" | {min(a - b for a, b in zip(five, side)):+.3f} | {min(a - b for a, b in zip(five, naive)):+.3f}"
            + f" | {statistics.fmean(five):.3f} |"
        )
    lines.append("")
    lines.append("; ".join(f"{c}: " + ", ".join(f"{k} {v}" for k, v in runs[c]["info"].items()) for c in corpora))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", default=CORPUS_NAMES)
    parser.add_argument("--reuse-index", action="store_true", help="search the indexes a previous run left")
    parser.add_argument("--save", type=Path, default=CACHE / "fusion-loo.json")
    parser.add_argument("--report-only", type=Path, default=None, help="print the tables of a saved run again")
    args = parser.parse_args()
    if args.report_only:
        print("\n".join(report(json.loads(args.report_only.read_text()))))
        return
    corpora = args.corpora.split(",")
    missing = [c for c in corpora if not (CORPORA / c).is_dir()]
    if missing:
        parser.error(f"no corpus {', '.join(missing)} under {CORPORA}: run python -m bench.fetch_corpora")
    if len(corpora) < 3:
        parser.error(f"leaving one corpus out needs at least 3 corpora, not {len(corpora)}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from rag.embedders.local import SentenceTransformerEmbedder

    inner = CachedEmbedder(
        SentenceTransformerEmbedder("all-MiniLM-L6-v2"), CACHE / "embeddings-all-MiniLM-L6-v2.sqlite"
    )
    embedder = QueryCache(inner)
    print(f"# fusion, leave one corpus out ({time.strftime('%Y-%m-%d %H:%M')}, load avg {os.getloadavg()[0]:.2f})")
    runs = {}
    for corpus in corpora:
        runs[corpus] = run_corpus(corpus, embedder, args.reuse_index)
        print(f"{corpus}: {runs[corpus]['info']}", flush=True)
    args.save.parent.mkdir(parents=True, exist_ok=True)
    args.save.write_text(json.dumps(runs))
    print("\n".join(report(runs)))
    print(f"\nembeddings computed {inner.computed}, from cache {inner.cached}")


if __name__ == "__main__":
    main()
