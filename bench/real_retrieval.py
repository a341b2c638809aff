"""Retrieval quality on real documents nobody here wrote: ragbot against the LangChain tutorial.

Corpora come from ``bench/fetch_corpora.py`` (Debian manuals; LaTeX News issues 1-36), the
questions from ``bench/questions/<corpus>.jsonl`` (written from the pages, every third one held
out before any tuning). For each corpus the script indexes the PDFs with ragbot's real Ingestor
into a fresh LanceDB folder, builds the tutorial pipeline beside it, and asks every question of
every system in the same run:

* ``tutorial``: PyPDFLoader-equivalent page text, RecursiveCharacterTextSplitter(1000, 200), the
  same all-MiniLM-L6-v2, exact cosine search (what FAISS-flat returns), vector only;
* ``hybrid``, ``vector``, ``keyword``: ``Retriever.search`` in each mode.

A hit is a result with the expected file and page. In a corpus of files without pages (the
``filings`` Markdown) it is a result from the expected file whose text holds the question's
evidence (whitespace and table pipes aside; a chunk that ends or starts inside the evidence
counts too), and in extra rows a result on the evidence's printed page (``PAGE_CHARS``), as PDFs
are scored. Prints hit@1, hit@5 and MRR@10 by split (dev / held out), by kind of question, the
misses whose top 1 or top 5 cites the right file a page or two from the evidence, and
for the unanswerable ones the share a similarity threshold would turn away. Embeddings are cached under ``bench/corpora/cache``.

``--store opensearch`` indexes every corpus a second time into a real OpenSearch node (the one of
``bench/opensearch_node.py``, started and stopped by this script; ``--opensearch-url`` uses a
running cluster instead) and asks every question of ``opensearch:MODE`` beside ``MODE`` on the
embedded store, in the same run: the tables gain a column per engine and mode, and a comparison
lists the questions whose hit differs between the engines. ``--ingest-runs N`` ingests each
corpus N times into fresh indices of each engine, alternating, for the median pages/s (embeddings
come from the cache after the first run, so this is parsing, chunking and the store's writes).

    nice python bench/real_retrieval.py [--corpora manuals,latex-news] [--systems tutorial,hybrid,vector,keyword]
    nice python -m bench.real_retrieval --systems hybrid,vector,keyword --store opensearch --ingest-runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import time
from collections import defaultdict
from contextlib import nullcontext
from pathlib import Path


from bench.realdocs import CACHE, CORPORA, CachedEmbedder, TutorialPipeline, load_questions  # noqa: E402

K = 10
KINDS = {"table": "table", "number": "number/code", "code": "number/code", "paraphrase": "paraphrase"}


PAGE_CHARS = 3000
"""A printed page of the filings, in ``squash``ed characters: Apple's, whose page footers survive
in the text, hold 2,740 (10-Q) to 2,910 (10-K)."""


def squash(text: str) -> str:
    """Text without whitespace, table pipes or ``---`` rules: a table row matches however a loader
    laid it out ("Greater China | | | $ | 16,372" and "Greater China | $16,372")."""
    return "".join(re.sub(r"-{3,}", "", text.replace("|", "")).split())


class TextPages:
    """Printed-page equivalents for files without pages: where a passage sits in its file, in
    ``PAGE_CHARS`` pages, so a hit can be scored as the issue scores PDFs (file and page)."""

    def __init__(self, root: Path):
        self.texts = {p.relative_to(root).as_posix(): squash(p.read_text()) for p in root.rglob("*.md")}

    def pages(self, source: str, text: str) -> set[int]:
        """The pages ``text`` covers, wherever it occurs in ``source`` (a figure may be printed
        twice); a chunk not found whole is placed by its opening 80 characters."""
        body, whole = self.texts.get(source, ""), squash(text)
        if not whole:
            return set()
        needle = whole if whole in body else whole[:80]
        found: set[int] = set()
        at = body.find(needle)
        while at >= 0:
            found |= set(range(at // PAGE_CHARS, (at + len(whole)) // PAGE_CHARS + 1))
            at = body.find(needle, at + 1)
        return found


def holds(text: str, evidence: str, edge: int = 15) -> bool:
    """Whether a chunk's ``text`` holds ``evidence``, or the part of it that falls on its side of
    a chunk boundary (at least ``edge`` characters at the chunk's end or start)."""
    text, evidence = squash(text), squash(evidence)
    if evidence in text:
        return True
    if len(evidence) <= edge:
        return False
    ends_inside = any(text.endswith(evidence[:n]) for n in range(edge, len(evidence)))
    return ends_inside or any(text.startswith(evidence[-n:]) for n in range(edge, len(evidence)))


def rank_of(q: dict, hits: list[dict], pages: TextPages | None = None) -> int | None:
    """The rank of the first hit; for a question without a page, a chunk holding the evidence,
    or with ``pages``, a chunk on the evidence's page."""
    wanted = pages.pages(q["source"], q["evidence"]) if pages and q["page"] is None else None
    for rank, h in enumerate(hits, start=1):
        if h["source"] != q["source"]:
            continue
        if q["page"] is not None:
            found = h["page"] == q["page"]
        else:
            found = bool(wanted & pages.pages(h["source"], h["text"])) if pages else holds(h["text"], q["evidence"])
        if found:
            return rank
    return None


NEAR_PAGES = 2
"""A miss is "one page off" when a top-5 result is from the right file, at most this many pages
from the evidence (the issue's "wanted 139, cited 141")."""


def page_off(q: dict, hits: list[dict], k: int = 5) -> bool:
    """Whether a question missed at ``k`` cites a page of the right file next to the evidence."""
    if q["page"] is None or _hit(q, hits, k):
        return False
    return any(
        h["source"] == q["source"] and h["page"] is not None and 0 < abs(h["page"] - q["page"]) <= NEAR_PAGES
        for h in hits[:k]
    )


def metrics(ranks: list[int | None]) -> dict:
    n = len(ranks)
    return {
        "n": n,
        "hit@1": sum(r == 1 for r in ranks) / n if n else 0.0,
        "hit@5": sum(r is not None and r <= 5 for r in ranks) / n if n else 0.0,
        "mrr": sum(1 / r for r in ranks if r) / n if n else 0.0,
    }


OPENSEARCH = "opensearch:"
"""The prefix of a system searched on OpenSearch (``opensearch:hybrid``); the others search the
embedded store."""


def embedded_store(name: str):
    """A fresh LanceDB store for the index ``name``."""
    from rag.stores.embedded import LanceDBVectorStore

    index = CACHE / "index" / name
    shutil.rmtree(index, ignore_errors=True)
    return LanceDBVectorStore(index)


def opensearch_stores(url: str):
    """Fresh OpenSearch indices (``ragbot-bench-NAME``) on the cluster at ``url``, as shipped:
    the Lucene engine, client-side fusion, 50 candidates per side."""
    from rag.stores.opensearch import OpenSearchVectorStore

    def fresh(name: str):
        store = OpenSearchVectorStore(url, f"ragbot-bench-{name}", timeout=120)
        store.client().indices.delete(index=store.index, ignore_unavailable=True)
        return store

    return fresh


class TimedWrites:
    """A store whose writes are timed: the seconds spent in the engine, apart from parsing,
    chunking and embedding (the same for both engines)."""

    def __init__(self, store):
        self.store = store
        self.seconds = 0.0

    def __getattr__(self, name: str):
        attr = getattr(self.store, name)
        if name not in ("write_document", "delete_documents", "refresh", "documents", "check_embedding_model"):
            return attr

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return attr(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        return timed


def build_stores(corpus: str, embedder, wanted: list[tuple[str, bool]], args) -> tuple[dict, dict]:
    """Each ``(engine, skip_pages)`` index of the corpus, ingested ``--ingest-runs`` times into a
    fresh store, the engines taking turns (and turns about who goes first); the last store of
    each, and the ingest's figures (medians over the runs) under its label."""
    from rag.ingest.ingestor import Ingestor

    timings: dict[tuple[str, bool], list] = {key: [] for key in wanted}
    stores, reports = {}, {}
    for run in range(args.ingest_runs):
        for engine, skip in wanted[run % len(wanted) :] + wanted[: run % len(wanted)]:
            make = args.make_opensearch if engine == "opensearch" else embedded_store
            store = TimedWrites(make(corpus + ("" if skip else "-all-pages")))
            computed = embedder.computed
            started = time.perf_counter()
            reports[engine, skip] = Ingestor(store, embedder, skip_pages=skip).ingest([CORPORA / corpus])
            elapsed = time.perf_counter() - started
            timings[engine, skip].append((elapsed, store.seconds, embedder.computed - computed))
            stores[engine, skip] = store.store
    info = {}
    for (engine, skip), runs in timings.items():
        report, seconds = reports[engine, skip], statistics.median(t[0] for t in runs)
        figures = {
            "pages": report.pages,
            "chunks": report.chunks,
            "seconds": round(seconds, 1),
            "pages/s": round(report.pages / seconds, 1),
            "store seconds": round(statistics.median(t[1] for t in runs), 1),
        }
        if len(runs) > 1:
            figures["runs (s, store s, embedded)"] = [(round(a, 1), round(b, 1), c) for a, b, c in runs]
        if report.skipped_pages:
            figures["skipped_pages"] = report.skipped_pages
        info[engine if skip else f"{engine}@all-pages"] = figures
    return stores, info


def ragbot_search(store, embedder, mode: str, args):
    """``mode`` is a search mode, or ``hybrid+rerank`` for hybrid with ``--reranker``."""
    from rag.retrieval import Retriever

    reranker = None
    if mode == "hybrid+rerank":
        from rag.rerankers.cross_encoder import CrossEncoderReranker

        if not args.reranker:
            sys.exit("the hybrid+rerank system needs --reranker FOLDER")
        reranker, mode = CrossEncoderReranker(args.reranker), "hybrid"
    retriever = Retriever(store, embedder, mode=mode, reranker=reranker)

    def search(query: str, k: int) -> list[dict]:
        return [
            {
                "source": r.chunk.source,
                "page": r.chunk.page,
                "text": r.chunk.text,
                "score": r.score,
                "similarity": r.similarity,
            }
            for r in retriever.search(query, k=k)
        ]

    return search


def run_corpus(corpus: str, embedder, args) -> dict:
    """Every system asks every question. A system named ``MODE@all-pages`` searches an index
    that kept the contents/index/blank pages, for the effect of skipping them."""
    questions = load_questions(corpus)
    systems, info, asked = {}, {}, {}
    for name in args.systems.split(","):
        if name == "tutorial":
            started = time.perf_counter()
            tutorial = TutorialPipeline(embedder, CORPORA / corpus, CACHE)
            info["tutorial"] = {
                "pages": tutorial.pages,
                "chunks": len(tutorial.chunks),
                "seconds": round(time.perf_counter() - started, 1),
            }
            systems[name] = tutorial.search
            continue
        engine = "opensearch" if name.startswith(OPENSEARCH) else "ragbot"
        mode, _, variant = name.removeprefix(OPENSEARCH).partition("@")
        asked[name] = (engine, variant != "all-pages"), mode
    if asked:
        wanted = list(dict.fromkeys(key for key, _ in asked.values()))
        built, ingested = build_stores(corpus, embedder, wanted, args)
        info |= ingested
        for name, (key, mode) in asked.items():
            systems[name] = ragbot_search(built[key], embedder, mode, args)
    results = {name: [search(q["query"], K) for q in questions] for name, search in systems.items()}
    return {"questions": questions, "results": results, "info": info}


def engines(run: dict) -> list[str]:
    """Side by side: for each system asked on both engines, how they compare, and the questions
    whose hit at 1 or 5 differs between them (``+`` OpenSearch hits where the embedded store
    misses, ``-`` the reverse)."""
    questions, results = run["questions"], run["results"]
    pairs = [(name, OPENSEARCH + name) for name in results if OPENSEARCH + name in results]
    if not pairs:
        return []
    lines = [
        "",
        "| system | embedded hit@1 / hit@5 / MRR | OpenSearch | same top 1 | same top 5 files+pages | hit@5 differs |",
        "|---|---|---|---:|---:|---|",
    ]
    answerable = [i for i, q in enumerate(questions) if q["kind"] != "unanswerable"]
    for name, other in pairs:
        cells = []
        for system in (name, other):
            m = metrics([rank_of(questions[i], results[system][i]) for i in answerable])
            cells.append(f"{m['hit@1']:.3f} / {m['hit@5']:.3f} / {m['mrr']:.3f}")

        def top(system: str, i: int, k: int) -> list:
            return [(h["source"], h["page"], h["text"][:80]) for h in results[system][i][:k]]

        same1 = sum(top(name, i, 1) == top(other, i, 1) for i in answerable)
        same5 = sum(set(top(name, i, 5)) == set(top(other, i, 5)) for i in answerable)
        differs = [
            ("+" if _hit(questions[i], results[other][i]) else "-") + questions[i]["id"]
            for i in answerable
            if _hit(questions[i], results[name][i]) != _hit(questions[i], results[other][i])
        ]
        lines.append(
            f"| {name} | {cells[0]} | {cells[1]} | {same1}/{len(answerable)} | {same5}/{len(answerable)} "
            f"| {', '.join(differs) or 'none'} |"
        )
    return lines


def _hit(q: dict, hits: list[dict], k: int = 5) -> bool:
    rank = rank_of(q, hits)
    return rank is not None and rank <= k


def report(corpus: str, run: dict, threshold: float) -> list[str]:
    questions, results = run["questions"], run["results"]
    lines = [f"\n## {corpus}: {len(questions)} questions; " + "; ".join(f"{k}: {v}" for k, v in run["info"].items())]
    header = "| group | n | " + " | ".join(f"{s} hit@1 / hit@5 / MRR" for s in results) + " |"
    lines += [header, "|---|---:|" + "---|" * len(results)]
    groups: dict[str, list[int]] = defaultdict(list)
    for i, q in enumerate(questions):
        if q["kind"] == "unanswerable":
            continue
        groups["all"].append(i)
        groups[q["split"]].append(i)
        groups[f"{q['split']}: {KINDS[q['kind']]}"].append(i)

    def row(label: str, idx: list[int], pages: TextPages | None = None) -> str:
        cells = []
        for res in results.values():
            m = metrics([rank_of(questions[i], res[i], pages) for i in idx])
            cells.append(f"{m['hit@1']:.3f} / **{m['hit@5']:.3f}** / {m['mrr']:.3f}")
        return f"| {label} | {len(idx)} | " + " | ".join(cells) + " |"

    for group in ["all", "dev", "heldout"] + sorted(g for g in groups if ":" in g):
        lines.append(row(group, groups[group]))
    # right document anywhere in the top 5 (sibling confusion shows here)
    cells = []
    for name, res in results.items():
        ok = [any(h["source"] == questions[i]["source"] for h in res[i][:5]) for i in groups["all"]]
        cells.append(f"{sum(ok) / len(ok):.3f}")
    lines.append(f"| right file in top 5 | {len(groups['all'])} | " + " | ".join(cells) + " |")
    # misses whose top k cites the right file one or two pages from the evidence
    for k in (1, 5):
        cells = []
        for res in results.values():
            missed = [
                i for i in groups["all"] if questions[i]["page"] is not None and not _hit(questions[i], res[i], k)
            ]
            off = [questions[i]["id"] for i in missed if page_off(questions[i], res[i], k)]
            cells.append(f"{len(off)} of {len(missed)} misses" + (f" ({', '.join(off)})" if off else ""))
        lines.append(f"| misses a page or two off (top {k}) | {len(groups['all'])} | " + " | ".join(cells) + " |")
    if any(questions[i]["page"] is None for i in groups["all"]) and (CORPORA / corpus).is_dir():
        # Files without pages: the rows above want the chunk that holds the evidence; these, a
        # chunk on its printed page, as the issue scores PDFs.
        pages = TextPages(CORPORA / corpus)
        for group in ("all", "dev", "heldout"):
            lines.append(row(f"{group}, on the evidence's page", groups[group], pages))
    unanswerable = [i for i, q in enumerate(questions) if q["kind"] == "unanswerable"]
    if unanswerable:
        cells = []
        for name, res in results.items():
            best = [
                max((h["similarity"] for h in res[i] if h["similarity"] is not None), default=None)
                for i in unanswerable
            ]
            if any(b is None for b in best):  # keyword mode reports no similarity
                cells.append("n/a")
            else:
                cells.append(f"{sum(b < threshold for b in best)}/{len(best)} turned away")
        lines.append(
            f"| unanswerable (best similarity < {threshold}) | {len(unanswerable)} | " + " | ".join(cells) + " |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", default="manuals,latex-news,filings")
    parser.add_argument("--systems", default="tutorial,hybrid,vector,keyword")
    parser.add_argument("--threshold", type=float, default=0.22, help="AnswerPipeline.min_similarity")
    parser.add_argument("--reranker", default=None, help="CrossEncoder folder for the hybrid+rerank system")
    parser.add_argument(
        "--store",
        choices=("embedded", "opensearch"),
        default="embedded",
        help="opensearch: also ask every ragbot system of --systems on a real OpenSearch node, side by side",
    )
    parser.add_argument("--opensearch-url", default=None, help="a running cluster instead of starting the local node")
    parser.add_argument("--heap", default="2g", help="the local OpenSearch node's JVM heap (-Xmx)")
    parser.add_argument("--ingest-runs", type=int, default=1, help="fresh ingests per corpus and engine (median)")
    parser.add_argument("--save", type=Path, default=CACHE / "last-run.json")
    parser.add_argument("--report-only", type=Path, default=None, help="print the tables of a saved run again")
    args = parser.parse_args()
    if args.report_only:
        for corpus, run in json.loads(args.report_only.read_text()).items():
            print("\n".join(report(corpus, run, args.threshold) + engines(run)))
        return
    if args.ingest_runs < 1:
        parser.error(f"--ingest-runs must be 1 or more, not {args.ingest_runs}")
    if args.store == "opensearch":
        names = args.systems.split(",")
        args.systems = ",".join(names + [OPENSEARCH + n for n in names if n != "tutorial" and OPENSEARCH not in n])
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from rag.embedders.local import SentenceTransformerEmbedder

    embedder = CachedEmbedder(
        SentenceTransformerEmbedder("all-MiniLM-L6-v2"), CACHE / "embeddings-all-MiniLM-L6-v2.sqlite"
    )
    print(f"# real-document retrieval  ({time.strftime('%Y-%m-%d %H:%M')}, load avg {os.getloadavg()[0]:.2f})")
    print(f"systems: {args.systems}; k={K}; hits are file + page")
    saved = {}
    from bench import opensearch_node

    local = OPENSEARCH in args.systems and not args.opensearch_url
    with opensearch_node.running(heap=args.heap) if local else nullcontext() as node:
        if OPENSEARCH in args.systems:
            url = args.opensearch_url or node.url
            args.make_opensearch = opensearch_stores(url)
            where = f"the local node ({opensearch_node.BUILD.name}, -Xmx{args.heap})" if local else "the cluster"
            print(f"OpenSearch: {where} at {url}: {args.make_opensearch('probe').detected()}")
        for corpus in args.corpora.split(","):
            run = run_corpus(corpus, embedder, args)
            saved[corpus] = run
            print("\n".join(report(corpus, run, args.threshold) + engines(run)), flush=True)
    print(f"\nembeddings computed {embedder.computed}, from cache {embedder.cached}; load avg {os.getloadavg()[0]:.2f}")
    args.save.parent.mkdir(parents=True, exist_ok=True)
    args.save.write_text(json.dumps(saved))


if __name__ == "__main__":
    main()
