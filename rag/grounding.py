"""Checking an answer against the passages it was written from.

A small model can copy the wrong number or invent one; the product shows the user where that
happened instead of presenting every answer as sourced:

* **Unsupported spans**: every number, code and identifier in the answer that appears in none of
  the passages (nor the question) is listed, so the UI can flag it and warn.
* **Citation markers**: each sentence of the answer is attributed to its best-supporting passage
  (cosine similarity of sentence embeddings at or above ``threshold``); a sentence with an
  explicit ``[n]`` keeps it; a sentence with no support is marked as such.
* **Supporting sentences**: for each cited passage, its sentence closest to what the answer took
  from it, for highlighting in the passage and on the rendered page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from rag.embedders.base import Embedder
from rag.models import Citation, Grounding, SentenceSupport

# Measured on the sample questions (bench/grounding_threshold.py): sentences restating a
# passage's evidence score 0.55–0.95 against it, sentences taken from another question's
# evidence 0.05–0.45.
DEFAULT_THRESHOLD = 0.4

MARKER = re.compile(r"\[(\d{1,2})\]")
# A number: digits with optional thousands separators and decimals ("1,250", "2.5", "412"); or a
# run of digit groups ("21 01 13", "05.01.02"); or a code mixing letters and digits ("FD60", "DD-114").
_NUMBER = r"\d+(?:[.,]\d+)*"
TOKEN = re.compile(
    r"(?<![\w.])(?:"
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


def tokens(text: str) -> list[str]:
    """The numbers, codes and identifiers in ``text`` (citation markers excluded), in order."""
    return [m.group(0) for m in TOKEN.finditer(MARKER.sub(" ", text))]


def unsupported_tokens(answer: str, sources: Sequence[str]) -> list[str]:
    """Numbers and codes of ``answer`` that occur in none of ``sources``, without repeats."""
    known = {normalise(t) for text in sources for t in tokens(text)}
    known_text = " ".join(sources).lower()
    missing: dict[str, str] = {}
    for token in tokens(answer):
        n = normalise(token)
        if n in known or (" " in n and n in known_text):
            continue
        missing.setdefault(n, token)
    return list(missing.values())


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


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
