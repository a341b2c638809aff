"""Item sizing: DynamoDB refuses items over 400 KB, so a record's longest texts are cut, in a fixed
order and each with a visible marker, until its item fits. A record is never dropped for its size."""

from __future__ import annotations

import json
import logging
from typing import Any

from feedback.errors import FeedbackError
from feedback.records import Interaction
from feedback.stores.dynamodb.schema import item

log = logging.getLogger(__name__)

# DynamoDB refuses items over 400 KB; the margin covers the size formula's approximations and
# lets a later rating, correction and review fit without cutting more.
MAX_ITEM_BYTES = 350_000


def item_size(attributes: dict[str, dict[str, Any]]) -> int:
    """An upper bound of DynamoDB's size of an item (names plus values, UTF-8)."""
    total = 0
    for name, value in attributes.items():
        total += len(name.encode())
        ((kind, data),) = value.items()
        if kind == "S":
            total += len(data.encode())
        elif kind == "N":
            total += 21  # the most a number can take
        elif kind == "BOOL":
            total += 1
        elif kind == "SS":
            total += sum(len(s.encode()) + 1 for s in data) + 3
        else:  # pragma: no cover - this module writes no other kinds
            total += len(json.dumps(data).encode())
    return total


# What the marker of a cut text can take, with room to spare.
_MARKER_ROOM = 300
_CUT_ORDER: list[tuple[str, ...]] = [
    ("context",),
    ("citations",),
    ("judge", "raw"),
    ("review", "reference_answer"),
    ("answer",),
    ("question",),
]


def _cut(text: str, drop_bytes: int) -> str:
    """``text`` without its last ``drop_bytes`` UTF-8 bytes (or all of them), and a marker that says so."""
    raw = text.encode()
    keep = raw[: max(0, len(raw) - drop_bytes)].decode(errors="ignore")
    return (
        f"{keep}\n[… {len(text) - len(keep):,} of {len(text):,} characters cut by ragbot: "
        "DynamoDB items are limited to 400 KB]"
    )


def _get(record: Interaction, path: tuple[str, ...]) -> str:
    value: Any = record
    for name in path:
        value = getattr(value, name) if value is not None else None
    return value or ""


def _replace(record: Interaction, path: tuple[str, ...], text: str) -> Interaction:
    if len(path) == 2:
        part = getattr(record, path[0])
        return record.model_copy(update={path[0]: part.model_copy(update={path[1]: text})})
    return record.model_copy(update={path[0]: text})


def _cap_citations(record: Interaction, excess: int) -> Interaction:
    """Cut the longest passages down to one common length, the largest that removes ``excess`` bytes."""
    sizes = [len(c.text.encode()) for c in record.citations]
    drop = excess + _MARKER_ROOM * sum(1 for size in sizes if size)
    low, high = 0, max(sizes, default=0)
    while low < high:  # the largest cap whose cuts add up to ``drop``
        cap = (low + high + 1) // 2
        if sum(max(0, size - cap) for size in sizes) >= drop:
            low = cap
        else:
            high = cap - 1
    citations = [
        c.model_copy(update={"text": _cut(c.text, size - low)}) if size > low else c
        for c, size in zip(record.citations, sizes, strict=True)
    ]
    return record.model_copy(update={"citations": citations})


def fit(record: Interaction, max_item_bytes: int, write_shards: int = 1) -> Interaction:
    """``record``, with its longest texts cut so that its item fits ``max_item_bytes``.

    Cuts, in this order and only as far as needed: the context, the citations' passages
    (the longest down to a common length, so each keeps its beginning), the judge's raw
    reply, the reference answer, the answer, the question. Cutting n bytes of text removes
    at least n bytes of JSON (no character is shorter in JSON than in UTF-8), so one cut
    per text is enough unless the text is used up.

    Raises:
        FeedbackError: the item is too large even with every text cut (thousands of citations).
    """
    size = original = item_size(item(record, 0, write_shards))
    if size <= max_item_bytes:
        return record
    for path in _CUT_ORDER:
        excess = size - max_item_bytes
        if path == ("citations",):
            record = _cap_citations(record, excess)
        else:
            text = _get(record, path)
            if not text:
                continue
            record = _replace(record, path, _cut(text, excess + _MARKER_ROOM))
        size = item_size(item(record, 0, write_shards))
        if size <= max_item_bytes:
            break
    else:
        raise FeedbackError(
            f"interaction {record.id!r} does not fit in a DynamoDB item even with its texts cut "
            f"({size:,} bytes); it cites too many sources"
        )
    log.warning(
        "interaction %s was %s bytes, over the %s-byte item budget; long texts were cut",
        record.id,
        f"{original:,}",
        f"{max_item_bytes:,}",
    )
    return record.model_copy(update={"context_truncated": True})
