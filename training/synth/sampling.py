"""Which passages a run asks about: one per page, spread over documents and pages, never a
contents or index page, never one already done.

The order is deterministic (a hash of each passage's id), so two runs with the same index and
``--limit`` pick the same passages, and a resumed run continues where the last one stopped
instead of drawing new ones at random.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from rag.ingest.pages import page_kind
from rag.records import Chunk

MIN_PASSAGE_CHARS = 200
"""Shorter passages (a heading, a running footer, the tail of a page) hold too little to ask about."""


def _rank(chunk: Chunk) -> str:
    return hashlib.sha256(chunk.id.encode()).hexdigest()


def page_key(chunk: Chunk) -> tuple[str, str]:
    """The page a chunk is on; for page-less formats each chunk is its own "page"."""
    return chunk.source, str(chunk.page) if chunk.page is not None else f"#{chunk.id}"


def sample(
    chunks: Iterable[Chunk], *, done: set[str] = frozenset(), limit: int | None = None, skipped: Counter | None = None
) -> list[Chunk]:
    """The passages to ask about, at most ``limit``.

    Per page the longest passage (the most to ask about); pages whose passage is a contents,
    index, blank, form or repeated page (``rag.ingest.pages.page_kind``) or shorter than
    ``MIN_PASSAGE_CHARS`` are left out, and so are passages whose id is in ``done``. Documents
    take turns, one page each, so a limit spreads over the corpus rather than exhausting the
    first file; within a document the pages come in a fixed pseudo-random order.

    ``skipped`` (when given) counts what was left out: "boilerplate", "short", "done".
    """
    skipped = skipped if skipped is not None else Counter()
    best: dict[tuple[str, str], Chunk] = {}
    for chunk in chunks:
        key = page_key(chunk)
        if key not in best or len(chunk.text) > len(best[key].text):
            best[key] = chunk
    per_document: dict[str, list[Chunk]] = defaultdict(list)
    for chunk in best.values():
        if page_kind(chunk.text) != "text":
            skipped["boilerplate"] += 1
        elif len(chunk.text.strip()) < MIN_PASSAGE_CHARS:
            skipped["short"] += 1
        elif chunk.id in done:
            skipped["done"] += 1
        else:
            per_document[chunk.source].append(chunk)
    queues = [sorted(pages, key=_rank) for _, pages in sorted(per_document.items(), key=lambda kv: _rank_text(kv[0]))]
    return _round_robin(queues, limit)


def _rank_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _round_robin(queues: Sequence[list[Chunk]], limit: int | None) -> list[Chunk]:
    out: list[Chunk] = []
    depth = 0
    while limit is None or len(out) < limit:
        row = [q[depth] for q in queues if depth < len(q)]
        if not row:
            break
        out += row if limit is None else row[: limit - len(out)]
        depth += 1
    return out
