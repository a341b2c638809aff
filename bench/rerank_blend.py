"""A re-ranker trained once on the tuning corpora, blended with hybrid, measured on corpora it never saw.

Issue 29 part 5. Issue 13.4 trained a cross-encoder per corpus for one epoch on inverse-cloze
pairs and let it replace hybrid's order: hit@5 fell from 0.95 to 0.45. Here:

* **one model, trained once**, from the packaged all-MiniLM-L6-v2 with a fresh one-output head
  (``training.reranker.train_reranker``), on pairs from the three tuning corpora only (manuals,
  latex-news, filings): their hand-written *dev* questions with the chunks that hold the
  evidence as positives and the first stage's best wrong pages as negatives
  (``training.reranker.question_pairs``), plus inverse-cloze pairs (``corpus_pairs``);
* **blended** with the first stage's order (``rag.rerankers.blend.Blend``: reciprocal rank
  fusion of the two orders, the re-ranker's share ``w``) over the first ``N`` candidates;
* **measured** on the questions it never trained on (the tuning corpora's held-out split, which
  chooses ``N`` and ``w``; every question of toolchains, pari and r-manuals, used for nothing
  before they are reported; ``--all-splits`` adds the dev split it trained on), then the chosen
  setting is timed through the real ``Retriever`` with ``CrossEncoderReranker`` against hybrid
  alone, with a check that each question's rank equals the offline computation's.

Each question's first stage (hybrid, routing included, 30 chunks) is fetched once and the first
``max(N)`` chunks scored once; every (N, w) is computed from those scores. Indexes are the ones
``bench/fusion_loo.py`` builds under ``bench/corpora/cache/index-loo``.

    nice -n 19 python -m bench.rerank_blend [--epochs 3] [--max-length 192] [--threads 2]
    python -m bench.rerank_blend --report-only bench/corpora/cache/rerank-blend.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from bench.fusion_loo import bootstrap, changed, figures
from bench.real_retrieval import K, holds, rank_of
from bench.realdocs import CACHE, load_questions

TUNING = ("manuals", "latex-news", "filings")
UNSEEN = ("toolchains", "pari", "r-manuals")
FIRST = 30
"""First-stage chunks per question: what ``Retriever`` fetches for 10 distinct pages."""
CANDIDATES = (5, 10)
"""Candidates the re-ranker reads. 20 is left out: 10 already costs about a second a question
on this shared box (issue 13.4 measured 1.2-1.5 s for 20), past the first-token budget."""
WEIGHTS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0)
BASELINE = "hybrid"


def setting(n: int, w: float) -> str:
    return BASELINE if w == 0 else f"N={n} w={w}"


SETTINGS = [BASELINE] + [setting(n, w) for n in CANDIDATES for w in WEIGHTS if w > 0]


def is_evidence(q: dict, chunk) -> bool:
    if chunk.source != q["source"]:
        return False
    return chunk.page == q["page"] if q["page"] is not None else holds(chunk.text, q["evidence"])


def positives_of(q: dict, by_source: dict, ranked: list, most: int = 2) -> list:
    """The chunks that hold the evidence, the first stage's first; on a paged document, any chunk
    of the evidence page when none holds the exact text."""
    pool = [c for c in ranked if is_evidence(q, c)] + by_source.get(q["source"], [])
    holding = [c for c in pool if holds(c.text, q["evidence"]) and (q["page"] is None or c.page == q["page"])]
    chosen = holding or [c for c in pool if q["page"] is not None and c.page == q["page"]]
    unique = list({c.id: c for c in chosen}.values())
    return unique[:most]


def mine(stores, first_stage, args) -> tuple[list, dict]:
    from training.reranker import RerankerOptions, corpus_pairs, question_pairs

    pairs, counts = [], {}
    for corpus in TUNING:
        store = stores[corpus]
        chunks = store.chunks()
        by_source: dict = {}
        for c in chunks:
            by_source.setdefault(c.source, []).append(c)
        asked, before = 0, len(pairs)
        for q in load_questions(corpus)[: args.limit]:
            if q["split"] != "dev" or q["kind"] == "unanswerable":
                continue
            ranked = [r.chunk for r in first_stage(corpus, q["query"])]
            positives = positives_of(q, by_source, ranked)
            if not positives:
                continue
            wrong = [c for c in ranked if not is_evidence(q, c)]
            pairs += question_pairs(q["query"], positives, wrong, args.negatives)
            asked += 1

        def keyword(query: str, k: int, store=store) -> list:
            return [r.chunk for r in store.search(query, None, k=k, mode="keyword")]

        cloze, _ = corpus_pairs(chunks, keyword, RerankerOptions(pairs=args.cloze, negatives=3, seed=7))
        counts[corpus] = {"questions": asked, "question pairs": len(pairs) - before, "cloze pairs": len(cloze)}
        pairs += cloze
    return pairs, counts


def ranks_of(q: dict, head, rest, scores, blend_cls) -> dict[str, int | None]:
    from rag.retrieval import one_per_page

    out = {}
    for n in CANDIDATES:
        for w in WEIGHTS:
            name = setting(n, w)
            if name in out:
                continue
            order = blend_cls(weight=w).fuse(head[:n], scores[:n]) + list(head[n:]) + list(rest)
            hits = [
                {"source": r.chunk.source, "page": r.chunk.page, "text": r.chunk.text} for r in one_per_page(order, K)
            ]
            out[name] = rank_of(q, hits)
    return out


def measure(stores, first_stage, model, args, data: dict) -> dict:
    from rag.rerankers.blend import Blend
    from rag.rerankers.cross_encoder import passage_text

    runs = data.setdefault("runs", {})
    for corpus in UNSEEN + TUNING:  # the corpora never tuned on first: they are the test
        questions = [q for q in load_questions(corpus) if q["kind"] != "unanswerable"][: args.limit]
        if corpus in TUNING and not args.all_splits:  # trained on: shown only when asked for
            questions = [q for q in questions if q["split"] != "dev"]
        ranks: dict[str, list] = {name: [] for name in SETTINGS}
        started = time.perf_counter()
        for q in questions:
            results = first_stage(corpus, q["query"])
            head, rest = results[: max(CANDIDATES)], results[max(CANDIDATES) :]
            scores = [
                float(s) for s in model.predict([(q["query"], passage_text(r.chunk)) for r in head], batch_size=20)
            ]
            for name, rank in ranks_of(q, head, rest, scores, Blend).items():
                ranks[name].append(rank)
        runs[corpus] = {
            "questions": [{k: q[k] for k in ("id", "split", "kind")} for q in questions],
            "ranks": ranks,
            "scoring s": round(time.perf_counter() - started, 1),
        }
        print(f"{corpus}: {len(questions)} questions scored in {runs[corpus]['scoring s']} s", flush=True)
        args.save.write_text(json.dumps(data))  # a run cut short keeps what it measured
    return runs


def subset(run: dict, names: tuple[str, ...]) -> dict[str, list]:
    idx = [i for i, q in enumerate(run["questions"]) if q["split"] in names]
    return {s: [run["ranks"][s][i] for i in idx] for s in run["ranks"]}


def choose(runs: dict) -> str:
    """The setting with the best mean hit@5, then MRR, then hit@1 over the tuning corpora's
    held-out split (questions the model never trained on)."""

    if not any(c in runs for c in TUNING):
        return BASELINE

    def key(name: str) -> tuple:
        f = [figures(subset(runs[c], ("heldout",))[name]) for c in TUNING if c in runs]
        return tuple(round(statistics.fmean(x[m] for x in f), 6) for m in ("hit@5", "mrr", "hit@1"))

    return max(SETTINGS, key=key)


def report(data: dict) -> list[str]:
    runs = data["runs"]
    chosen = data.get("chosen") or choose(runs)
    lines = [f"chosen on the tuning corpora's held-out split: **{chosen}**", ""]
    lines += [
        "| corpus | questions | hybrid hit@1 / hit@5 / MRR | + re-ranker (blend) | hit@5 change (95% CI; +gained / -lost) "
        "| MRR change (95% CI) | top-1 +gained / -lost |",
        "|---|---|---|---|---|---|---|",
    ]
    rows = [(c, ("dev",), "dev (trained on)") for c in TUNING] + [(c, ("heldout",), "heldout") for c in TUNING]
    rows += [(c, ("dev", "heldout"), "all (never tuned on)") for c in UNSEEN]
    for corpus, splits, label in rows:
        if corpus not in runs:
            continue
        r = subset(runs[corpus], splits)
        if not r[BASELINE]:
            continue
        a, b = figures(r[BASELINE]), figures(r[chosen])
        lo, hi = bootstrap(r[chosen], r[BASELINE])
        mlo, mhi = mrr_interval(r[chosen], r[BASELINE])
        top1 = changed_at(r[chosen], r[BASELINE], 1)
        lines.append(
            f"| {corpus} | {label} ({len(r[BASELINE])}) | {a['hit@1']:.3f} / {a['hit@5']:.3f} / {a['mrr']:.3f} "
            f"| {b['hit@1']:.3f} / {b['hit@5']:.3f} / {b['mrr']:.3f} | {b['hit@5'] - a['hit@5']:+.3f} "
            f"[{lo:+.3f}, {hi:+.3f}]; {changed(r[chosen], r[BASELINE])} | {b['mrr'] - a['mrr']:+.3f} "
            f"[{mlo:+.3f}, {mhi:+.3f}] | {top1} |"
        )
    lines += ["", "Every setting, MRR@10 (hit@5) by corpus, held-out questions only:", ""]
    cols = [(c, ("heldout",)) for c in TUNING] + [(c, ("dev", "heldout")) for c in UNSEEN]
    cols = [(c, s) for c, s in cols if c in runs]
    lines += ["| setting | " + " | ".join(c for c, _ in cols) + " | mean MRR |", "|---|" + "---:|" * (len(cols) + 1)]
    for name in SETTINGS:
        f = [figures(subset(runs[c], s)[name]) for c, s in cols]
        lines.append(
            f"| {name} | "
            + " | ".join(f"{x['mrr']:.3f} ({x['hit@5']:.3f})" for x in f)
            + f" | {statistics.fmean(x['mrr'] for x in f):.3f} |"
        )
    for key in ["pairs", "training"] + [k for k in data if k.startswith("timing")]:
        if key in data:
            lines += ["", f"{key}: {json.dumps(data[key])}"]
    return lines


def changed_at(a: list, b: list, k: int) -> str:
    gained = sum((x is not None and x <= k) and not (y is not None and y <= k) for x, y in zip(a, b))
    lost = sum((y is not None and y <= k) and not (x is not None and x <= k) for x, y in zip(a, b))
    return f"+{gained} / -{lost}"


def mrr_interval(a: list, b: list, resamples: int = 2000) -> tuple[float, float]:
    import numpy as np

    diff = np.array([(1 / x if x else 0.0) - (1 / y if y else 0.0) for x, y in zip(a, b)])
    picks = np.random.default_rng(0).integers(0, len(diff), size=(resamples, len(diff)))
    means = diff[picks].mean(axis=1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def blend_of(chosen: str) -> tuple[int, float]:
    """N and w of a setting's name; for the baseline, the blend that is timed anyway (N=10 w=0.5)."""
    if chosen == BASELINE:
        return 10, 0.5
    n, w = chosen.split()
    return int(n[2:]), float(w[2:])


