"""Ingestion throughput: the full pipeline against the raw embedding of the same chunks.

Builds a deterministic corpus of multi-page engineering-style PDFs with reportlab, then, N
times, ingests it into a fresh LanceDB index with the real pipeline

    Ingestor(LanceDBVectorStore(tmp), SentenceTransformerEmbedder(), PageChunker()).ingest([root])

and, in the same run, embeds exactly the texts the ingestor embeds (``embedding_text`` of every
chunk) with one ``embed_documents`` call. The overhead column is the share of pipeline time not
spent embedding: ``1 - pipeline_chunks_per_s / raw_embed_chunks_per_s``. Parsing, chunking and
the store writes (+ refresh) are timed alone so the gap is explained.

Prints medians of N runs; asserts nothing about timings.

    python -m bench.ingest_throughput                 # 16 PDFs x 12 pages, N=3
    python -m bench.ingest_throughput --docs 20 --pages 15 --runs 3 --samples
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

# Before the model libraries are imported: they read these once, at import.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from rag.embedders.local import SentenceTransformerEmbedder  # noqa: E402
from rag.ingest.chunking import PageChunker  # noqa: E402
from rag.ingest.ingestor import Ingestor, embedding_text, file_hash, walk  # noqa: E402
from rag.ingest.loaders import is_supported, load_file  # noqa: E402
from rag.stores.embedded import LanceDBVectorStore  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

SAMPLES = ROOT / "samples" / "warehouse-standards"

# -- deterministic engineering-like text ---------------------------------------------------------

COMPONENTS = (
    "sprinkler riser",
    "fire pump",
    "dock leveler",
    "overhead door",
    "roof drain",
    "expansion joint",
    "slab on grade",
    "vapor retarder",
    "rack upright",
    "beam connector",
    "LED high-bay fixture",
    "switchgear lineup",
    "panelboard",
    "transfer switch",
    "grounding electrode",
    "cable tray",
    "makeup air unit",
    "exhaust fan",
    "unit heater",
    "backflow preventer",
    "hose valve",
    "trench drain",
    "curb and gutter",
    "asphalt pavement",
    "concrete apron",
    "bollard",
    "guard rail",
    "dock seal",
    "trailer restraint",
    "battery charger",
    "eyewash station",
    "emergency light",
    "exit sign",
    "fire alarm panel",
    "smoke detector",
    "flow switch",
    "tamper switch",
    "anchor bolt",
    "base plate",
    "joist girder",
    "metal deck",
    "insulated panel",
)
VERBS = (
    "shall be installed",
    "shall be tested",
    "shall be inspected",
    "shall be anchored",
    "shall be coordinated",
    "shall be submitted for review",
    "shall be protected",
    "shall be labeled",
    "shall be sealed",
    "shall be grounded",
    "shall be supported",
    "shall be commissioned",
)
QUALIFIERS = (
    "in accordance with the manufacturer's written instructions",
    "before the building is turned over to the owner",
    "at intervals not exceeding 10 ft on center",
    "with a minimum clearance of 36 in. in front of the equipment",
    "to withstand the seismic forces of the design category",
    "so that no load is transferred to the roof deck",
    "after the slab has cured for at least 28 days",
    "at the locations shown on the drawings",
    "with stainless steel fasteners in corrosive areas",
    "under the observation of the owner's representative",
    "using the procedures of the referenced standard",
    "prior to the installation of finishes",
)
STANDARDS = (
    "NFPA 13",
    "NFPA 20",
    "NFPA 72",
    "NFPA 70",
    "ASTM C33",
    "ASTM A615",
    "ASTM E1643",
    "ACI 301",
    "ACI 302.1R",
    "ANSI MH16.1",
    "AISC 360",
    "ASCE 7-22",
    "IBC 2021",
    "UL 300",
    "IEEE 1584",
)
NOUNS = (
    "contractor",
    "engineer of record",
    "owner",
    "authority having jurisdiction",
    "installer",
    "testing agency",
    "commissioning agent",
    "manufacturer",
    "fabricator",
    "design team",
)
UNITS = ("psi", "ft", "in.", "lb", "kW", "A", "V", "gpm", "cfm", "degrees F", "percent")
TITLES = (
    "General Requirements",
    "Fire Suppression",
    "Dock Equipment",
    "Concrete Slabs",
    "Storage Racks",
    "Electrical Distribution",
    "Lighting",
    "Site Civil",
    "Roofing",
    "Mechanical Ventilation",
    "Plumbing",
    "Structural Steel",
    "Life Safety",
    "Pavement",
    "Commissioning",
)


def sentence(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.45:
        return f"The {rng.choice(COMPONENTS)} {rng.choice(VERBS)} {rng.choice(QUALIFIERS)}."
    if kind < 0.65:
        return (
            f"Provide {rng.choice(COMPONENTS)}s rated for {rng.randint(2, 400)} {rng.choice(UNITS)}, "
            f"as required by {rng.choice(STANDARDS)}."
        )
    if kind < 0.8:
        return (
            f"The {rng.choice(NOUNS)} shall verify that the {rng.choice(COMPONENTS)} meets "
            f"{rng.choice(STANDARDS)} and submit the results within {rng.randint(2, 30)} days."
        )
    if kind < 0.9:
        a, b = rng.randint(1, 99), rng.randint(1, 99)
        return f"Refer to Section {rng.randint(1, 33):02d} {a:02d} {b:02d} for {rng.choice(COMPONENTS)} requirements."
    return (
        f"Code {rng.choice('ABCDEFGH')}{rng.choice('ABCDEFGH')}{rng.choice('ABEHX')}{rng.randint(1, 99):02d}: "
        f"{rng.choice(COMPONENTS)} at {rng.randint(10, 900)} {rng.choice(UNITS)} maximum."
    )


def page_paragraphs(rng: random.Random, doc: int, page: int, target_chars: int) -> list[str]:
    paragraphs = [
        f"{rng.randint(1, 33):02d} {rng.randint(1, 99):02d} {rng.randint(1, 99):02d}.{page} "
        f"{rng.choice(TITLES).upper()} - PART {page}"
    ]
    size = len(paragraphs[0])
    while size < target_chars:
        para = " ".join(sentence(rng) for _ in range(rng.randint(3, 7)))
        paragraphs.append(para)
        size += len(para) + 2
    return paragraphs


def write_pdf(path: Path, rng: random.Random, doc: int, pages: int, target_chars: int) -> None:
    import textwrap

    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=letter, invariant=1)
    c.setTitle(path.stem)
    width, height = letter
    for page in range(1, pages + 1):
        y = height - 54
        c.setFont("Helvetica", 8.5)
        for i, para in enumerate(page_paragraphs(rng, doc, page, target_chars)):
            if i == 0:
                c.setFont("Helvetica-Bold", 10)
            for line in textwrap.wrap(para, 118):
                c.drawString(48, y, line)
                y -= 11
            c.setFont("Helvetica", 8.5)
            y -= 6
        c.setFont("Helvetica", 7)
        c.drawString(48, 30, f"{path.stem} - page {page} of {pages}")
        c.showPage()
    c.save()


def build_corpus(root: Path, docs: int, pages: int, chars: int, seed: int) -> None:
    rng = random.Random(seed)
    for d in range(docs):
        folder = root / ("Standards" if d % 3 else "Guides") / f"Division {d % 5 + 1:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        write_pdf(folder / f"{TITLES[d % len(TITLES)]} Standard {d + 1:02d}.pdf", rng, d, pages, chars)


# -- measurements -----------------------------------------------------------------------------


def files_of(root: Path) -> list[tuple[str, Path]]:
    base = root
    return [(p.relative_to(base).as_posix(), p) for p in walk(root) if is_supported(p)]


def time_parse(files):
    started = time.perf_counter()
    loaded = [(source, path, load_file(path)) for source, path in files]
    return time.perf_counter() - started, loaded


def time_chunk(loaded, chunker):
    started = time.perf_counter()
    chunked = [(source, chunker.chunk(source, file_hash(path), pages)) for source, path, pages in loaded]
    return time.perf_counter() - started, chunked


def time_store(chunked, vectors, index_dir: Path) -> float:
    """Writes every document with precomputed vectors and refreshes, as the ingestor does."""
    store = LanceDBVectorStore(index_dir)
    started = time.perf_counter()
    offset = 0
    for source, chunks in chunked:
        store.write_document(source, chunks, vectors[offset : offset + len(chunks)])
        offset += len(chunks)
    store.refresh()
    return time.perf_counter() - started


def median(xs):
    return statistics.median(xs)


class TimedEmbedder:
    """Passes every call to the real embedder and adds up the time spent in embed_documents,
    so the pipeline's own embedding time is known exactly (the wrapper costs microseconds)."""

    def __init__(self, inner):
        self.inner = inner
        self.model_id = inner.model_id
        self.seconds = 0.0
        self.calls = 0

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed_documents(self, texts):
        t = time.perf_counter()
        try:
            return self.inner.embed_documents(texts)
        finally:
            self.seconds += time.perf_counter() - t
            self.calls += 1

    def embed_query(self, text):
        return self.inner.embed_query(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=16, help="PDFs to generate (default 16)")
    ap.add_argument("--pages", type=int, default=12, help="pages per PDF (default 12)")
    ap.add_argument("--chars", type=int, default=2500, help="target characters per page (default 2500)")
    ap.add_argument("--runs", type=int, default=3, help="runs of each measurement (default 3)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--samples", action="store_true", help=f"also ingest {SAMPLES.relative_to(ROOT)} (as a second root)"
    )
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ragbot-bench-ingest-"))
    try:
        corpus = work / "corpus"
        started = time.perf_counter()
        build_corpus(corpus, args.docs, args.pages, args.chars, args.seed)
        gen_s = time.perf_counter() - started
        roots = [corpus]
        if args.samples and SAMPLES.exists():
            roots.append(SAMPLES)
        files = [f for r in roots for f in files_of(r)]
        size_mb = sum(p.stat().st_size for _, p in files) / 1e6

        embedder = SentenceTransformerEmbedder()
        chunker = PageChunker()
        import torch

        # Warm-up: load the model and run a couple of batches before any timing.
        embedder.embed_documents(["warm-up passage about a sprinkler riser test at 200 psi"] * 64)

        parse_s, loaded = time_parse(files)
        chunk_s, chunked = time_chunk(loaded, chunker)
        texts = [embedding_text(c) for _, chunks in chunked for c in chunks]
        n_pages = sum(len(pages) for _, _, pages in loaded)
        n_chunks = len(texts)
        n_chars = sum(len(p.text) for _, _, pages in loaded for p in pages)

        print(
            f"# ingest throughput  (python {platform.python_version()}, torch {torch.__version__}, "
            f"{os.cpu_count()} cpus, torch threads {torch.get_num_threads()}, load avg {os.getloadavg()[0]:.2f})"
        )
        print(
            f"corpus: {len(files)} files, {n_pages} pages, {n_chars / n_pages:.0f} chars/page, {n_chunks} chunks, "
            f"{size_mb:.1f} MB of PDF (generated in {gen_s:.1f} s); roots: {', '.join(r.name for r in roots)}"
        )
        print(
            f"model: {embedder.model_id}, batch {embedder.batch_size}, max_seq_length {embedder.model.max_seq_length}; "
            f"runs: {args.runs}, interleaved pipeline / raw embed / parse / chunk / store"
        )
        print()

        pipe_s, inner_s, embed_s, parse_runs, chunk_runs, store_runs = [], [], [], [parse_s], [chunk_s], []
        for run in range(args.runs):
            index = work / f"index-{run}"
            store = LanceDBVectorStore(index)
            timed_embedder = TimedEmbedder(embedder)
            t0 = time.perf_counter()
            report = Ingestor(store, timed_embedder, PageChunker()).ingest(roots)
            pipe_s.append(time.perf_counter() - t0)
            inner_s.append(timed_embedder.seconds)
            if report.chunks != n_chunks or report.pages != n_pages or report.failed:
                print(
                    f"warning: pipeline indexed {report.pages} pages / {report.chunks} chunks "
                    f"(expected {n_pages} / {n_chunks}), failed={report.failed}"
                )
            shutil.rmtree(index, ignore_errors=True)

            t0 = time.perf_counter()
            vectors = embedder.embed_documents(texts)
            embed_s.append(time.perf_counter() - t0)

            if run:  # run 0's parse and chunk were timed above
                s, loaded = time_parse(files)
                parse_runs.append(s)
                s, chunked = time_chunk(loaded, chunker)
                chunk_runs.append(s)
            store_runs.append(time_store(chunked, vectors, work / f"store-{run}"))
            shutil.rmtree(work / f"store-{run}", ignore_errors=True)
            print(
                f"run {run + 1}: pipeline {pipe_s[-1]:.1f} s (of which embed_documents {inner_s[-1]:.1f} s in "
                f"{timed_embedder.calls} calls), raw embed {embed_s[-1]:.1f} s, parse {parse_runs[-1]:.2f} s, "
                f"chunk {chunk_runs[-1]:.2f} s, store write+refresh {store_runs[-1]:.2f} s"
            )

        p, e, inner = median(pipe_s), median(embed_s), median(inner_s)
        pa, ch, st = median(parse_runs), median(chunk_runs), median(store_runs)
        pipe_cps, raw_cps = n_chunks / p, n_chunks / e
        overheads = [1 - (n_chunks / a) / (n_chunks / b) for a, b in zip(pipe_s, embed_s, strict=True)]
        rest = [a - b for a, b in zip(pipe_s, inner_s, strict=True)]
        print()
        print(f"## medians of {args.runs} runs ({n_pages} pages, {n_chunks} chunks); best of {args.runs} in brackets")
        print()
        print("| measure | seconds | pages/s | chunks/s |")
        print("|---|---:|---:|---:|")
        print(
            f"| full pipeline (Ingestor.ingest) | {p:.2f} [{min(pipe_s):.2f}] | {n_pages / p:.1f} [{n_pages / min(pipe_s):.1f}] "
            f"| {pipe_cps:.1f} [{n_chunks / min(pipe_s):.1f}] |"
        )
        print(
            f"| raw embed_documents, same texts, one call | {e:.2f} [{min(embed_s):.2f}] | {n_pages / e:.1f} [{n_pages / min(embed_s):.1f}] "
            f"| {raw_cps:.1f} [{n_chunks / min(embed_s):.1f}] |"
        )
        print(
            f"| embed_documents inside the pipeline | {inner:.2f} [{min(inner_s):.2f}] | - | {n_chunks / inner:.1f} |"
        )
        print(f"| pipeline minus its embed_documents | {median(rest):.2f} [{min(rest):.2f}] | - | - |")
        print(f"| parse alone (load_file, pypdfium2) | {pa:.2f} | {n_pages / pa:.0f} | - |")
        print(f"| chunk alone (hash + PageChunker) | {ch:.3f} | {n_pages / ch:.0f} | {n_chunks / ch:.0f} |")
        print(f"| store alone (write_document x {len(files)} + refresh) | {st:.2f} | - | {n_chunks / st:.0f} |")
        print()
        print(
            f"overhead = 1 - pipeline_chunks_per_s / raw_embed_chunks_per_s: medians {1 - pipe_cps / raw_cps:.1%}; "
            f"per run {', '.join(f'{o:.1%}' for o in overheads)} (median {median(overheads):.1%}); "
            f"best-of {1 - min(embed_s) / min(pipe_s):.1%}"
        )
        print(
            f"pipeline time outside embed_documents: {median(rest):.2f} s median "
            f"({median(rest) / p:.1%} of the pipeline) vs parse + chunk + store measured alone {pa + ch + st:.2f} s"
        )
        print(
            f"embed_documents inside the pipeline vs one raw call: {inner / e:.2f}x "
            f"(the pipeline calls it whenever >= {Ingestor.embed_batch} chunks are pending after a file)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
