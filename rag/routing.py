"""Routing a question to the documents it names, before their pages are ranked.

A question often names its document: "Amazon's 10-Q for the quarter ended June 30, 2024",
"the ngspice manual", "LaTeX News issue 4". Chunk by chunk, that name is weak evidence: the
Apple 10-Q's every page says "Form 10-Q" and "2024" in its footer, so BM25 and the encoder
rank a sibling's table above the named document's. On the filings of bench/real_retrieval.py
most misses were the right kind of table in the wrong company's or quarter's filing.

Here the words of each document's path (folder and file name) are scored against the question
as a whole (TF-IDF over the documents: a word every file name shares counts for little), and
the Retriever lifts the candidates of the documents that match. Paths only, not titles or first
pages: on the dev questions titles added nothing (filings 0.725 -> 0.700) and cost a manuals
hit@1.

A path word is not always a name. "How many cars can we park on site?" shares "site" with the
folder "Site Civil", and the answer is in the design criteria: lifting the drainage
specification cost the sample corpus three first places. So a question counts as naming a
document only when one of the words it shares with paths is used by no candidate passage of a
document whose path lacks it. "Amazon" passes (the Apple filings do not say it); "site" and
"racking" do not (the design criteria say them). A question that names no document is left
alone.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

# A run of letters or a run of digits (any script): "2024Q2" is "2024", "q", "2".
_WORD = re.compile(r"[^\W\d_]+|\d+")


def path_words(text: str) -> list[str]:
    """The words a path or question is matched by: lower case, letters and digits apart, numbers
    without leading zeros ("ltnews04" and "issue 4" share "4"), English stop words out."""
    words = []
    for word in _WORD.findall(text.lower()):
        word = _normal(word)
        if word not in ENGLISH_STOP_WORDS:
            words.append(word)
    return words


_MONTHS = "january february march april may june july august september october november december".split()
# A date in a file name: "20240629" (EDGAR's "aapl-20240629.htm"), "2024-06-29", "2024_06_29".
_DATE = re.compile(r"(?<!\d)((?:19|20)\d\d)[-_.]?(0[1-9]|1[0-2])[-_.]?(0[1-9]|[12]\d|3[01])(?!\d)")


def _path_text(source: str) -> str:
    """A source path without its extension, folders kept ("Amazon/AMZN 10-Q 2024Q2"), its dates
    spelled out as a question names them ("aapl-20240629" -> "aapl- 2024 june 29 ")."""
    stem, dot, ext = source.rpartition(".")
    text = stem if dot and "/" not in ext and len(ext) <= 5 else source
    return _DATE.sub(lambda m: f" {m[1]} {_MONTHS[int(m[2]) - 1]} {m[3]} ", text)


class DocumentRouter:
    """Scores documents by how well their paths match a question.

    Args:
        sources: every indexed document's source path.
    """

    def __init__(self, sources: Iterable[str]):
        self.sources = sorted(set(sources))
        self._row = {s: i for i, s in enumerate(self.sources)}
        self._words = [set(path_words(_path_text(s))) for s in self.sources]
        vectorizer = TfidfVectorizer(analyzer=path_words, sublinear_tf=True)
        try:
            # Columns, for the few words of a question.
            self._matrix = vectorizer.fit_transform([_path_text(s) for s in self.sources]).tocsc()
        except ValueError:  # no documents, or none with a word in its path
            self._matrix, self._column, self._idf = None, {}, None
            return
        self._column = vectorizer.vocabulary_
        self._idf = vectorizer.idf_

    def scores(self, question: str) -> dict[str, float]:
        """Every matching document's score relative to the best match's (the best gets 1.0);
        empty when the question shares no word with any path."""
        raw = self._raw(question)[1]
        found = np.flatnonzero(raw)
        if not len(found):
            return {}
        return dict(zip([self.sources[i] for i in found.tolist()], (raw[found] / raw.max()).tolist(), strict=True))

    def route(self, question: str, passages: Sequence[tuple[str, str]]) -> dict[str, float]:
        """The scores of the documents of ``passages`` (``(source, text)`` pairs, the candidate
        passages), when the question names a document: when some word it shares with a path is
        used by no passage of a document whose path lacks it. Empty otherwise."""
        words, raw = self._raw(question)
        if not words or not self._names_a_document(words, passages):
            return {}
        best = raw.max()
        rows = {s: self._row[s] for s, _ in passages if s in self._row}
        return {s: float(raw[i] / best) for s, i in rows.items() if raw[i] > 0}

    def _raw(self, question: str) -> tuple[set[str], np.ndarray]:
        """The question's path words, and each document's (unnormalised) cosine with it."""
        counts = Counter(w for w in path_words(question) if w in self._column)
        if not counts:
            return set(), np.zeros(0)
        # The question's TF-IDF weights, as the vectorizer's transform would make them (their
        # length does not matter: scores are relative), against each path's normalised row.
        columns = [self._column[w] for w in counts]
        weights = np.array([(1.0 + math.log(n)) * self._idf[c] for n, c in zip(counts.values(), columns, strict=True)])
        return set(counts), self._matrix[:, columns] @ weights

    def _names_a_document(self, shared: set[str], passages: Sequence[tuple[str, str]]) -> bool:
        names = set(shared)
        for source, text in passages:
            row = self._row.get(source)
            foreign = names - (self._words[row] if row is not None else set())
            if not foreign:
                continue
            lowered = text.lower()
            present = {w for w in foreign if w in lowered}  # a cheap test first: most are absent
            if present:
                names -= present & {_normal(w) for w in set(_WORD.findall(lowered))}
                if not names:
                    return False
        return True


def _normal(word: str) -> str:
    return (word.lstrip("0") or "0") if word[0].isdigit() else word
