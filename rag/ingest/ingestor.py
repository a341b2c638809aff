"""Incremental ingestion of folders into a vector store.

Files are identified by their path relative to the root they were ingested from; a file whose
content hash is unchanged is skipped, a changed file replaces its chunks, and ``prune`` drops
documents whose files are no longer under any of the roots.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from rag.embedders.base import Embedder
from rag.errors import LoadError, RagError
from rag.ingest.chunking import PageChunker
from rag.ingest.loaders import is_supported, load_file
from rag.ingest.pages import classify
from rag.models import Chunk
from rag.stores.base import VectorStore

log = logging.getLogger(__name__)


class FileIssue(BaseModel):
    source: str
    reason: str


class IngestReport(BaseModel):
    """What one ingest run did. ``ok`` is False when any supported file could not be read."""

    roots: list[str]
    files_seen: int = 0
    indexed: list[str] = []
    unchanged: int = 0
    failed: list[FileIssue] = []
    skipped: list[FileIssue] = []
    pruned: list[str] = []
    pages: int = 0
    skipped_pages: dict[str, int] = {}
    chunks: int = 0
    seconds: float = 0.0
    started_at: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass
class Progress:
    """Passed to the progress callback after every file."""

    files_done: int
    files_total: int
    pages_done: int
    current: str


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _ignored(name: str) -> bool:
    # Hidden files and Office lock files ("~$Report.docx") are never documents.
    return name.startswith(".") or name.startswith("~$")


def walk(root: Path) -> Iterator[Path]:
    """Every non-hidden file under ``root`` (or ``root`` itself when it is a file), sorted."""
    if root.is_file():
        yield root
        return
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not _ignored(d))
        for name in sorted(files):
            if not _ignored(name):
                yield Path(folder) / name


@dataclass
class _Pending:
    source: str
    chunks: list[Chunk]


@dataclass
class Ingestor:
    """Loads, chunks, embeds and writes documents.

    Args:
        store: where chunks go.
        embedder: embeds chunk text.
        chunker: splits pages into chunks.
        embed_batch: chunks embedded per call, gathered across small documents.
        skip_pages: leave out pages that ``rag.ingest.pages.classify`` finds are contents,
            indexes, blank pages, blank forms or repeats (counted in ``skipped_pages``). A
            document whose every page would be skipped is indexed whole.
    """

    store: VectorStore
    embedder: Embedder
    chunker: PageChunker = field(default_factory=PageChunker)
    embed_batch: int = 256
    skip_pages: bool = True

    def ingest(
        self,
        roots: Sequence[Path],
        *,
        prune: bool = False,
        force: bool = False,
        progress: Callable[[Progress], None] | None = None,
    ) -> IngestReport:
        """Index every supported file under ``roots``.

        Args:
            roots: folders (searched recursively) or single files; sources are relative to them.
            prune: remove indexed documents that are not under any of ``roots``.
            force: re-index files even when their content hash is unchanged.
            progress: called after each file.
        Returns:
            The report; unreadable files are in ``failed`` and did not stop the run.
        Raises:
            RagError: a root does not exist, or the store refuses the embedding model.
        """
        started = time.time()
        roots = [Path(r).expanduser().resolve() for r in roots]
        missing = [str(r) for r in roots if not r.exists()]
        if missing:
            raise RagError(f"no such file or folder: {', '.join(missing)}")
        report = IngestReport(roots=[str(r) for r in roots], started_at=started)

        files: dict[str, Path] = {}
        clashes: list[FileIssue] = []
        for root in roots:
            base = root.parent if root.is_file() else root
            for path in walk(root):
                source = path.relative_to(base).as_posix()
                if source in files and files[source] != path:
                    clashes.append(
                        FileIssue(source=source, reason=f"same path as {files[source]}; {path} was not indexed")
                    )
                    continue
                files[source] = path
        report.files_seen = len(files) + len(clashes)
        report.skipped.extend(clashes)
        known = self.store.documents()

        pending: list[_Pending] = []
        done = 0
        for source, path in files.items():
            done += 1
            try:
                self._ingest_file(source, path, known, force, report, pending)
            except Exception as e:  # one unreadable file never stops the batch
                if isinstance(e, LoadError):
                    reason = e.reason
                elif isinstance(e, OSError):
                    reason = f"cannot read ({e.strerror or e})"
                else:  # a parser failing in a way it does not document (e.g. lxml on a broken DOCX)
                    reason = f"unreadable ({type(e).__name__}: {e})"
                if source in known:
                    reason += "; the previously indexed version stays searchable"
                report.failed.append(FileIssue(source=source, reason=reason))
                log.info("skipped %s: %s", source, reason)
            if sum(len(p.chunks) for p in pending) >= self.embed_batch:
                self._flush(pending, report)
            if progress:
                progress(Progress(done, len(files), report.pages, source))
        self._flush(pending, report)

        if prune:
            gone = [s for s in known if s not in files]
            self.store.delete_documents(gone)
            report.pruned = sorted(gone)
        if report.indexed or report.pruned:
            self.store.refresh()
        report.seconds = round(time.time() - started, 3)
        return report

    def _ingest_file(self, source, path, known, force, report, pending) -> None:
        if not is_supported(path):
            report.skipped.append(
                FileIssue(source=source, reason=f"unsupported file type '{path.suffix or path.name}'")
            )
            return
        digest = file_hash(path)
        if not force and source in known and known[source].doc_hash == digest:
            report.unchanged += 1
            return
        pages = load_file(path)
        report.pages += len(pages)
        if self.skip_pages:
            pages = self._worth_indexing(pages, report)
        chunks = self.chunker.chunk(source, digest, pages)
        pending.append(_Pending(source, chunks))

    @staticmethod
    def _worth_indexing(pages, report: IngestReport):
        classified = classify(pages)
        kept = [p for p in classified if p.kind == "text"]
        if not kept:  # a one-page form or index is still the document someone asked for
            return pages
        counts = dict(report.skipped_pages)
        for p in classified:
            if p.kind != "text":
                counts[p.kind] = counts.get(p.kind, 0) + 1
        report.skipped_pages = counts
        return kept

    def _flush(self, pending: list[_Pending], report: IngestReport) -> None:
        if not pending:
            return
        # Checked at the first write rather than up front, so a run with nothing new to index
        # never loads the embedding model.
        self.store.check_embedding_model(self.embedder.model_id, self.embedder.dimension)
        texts = [embedding_text(c) for p in pending for c in p.chunks]
        vectors = self.embedder.embed_documents(texts)
        offset = 0
        for p in pending:
            n = len(p.chunks)
            self.store.write_document(p.source, p.chunks, vectors[offset : offset + n])
            offset += n
            report.indexed.append(p.source)
            report.chunks += n
        pending.clear()


def embedding_text(chunk: Chunk) -> str:
    """The text embedded for a chunk: its context (title, folder, heading), then the passage.

    The context gives the passage what it lacks on its own ("Sprinkler Design Standard · 4.2
    Design density: …"), which helps questions that name the document, edition or section.
    Chunks indexed before contexts existed fall back to the file name.
    """
    context = chunk.context or chunk.source.rpartition("/")[2].rsplit(".", 1)[0]
    return f"{context}: {chunk.text}"
