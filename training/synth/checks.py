"""The checks a generated pair must pass before it is stored, each one cheap and explainable.

* **leak**: the question gives its own answer away (the answer, or all of its numbers and codes,
  appear in the question);
* **unsupported**: the supporting sentence is not in the passage (copied from another page, or
  invented), a number or code of the answer is in neither the passage nor the question, or a
  sentence of the answer is supported by no sentence of the passage: the chat's own grounding
  check (``rag.grounding.check``);
* **unreachable** and **duplicate** need the retriever and the other questions, and live in the
  runner.
"""

from __future__ import annotations

import difflib
import re

from rag.embedders.base import Embedder
from rag.grounding import DEFAULT_THRESHOLD, check, normalise, tokens
from rag.records import Chunk, Citation
from rag.prompts import says_not_found
from training.synth.parser import SynthPair

_NON_WORD = re.compile(r"[^\w]+")
FUZZY_MATCH = 0.9
"""A supporting sentence this similar (difflib ratio) to a stretch of the passage counts as copied:
models re-join hyphenated line breaks and change quotes."""


def plain(text: str) -> str:
    """Lower case, every run of punctuation and space one space: how sentences are compared."""
    return _NON_WORD.sub(" ", text.lower()).strip()


def leaks(pair: SynthPair) -> bool:
    """Whether the question contains the answer (see the module docstring)."""
    question, answer = plain(pair.question), plain(pair.answer)
    if answer and f" {answer} " in f" {question} ":
        return True
    found = {normalise(t) for t in tokens(pair.answer)}
    return bool(found) and found <= {normalise(t) for t in tokens(pair.question)}


def in_passage(sentence: str, passage: str) -> bool:
    """Whether ``sentence`` is copied from ``passage`` (whitespace, case and punctuation aside,
    or nearly: ``FUZZY_MATCH``)."""
    wanted, text = plain(sentence), plain(passage)
    if not wanted:
        return False
    if wanted in text:
        return True
    matcher = difflib.SequenceMatcher(None, wanted, text, autojunk=False)
    block = matcher.find_longest_match(0, len(wanted), 0, len(text))
    # Compare with the stretch of the passage around the longest common block.
    start = max(0, block.b - block.a)
    window = text[start : start + len(wanted) + 20]
    return difflib.SequenceMatcher(None, wanted, window, autojunk=False).ratio() >= FUZZY_MATCH


def unsupported(
    pair: SynthPair, passage: Chunk, embedder: Embedder | None, *, threshold: float = DEFAULT_THRESHOLD
) -> str | None:
    """Why the passage does not support the pair's answer, or None when it does."""
    if pair.kind == "unanswerable":
        return None if says_not_found(pair.answer) else "an unanswerable question with an answer"
    if says_not_found(pair.answer):
        return "says the documents do not answer it"
    if not pair.supporting_sentence or not in_passage(pair.supporting_sentence, passage.text):
        return "the supporting sentence is not in the passage"
    citation = Citation(
        n=1, source=passage.source, page=passage.page, chunk_id=passage.id, score=1.0, text=passage.text
    )
    grounding = check(pair.answer, pair.question, [citation], embedder, threshold=threshold)
    if grounding.unsupported:
        return f"not in the passage: {', '.join(grounding.unsupported)}"
    if embedder is not None:
        loose = [s.text for s in grounding.sentences if s.citation is None]
        # A short answer ("412 spaces.") says little on its own; it stands when the supporting
        # sentence, already found in the passage, contains it.
        loose = [s for s in loose if not plain(s) or plain(s) not in plain(pair.supporting_sentence)]
        if loose:
            return f"no passage sentence supports: {loose[0][:80]}"
    return None
