"""What was ingested from where, kept beside the index.

``roots.json`` lists every folder (or file) ever ingested, so a cited source (a path relative to
its root) can be found again to show its page; ``last-ingest.json`` is the last run's report for
the status page; ``injection.json`` the indexed documents whose passages address the model
(rag/injection.py), kept across runs for the Admin page. All are written atomically: a crash
leaves the previous version, never half a file.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, TypeAdapter

from common.files import atomic_write
from rag.ingest.ingestor import IngestReport
from rag.records import FlaggedPassage


class FlaggedDocument(BaseModel):
    """An indexed document with passages that address the model: how many, and the first few."""

    source: str
    count: int
    passages: list[FlaggedPassage]


_FLAGGED = TypeAdapter(list[FlaggedDocument])


def _write_atomically(path: Path, text: str) -> None:
    atomic_write(path, text, mode=0o600)


class IngestCatalog:
    """The ingest bookkeeping of one ``RAGBOT_HOME``."""

    def __init__(self, home: Path):
        self.home = Path(home)

    @property
    def roots_path(self) -> Path:
        return self.home / "roots.json"

    @property
    def last_report_path(self) -> Path:
        return self.home / "last-ingest.json"

    def roots(self) -> list[str]:
        """Every root ever ingested, as given (absolute paths)."""
        try:
            return json.loads(self.roots_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []

    @property
    def injection_path(self) -> Path:
        return self.home / "injection.json"

    def flagged(self) -> list[FlaggedDocument]:
        """The indexed documents with passages that address the model, by source ([] before any
        ingest that looked; an unreadable file reads as [] and is rewritten by the next ingest)."""
        try:
            return _FLAGGED.validate_json(self.injection_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return []

    def replace_flagged(self, documents: list[FlaggedDocument]) -> None:
        """Keep ``documents`` as the whole list (after a scan of the index)."""
        documents = sorted(documents, key=lambda d: d.source)
        _write_atomically(self.injection_path, _FLAGGED.dump_json(documents, indent=2).decode())

    def last_report(self) -> IngestReport | None:
        try:
            return IngestReport.model_validate_json(self.last_report_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def record(self, report: IngestReport) -> None:
        """Keep ``report`` as the last ingest, remember its roots, and update the flagged documents:
        a document indexed in this run replaces its entry (or drops it when nothing is flagged any
        more), a pruned one drops it, the others keep theirs."""
        _write_atomically(self.last_report_path, report.model_dump_json(indent=2))
        changed = set(report.indexed) | set(report.pruned)
        if changed:
            kept = [d for d in self.flagged() if d.source not in changed]
            for source, count in report.flagged_counts.items():
                if source in report.indexed:
                    passages = [p for p in report.flagged if p.source == source]
                    kept.append(FlaggedDocument(source=source, count=count, passages=passages))
            self.replace_flagged(kept)
        roots = set(self.roots()) | {str(Path(r)) for r in report.roots}
        _write_atomically(self.roots_path, json.dumps(sorted(roots), indent=2))

    def locate(self, source: str) -> Path | None:
        """The file a cited source came from, when it is still where it was ingested from."""
        for root in self.roots():
            base = Path(root)
            candidate = (base.parent if base.is_file() else base) / source
            if candidate.is_file():
                return candidate
        return None
