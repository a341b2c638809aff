"""Where passage endorsements come from: ratings and SME reviews in the feedback store
(``rag.passage_feedback``)."""

from __future__ import annotations

import re
from itertools import islice

from feedback.stores.paging import iter_interactions
from feedback.records import Interaction
from feedback.stores.base import InteractionFilter
from rag.passage_feedback import Endorsement
from rag.same_ask import codes

MAX_RECORDS = 5000
"""The newest rated and the newest validated records read; older ones have decayed anyway."""


def rests_on(record: Interaction, text: str, *, own: bool = False) -> set[int]:
    """The citation numbers ``text`` rests on: its ``[n]`` markers, else (for the record's
    ``own`` answer) the passages the grounding check attributed its sentences to."""
    marked = {int(n) for n in re.findall(r"\[(\d{1,5})\]", text)}
    if marked or not own or record.grounding is None:
        return marked
    return {s.citation for s in record.grounding.sentences if s.citation is not None}


def holding(record: Interaction, text: str) -> set[int]:
    """The passages that hold every number and code of ``text`` (none when it has none)."""
    wanted = codes(text)
    if not wanted:
        return set()
    return {c.n for c in record.citations if wanted <= codes(c.text)}


def from_record(record: Interaction) -> list[Endorsement]:
    """What one record says of its passages: see ``rag.passage_feedback``."""
    by_n = {c.n: c.chunk_id for c in record.citations}
    signs: dict[int, int] = {}
    at = None
    review, feedback = record.review, record.feedback
    if review.status == "validated" and review.reference_answer:
        reference = review.reference_answer
        for n in rests_on(record, reference) or holding(record, reference):
            signs[n] = 1
        at = review.reviewed_at
    elif feedback is not None and feedback.rating >= 4:
        for n in rests_on(record, record.answer, own=True):
            signs[n] = 1
        at = feedback.updated_at
    elif feedback is not None and feedback.negative and feedback.correction:
        right = holding(record, feedback.correction)
        for n in rests_on(record, record.answer, own=True) - right:
            signs[n] = -1  # the better answer is not in what this answer rested on
        for n in right:
            signs[n] = 1
        at = feedback.updated_at
    at = at or record.updated_at
    return [Endorsement(record.question, by_n[n], sign, at) for n, sign in sorted(signs.items()) if n in by_n]


def endorsements(store, limit: int = MAX_RECORDS) -> list[Endorsement]:
    """The endorsements of the newest rated and validated records."""
    records = {}
    for filters in (InteractionFilter(review_status="validated"), InteractionFilter(rated=True)):
        for record in islice(iter_interactions(store, filters), limit):
            records.setdefault(record.id, record)
    return [e for record in records.values() for e in from_record(record)]
