"""Validated synthetic pairs as a retrieval evaluation set: one JSON line per question, with the
document and page that hold its answer, in the form ``bench/retrieval_eval.py`` and ``ragbot
search --queries`` read (``bench/questions/*.jsonl``): ``id``, ``query``, ``source``, ``page``,
``evidence``, ``kind``."""

from __future__ import annotations

import json
from pathlib import Path

from common.files import atomic_writer
from feedback.stores.base import FeedbackStore, InteractionFilter


def export_eval(store: FeedbackStore, out: Path, *, kinds: dict[str, str] | None = None) -> int:
    """Write the validated synthetic pairs that have evidence (not the unanswerable ones) to ``out``;
    returns how many. ``kinds`` maps interaction ids to the kind they were generated as (the
    ledger's); others are "synthetic". Written to a temporary file and renamed: never half a file.

    Raises:
        StoreUnavailable: the store cannot be read.
        OSError: ``out`` cannot be written.
    """
    kinds = kinds or {}
    count, cursor = 0, None
    with atomic_writer(Path(out), text=True) as f:
        while True:
            page = store.list(
                InteractionFilter(origin="synthetic", review_status="validated"), limit=500, cursor=cursor
            )
            for i in page.items:
                if not i.found or not i.citations:
                    continue
                evidence = i.grounding.supporting[0].text if i.grounding and i.grounding.supporting else ""
                c = i.citations[0]
                line = {"id": i.id, "query": i.question, "source": c.source, "page": c.page, "evidence": evidence}
                f.write(json.dumps(line | {"kind": kinds.get(i.id, "synthetic")}, ensure_ascii=False) + "\n")
                count += 1
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    return count
