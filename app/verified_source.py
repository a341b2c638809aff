"""Where the verified answers come from: SME reviews in the feedback store (``rag.verified``)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from feedback.stores.paging import iter_interactions
from feedback.records import Interaction
from feedback.stores.base import InteractionFilter
from rag.records import Citation
from rag.verified import VerifiedEntry


def validated(store) -> Iterator[Interaction]:
    """Every validated record of the store (served or not), newest first, page by page."""
    return iter_interactions(store, InteractionFilter(review_status="validated"))


def entry(record: Interaction) -> VerifiedEntry:
    """The verified answer a validated record with a reference answer stands for.

    It rests on the passages its reference answer cites by number ("… 950 m3 [1]"), or on all the
    record's passages when it cites none: a change to one of those makes it stale.
    """
    reference = record.review.reference_answer or ""
    cited = {int(n) for n in re.findall(r"\[(\d{1,5})\]", reference)}
    kept = [c for c in record.citations if c.n in cited] or record.citations
    return VerifiedEntry(
        id=record.id,
        question=record.question,
        answer=reference,
        citations=tuple(
            Citation(n=c.n, source=c.source, page=c.page, chunk_id=c.chunk_id, score=c.score, text=c.text) for c in kept
        ),
        reviewer=record.review.reviewer,
        reviewed_at=record.review.reviewed_at,
    )


def verified_entries(store) -> list[VerifiedEntry]:
    """The verified answers that may be served: validated, with a reference answer, not retired.

    A record that was itself served a verified answer is not one (its answer is a copy).
    """
    return [entry(r) for r in validated(store) if r.review.verified and r.verified is None]
