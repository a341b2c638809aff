"""What routing a question to the documents it names costs per search (rag/routing.py).

Builds a ``DocumentRouter`` over N document paths and times ``route`` for questions against 15
candidate passages (what ``Retriever.search`` re-scores at k=5), next to the obvious way of
scoring the question, scikit-learn's ``TfidfVectorizer.transform`` and a sparse product over
every path. The paths are the worst case for the router: every one shares the word "w" (as
"manual" or "10-Q" would be shared), so every document matches every question.

Prints p50 / p95 in ms (median of ``--runs`` runs of ``--queries`` questions each) and the ratio.
With ``--listing N``, also what the router's input costs: ``documents()`` of a LanceDB index of
N chunks in ``write_cost.py``'s 100-chunk documents, median of ``--runs``; the app reads it at
start-up and again when the index changed.

    python -m bench.routing_cost [--documents 10000] [--queries 200] [--runs 5] [--listing 100000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from sklearn.feature_extraction.text import TfidfVectorizer

from rag.routing import DocumentRouter, path_text, path_words

README = Path(__file__).resolve().parent.parent / "README.md"


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.95)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--listing", type=int, default=0, help="chunks of a LanceDB index whose listing is timed")
    args = parser.parse_args()
    rng = random.Random(0)
    words = [f"w{i}" for i in range(3000)]
    sources = [f"{rng.choice(words)}/{rng.choice(words)} {rng.choice(words)} {i}.pdf" for i in range(args.documents)]
    started = time.perf_counter()
    router = DocumentRouter(sources)
    build = time.perf_counter() - started
    text = README.read_text()
    passages = [(rng.choice(sources), text[i * 1000 : (i + 1) * 1000]) for i in range(15)]
    questions = [" ".join(rng.choices(words, k=8)) + " what is the default" for _ in range(args.queries)]

    vectorizer = TfidfVectorizer(analyzer=path_words, sublinear_tf=True)
    matrix = vectorizer.fit_transform([path_text(s) for s in sources])

    def sklearn_scores(question: str) -> dict[str, float]:
        raw = (matrix @ vectorizer.transform([question]).T).toarray().ravel()
        best = raw.max()
        return {s: float(v / best) for s, v in zip(sources, raw, strict=True) if v > 0}

    timings: dict[str, list[tuple[float, float]]] = {"router.route": [], "sklearn transform": []}
    for _ in range(args.runs):
        for name, call in (
            ("router.route", lambda q: router.route(q, passages)),
            ("sklearn transform", sklearn_scores),
        ):
            samples = []
            for q in questions:
                t = time.perf_counter()
                call(q)
                samples.append((time.perf_counter() - t) * 1000)
            timings[name].append(percentiles(samples))
    print(
        f"{args.documents} document paths, router built in {build:.2f} s; {args.queries} questions x {args.runs} runs"
    )
    medians = {
        name: (statistics.median(p50 for p50, _ in runs), statistics.median(p95 for _, p95 in runs))
        for name, runs in timings.items()
    }
    for name, (p50, p95) in medians.items():
        print(f"{name:18s} p50 {p50:7.3f} ms  p95 {p95:7.3f} ms")
    ours, theirs = medians["router.route"][0], medians["sklearn transform"][0]
    print(f"sklearn transform / router.route at p50: {theirs / ours:.1f}x")
    if args.listing:
        time_listing(args.listing, args.runs)


def time_listing(chunks: int, runs: int) -> None:
    import tempfile

    import numpy as np
    from bench.write_cost import PER_DOC, document

    from rag.stores.embedded import LanceDBVectorStore

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        store = LanceDBVectorStore(Path(tmp))
        for d in range(chunks // PER_DOC):
            store.write_document(*document(d, rng))
        store.refresh()
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            documents = store.documents()
            samples.append(time.perf_counter() - started)
        started = time.perf_counter()
        DocumentRouter(documents)
        build = time.perf_counter() - started
    print(
        f"LanceDB documents() over {chunks} chunks ({len(documents)} documents): median {statistics.median(samples):.3f} s "
        f"of {runs}; the router over them builds in {build:.3f} s"
    )


if __name__ == "__main__":
    main()
