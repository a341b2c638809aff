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

    nice python bench/real_retrieval.py [--corpora manuals,latex-news] [--systems tutorial,hybrid,vector,keyword]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from collections import defaultdict
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


def build_ragbot(corpus: str, embedder, skip_pages: bool) -> tuple[object, dict]:
    from rag.ingest.ingestor import Ingestor
    from rag.stores.embedded import LanceDBVectorStore

    index = CACHE / "index" / (corpus + ("" if skip_pages else "-all-pages"))
    shutil.rmtree(index, ignore_errors=True)
    store = LanceDBVectorStore(index)
    ingestor = Ingestor(store, embedder, skip_pages=skip_pages)
    started = time.perf_counter()
    report = ingestor.ingest([CORPORA / corpus])
    info = {"pages": report.pages, "chunks": report.chunks, "seconds": round(time.perf_counter() - started, 1)}
    if report.skipped_pages:
        info["skipped_pages"] = report.skipped_pages
    return store, info


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
    systems = {}
    info = {}
    stores = {}
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
        mode, _, variant = name.partition("@")
        skip = variant != "all-pages"
        if skip not in stores:
            stores[skip], info["ragbot" if skip else "ragbot@all-pages"] = build_ragbot(corpus, embedder, skip)
        systems[name] = ragbot_search(stores[skip], embedder, mode, args)
    results = {name: [search(q["query"], K) for q in questions] for name, search in systems.items()}
    return {"questions": questions, "results": results, "info": info}


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
    parser.add_argument("--save", type=Path, default=CACHE / "last-run.json")
    parser.add_argument("--report-only", type=Path, default=None, help="print the tables of a saved run again")
    args = parser.parse_args()
    if args.report_only:
        for corpus, run in json.loads(args.report_only.read_text()).items():
            print("\n".join(report(corpus, run, args.threshold)))
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from rag.embedders.local import SentenceTransformerEmbedder

    embedder = CachedEmbedder(
        SentenceTransformerEmbedder("all-MiniLM-L6-v2"), CACHE / "embeddings-all-MiniLM-L6-v2.sqlite"
    )
    print(f"# real-document retrieval  ({time.strftime('%Y-%m-%d %H:%M')}, load avg {os.getloadavg()[0]:.2f})")
    print(f"systems: {args.systems}; k={K}; hits are file + page")
    saved = {}
    for corpus in args.corpora.split(","):
        run = run_corpus(corpus, embedder, args)
        saved[corpus] = run
        print("\n".join(report(corpus, run, args.threshold)), flush=True)
    print(f"\nembeddings computed {embedder.computed}, from cache {embedder.cached}; load avg {os.getloadavg()[0]:.2f}")
    args.save.parent.mkdir(parents=True, exist_ok=True)
    args.save.write_text(json.dumps(saved))


if __name__ == "__main__":
    main()
