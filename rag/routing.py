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

import re
from collections.abc import Iterable, Sequence

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

# A run of letters or digits (any script); "2024Q2" and "ltnews04" split where letters meet digits.
_WORD = re.compile(r"[^\W_]+")
_LETTERS_DIGITS = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")


def path_words(text: str) -> list[str]:
    """The words a path or question is matched by: lower case, letters and digits apart, numbers
    without leading zeros ("ltnews04" and "issue 4" share "4"), English stop words out."""
    words = []
    for word in _WORD.findall(_LETTERS_DIGITS.sub(" ", text).lower()):
        if word.isdigit():
            word = word.lstrip("0") or "0"
        if word not in ENGLISH_STOP_WORDS:
            words.append(word)
    return words


def _path_text(source: str) -> str:
    """A source path without its extension, folders kept ("Amazon/AMZN 10-Q 2024Q2")."""
    stem, dot, ext = source.rpartition(".")
    return stem if dot and "/" not in ext and len(ext) <= 5 else source


class DocumentRouter:
    """Scores documents by how well their paths match a question.

    Args:
        sources: every indexed document's source path.
    """

    def __init__(self, sources: Iterable[str]):
        self.sources = sorted(set(sources))
        self._words = {s: set(path_words(_path_text(s))) for s in self.sources}
        self._vocabulary = set().union(*self._words.values())
        self._vectorizer = TfidfVectorizer(analyzer=path_words, sublinear_tf=True)
        try:
            self._matrix = self._vectorizer.fit_transform([_path_text(s) for s in self.sources])
        except ValueError:  # no documents, or none with a word in its path
            self._matrix = None

    def scores(self, question: str, passages: Sequence[tuple[str, str]] = ()) -> dict[str, float]:
        """Each matching document's score relative to the best match's (the best gets 1.0).

        Args:
            question: the user's question.
            passages: the candidate passages as (source, text); when given, the question must
                share with some path a word that no passage of another document uses.
        Returns:
            Empty when the question names no document.
        """
        if self._matrix is None:
            return {}
        if passages and not self._names_a_document(question, passages):
            return {}
        query = self._vectorizer.transform([question])
        if query.nnz == 0:
            return {}
        raw = (self._matrix @ query.T).toarray().ravel()
        best = float(raw.max())
        if best <= 0:
            return {}
        return {s: float(v) / best for s, v in zip(self.sources, raw, strict=True) if v > 0}

    def _names_a_document(self, question: str, passages: Sequence[tuple[str, str]]) -> bool:
        shared = set(path_words(question)) & self._vocabulary
        if not shared:
            return False
        used_elsewhere: set[str] = set()
        for source, text in passages:
            own = self._words.get(source, set())
            used_elsewhere |= (shared - own) & set(path_words(text))
        return bool(shared - used_elsewhere)
