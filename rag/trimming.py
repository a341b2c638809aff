"""What the model reads: the retrieved passages cut down to the part that can hold the answer.

A small model on a CPU pays for every prompt token before the first answer token (prefill runs
at a few hundred tokens a second on two cores), and it answers worse when the one sentence that
matters is buried in five pages of tables. So, before the prompt is built:

* passages whose vector similarity falls far below the best one's are dropped (k chosen by the
  score gap), keeping at least ``min_passages``;
* a passage that repeats one already kept (chunk overlap, a running header) is dropped;
* each kept passage is cut to the segments (sentences, or lines of a table) that match the
  question best, with their neighbours, up to ``max_chars``; the cuts are marked with "…".

The citations shown to the user keep the full text and their numbers; the trimmed passages keep
the same numbers, so "[2]" in an answer points at the same citation either way.

Matching is lexical (question words against segment words, with a crude shared-prefix stem so
"parking" meets "park") plus, when an embedder is given, the cosine similarity of each segment
to the question, which finds "clear internal height" for "headroom".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.embedders.base import Embedder
from rag.records import Citation, ScoredChunk

# A segment ends at a line break, or after ". ", "? ", "! ", "; " before a capital, digit or
# bracket; "2.5 m" and "e.g. the" stay whole. A line break before a lower-case letter is a PDF
# line wrap inside a sentence, not an end.
_WRAP = re.compile(r"(?<![.!?:;])\n(?=[a-z(])")
_SEGMENT_END = re.compile(r"\n+|(?<=[.!?;])[ \t]+(?=[A-Z0-9(\[])")
_WORD = re.compile(r"[a-z0-9]+(?:[.,/][0-9]+)*")
_STOP = frozenset(
    """a about above after all also am an and any are as at be been before being below between both but by
    can could did do does doing done during each for from had has have having here how i if in into is it its
    just me more most much must my need needs no nor not of off on once only or other our out over own per
    same shall should so some such than that the their them then there these they this those through to
    too under until up us very was we were what when where which while who whom why will with would you
    your get got many long big often soon""".split()
)
_ELLIPSIS = " … "


def _stems(text: str) -> set[str]:
    """Content words of a text, cut to six characters so inflections meet ("parking" ~ "park")."""
    return {w[:6] if w.isalpha() else w.replace(",", "") for w in _WORD.findall(text.lower()) if w not in _STOP}


def segments(text: str) -> list[str]:
    """The text split into sentences and lines, in order, empty pieces dropped."""
    return [s.strip() for s in _SEGMENT_END.split(_WRAP.sub(" ", text)) if s.strip()]


@dataclass(frozen=True)
class ContextTrimmer:
    """Chooses and trims the passages the model reads.

    Args:
        max_chars: characters kept of each passage (the segments that match best, with
            neighbours); 0 keeps passages whole.
        lead_chars: the same for the best-ranked passage, which holds the answer most often.
        window: neighbouring segments kept on each side of a matching one.
        max_gap: a passage whose similarity is more than this below the best passage's is
            dropped; None keeps every passage.
        min_passages: never fewer passages than this (the top ones).
        dedupe: drop a passage whose trimmed text is contained in one already kept.
    """

    max_chars: int = 300
    lead_chars: int = 900
    window: int = 1
    max_gap: float | None = 0.15
    min_passages: int = 2
    dedupe: bool = True

    def select(
        self,
        question: str,
        citations: Sequence[Citation],
        results: Sequence[ScoredChunk],
        embedder: Embedder | None = None,
    ) -> list[Citation]:
        """Trimmed copies of the citations worth reading, in rank order, with their numbers.

        ``results`` are the search results the citations were made from (same order); their
        similarities decide the gap cut. Returns a list of new Citation objects; the inputs
        are not changed.
        """
        if len(citations) != len(results):
            raise ValueError(f"{len(citations)} citations but {len(results)} search results")
        kept = self._by_gap(list(zip(citations, results, strict=True)))
        texts = [c.text for c, _ in kept]
        if self.max_chars:
            texts = self._trim_all(question, texts, embedder)
        out: list[Citation] = []
        seen: list[str] = []
        for (citation, _), text in zip(kept, texts, strict=True):
            norm = " ".join(text.split()).lower()
            if self.dedupe and any(norm in s for s in seen):
                continue
            seen.append(norm)
            out.append(citation.model_copy(update={"text": text}))
        return out

    def _by_gap(self, pairs: list[tuple[Citation, ScoredChunk]]) -> list[tuple[Citation, ScoredChunk]]:
        sims = [r.similarity for _, r in pairs if r.similarity is not None]
        if self.max_gap is None or not sims:
            return pairs
        floor = max(sims) - self.max_gap
        # A passage found by keyword alone (no similarity) stays: for codes and numbers the
        # exact match is the evidence.
        return [
            p
            for i, p in enumerate(pairs)
            if i < self.min_passages or p[1].similarity is None or p[1].similarity >= floor
        ]

    def _trim_all(self, question: str, texts: list[str], embedder: Embedder | None) -> list[str]:
        pieces = [segments(t) for t in texts]
        query = _stems(question)
        lexical = [[len(query & _stems(s)) / max(len(query), 1) for s in segs] for segs in pieces]
        if embedder is not None and any(pieces):
            flat = [s for segs in pieces for s in segs]
            vectors = embedder.embed_documents(flat)
            cosine = vectors @ embedder.embed_query(question)
            it = iter(cosine.tolist())
            scores = [[lex + next(it) for lex in row] for row in lexical]
        else:
            scores = lexical
        budgets = [self.lead_chars if i == 0 else self.max_chars for i in range(len(texts))]
        return [
            self._trim(segs, sc, budget) if len(text) > budget else text
            for text, segs, sc, budget in zip(texts, pieces, scores, budgets, strict=True)
        ]

    def _trim(self, segs: list[str], scores: list[float], budget: int) -> str:
        """The best segments and their neighbours, in document order, within ``budget`` characters."""
        chosen: set[int] = set()
        used = 0
        for best in np.argsort(scores)[::-1].tolist():
            for i in [best, *(best + d for w in range(1, self.window + 1) for d in (-w, w))]:
                if 0 <= i < len(segs) and i not in chosen and used + len(segs[i]) <= budget:
                    chosen.add(i)
                    used += len(segs[i]) + 1
            if used >= budget * 0.8:
                break
        if not chosen:  # a single segment longer than max_chars: keep its start
            return segs[int(np.argmax(scores))][:budget].rstrip() + "…"
        parts, last = [], None
        for i in sorted(chosen):
            if last is not None and i != last + 1:
                parts.append(_ELLIPSIS.strip())
            parts.append(segs[i])
            last = i
        text = "\n".join(parts)
        if min(chosen) > 0:
            text = "… " + text
        if max(chosen) < len(segs) - 1:
            text += " …"
        return text