def time_it(stores, embedder, folder: Path, n: int, w: float, runs: dict, args) -> dict:
    """Milliseconds per question through the real Retriever, hybrid alone and with the re-ranker,
    on the corpora never tuned on; and whether its top 10s equal the offline blend's."""
    from rag.rerankers.blend import Blend
    from rag.rerankers.cross_encoder import CrossEncoderReranker
    from rag.retrieval import Retriever

    reranker = CrossEncoderReranker(folder, max_length=args.max_length, blend=Blend(weight=w))
    reranker.model  # loaded before the clock starts, as the app loads it once
    timing = {
        "setting": f"N={n} w={w}",
        "max_length": args.max_length,
        "threads": args.threads,
        "load avg": round(os.getloadavg()[0], 2),
    }
    for corpus in UNSEEN:
        questions = [q for q in load_questions(corpus) if q["kind"] != "unanswerable"][: args.limit]
        questions = questions[: args.time_questions]
        blended = runs[corpus]["ranks"][setting(n, w)]
        for label, retriever, offline in (
            ("hybrid", Retriever(stores[corpus], embedder), runs[corpus]["ranks"][BASELINE]),
            ("blend", Retriever(stores[corpus], embedder, reranker=reranker, rerank_candidates=n), blended),
        ):
            retriever.search(questions[0]["query"], k=K)  # warm: the router and the store's tables
            started, cpu = time.perf_counter(), time.process_time()
            found = [retriever.search(q["query"], k=K) for q in questions]
            timing[f"{corpus} {label} ms"] = round((time.perf_counter() - started) / len(questions) * 1000)
            timing[f"{corpus} {label} cpu ms"] = round((time.process_time() - cpu) / len(questions) * 1000)
            hits = [[{"source": r.chunk.source, "page": r.chunk.page, "text": r.chunk.text} for r in f] for f in found]
            if offline is not None:
                same = sum(rank_of(q, h) == r for q, h, r in zip(questions, hits, offline))
                timing[f"{corpus} {label} rank as offline"] = f"{same}/{len(questions)}"
    return timing


