"""Checking an answer against the passages it was written from.

A small model can copy the wrong number or invent one; the product shows the user where that
happened instead of presenting every answer as sourced:

* **Unsupported spans**: every number, code and identifier in the answer that appears in none of
  the passages (nor the question) is listed, so the UI can flag it and warn. A number that
  continues a code in a range or list ("DD-101 to 113", "DD-101, 105 and 113") is checked as the
  code it stands for ("DD-113"): a bare 113 elsewhere in a passage (a load, a page) is no
  evidence for door DD-113. The numbering of a markdown list ("1. … 2. …") is not checked.
* **Citation markers**: each sentence of the answer is attributed to its best-supporting passage
  (cosine similarity of sentence embeddings at or above ``threshold``); a sentence with an
  explicit ``[n]`` keeps it; a sentence with no support is marked as such.
* **Supporting sentences**: for each cited passage, its sentence closest to what the answer took
  from it, for highlighting in the passage and on the rendered page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rag.embedders.base import Embedder
from rag.records import Citation, Grounding, SentenceSupport

# Measured on the sample questions (bench/grounding_threshold.py): sentences restating a
# passage's evidence score 0.55–0.95 against it, sentences taken from another question's
# evidence 0.05–0.45.
DEFAULT_THRESHOLD = 0.4

MARKER = re.compile(r"\[(\d{1,2})\]")
# A number: digits with optional thousands separators and decimals ("1,250", "2.5", "412"); or a
# run of digit groups ("21 01 13", "05.01.02"); or a code mixing letters and digits ("FD60", "DD-114").
_NUMBER = r"\d+(?:[.,]\d+)*"
TOKEN = re.compile(
    r"(?:(?<![\w.])|(?<=\.\.))(?:"  # not inside a word or a decimal; after a range's ".." is fine
    r"\d+(?:[ .\-/]\d+){2,}"  # section-like runs of three or more groups
    r"|(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z\d]+(?:-[A-Za-z\d]+)*"  # codes with letters and digits
    rf"|{_NUMBER}"
    r")(?![\w])"
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\[\"'(])|\n+")


def normalise(token: str) -> str:
    """How a number or code is compared: case-folded, thousands separators and spacing removed."""
    token = token.lower()
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", token):
        token = token.replace(",", "")
    return re.sub(r"[\s]+", " ", token)


@dataclass(frozen=True)
class Span:
    """One number or code found in a text: where it is (``text[start:end]``) and what it names
    (``name``: the text itself, or the code a range's or list's bare number stands for)."""

    start: int
    end: int
    name: str

    @property
    def key(self) -> str:
        return normalise(self.name)


# A markdown ordered-list marker at the start of a line ("1. ", "  2) "), followed by the item.
_LIST_MARKER = re.compile(r"^[ \t]*(\d{1,9})[.)](?=[ \t]+\S)", re.MULTILINE)
# A code split into what a range or list repeats and its number: "DD-" 101, "FD" 60, "NGD-CIV-" 5120.
_CODE_PARTS = re.compile(r"(.*[A-Za-z][^\d]*)(\d+)")
# Between two members of a range or a list, on one line.
_RANGE_GAP = re.compile(r"[^\S\n]*(?:-|–|—|\.\.|to|through|thru|until)[^\S\n]*", re.IGNORECASE)
# A comma needs a space after it ("A180,000" is a thousand-separated number); a slash is a ratio
# more often than a list ("C32/40" is a concrete class, not C32 and C40).
_LIST_GAP = re.compile(r"[^\S\n]*(?:,[^\S\n]|;|&|and\b|or\b)(?:[^\S\n]*(?:and|or)\b)?[^\S\n]*", re.IGNORECASE)
# What makes a number after a code a quantity, not another member: "FD60, 90 minutes", "DD-114, 32 m".
_UNIT_AFTER = re.compile(
    r"[^\S\n]*(?:%|°|x\b|×|(?:mm|cm|m|km|m2|m3|m²|m³|kg|t|tonnes?|n|kn|pa|kpa|mpa|bar|s|secs?|seconds?|min|mins|"
    r"minutes?|h|hrs?|hours?|days?|weeks?|months?|years?|v|kv|ma|w|kw|mw|kwh|hz|l|litres?|liters?|lux|lx|db|"
    r"°c|psi|ft|inch(?:es)?|lb|lbs|gb|mb|kb|pages?|percent)\b)",
    re.IGNORECASE,
)


def _mask(text: str, numbering: bool) -> str:
    """``text`` with citation markers (and, with ``numbering``, list numbering) blanked out, its
    length kept so positions hold. A line's ``n.`` is numbering when it is 1 or follows an ``n-1``
    marker: "1. … 2. … 11." is a list, while "412. That is all." is a number starting a line."""
    text = MARKER.sub(lambda m: " " * len(m.group(0)), text)
    if not numbering:
        return text
    seen: set[int] = set()
    out, cursor = [], 0
    for m in _LIST_MARKER.finditer(text):
        n = int(m.group(1))
        if n == 1 or n - 1 in seen:
            seen.add(n)
            out += [text[cursor : m.start()], " " * (m.end() - m.start())]
            cursor = m.end()
    out.append(text[cursor:])
    return "".join(out)


def token_spans(text: str, *, numbering: bool = True) -> list[Span]:
    """The numbers, codes and identifiers in ``text``, in order, without citation markers and
    (unless ``numbering`` is false) list numbering; a bare number continuing a code's range or
    list is named as that code."""
    masked = _mask(text, numbering)
    spans: list[Span] = []
    prefix, digits = None, ""  # the code a range or list may continue, and its last member's number
    for m in TOKEN.finditer(masked):
        word = name = m.group(0)
        # One digit is too weak a sign: in real manuals "h1 , 0" and "p2, 2" are coordinates and
        # arguments, not h0 and p2 (bench: 30 of 38 such readings in 103k tokens were one digit).
        if prefix is not None and len(word) > 1 and word.isdigit() and not _UNIT_AFTER.match(masked, m.end()):
            gap = masked[spans[-1].end : m.start()]
            if (_RANGE_GAP.fullmatch(gap) and int(word) > int(digits)) or (
                _LIST_GAP.fullmatch(gap) and len(word) == len(digits)
            ):
                name = prefix + word
        if name != word:
            digits = word
        elif parts := _CODE_PARTS.fullmatch(word):
            prefix, digits = parts.group(1), parts.group(2)
        else:
            prefix = None
        spans.append(Span(m.start(), m.end(), name))
    return spans


def tokens(text: str) -> list[str]:
    """The numbers, codes and identifiers in ``text`` (citation markers and list numbering
    excluded), in order; see ``token_spans``."""
    return [s.name for s in token_spans(text)]


def unsupported_tokens(answer: str, sources: Sequence[str]) -> list[str]:
    """Numbers and codes of ``answer`` that occur in none of ``sources``, without repeats."""
    # A passage's numbering is kept ("2. Parking" is section 2), and a range's bare end is known
    # both ways ("DD-101 to 113" knows DD-113 and 113): the sources only ever add what is known.
    found = [(text, s) for text in sources for s in token_spans(text, numbering=False)]
    known = {s.key for _, s in found} | {normalise(text[s.start : s.end]) for text, s in found}
    known_text = " ".join(sources).lower()
    missing: dict[str, str] = {}
    for span in token_spans(answer):
        n = span.key
        if n in known or (" " in n and n in known_text):
            continue
        missing.setdefault(n, span.name)
    return list(missing.values())


def unsupported_spans(text: str, unsupported: Sequence[str]) -> list[Span]:
    """Where in ``text`` the ``unsupported`` numbers and codes (as ``check`` listed them) stand:
    whole tokens only, so a flagged "2" marks neither "32" nor "1.2"."""
    flagged = {normalise(u) for u in unsupported}
    return [s for s in token_spans(text) if s.key in flagged]


_LIST_ITEM_START = re.compile(r"\d{1,9}[.)]")


def split_sentences(text: str) -> list[str]:
    """``text``'s sentences and lines, stripped; a list item's number stays with its item ("1. Open
    the valve."), it is not a sentence of its own."""
    out, start = [], 0
    for end in [*_SENTENCE_END.finditer(text), None]:
        piece = text[start : end.start() if end else len(text)].strip()
        if end is not None and _LIST_ITEM_START.fullmatch(piece) and "\n" not in end.group(0):
            continue  # "1." and the item after it on the same line: one sentence
        if piece:
            out.append(piece)
        start = end.end() if end else len(text)
    return out


def check(
    answer: str,
    question: str,
    citations: Sequence[Citation],
    embedder: Embedder | None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> Grounding:
    """Ground ``answer`` in ``citations`` (see the module docstring). Without an embedder only the
    unsupported spans are computed."""
    # The model saw each passage under its label ("[3] (ARS GEN 10.0/… v20.1.1.pdf – page 11)"):
    # a file name's version or a page number copied from there is not an invention.
    unsupported = unsupported_tokens(answer, [c.text for c in citations] + [c.label for c in citations] + [question])
    sentences = split_sentences(answer)
    if not citations or not sentences or embedder is None:
        return Grounding(unsupported=unsupported, sentences=[SentenceSupport(text=s, citation=None) for s in sentences])
    passage_sentences = [(c.n, s) for c in citations for s in split_sentences(c.text) if len(s) > 3]
    if not passage_sentences:
        return Grounding(unsupported=unsupported, sentences=[SentenceSupport(text=s, citation=None) for s in sentences])
    plain = [MARKER.sub("", s).strip() or s for s in sentences]
    vectors = embedder.embed_documents(plain + [s for _, s in passage_sentences])
    answer_vecs, passage_vecs = vectors[: len(plain)], vectors[len(plain) :]
    sims = answer_vecs @ passage_vecs.T  # unit vectors: cosine similarity
    numbers = np.array([n for n, _ in passage_sentences])
    out, supporting, best_for = [], {}, {}
    for i, sentence in enumerate(sentences):
        explicit = [int(m) for m in MARKER.findall(sentence) if any(c.n == int(m) for c in citations)]
        if explicit:
            mask = np.isin(numbers, explicit)
            j = int(np.argmax(np.where(mask, sims[i], -np.inf)))
            out.append(
                SentenceSupport(text=sentence, citation=explicit[0], similarity=float(sims[i, j]), explicit=True)
            )
        else:
            j = int(np.argmax(sims[i]))
            cited = int(numbers[j]) if sims[i, j] >= threshold else None
            out.append(SentenceSupport(text=sentence, citation=cited, similarity=round(float(sims[i, j]), 4)))
            if cited is None:
                continue
        n = int(numbers[j])
        if sims[i, j] > best_for.get(n, -1.0):
            best_for[n] = float(sims[i, j])
            supporting[n] = passage_sentences[j][1]
    return Grounding(unsupported=unsupported, sentences=out, supporting=supporting)
