"""Pages not worth the encoder: tables of contents, back-of-book indexes, blank pages, blank
forms, and pages that repeat another page of the same document.

On two CPU cores the encoder is the cost of ingestion, and these pages also steal top ranks
from the pages they point to: a contents line "17.5.30 Fourier . . . 385" matches a question
about the fourier command as well as page 385 itself does. Each test looks at the shape of the
page's lines, not at its words, so it works for any language and subject:

* contents: most lines end in a page number after dot leaders or a run of spaces;
* index: most lines are "term, 12, 57" or "term 12–14";
* blank: no text but a page number, or only lines that recur on other pages (a running
  head alone: "70 CHAPTER 2. CIRCUIT DESCRIPTION");
* form: most lines are labels followed by underscores or empty boxes;
* repeated: the same text (digits aside) as an earlier page of the document.

A page that is half contents and half prose (LaTeX News puts its contents box beside the first
article) stays: the thresholds ask for a clear majority of such lines.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.records import Page, PageKind

_LEADER_LINE = re.compile(r"(?:\.\s?){3,}\s*[\divxlc]+\s*$|\s{3,}\d{1,4}\s*$", re.IGNORECASE)
_ENDS_WITH_PAGE = re.compile(r"\S\s+\d{1,4}\s*$")
# "term, 12, 57–59": the comma keeps table rows ("BETA transconductance - 10") out.
_INDEX_LINE = re.compile(r"^\S.{0,60}?,\s*\d{1,4}(?:\s*[-–]\s*\d{1,4})?(?:\s*,\s*\d{1,4}(?:\s*[-–]\s*\d{1,4})?)*\s*$")
_FORM_LINE = re.compile(r"_{5,}|\[\s{1,3}\]|☐")
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")

MIN_LINES = 8
RUNNING_HEAD_CHARS = 120
MAX_PROSE_CHARS = 600


def page_kind(text: str) -> PageKind:
    """What a page is, from its text alone (``repeated`` needs the document: see ``classify``)."""
    stripped = text.strip()
    if not _SPACE.sub("", _DIGITS.sub("", stripped)):
        return "blank"
    lines = [ln.strip() for ln in stripped.split("\n") if ln.strip()]
    if len(lines) < MIN_LINES:
        return "text"
    n = len(lines)
    leaders = sum(bool(_LEADER_LINE.search(ln)) for ln in lines)
    ends_with_page = sum(bool(_ENDS_WITH_PAGE.search(ln)) for ln in lines)
    head = " ".join(lines[:3]).lower()
    # Prose beside a contents box (a newsletter's first page) keeps the page.
    prose = sum(len(ln) for ln in lines if not (_LEADER_LINE.search(ln) or _ENDS_WITH_PAGE.search(ln)))
    if prose < MAX_PROSE_CHARS and (leaders >= 0.5 * n or ("contents" in head and ends_with_page >= 0.6 * n)):
        return "contents"
    if sum(bool(_INDEX_LINE.match(ln)) for ln in lines) >= 0.6 * n:
        return "index"
    if sum(bool(_FORM_LINE.search(ln)) for ln in lines) >= 0.4 * n:
        return "form"
    return "text"


def _fingerprint(text: str) -> str:
    return _SPACE.sub(" ", _DIGITS.sub("#", text.lower())).strip()


def _running_only(text: str, recurring: set[str]) -> bool:
    lines = [_fingerprint(ln) for ln in text.split("\n") if ln.strip()]
    return len(text) <= RUNNING_HEAD_CHARS and bool(lines) and all(ln in recurring for ln in lines)


def classify(pages: Sequence[Page]) -> list[Page]:
    """The pages with ``kind`` set; a page equal to an earlier one (digits aside) is ``repeated``,
    a short page made only of lines found on three or more other pages is ``blank``."""
    counts: dict[str, int] = {}
    for page in pages:
        for line in {_fingerprint(ln) for ln in page.text.split("\n") if ln.strip()}:
            counts[line] = counts.get(line, 0) + 1
    recurring = {line for line, n in counts.items() if n >= 4}
    seen: set[str] = set()
    out = []
    for page in pages:
        kind = page_kind(page.text)
        if kind == "text" and page.number is not None and _running_only(page.text, recurring):
            kind = "blank"
        if kind == "text" and page.number is not None:
            fingerprint = _fingerprint(page.text)
            if fingerprint in seen:
                kind = "repeated"
            seen.add(fingerprint)
        out.append(page.model_copy(update={"kind": kind}))
    return out
