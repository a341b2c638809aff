"""Incremental ingestion of folders into a vector store.

Files are identified by their path relative to the root they were ingested from; a file whose
content hash is unchanged is skipped, a changed file replaces its chunks, and ``prune`` drops
documents whose files are no longer under any of the roots.

Walking never trusts the tree: only regular files are opened (a named pipe would block forever
and a link to ``/dev/zero`` never ends), symbolic links are followed only when they stay inside
the ingested folder (unless ``follow_links``), every folder is walked once (so a link loop ends),
and a name that is not valid UTF-8 is reported under a displayable form instead of indexed.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, field_serializer, field_validator

from rag import injection
from rag.embedders.base import Embedder
from rag.errors import LoadError, RagError
from rag.ingest.chunking import PageChunker
from rag.ingest.loaders import is_supported, load_file
from rag.ingest.pages import classify
from rag.records import Chunk, FlaggedPassage
from rag.stores.base import VectorStore

log = logging.getLogger(__name__)


def displayable(text: str) -> str:
    """``text`` with the undecodable bytes of a file name (Python's surrogate escapes) as ``\\xNN``,
    so it can be printed, stored as JSON or shown in a page."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class FileIssue(BaseModel):
    """A file that was not indexed, and why. ``source`` is always displayable (see ``displayable``)."""

    source: str
    reason: str

    @field_validator("source", "reason")
    @classmethod
    def _displayable(cls, value: str) -> str:
        return displayable(value)


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
    # Passages of the documents indexed in this run that address the model ("ignore previous
    # instructions…", rag/injection.py), at most MAX_FLAGS_LISTED a document; ``flagged_counts``
    # has every document's full count.
    flagged: list[FlaggedPassage] = []
    flagged_counts: dict[str, int] = {}
    seconds: float = 0.0
    started_at: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    @field_serializer("roots")
    def _roots_as_text(self, roots: list[str]) -> list[str]:
        # A root whose name is not UTF-8 stays exact in memory (the catalog needs the real path to
        # find cited files again); the report on disk and on screen shows it escaped.
        return [displayable(r) for r in roots]


MAX_FLAGS_LISTED = 20


@dataclass
class Progress:
    """Passed to the progress callback after every file."""

    files_done: int
    files_total: int
    pages_done: int
    current: str


def file_hash(path: Path) -> str:
    """SHA-256 of a regular file's content.

    Raises:
        LoadError: ``path`` is not a regular file (any more): checked on the open descriptor,
            which O_NONBLOCK keeps from blocking on a named pipe.
        OSError: it cannot be read.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as f:
        kind = _kind(os.fstat(fd).st_mode)
        if kind != "file":
            raise LoadError(f"not a regular file ({kind})")
        digest = hashlib.sha256()
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _ignored(name: str) -> bool:
    # Hidden files and Office lock files ("~$Report.docx") are never documents.
    return name.startswith(".") or name.startswith("~$")


_KINDS = {
    stat.S_IFREG: "file",
    stat.S_IFDIR: "folder",
    stat.S_IFIFO: "named pipe",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
    stat.S_IFSOCK: "socket",
    stat.S_IFLNK: "symbolic link",
}


def _kind(mode: int) -> str:
    return _KINDS.get(stat.S_IFMT(mode), "special file")


@dataclass(frozen=True)
class NotRead:
    """Why ``walk_tree`` will not let an entry be opened. ``failed``: it may be a document that
    cannot be reached (permissions); otherwise it is no document (a link left alone, a pipe, a device)."""

    reason: str
    failed: bool = False


def walk_tree(root: Path, *, follow_links: bool = False) -> Iterator[tuple[Path, NotRead | None]]:
    """Every non-hidden entry under ``root`` that could be a document, each with why it must not be
    read (None for a regular file to read). ``root`` may be a file.

    Entries are examined with ``stat`` and never opened, so nothing here blocks. The real tree is
    walked first (sorted, depth first), then the symbolic links found in it: a link is followed
    when its target lies inside ``root``, or anywhere with ``follow_links``. Each folder is walked
    once (by device and inode), so a link to a folder already walked, and any link loop, ends.
    """
    top = os.path.realpath(root)
    try:
        mode = os.stat(root).st_mode
    except OSError as e:
        yield root, _unreachable(e)
        return
    if not stat.S_ISDIR(mode):
        yield root, None if stat.S_ISREG(mode) else NotRead(f"not a regular file ({_kind(mode)})")
        return
    walked: dict[tuple[int, int], Path] = {}
    links: list[Path] = []
    yield from _walk_folder(root, walked, links)
    while links:
        link = links.pop(0)
        target = os.path.realpath(link)
        if not follow_links and target != top and not target.startswith(top.rstrip(os.sep) + os.sep):
            yield link, NotRead(f"symbolic link to {target}, outside the ingested folder; not followed")
            continue
        try:
            info = os.stat(link)  # follows the link: a loop (ELOOP) or a missing target ends here
        except OSError as e:
            yield link, _unreachable(e)
            continue
        if stat.S_ISDIR(info.st_mode):
            seen = walked.get((info.st_dev, info.st_ino))
            if seen is not None:
                yield link, NotRead(f"symbolic link to the folder {seen}, already walked; not followed again")
            else:
                yield from _walk_folder(link, walked, links)
        elif stat.S_ISREG(info.st_mode):
            yield link, None
        else:
            yield link, NotRead(f"not a regular file ({_kind(info.st_mode)})")


def _unreachable(error: OSError, what: str = "") -> NotRead:
    if error.errno == errno.ELOOP:
        return NotRead("symbolic link loop")
    if error.errno == errno.ENOENT:
        return NotRead("broken symbolic link (its target does not exist)")
    return NotRead(f"cannot read {what}({error.strerror or error})", failed=True)


def _walk_folder(
    folder: Path, walked: dict[tuple[int, int], Path], links: list[Path]
) -> Iterator[tuple[Path, NotRead | None]]:
    """The entries of ``folder`` and its real subfolders; the symbolic links met are put in ``links``."""
    try:
        info = os.stat(folder)
        walked[(info.st_dev, info.st_ino)] = folder
        with os.scandir(folder) as it:
            entries = sorted((e for e in it if not _ignored(e.name)), key=lambda e: e.name)
    except OSError as e:
        yield folder, _unreachable(e, "the folder ")
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError as e:
            yield path, _unreachable(e)
            continue
        if stat.S_ISLNK(info.st_mode):
            links.append(path)
        elif stat.S_ISDIR(info.st_mode):
            seen = walked.get((info.st_dev, info.st_ino))
            if seen is not None:  # a bind mount of a folder above
                yield path, NotRead(f"the folder {seen} again (a mount loop); not walked again")
            else:
                yield from _walk_folder(path, walked, links)
        elif stat.S_ISREG(info.st_mode):
            yield path, None
        else:
            yield path, NotRead(f"not a regular file ({_kind(info.st_mode)})")


def walk(root: Path, *, follow_links: bool = False) -> Iterator[Path]:
    """The regular files of ``walk_tree``: every document candidate under ``root``, sorted."""
    for path, problem in walk_tree(root, follow_links=follow_links):
        if problem is None:
            yield path


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
        follow_links: also follow symbolic links that lead outside the ingested folder (links
            inside it are always followed; see ``walk_tree``).
        skip_pages: leave out pages that ``rag.ingest.pages.classify`` finds are contents,
            indexes, blank pages, blank forms or repeats (counted in ``skipped_pages``). A
            document whose every page would be skipped is indexed whole.
    """

    store: VectorStore
    embedder: Embedder
    chunker: PageChunker = field(default_factory=PageChunker)
    embed_batch: int = 256
    follow_links: bool = False
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
        present: set[str] = set()  # sources that exist but are not read: --prune keeps their documents
        clashes: list[FileIssue] = []
        for root in roots:
            base = root if root.is_dir() else root.parent
            for path, problem in walk_tree(root, follow_links=self.follow_links):
                source = path.relative_to(base).as_posix()
                if problem is None and _undecodable(source):
                    problem = NotRead("the file name is not valid UTF-8; rename the file to index it", failed=True)
                    if not is_supported(path):
                        problem = NotRead(f"unsupported file type '{path.suffix or path.name}'")
                if problem is not None:
                    present.add(source)
                    issue = FileIssue(source=source, reason=problem.reason)
                    (report.failed if problem.failed else report.skipped).append(issue)
                    log.info("not read: %s: %s", issue.source, issue.reason)
                    continue
                if source in files and files[source] != path:
                    clashes.append(
                        FileIssue(source=source, reason=f"same path as {files[source]}; {path} was not indexed")
                    )
                    continue
                files[source] = path
        report.files_seen = len(files) + len(clashes) + len(report.failed) + len(report.skipped)
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
            gone = [s for s in known if s not in files and s not in present]
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
        _flag(source, chunks, report)
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


def _flag(source: str, chunks: Sequence[Chunk], report: IngestReport) -> None:
    """Note in ``report`` the chunks of ``source`` that address the model. Detection only: the
    chunks are indexed as they are (the store keeps no flag; answers re-detect on their cited
    passages, which costs microseconds, so a store needs no new column or migration)."""
    count = 0
    for chunk in chunks:
        found = injection.flag(source, chunk.page, chunk.id, chunk.text)
        if found is None:
            continue
        count += 1
        if count <= MAX_FLAGS_LISTED:
            report.flagged.append(found)
    if count:
        report.flagged_counts[source] = count
        log.warning("%s: %d passages address the model (prompt injection?)", displayable(source), count)


def embedding_text(chunk: Chunk) -> str:
    """The text embedded for a chunk: its context (title, folder, heading), then the passage.

    The context gives the passage what it lacks on its own ("Sprinkler Design Standard · 4.2
    Design density: …"), which helps questions that name the document, edition or section.
    Chunks indexed before contexts existed fall back to the file name.
    """
    context = chunk.context or chunk.source.rpartition("/")[2].rsplit(".", 1)[0]
    return f"{context}: {chunk.text}"


def _undecodable(source: str) -> bool:
    """Whether a path holds bytes that are not UTF-8 (surrogate escapes): no store can keep it."""
    try:
        source.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
