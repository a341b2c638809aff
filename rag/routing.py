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
specification cost the sample corpus three first places. So a word of the question names
documents only when it is used by no candidate passage of a document whose path lacks it:
"Amazon" passes (the Apple filings do not say it); "site" and "racking" do not (the design
criteria say them). Nor does a word in every path: in a pile of four 10-Qs, "10-Q" and "2024"
tell none apart, and they lifted Apple's filing for a question about Amazon's. Only documents
whose paths hold a name are lifted; a question that names none is left alone.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from rag.errors import StoreError
from rag.stores.base import VectorStore

log = logging.getLogger(__name__)

# A run of letters or a run of digits (any script): "2024Q2" is "2024", "q", "2".
_WORD = re.compile(r"[^\W\d_]+|\d+")


def path_words(text: str) -> list[str]:
    """The words a path or question is matched by: Unicode-normalised (a name macOS stored
    decomposed meets the same name typed), lower case, letters and digits apart, numbers without
    leading zeros ("ltnews04" and "issue 4" share "4"), English stop words out."""
    words = []
    for word in _WORD.findall(_fold(text)):
        word = _without_leading_zeros(word)
        if word not in ENGLISH_STOP_WORDS:
            words.append(word)
    return words


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _without_leading_zeros(word: str) -> str:
    """A run of digits without its leading zeros ("04" -> "4", "000" -> "0"); other words as they are."""
    return (word.lstrip("0") or "0") if word[0].isdigit() else word


_MONTHS = "january february march april may june july august september october november december".split()
# A date in a file name: "20240629" (EDGAR's "aapl-20240629.htm"), "2024-06-29", "2024_06_29".
_DATE = re.compile(r"(?<!\d)((?:19|20)\d\d)[-_.]?(0[1-9]|1[0-2])[-_.]?(0[1-9]|[12]\d|3[01])(?!\d)")


_EXTENSION = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,4}$")


def path_text(source: str) -> str:
    """A source path as the router reads it: without its file extension ("Report v1.2.pdf" ->
    "Report v1.2"), folders kept, dates spelled out as a question names them ("aapl-20240629"
    -> "aapl- 2024 june 29 ")."""
    text = _EXTENSION.sub("", source)
    return _DATE.sub(lambda m: f" {m[1]} {_MONTHS[int(m[2]) - 1]} {m[3]} ", text)


def lift(score: float, match: float, weight: float) -> float:
    """A candidate's score after routing: its fused score (0-1) plus ``weight`` times its
    document's match (0-1), scaled back to 0-1 so that scores stay comparable to unrouted ones."""
    return (score + weight * match) / (1.0 + weight)


class DocumentRouter:
    """Scores documents by how well their paths match a question.

    Args:
        sources: every indexed document's source path.
    """

    def __init__(self, sources: Iterable[str]):
        self.sources = sorted(set(sources))
        self._row = {s: i for i, s in enumerate(self.sources)}
        paths = [path_text(s) for s in self.sources]
        self._words = [set(path_words(p)) for p in paths]
        self._paths_with = Counter(w for words in self._words for w in words)
        vectorizer = TfidfVectorizer(analyzer=path_words, sublinear_tf=True)
        try:
            # Columns, for the few words of a question.
            self._matrix = vectorizer.fit_transform(paths).tocsc()
        except ValueError:  # no documents, or none with a word in its path
            self._matrix, self._column, self._idf = None, {}, None
            return
        self._column = vectorizer.vocabulary_
        self._idf = vectorizer.idf_

    def __contains__(self, source: str) -> bool:
        return source in self._row

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
        passages) whose paths hold a word of the question that names a document (see
        ``_names``). Empty when the question names none."""
        words, raw = self._raw(question)
        names = self._names(words, passages) if words else set()
        if not names:
            return {}
        best = raw.max()
        rows = {s: self._row[s] for s, _ in passages if s in self._row}
        return {s: float(raw[i] / best) for s, i in rows.items() if raw[i] > 0 and self._words[i] & names}

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

    def _names(self, shared: set[str], passages: Sequence[tuple[str, str]]) -> set[str]:
        """The ``shared`` path words that name documents: in some paths but not all ("10-Q" in
        every file name of four 10-Qs tells none of them apart), and used by no passage of a
        document whose path lacks the word (else it is a topic, like "site")."""
        names = {w for w in shared if self._paths_with[w] < len(self.sources)}
        for source, text in passages:
            row = self._row.get(source)
            foreign = names - (self._words[row] if row is not None else set())
            if not foreign:
                continue
            folded = _fold(text)
            present = {w for w in foreign if w in folded}  # a cheap test first: most are absent
            if present:
                names -= present & {_without_leading_zeros(w) for w in set(_WORD.findall(folded))}
                if not names:
                    break
        return names


class RouterCache:
    """The router over a store's documents, built at first use and rebuilt when they change.

    A change shows as another chunk count, or as a candidate from a document the router does not
    know (a file renamed, or swapped for one of the same size); the store is asked at most every
    ``check_seconds``, since listing its documents reads the whole index (0.5 s at 100k chunks
    in LanceDB). One thread builds; the others search on with the router they have.

    Args:
        store: the store whose documents are routed to.
        check_seconds: the least time between two checks for changed documents.
    """

    def __init__(self, store: VectorStore, check_seconds: float = 30.0):
        self.store = store
        self.check_seconds = check_seconds
        self._router: DocumentRouter | None = None
        self._stale = False  # a candidate came from a document the router does not know
        self._count = -1
        self._checked = float("-inf")
        self._lock = threading.Lock()

    def get(self, sources: Sequence[str] = ()) -> DocumentRouter | None:
        """The current router (None until a build succeeded). ``sources``: the candidates'
        documents; one the router does not know has it rebuilt at the next check."""
        router = self._router
        if router is not None and not self._stale and any(s not in router for s in sources):
            self._stale = True
        if time.monotonic() - self._checked < self.check_seconds:
            return router
        # The first build is waited for; later ones run in one thread while the rest search on.
        if not self._lock.acquire(blocking=router is None):
            return router
        try:
            if time.monotonic() - self._checked >= self.check_seconds:  # nobody checked meanwhile
                self._check()
        finally:
            self._lock.release()
        return self._router

    def _check(self) -> None:
        try:
            count = self.store.count()
            if self._router is None or self._stale or count != self._count:
                self._router, self._count = DocumentRouter(self.store.documents()), count
                self._stale = False
        except StoreError as e:  # routing is a refinement: search on without it
            log.warning("document routing is off until the store answers again: %s", e)
        finally:
            # Stamped when done, so that searches arriving during the first build wait for it.
            self._checked = time.monotonic()