def cost(stores, first_stage, folder: Path, args) -> dict:
    """CPU and wall milliseconds of scoring each question's first N candidates at L tokens, on
    ``--time-questions`` questions of each corpus never tuned on (model loaded beforehand)."""
    from sentence_transformers import CrossEncoder

    from rag.rerankers.cross_encoder import passage_text

    asked = [
        (c, q["query"])
        for c in UNSEEN
        for q in [q for q in load_questions(c) if q["kind"] != "unanswerable"][: args.time_questions]
    ]
    heads = {(c, q): [passage_text(r.chunk) for r in first_stage(c, q)] for c, q in asked}
    figures = {"load avg": round(os.getloadavg()[0], 2), "questions": len(asked), "threads": args.threads}
    for n, length in ((5, 128), (10, 128), (5, 192), (10, 192), (20, 256)):
        model = CrossEncoder(str(folder), max_length=length)
        model.predict([("warm", "up")])
        started, cpu = time.perf_counter(), time.process_time()
        for c, q in asked:
            model.predict([(q, p) for p in heads[c, q][:n]], batch_size=n)
        figures[f"N={n} L={length}"] = {
            "cpu ms": round((time.process_time() - cpu) / len(asked) * 1000),
            "wall ms": round((time.perf_counter() - started) / len(asked) * 1000),
        }
        print(figures, flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=CACHE / "reranker-blend")
    parser.add_argument("--save", type=Path, default=CACHE / "rerank-blend.json")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--max-length", type=int, default=192)
    parser.add_argument("--negatives", type=int, default=5, help="wrong first-stage passages per dev question")
    parser.add_argument("--cloze", type=int, default=150, help="inverse-cloze pairs per tuning corpus")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--limit", type=int, default=None, help="questions per corpus (a smoke run)")
    parser.add_argument("--skip-training", action="store_true", help="measure the model already in --out")
    parser.add_argument("--cost", action="store_true", help="time scoring N candidates at L tokens, then stop")
    parser.add_argument("--all-splits", action="store_true", help="ask the tuning corpora's dev split too")
    parser.add_argument("--time-questions", type=int, default=8, help="questions per unseen corpus timed")
    parser.add_argument("--report-only", type=Path, default=None)
    parser.add_argument(
        "--time-only", type=int, default=None, metavar="N", help="time N candidates again, on the run in --save"
    )
    args = parser.parse_args()
    if args.report_only:
        print("\n".join(report(json.loads(args.report_only.read_text()))))
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch

    torch.set_num_threads(args.threads)
    from bench.fusion_loo import QueryCache
    from rag.embedders.local import SentenceTransformerEmbedder, resolve_model_path
    from rag.retrieval import Retriever
    from rag.stores.embedded import LanceDBVectorStore
    from training.reranker import RerankerOptions, train_reranker

    embedder = QueryCache(SentenceTransformerEmbedder("all-MiniLM-L6-v2"))
    stores = {c: LanceDBVectorStore(CACHE / "index-loo" / c) for c in TUNING + UNSEEN}
    missing = [c for c, s in stores.items() if s.count() == 0]
    if missing:
        parser.error(f"no index for {', '.join(missing)}: run python -m bench.fusion_loo first")
    if args.cost:
        print(json.dumps(cost(stores, lambda c, q: Retriever(stores[c], embedder).search(q, k=FIRST), args.out, args)))
        return
    if args.time_only:
        data = json.loads(args.save.read_text())
        w = blend_of(data["chosen"])[1]
        data[f"timing N={args.time_only}"] = time_it(stores, embedder, args.out, args.time_only, w, data["runs"], args)
        args.save.write_text(json.dumps(data))
        print(json.dumps(data[f"timing N={args.time_only}"]))
        return
    retrievers = {c: Retriever(s, embedder, distinct_pages=False) for c, s in stores.items()}
    fetched: dict = {}

    def first_stage(corpus: str, query: str) -> list:
        if (corpus, query) not in fetched:
            fetched[corpus, query] = retrievers[corpus].search(query, k=FIRST)
        return fetched[corpus, query]

    print(f"# re-ranker blend ({time.strftime('%Y-%m-%d %H:%M')}, load avg {os.getloadavg()[0]:.2f}; {vars(args)})")
    data: dict = {"args": {k: str(v) for k, v in vars(args).items()}}
    if not args.skip_training:
        started = time.perf_counter()
        pairs, data["pairs"] = mine(stores, first_stage, args)
        print(f"mined {len(pairs)} pairs in {time.perf_counter() - started:.0f} s: {data['pairs']}", flush=True)
        options = RerankerOptions(
            epochs=args.epochs, learning_rate=args.learning_rate, max_length=args.max_length, max_steps=args.max_steps
        )
        started = time.perf_counter()
        data["training"] = train_reranker(pairs, args.out, options, resolve_model_path("all-MiniLM-L6-v2"))
        data["training"]["seconds"] = round(time.perf_counter() - started)
        print(f"trained: {data['training']}", flush=True)
    from sentence_transformers import CrossEncoder

    model = CrossEncoder(str(args.out), max_length=args.max_length)
    measure(stores, first_stage, model, args, data)
    data["chosen"] = choose(data["runs"])
    args.save.write_text(json.dumps(data))  # kept even if the timing below is cut short
    if args.time_questions:
        data["timing"] = time_it(stores, embedder, args.out, *blend_of(data["chosen"]), data["runs"], args)
        args.save.write_text(json.dumps(data))
    print("\n".join(report(data)))


if __name__ == "__main__":
    main()
