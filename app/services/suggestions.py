"""Questions to start an empty chat with, written from a document's title and section headings
(the passages' ``context``: title · folder · heading); no model is asked."""

from __future__ import annotations

import re
from collections.abc import Sequence

# Headings that name no subject a question could ask about.
_GENERIC_HEADINGS = {
    "contents", "table of contents", "index", "preface", "foreword", "introduction", "appendix",
    "appendices", "references", "bibliography", "glossary", "abstract", "summary", "notes",
    "acknowledgements", "acknowledgments", "about this document", "revision history", "general",
}  # fmt: skip
_NUMBERING = re.compile(r"^(?:(?:chapter|section|part|annex|appendix)\s+)?[A-Z]?[\dIVXivx]+(?:[.\s-]\d+)*[.:)]?\s+")
_CONTEXT_SEPARATOR = " · "  # rag.ingest.chunking.CONTEXT_SEPARATOR
_MAX_NAME = 60


def _subject(heading: str) -> str | None:
    """The subject of a heading ("7 Diodes › 7.2 Diode Model (D)" → "Diode Model (D)"), or None."""
    last = heading.rsplit("›", 1)[-1]
    last = " ".join(_NUMBERING.sub("", last.strip()).split()).strip(" .:;-–")
    if not 4 <= len(last) <= _MAX_NAME or sum(ch.isalpha() for ch in last) < 3:
        return None
    if last.lower() in _GENERIC_HEADINGS:
        return None
    return last


def question_from_headings(source: str, chunks: Sequence) -> str | None:
    """One question about a document from its passages' context (title · folder · heading):
    the section heading most passages fall under, or the document itself when it has none. A
    document with no title of its own is named by its file name."""
    name = source.rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0]
    title = name
    counts: dict[str, int] = {}
    for chunk in chunks:
        parts = [p.strip() for p in (chunk.context or "").split(_CONTEXT_SEPARATOR) if p.strip()]
        if not parts:
            continue
        own = parts[0].lower() not in (stem.lower(), stem.replace("_", " ").lower(), name.lower())
        if own and len(parts[0]) <= _MAX_NAME and sum(ch.isalpha() for ch in parts[0]) >= 3:
            title = parts[0].rstrip(" .:;")
        folder = chunk.folder.replace("/", " / ")
        # After the title and folder comes the heading, then perhaps a table's header ("A | B").
        tail = next((p for p in reversed(parts[1:]) if p != folder and "|" not in p), None)
        subject = _subject(tail) if tail else None
        if subject and subject.lower() != title.lower():
            counts[subject] = counts.get(subject, 0) + 1
    if not counts:
        return f"What does {title} cover?" if chunks else None
    subject = max(counts, key=lambda k: (counts[k], -len(k)))
    first, *rest = subject.split()
    if first.isalpha() and first[1:].islower() and not any(w[:1].isupper() for w in rest):
        subject = subject[0].lower() + subject[1:]  # "Sprinkler storage tank" is words; "Diode Model (D)" a name
    return f"What does {title} say about {subject}?"
