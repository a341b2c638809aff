"""What was ingested from where, kept beside the index.

``roots.json`` lists every folder (or file) ever ingested, so a cited source (a path relative to
its root) can be found again to show its page; ``last-ingest.json`` is the last run's report for
the status page. Both are written atomically: a crash leaves the previous version, never half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from rag.ingest.ingestor import IngestReport


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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

    def last_report(self) -> IngestReport | None:
        try:
            return IngestReport.model_validate_json(self.last_report_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def record(self, report: IngestReport) -> None:
        """Keep ``report`` as the last ingest and remember its roots."""
        _write_atomically(self.last_report_path, report.model_dump_json(indent=2))
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
