"""Stop a reply that repeats itself.

Small models decoding greedily fall into loops: on the GLPK manual SmolLM2-135M named the right
routine, then wrote the same sentence nine times until the token limit. ``RepetitionGuard`` reads
a reply as it streams and stops it at the first repeat, keeping the text before it:

* a sentence or line of at least ``min_words`` words that says what an earlier one of the same
  reply said (case, spacing, punctuation, list numbering and ``[n]`` markers aside);
* a run of ``ngram`` words that already appeared earlier in the reply (a loop that never ends a
  sentence, "the the the …", or one that renumbers itself).

A legitimate answer from passages states each fact once, so either is a loop. While the sentence
being written reads like the start of an earlier one, it is held back rather than shown, so a
stopped stream shows no half of a repeated sentence; a reply that goes on differently gets it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# A unit ends after ". ", "? ", "! " or at a line break ("2.5 m" and "e.g. the" stay whole).
_UNIT_END = re.compile(r"(?<=[.!?])[ \t]+|\n+")
_WORD = re.compile(r"[^\W_]+(?:[.,/:-][^\W_]+)*", re.UNICODE)
_MARKER = re.compile(r"\[\d{0,3}(?:\]|$)")
_NUMBERING = re.compile(r"\s*\(?(?:\d{1,3}|[a-z])[.)]$", re.I)
_LIST_LEAD = re.compile(r"^\s*(?:[-*•]+|\(?\d{1,3}[.)]|\(?[a-z][.)])(?:\s+|$)", re.I)


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(_MARKER.sub(" ", text))]


def _key(unit: str) -> tuple[str, ...]:
    """What a sentence says, for comparing: its words, without list numbering or markers."""
    return tuple(_words(_LIST_LEAD.sub("", unit)))


@dataclass
class RepetitionGuard:
    """Feed a streamed reply piece by piece; it says what to show and when to stop.

    Args:
        min_words: shortest sentence whose repeat stops the reply ("Yes." may come twice).
        ngram: length, in words, of a run that stops the reply when it comes again; 0 turns
            the rule off.

    ``feed`` returns the text that is now safe to show (possibly ''); after a repeat it returns
    '' and ``stopped`` is True. ``finish`` returns what was held back when the reply ended on
    its own. ``text`` is the reply kept so far (shown and held), without the repeated tail.
    """

    min_words: int = 4
    ngram: int = 12
    stopped: bool = False
    repeated: str = ""
    _raw: str = ""
    _shown: int = 0
    _cut: int | None = None

    def __post_init__(self):
        if self.min_words < 1:
            raise ValueError(f"min_words={self.min_words!r} must be 1 or more")
        if self.ngram < 0 or self.ngram == 1:
            raise ValueError(f"ngram={self.ngram!r} must be 0 (off) or 2 or more")

    @property
    def text(self) -> str:
        return self._raw if self._cut is None else self._raw[: self._cut].rstrip()

    def feed(self, piece: str) -> str:
        if self.stopped or not piece:
            return ""
        self._raw += piece
        cut, hold = self._scan(self._raw)
        if cut is not None:
            self.stopped = True
            self._cut = cut
            self.repeated = self._raw[cut:]
            end = len(self._raw[:cut].rstrip())
        else:
            end = hold
        out = self._raw[self._shown : max(end, self._shown)]
        self._shown = max(end, self._shown)
        return out

    def finish(self) -> str:
        """The text held back, to show when the reply ended: all of it, unless its last
        sentence repeats an earlier one (then ``stopped`` turns True and that sentence goes)."""
        if self.stopped:
            return ""
        cut, _ = self._scan(self._raw + "\n")
        if cut is not None:
            self.stopped = True
            self._cut = cut
            self.repeated = self._raw[cut:]
            end = max(len(self._raw[:cut].rstrip()), self._shown)
        else:
            end = len(self._raw)
        out = self._raw[self._shown : end]
        self._shown = end
        return out

    def _scan(self, text: str) -> tuple[int | None, int]:
        """(where the repeat starts, or None; how much may be shown when there is none)."""
        units = _units(text)
        seen: set[tuple[str, ...]] = set()
        # The earliest repeat by either rule, so a reply read at once is cut where its stream is.
        cut = self._ngram_repeat(text)
        for start, unit in units[:-1]:
            key = _key(unit)
            if len(key) >= self.min_words:
                if key in seen:
                    cut = start if cut is None else min(cut, start)
                    break
                seen.add(key)
        if cut is not None:
            return cut, cut
        # The sentence being written: hold it back while it reads like the start of an earlier one.
        start, last = units[-1]
        key = _key(last)
        # (a bare list number is held too, until the words of its item show what it leads)
        if (not key and last.strip()) or (key and any(_starts(k, key) for k in seen)):
            return None, start
        return None, len(text)

    def _ngram_repeat(self, text: str) -> int | None:
        if not self.ngram:
            return None
        spans = [
            (m.start(), m.group().lower()) for m in _WORD.finditer(_MARKER.sub(lambda m: " " * len(m.group()), text))
        ]
        n = self.ngram
        first: set[tuple[str, ...]] = set()
        for i in range(len(spans) - n + 1):
            gram = tuple(w for _, w in spans[i : i + n])
            if gram in first:
                return spans[i][0]
            first.add(gram)
        return None


def _starts(whole: tuple[str, ...], part: tuple[str, ...]) -> bool:
    """Whether ``part`` (whose last word may still be growing) is how ``whole`` begins."""
    if len(part) > len(whole):
        return False
    return whole[: len(part) - 1] == part[:-1] and whole[len(part) - 1].startswith(part[-1])


def _units(text: str) -> list[tuple[int, str]]:
    """Sentences and lines with their offsets; the last one may still be growing."""
    units, start = [], 0
    for m in _UNIT_END.finditer(text):
        if _NUMBERING.match(text[start : m.start()]) and "\n" not in m.group():
            continue  # "2. Use …": the number belongs to the item it leads
        units.append((start, text[start : m.start()]))
        start = m.end()
    units.append((start, text[start:]))
    return units


def stop_repeats(pieces: Iterable[str], guard: RepetitionGuard | None = None) -> Iterator[str]:
    """The pieces of a streamed reply up to its first repeat (see ``RepetitionGuard``).

    Stops reading ``pieces`` at the repeat and closes it, which ends the generation of a
    generator that streams. Pass a ``guard`` to read ``text`` and ``stopped`` afterwards.
    """
    guard = guard if guard is not None else RepetitionGuard()
    source = iter(pieces)
    try:
        for piece in source:
            out = guard.feed(piece)
            if out:
                yield out
            if guard.stopped:
                return
        rest = guard.finish()
        if rest:
            yield rest
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()
