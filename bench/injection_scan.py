"""Prompt-injection flags per corpus: how many passages ``rag.injection`` flags, and every flag.

The real corpora (bench/corpora: manuals, LaTeX News, filings; fetched by bench/fetch_corpora.py)
and the sample corpus should have none: each flag printed here is a false alarm to look at. The
hostile corpus of the tests (bench/injection_corpus.py) shows what is caught. Passages are
made exactly as ingest makes them (loaders, boilerplate pages left out, PageChunker defaults).

    nice .venv/bin/python -m bench.injection_scan [--corpus NAME ...] [--quiet]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rag import injection
from rag.ingest.chunking import PageChunker
from rag.ingest.ingestor import Ingestor, walk
from rag.ingest.loaders import is_supported, load_file

ROOT = Path(__file__).resolve().parent.parent

CORPORA = {
    "manuals": ROOT / "bench/corpora/manuals",
    "latex-news": ROOT / "bench/corpora/latex-news",
    "filings": ROOT / "bench/corpora/filings",
    "samples": ROOT / "samples/warehouse-standards",
}


def passages(root: Path):
    """(source, page, text) of every chunk ingest would index under ``root``."""
    chunker = PageChunker()
    for path in walk(root):
        if not is_supported(path):
            continue
        source = path.relative_to(root).as_posix()
        try:
            pages = load_file(path)
        except Exception as e:  # noqa: BLE001 (a bench reports and goes on)
            print(f"  (not read: {source}: {e})")
            continue
        report = type("R", (), {"skipped_pages": {}})()
        pages = Ingestor._worth_indexing(pages, report)
        for chunk in chunker.chunk(source, "-", pages):
            yield source, chunk.page, chunk.text


def scan_corpus(name: str, root: Path, quiet: bool) -> tuple[int, int, int]:
    started = time.perf_counter()
    total = flagged = 0
    docs: set[str] = set()
    for source, page, text in passages(root):
        total += 1
        matches = injection.scan(text)
        if matches:
            flagged += 1
            docs.add(source)
            if not quiet:
                shown = "; ".join(f"{m.kind}: {' '.join(m.text.split())[:120]!r}" for m in matches)
                print(f"  {source} p.{page}: {shown}")
    seconds = time.perf_counter() - started
    print(f"{name}: {flagged} flagged of {total} passages in {len(docs)} documents ({seconds:.1f} s with loading)")
    return total, flagged, len(docs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="append", choices=[*CORPORA, "hostile"], help="default: all")
    parser.add_argument("--quiet", action="store_true", help="counts only, no flag listed")
    args = parser.parse_args()
    names = args.corpus or [*CORPORA, "hostile"]
    for name in names:
        if name == "hostile":
            from bench.injection_corpus import write_corpus

            with tempfile.TemporaryDirectory() as folder:
                scan_corpus(name, write_corpus(Path(folder)), args.quiet)
            continue
        root = CORPORA[name]
        if not root.exists():
            print(f"{name}: {root} is missing (run python -m bench.fetch_corpora)")
            continue
        scan_corpus(name, root, args.quiet)


if __name__ == "__main__":
    main()
