"""Search latency of the embedded store (LanceDBVectorStore) at 10k and 100k chunks.

Fills a fresh store with synthetic chunks through the public API (``write_document`` per
document, then ``refresh``), and times ``store.search`` in the three modes. With the default
``ann_min_rows=20_000`` the 10k store is searched exactly (flat scan) and the 100k store gets the
IVF-HNSW-SQ index; the script prints which index each store ended up with.

Also measured in the same run:
  * the obvious alternative: brute-force numpy cosine top-k over the same 100k x 384 matrix,
    and the recall@k of the ANN index against it;
  * what a user waits for: ``Retriever.search`` with the real embedder on a real question
    (query embedding included) at 100k chunks.

Prints p50/p95 in ms over --queries queries per mode after a warm-up; asserts nothing.

    python bench/search_latency.py
    python bench/search_latency.py --sizes 10000 100000 --queries 200
    python -m bench.search_latency --store opensearch --sizes 100000   # beside OpenSearch, real passages
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# rag/stores/embedded.py calls the create_index(metric=...) form that lancedb 0.40 deprecates.
warnings.filterwarnings("ignore", message=r"The create_index\(\) API", category=DeprecationWarning)

ROOT = Path(__file__).resolve().parents[1]

import numpy as np  # noqa: E402

from rag.records import Chunk, chunk_id  # noqa: E402
from rag.stores.embedded import RESULT_COLUMNS, LanceDBVectorStore, keyword_query  # noqa: E402
from rag.stores.identifiers import identifier_phrases  # noqa: E402

DIM = 384  # all-MiniLM-L6-v2
K = 5  # Settings.top_k default

BASE_WORDS = """
shall be installed tested inspected anchored coordinated submitted protected labeled sealed grounded
supported commissioned provide verify maintain replace design minimum maximum required rated
sprinkler riser pump fire alarm panel detector flow tamper switch valve hose backflow preventer
dock leveler door seal shelter trailer restraint bumper apron slab grade vapor retarder joint
expansion control saw cut curing concrete rebar mesh fiber flatness levelness tolerance rack
upright beam connector anchor bolt base plate column joist girder deck roof drain scupper gutter
downspout membrane insulation panel wall cladding lighting fixture LED high-bay emergency exit sign
switchgear panelboard transformer breaker feeder conduit cable tray grounding electrode bonding
conductor receptacle generator transfer battery charger eyewash station heater exhaust fan makeup
air unit duct damper louver thermostat controls pavement asphalt base course subgrade compaction
curb gutter trench drain storm sewer manhole catch basin pipe bedding backfill bollard guard rail
striping signage fence gate contractor engineer owner authority jurisdiction installer agency
manufacturer fabricator drawings specifications submittal shop product data warranty schedule
clearance load capacity pressure flow rate voltage current temperature humidity seismic wind snow
dead live deflection spacing center height width depth thickness elevation slope finish coating
paint galvanized stainless steel aluminum copper PVC HDPE ductile iron grout sealant fastener weld
inspection report test certificate acceptance commissioning closeout record as-built manual
training spare parts maintenance access clearance egress occupancy storage high-piled commodity
class ESFR in-rack density area demand hydraulic calculation water supply tank hydrant main
the of and to in for with at on by from as or that this each all any per not within before after
""".split()


def vocabulary(rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """Base words plus generated codes and section numbers, with Zipf-like frequencies."""
    letters = np.array(list("ABCDEFGHJKLMNPRSTUVWX"))
    codes = [f"{''.join(rng.choice(letters, 3))}{rng.integers(1, 100):02d}" for _ in range(800)]
    codes += [f"{''.join(rng.choice(letters, 2))}-{rng.integers(100, 1000)}" for _ in range(400)]
    numbers = [str(n) for n in rng.integers(2, 2000, 600)]
    order = rng.permutation(len(BASE_WORDS))  # common words first, codes in the tail
    words = [BASE_WORDS[i] for i in order] + codes + numbers
    weights = 1.0 / np.arange(1, len(words) + 1, dtype=np.float64) ** 1.05
    return words, weights / weights.sum()


def section(rng) -> str:
    return f"{rng.integers(1, 34):02d} {rng.integers(1, 100):02d} {rng.integers(1, 100):02d}"


def chunk_texts(rng: np.random.Generator, words, probs, n: int) -> list[str]:
    """``n`` passages of 110-170 words (~800-1000 chars, like the 1000-char chunks) with a
    section number in most of them."""
    lengths = rng.integers(110, 170, n)
    idx = rng.choice(len(words), size=int(lengths.sum()), p=probs)
    out, pos = [], 0
    for length in lengths:
        tokens = [words[i] for i in idx[pos : pos + length]]
        pos += length
        if rng.random() < 0.7:
            tokens.insert(int(rng.integers(0, length)), f"Section {section(rng)}")
        out.append(" ".join(tokens))
    return out


def unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    # Random unit vectors instead of real embeddings: embedding 100k chunks takes hours on this
    # CPU, and the latency of the index (flat scan, IVF partition probes, HNSW graph walk, SQ
    # distance computations) depends on the number of rows and the dimension, not on what the
    # vectors mean. (Recall does depend on the data: uniform random vectors have no cluster
    # structure and are the hard case for IVF, so the recall printed below is a lower bound.)
    v = rng.standard_normal((n, DIM), dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def query_texts(rng: np.random.Generator, words, probs, n: int) -> list[str]:
    """Questions of 3-8 words from the mid-frequency vocabulary, a third naming a section or a code."""
    head = len(BASE_WORDS)
    p = probs[:head] / probs[:head].sum()
    out = []
    for _ in range(n):
        tokens = [words[i] for i in rng.choice(head, size=int(rng.integers(3, 9)), p=p)]
        r = rng.random()
        if r < 0.2:
            tokens.append(section(rng))
        elif r < 0.33:
            tokens.append(words[head + int(rng.integers(0, 1200))])  # a code such as HEA06 or DD-114
        out.append(" ".join(tokens))
    return out


def du_mb(path: Path) -> float:
    try:
        return int(subprocess.check_output(["du", "-sk", str(path)]).split()[0]) / 1024
    except (OSError, subprocess.CalledProcessError):
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def pct(xs, q) -> float:
    return float(np.percentile(np.asarray(xs) * 1000, q))


def timed(fn, n_warm: int, args_list) -> list[float]:
    for a in args_list[:n_warm]:
        fn(*a)
    out = []
    for a in args_list:
        t = time.perf_counter()
        fn(*a)
        out.append(time.perf_counter() - t)
    return out


def timed_interleaved(fns: dict, n_warm: int, args_list) -> dict[str, list[float]]:
    """Runs every function on each argument tuple in turn (rotating the order), so that noise from
    other processes on the machine hits all of them alike."""
    names = list(fns)
    for a in args_list[:n_warm]:
        for name in names:
            fns[name](*a)
    out = {name: [] for name in names}
    for i, a in enumerate(args_list):
        for j in range(len(names)):
            name = names[(i + j) % len(names)]
            t = time.perf_counter()
            fns[name](*a)
            out[name].append(time.perf_counter() - t)
    return out


def timed_apart(fns: dict, n_warm: int, args_list) -> tuple[dict[str, list[float]], dict[str, list]]:
    """Like ``timed_interleaved``, but each function gets its own queries (call i goes to function
    i mod n): a query asked in one mode warms LanceDB's caches for the same query in the next
    mode, which made hybrid look 20-30% faster than when asked alone. Returns the timings and
    the arguments each function got."""
    names = list(fns)
    for a in args_list[:n_warm]:
        for name in names:
            fns[name](*a)
    times = {name: [] for name in names}
    given = {name: [] for name in names}
    for i, a in enumerate(args_list[n_warm:]):
        name = names[i % len(names)]
        t = time.perf_counter()
        fns[name](*a)
        times[name].append(time.perf_counter() - t)
        given[name].append(a)
    return times, given


class _Timer:
    """Wraps methods of the LanceDB table the store opened, to split refresh() into its steps."""

    def __init__(self, table, names):
        self.seconds = {}
        for name in names:
            original = getattr(table, name)

            def wrapper(*a, _original=original, _name=name, **kw):
                t = time.perf_counter()
                try:
                    return _original(*a, **kw)
                finally:
                    self.seconds[_name] = self.seconds.get(_name, 0.0) + time.perf_counter() - t

            setattr(table, name, wrapper)


def build_store(path: Path, n_chunks: int, per_doc: int, rng, words, probs, make_vectors=None):
    """A LanceDBVectorStore filled through write_document, then refresh(); ``make_vectors(rng, n)``
    gives each document's vectors (random unit vectors by default)."""
    make_vectors = make_vectors or unit_vectors
    store = LanceDBVectorStore(path)  # defaults: ann_min_rows=20_000, candidates=30
    n_docs = n_chunks // per_doc
    all_vectors = np.empty((n_docs * per_doc, DIM), dtype=np.float32)
    gen_s = 0.0
    writes = []
    for d in range(n_docs):
        t = time.perf_counter()
        source = f"Division {d % 33 + 1:02d}/Standard {d:05d}.pdf"
        folder = source.rpartition("/")[0]
        texts = chunk_texts(rng, words, probs, per_doc)
        vectors = make_vectors(rng, per_doc)
        chunks = [
            Chunk(
                id=chunk_id(source, i // 3 + 1, text),
                source=source,
                folder=folder,
                page=i // 3 + 1,
                text=text,
                doc_hash=f"{d:064x}",
                chunk_index=i,
                context=f"Standard {d:05d} · {folder} · {section(rng)} {words[i % len(words)]} requirements",
            )
            for i, text in enumerate(texts)
        ]
        all_vectors[d * per_doc : (d + 1) * per_doc] = vectors
        gen_s += time.perf_counter() - t
        t = time.perf_counter()
        store.write_document(source, chunks, vectors)
        writes.append(time.perf_counter() - t)
    timer = _Timer(store._open(), ["create_fts_index", "create_index", "optimize"])
    t = time.perf_counter()
    store.refresh()
    refresh_s = time.perf_counter() - t
    return store, all_vectors, gen_s, writes, refresh_s, timer.seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--per-doc", type=int, default=100, help="chunks per document (one write_document each)")
    ap.add_argument("--queries", type=int, default=200, help="timed queries per mode")
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--no-e2e", action="store_true", help="skip Retriever.search with the real embedder")
    ap.add_argument(
        "--store",
        choices=("embedded", "opensearch"),
        default="embedded",
        help="opensearch: the embedded store and a real OpenSearch node side by side on real passages "
        "(bench/opensearch_latency.py)",
    )
    ap.add_argument("--rounds", type=int, default=3, help="--store opensearch: timed rounds (medians)")
    ap.add_argument("--heap", default="3g", help="--store opensearch: the local node's JVM heap (-Xmx)")
    ap.add_argument("--opensearch-url", default=None, help="--store opensearch: a running cluster instead")
    args = ap.parse_args()
    if args.store == "opensearch":
        from bench.opensearch_latency import side_by_side

        side_by_side(args)
        return

    import lancedb

    rng = np.random.default_rng(args.seed)
    words, probs = vocabulary(rng)
    # the per-mode timings use 3 x --queries distinct queries (one set per mode), the rest the first --queries
    all_texts = query_texts(rng, words, probs, args.warmup + 3 * args.queries)
    all_vecs = unit_vectors(rng, args.warmup + 3 * args.queries)
    q_texts, q_vecs = all_texts[: args.queries], all_vecs[: args.queries]
    print(
        f"# search latency  (python {platform.python_version()}, lancedb {lancedb.__version__}, numpy {np.__version__}, "
        f"{os.cpu_count()} cpus, load avg {os.getloadavg()[0]:.2f})"
    )
    print(
        f"k={K}, {args.queries} timed queries per mode after {args.warmup} warm-up queries; "
        f"synthetic chunks ~{np.mean([len(t) for t in chunk_texts(rng, words, probs, 200)]):.0f} chars, "
        f"random unit vectors dim {DIM}; {args.per_doc} chunks per write_document"
    )
    print(f"example query: {q_texts[0]!r}; {q_texts[1]!r}")
    print()

    work = Path(tempfile.mkdtemp(prefix="ragbot-bench-search-"))
    rows, split_rows, builds, extra = [], [], [], {}
    try:
        largest = max(args.sizes)
        for n in sorted(args.sizes):
            path = work / f"store-{n}"
            store, matrix, gen_s, writes, refresh_s, steps = build_store(path, n, args.per_doc, rng, words, probs)
            write_s = sum(writes)
            tenth = max(1, len(writes) // 10)
            first_ms, last_ms = 1000 * np.mean(writes[:tenth]), 1000 * np.mean(writes[-tenth:])
            size_mb = du_mb(path)
            indices = {i.columns[0]: i.index_type for i in store._open().list_indices()}
            vector_index = indices.get("vector", "none (exact flat scan)")
            builds.append(
                (
                    n,
                    store.count(),
                    write_s,
                    first_ms,
                    last_ms,
                    refresh_s,
                    steps,
                    size_mb,
                    vector_index,
                    indices.get("search_text", "none"),
                )
            )
            print(
                f"built {n}: write {write_s:.1f} s (first/last 10% of documents {first_ms:.0f}/{last_ms:.0f} ms each), refresh {refresh_s:.1f} s "
                f"({', '.join(f'{k} {v:.1f} s' for k, v in steps.items())}), {size_mb:.0f} MB, vector index: {vector_index} "
                f"(synthetic data generation {gen_s:.1f} s, not counted)"
            )

            calls = [(t, v) for t, v in zip(q_texts, q_vecs, strict=True)]
            lat, given = timed_apart(
                {m: (lambda t, v, m=m: store.search(t, v, k=K, mode=m)) for m in ("vector", "keyword", "hybrid")},
                args.warmup,
                list(zip(all_texts, all_vecs, strict=True)),
            )
            for mode in ("hybrid", "vector", "keyword"):
                index = vector_index if mode != "keyword" else "BM25 (" + indices.get("search_text", "none") + ")"
                if mode == "hybrid":
                    index = f"{vector_index} + BM25 (context and text, one column), weighted fusion of 2 x {store.candidates}"
                rows.append((n, mode, index, pct(lat[mode], 50), pct(lat[mode], 95)))
                print(f"  {mode:8s} p50 {rows[-1][3]:7.1f} ms  p95 {rows[-1][4]:7.1f} ms")
            # Queries naming a section number or a code: their candidates are reordered by exact match.
            for mode in ("keyword", "hybrid"):
                for label, want in (("with identifier", True), ("words only", False)):
                    xs = [
                        x
                        for x, (t, _) in zip(lat[mode], given[mode], strict=True)
                        if bool(identifier_phrases(t)) is want
                    ]
                    if xs:
                        split_rows.append((n, mode, label, len(xs), pct(xs, 50), pct(xs, 95)))

            if n == largest:
                # The obvious alternative: brute-force cosine top-k in numpy over the same matrix
                # (rows are unit vectors, so cosine = dot product).
                def brute(v):
                    scores = matrix @ v
                    top = np.argpartition(-scores, K)[:K]
                    return top[np.argsort(-scores[top])]

                # Same query as the store's vector search, with a wider HNSW search (ef) - not what
                # the store does today, shown for the recall/latency trade-off.
                table = store._open()

                def lance_ef(v, ef=100):
                    q = table.search(v, vector_column_name="vector").distance_type("cosine").ef(ef).limit(K)
                    return q.select(["source", "chunk_index", "_distance"]).to_arrow()

                def lance_flat(v):
                    q = (
                        table.search(v, vector_column_name="vector")
                        .distance_type("cosine")
                        .bypass_vector_index()
                        .limit(K)
                    )
                    return q.select(["source", "chunk_index", "_distance"]).to_arrow()

                lat = timed_interleaved(
                    {
                        "numpy": lambda v: brute(v),
                        "store": lambda v: store.search("", v, k=K, mode="vector"),
                        "ef100": lambda v: lance_ef(v),
                        "flat": lambda v: lance_flat(v),
                    },
                    args.warmup,
                    [(v,) for v in q_vecs],
                )
                extra["numpy"] = (pct(lat["numpy"], 50), pct(lat["numpy"], 95))
                extra["store_vector"] = (pct(lat["store"], 50), pct(lat["store"], 95))
                extra["ef100"] = (pct(lat["ef100"], 50), pct(lat["ef100"], 95))
                extra["flat"] = (pct(lat["flat"], 50), pct(lat["flat"], 95))

                # Recall@k against the exact answer. Chunks were written in matrix order, so
                # document number * per_doc + chunk_index is the matrix row.
                def row_of(source, chunk_index):
                    return int(source.rsplit(" ", 1)[1].split(".")[0]) * args.per_doc + chunk_index

                hits = hits_ef = 0
                for v in q_vecs[:100]:
                    exact = set(brute(v).tolist())
                    got = {row_of(r.chunk.source, r.chunk.chunk_index) for r in store.search("", v, k=K, mode="vector")}
                    hits += len(exact & got)
                    got = lance_ef(v).to_pylist()
                    hits_ef += len(exact & {row_of(r["source"], r["chunk_index"]) for r in got})
                extra["recall"] = hits / (100 * K)
                extra["recall_ef100"] = hits_ef / (100 * K)

                # The same hybrid search through LanceDB's sync query builders, the BM25 side in a
                # second Python thread: what the store did before it used the async API.
                pool = ThreadPoolExecutor(1)

                def keyword_side(t, v):
                    fts = table.search(keyword_query(t), query_type="fts").limit(store.candidates)
                    return store._keyword_rows(fts.to_arrow(), t, v)

                def sync_hybrid(t, v):
                    side = pool.submit(keyword_side, t, v)
                    query = table.search(v, vector_column_name="vector").distance_type("cosine").ef(100)
                    rows = query.select([*RESULT_COLUMNS, "_distance"]).limit(store.candidates).to_list()
                    return store._fused(t, rows, side.result())[:K]

                same = sum(
                    [r.chunk.id for r in store.search(t, v, k=K)] == [r["id"] for r in sync_hybrid(t, v)]
                    for t, v in zip(q_texts[:50], q_vecs[:50], strict=True)
                )
                lat, _ = timed_apart(
                    {"async": lambda t, v: store.search(t, v, k=K), "sync": sync_hybrid},
                    args.warmup,
                    list(zip(all_texts, all_vecs, strict=True)),
                )
                pool.shutdown()
                extra["hybrid_api"] = {name: (pct(xs, 50), pct(xs, 95), len(xs)) for name, xs in lat.items()}
                extra["hybrid_same"] = same

                # Fewer candidates per side: less BM25 work and fewer rows read, at some risk to
                # what fusion can lift into the top k (bench/real_retrieval.py measures that).
                sizes = (50, 40, 30)
                by_size = {c: LanceDBVectorStore(path, candidates=c) for c in sizes}
                lat, _ = timed_apart(
                    {c: (lambda t, v, s=s: s.search(t, v, k=K)) for c, s in by_size.items()},
                    args.warmup,
                    list(zip(all_texts, all_vecs, strict=True)),
                )
                extra["candidates"] = {c: (pct(xs, 50), pct(xs, 95), len(xs)) for c, xs in lat.items()}

                if not args.no_e2e:
                    from rag.embedders.local import SentenceTransformerEmbedder
                    from rag.retrieval import Retriever

                    embedder = SentenceTransformerEmbedder()
                    embedder.embed_query("warm up")
                    questions = [
                        "What is the required test pressure for the sprinkler riser in section 21 13 13?",
                        "minimum clearance in front of switchgear",
                        "How far apart should rack upright anchors be spaced?",
                        "dock leveler capacity HEA06",
                        "curing time before the slab can receive the rack anchors",
                    ]
                    calls = [(questions[i % len(questions)],) for i in range(100)]
                    retrievers = {m: Retriever(store, embedder, mode=m) for m in ("hybrid", "vector", "keyword")}
                    # The same hybrid search without routing to named documents (rag/routing.py).
                    retrievers["hybrid_unrouted"] = Retriever(store, embedder, route_weight=0.0)
                    fns = {m: (lambda q, r=r: r.search(q, k=K)) for m, r in retrievers.items()}
                    fns["embed_query"] = lambda q: embedder.embed_query(q)
                    lat = timed_interleaved(fns, 10, calls)
                    for name, xs in lat.items():
                        extra[f"e2e_{name}"] = (pct(xs, 50), pct(xs, 95))
            # refresh() keeps superseded versions for an hour (cleanup_older_than=1h); what the
            # index takes once they are gone:
            from datetime import timedelta

            store._open().optimize(cleanup_older_than=timedelta(0), delete_unverified=True)
            extra[f"size_clean_{n}"] = du_mb(path)
            store = matrix = None  # free them before the next size (the closures above are done)
            shutil.rmtree(path, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print()
    print("## index builds")
    print()
    print(
        f"| chunks | write_document x {args.per_doc} chunks, total | per document, first / last 10% | refresh (index build) "
        "| of which FTS / ANN / optimize | on disk after refresh | vector index | text index |"
    )  # noqa: E501
    print("|---:|---:|---:|---:|---|---:|---|---|")
    for n, count, write_s, first_ms, last_ms, refresh_s, steps, size_mb, vindex, tindex in builds:
        split = " / ".join(f"{steps.get(k, 0.0):.1f} s" for k in ("create_fts_index", "create_index", "optimize"))
        clean = extra.get(f"size_clean_{n}", float("nan"))
        print(
            f"| {count:,} | {write_s:.1f} s | {first_ms:.0f} / {last_ms:.0f} ms | {refresh_s:.1f} s | {split} "
            f"| {size_mb:.0f} MB ({clean:.0f} MB without old versions) | {vindex} | {tindex} |"
        )
    print()
    print(f"## store.search latency, k={K}, {args.queries} queries per mode (each mode its own queries)")
    print()
    print("| chunks | mode | index used | p50 ms | p95 ms |")
    print("|---:|---|---|---:|---:|")
    for n, mode, index, p50, p95 in rows:
        print(f"| {n:,} | {mode} | {index} | {p50:.1f} | {p95:.1f} |")
    if split_rows:
        print()
        print("keyword and hybrid latency by query kind (identifier queries: candidates reordered by exact match):")
        print()
        print("| chunks | mode | queries | n | p50 ms | p95 ms |")
        print("|---:|---|---|---:|---:|---:|")
        for n, mode, label, count, p50, p95 in split_rows:
            print(f"| {n:,} | {mode} | {label} | {count} | {p50:.1f} | {p95:.1f} |")
    if "candidates" in extra:
        print()
        print(f"## hybrid at {max(args.sizes):,} chunks by candidates per side (each its own queries)")
        print()
        print("| candidates per side | queries | p50 ms | p95 ms |")
        print("|---:|---:|---:|---:|")
        for c, (p50, p95, n) in extra["candidates"].items():
            print(f"| {c} | {n} | {p50:.1f} | {p95:.1f} |")
    if "hybrid_api" in extra:
        api = extra["hybrid_api"]
        print()
        print(f"## hybrid at {largest:,} chunks: one async call vs LanceDB's sync builders (each its own queries)")
        print()
        print("| how | queries | p50 ms | p95 ms |")
        print("|---|---:|---:|---:|")
        print(
            f"| store.search: both sides in one call to LanceDB's async API (shipped) | {api['async'][2]} | {api['async'][0]:.1f} | {api['async'][1]:.1f} |"
        )
        print(
            f"| sync builders, BM25 side in a second thread (before) | {api['sync'][2]} | {api['sync'][0]:.1f} | {api['sync'][1]:.1f} |"
        )
        print(
            f"\nsame top {K} for {extra['hybrid_same']} of 50 queries; ratio sync / async p50 {api['sync'][0] / api['async'][0]:.2f}x"
        )
    if "numpy" in extra:
        print()
        print(f"## vector search vs. the obvious alternative at {largest:,} chunks (interleaved, same queries)")
        print()
        print(f"| method | p50 ms | p95 ms | recall@{K} vs exact |")
        print("|---|---:|---:|---:|")
        print(
            f"| numpy brute-force cosine top-{K} ({largest:,} x {DIM} float32 in RAM, ids only) "
            f"| {extra['numpy'][0]:.2f} | {extra['numpy'][1]:.2f} | 100% |"
        )
        print(
            f"| store.search(mode='vector') as shipped (IVF-HNSW-SQ, default ef; rows with text) "
            f"| {extra['store_vector'][0]:.2f} | {extra['store_vector'][1]:.2f} | {extra['recall']:.1%} |"
        )
        print(
            f"| same LanceDB query with .ef(100) (2 columns) "
            f"| {extra['ef100'][0]:.2f} | {extra['ef100'][1]:.2f} | {extra['recall_ef100']:.1%} |"
        )
        print(
            f"| same LanceDB query, exact (bypass_vector_index, 2 columns) "
            f"| {extra['flat'][0]:.2f} | {extra['flat'][1]:.2f} | 100% |"
        )
        print()
        print(
            f"ratio store vector p50 / numpy p50 = {extra['store_vector'][0] / extra['numpy'][0]:.2f}x "
            f"(recall over 100 queries on uniform random vectors: the worst case for an ANN index)"
        )
        print(
            f"ratio LanceDB exact p50 / numpy p50 = {extra['flat'][0] / extra['numpy'][0]:.1f}x; "
            f"LanceDB exact p50 / store vector p50 = {extra['flat'][0] / extra['store_vector'][0]:.1f}x"
        )
    if "e2e_hybrid" in extra:
        print()
        print(
            f"## end to end at {largest:,} chunks: Retriever.search(question), all-MiniLM-L6-v2 query embedding, 100 calls each"
        )
        print()
        print("| what | p50 ms | p95 ms |")
        print("|---|---:|---:|")
        for mode in ("hybrid", "vector", "keyword"):
            print(f"| Retriever.search, mode={mode} | {extra[f'e2e_{mode}'][0]:.1f} | {extra[f'e2e_{mode}'][1]:.1f} |")
        unrouted = extra["e2e_hybrid_unrouted"]
        print(f"| Retriever.search, mode=hybrid, route_weight=0 | {unrouted[0]:.1f} | {unrouted[1]:.1f} |")
        print(f"| embedder.embed_query alone | {extra['e2e_embed_query'][0]:.1f} | {extra['e2e_embed_query'][1]:.1f} |")
    import resource

    print(
        f"\nload avg at end {os.getloadavg()[0]:.2f}; peak memory (max RSS) of this process "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
