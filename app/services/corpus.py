"""Corpus actions: ingest, status, search, and finding a cited page again."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel

from app.services.access import Action, authorize
from app.services.base import AuditedService
from rag.ingest.catalog import FlaggedDocument
from rag.ingest.ingestor import IngestReport, Progress
from rag.records import ScoredChunk, SearchFilters, SearchMode


class CorpusStatus(BaseModel):
    """What the index holds and what the last ingest did."""

    documents: int
    pages: int
    chunks: int
    embedding_model: str | None
    last_ingest: IngestReport | None
    last_ingest_from: str | None = None
    """What the last ingest read, as the browser names it: its folders, or "browser uploads" for
    files an admin uploaded (not the server folder they were saved in)."""
    # What an OpenSearch store detected of its cluster (version, plugins, hybrid_mode, writes);
    # None for the embedded store. README's deployment checklist reads it from `status --json`.
    store: dict | None = None


UPLOAD_TYPES = ("pdf", "docx", "html", "htm", "md", "txt")
"""The file types an admin may upload from the browser (the loaders' formats people write in)."""
MAX_UPLOAD_MB = 50
"""The largest file accepted from the browser; larger documents are ingested with `ragbot ingest`."""
MAX_NAME_CHARS = 120


class UploadRefused(ValueError):
    """An uploaded file was refused before anything was saved; the message says why and what to do."""


class Uploaded(BaseModel):
    """What one upload did: the files saved (as their safe names) and the ingest's report."""

    saved: list[str]
    report: IngestReport


_UNSAFE = re.compile(r"[^\w.\- ()+,]")


def safe_name(name: str) -> str:
    """A file name that is safe to create in one folder: no folder part (``/`` or ``\\``), no
    leading dot, no control or odd characters (replaced by ``_``), at most ``MAX_NAME_CHARS``
    long with its extension kept. Raises UploadRefused when nothing usable is left."""
    base = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", "".join(c if c.isprintable() else "_" for c in base))
    base = " ".join(base.split())
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    suffix = suffix[:10]
    # A leading dot hides a file, and ".pdf" is a hidden file with no name, not a file named "pdf".
    stem = stem.lstrip(". ")[: MAX_NAME_CHARS - len(suffix) - 1].rstrip(". ")
    if not stem.strip("_ "):
        raise UploadRefused(f"{name!r} is no usable file name; rename the file and upload it again.")
    return f"{stem}.{suffix}" if suffix else stem


def _uploaded(folder: str, files: Sequence[tuple[str, bytes]], room: int = 1900) -> str:
    """The audit's name for an upload: ``upload: alice/a.pdf, alice/b.pdf`` (the files' sources),
    as many as fit in ``room`` characters (the audit keeps 2,000), then how many more."""
    names = [f"{folder}/{safe}" for safe, _ in files]
    shown: list[str] = []
    for i, name in enumerate(names):
        if len(", ".join([*shown, name])) > room:
            return f"upload: {', '.join(shown)} and {len(names) - i} more"
        shown.append(name)
    return f"upload: {', '.join(shown)}"


class CorpusService(AuditedService):
    """Corpus actions on behalf of one identity."""

    def ingest(
        self,
        paths: Sequence[Path],
        *,
        prune: bool = False,
        force: bool = False,
        progress: Callable[[Progress], None] | None = None,
        target: str | None = None,
    ) -> IngestReport:
        """Index the files under ``paths`` (see ``Ingestor.ingest``) and keep the report as the last
        ingest. ``target`` is what the audit log names as ingested (default: the paths).
        Raises Forbidden (admins only), RagError."""
        from rag.ingest.chunking import PageChunker
        from rag.ingest.ingestor import Ingestor

        authorize(self.identity, Action.INGEST)
        s = self.backends.settings
        ingestor = Ingestor(
            self.backends.store,
            self.backends.embedder,
            PageChunker(s.chunk_size, s.chunk_overlap),
            embed_batch=max(s.embed_batch_size * 4, 64),
            follow_links=s.ingest_follow_links,
            skip_pages=s.skip_boilerplate_pages,
        )
        report = ingestor.ingest(paths, prune=prune, force=force, progress=progress)
        self.backends.catalog.record(report)
        self.audit.record(
            "ingest",
            target=target or ", ".join(str(p) for p in paths),
            indexed=len(report.indexed),
            failed=len(report.failed),
            pruned=len(report.pruned),
            prune=prune,
            force=force,
        )
        return report

    def upload(
        self, files: Sequence[tuple[str, bytes]], *, progress: Callable[[Progress], None] | None = None
    ) -> Uploaded:
        """Save files sent from the browser under ``RAGBOT_HOME/uploads/<user>/`` (safe names; a
        file of the same name is replaced) and ingest them as ``ragbot ingest`` would; their
        sources read ``<user>/<name>``. Every file is checked before any is saved.
        Raises Forbidden (admins only), UploadRefused (type, size, name), RagError."""
        authorize(self.identity, Action.INGEST)
        if not files:
            raise UploadRefused("No file was sent.")
        checked: list[tuple[str, bytes]] = []
        for name, data in files:
            safe = safe_name(name)
            kind = safe.rpartition(".")[2].lower() if "." in safe else ""
            if kind not in UPLOAD_TYPES:
                raise UploadRefused(
                    f"{name!r} is not a document type ragbot reads from the browser; "
                    f"upload {', '.join(t.upper() for t in UPLOAD_TYPES)}."
                )
            if len(data) > MAX_UPLOAD_MB * 1024 * 1024:
                raise UploadRefused(
                    f"{name!r} is {len(data) / 1024 / 1024:.1f} MB; the limit is {MAX_UPLOAD_MB} MB. "
                    "Ingest larger files with `ragbot ingest` on the server."
                )
            if not data:
                raise UploadRefused(f"{name!r} is empty.")
            checked.append((safe, data))
        folder = self._uploads / safe_name(self.identity.user)
        folder.mkdir(parents=True, exist_ok=True)
        for safe, data in checked:
            partial = folder / f".{safe}.part"
            partial.write_bytes(data)
            partial.replace(folder / safe)  # a half-written file is never ingested
        # The uploads folder is the root, so a source names its uploader: alice/manual.pdf. The
        # audit names the files sent, as their sources read, not the server's uploads folder.
        report = self.ingest([folder.parent], progress=progress, target=_uploaded(folder.name, checked))
        return Uploaded(saved=[s for s, _ in checked], report=report)

    @property
    def _uploads(self) -> Path:
        """Where browser uploads are saved, one folder per user: the root an upload ingests."""
        return self.backends.settings.home_dir / "uploads"

    def status(self) -> CorpusStatus:
        """Documents, pages and chunks in the index, its embedding model, and the last ingest."""
        store = self.backends.store
        docs = store.documents()
        meta = store.embedding_model() or {}
        detected = getattr(store, "detected", None)
        last = self.backends.catalog.last_report()
        uploads = str(self._uploads.resolve())
        return CorpusStatus(
            documents=len(docs),
            pages=sum(d.pages for d in docs.values()),
            chunks=store.count(),
            embedding_model=meta.get("embedding_model"),
            last_ingest=last,
            last_ingest_from=", ".join("browser uploads" if r == uploads else r for r in last.roots) if last else None,
            store=detected() if callable(detected) else None,
        )

    def flagged(self) -> list[FlaggedDocument]:
        """The indexed documents whose passages address the model ("ignore previous
        instructions…"), as the ingests found them. Raises Forbidden (admins only)."""
        authorize(self.identity, Action.INGEST)
        return self.backends.catalog.flagged()

    def scan_injection(self) -> list[FlaggedDocument]:
        """Look for passages that address the model in the whole index (for documents indexed
        before ingest looked for them) and keep the result as the flagged list.

        Raises Forbidden (admins only), RagError when the store cannot list its passages."""
        from rag import injection
        from rag.errors import RagError
        from rag.ingest.ingestor import MAX_FLAGS_LISTED

        authorize(self.identity, Action.INGEST)
        store = self.backends.store
        if not getattr(store, "supports_listing", False):
            raise RagError("this store cannot list its passages; re-ingest with --force to look at every document")
        found: dict[str, FlaggedDocument] = {}
        for chunk in store.chunks():
            passage = injection.flag(chunk.source, chunk.page, chunk.id, chunk.text)
            if passage is None:
                continue
            doc = found.setdefault(chunk.source, FlaggedDocument(source=chunk.source, count=0, passages=[]))
            doc.count += 1
            if len(doc.passages) < MAX_FLAGS_LISTED:
                doc.passages.append(passage)
        documents = list(found.values())
        self.backends.catalog.replace_flagged(documents)
        self.audit.record("scan for prompt injection", target="index", documents=len(documents))
        return sorted(documents, key=lambda d: d.source)

    def is_empty(self) -> bool:
        return self.backends.store.count() == 0

    def search(
        self, query: str, *, k: int | None = None, mode: SearchMode | None = None, filters: SearchFilters | None = None
    ) -> list[ScoredChunk]:
        """The best chunks for ``query``. Raises InvalidQuery for an empty or oversized query."""
        authorize(self.identity, Action.ASK)
        return self.backends.retriever.search(query, k=k or self.backends.settings.top_k, mode=mode, filters=filters)

    def locate_source(self, source: str) -> Path | None:
        """The file a cited source came from, when it is still where it was ingested from."""
        return self.backends.catalog.locate(source)

    def render_page(self, source: str, page: int, width: int = 900, highlight: str | None = None) -> bytes | None:
        """The cited page as a PNG with ``highlight`` marked on it, or None when the file is gone or not a PDF."""
        from rag.ingest.render import render_pdf_page

        path = self.locate_source(source)
        if path is None or path.suffix.lower() != ".pdf":
            return None
        return render_pdf_page(path, page, width, highlight)
