"""Whether two questions that read alike ask the same thing.

An embedding puts "What is the minimum clear height?" right beside "What is the maximum clear
height?", and "Apple's 10-Q for Q1 2024" beside Amazon's or Q2's: the words that decide the
answer are few and the rest is shared. ``differences`` looks only at those words, each kind with
its own rule (``rag.question_words`` reads them; words are compared by their lemmas):

- numbers, codes and periods ("21 01 13", "10-Q", "2024", "Q2", "nine months", "FY24", "7-bit")
  must be the same set;
- identifiers ("\\llap", "limit_range", "View.AxesFormatX", "rand(-1)") must be in both;
- names (a capitalised word, an acronym, a month) may be added or left out, not swapped: one
  question naming something the other lacks while the other names something the first lacks
  asks about another thing; and, with the documents of the index, a name added that names
  another document than the ones the verified answer cites is another document asked about; a
  name left out while the other question describes the same noun otherwise ("the OpenCASCADE
  kernel", "the built-in geometry kernel") is another thing asked about;
- words of a contrast ("minimum"/"maximum", "read"/"write", "before"/"after", "add"/"remove")
  must take the same side; an extreme or an order ("minimum", "first") named in one question
  must be named in the other, and so must "before" a period; what comes "instead of" what may
  not be swapped;
- a measure ("width"/"length"/"height"…) named in both must be the same;
- a negation ("not", "without", "never", "undeclared", "left out", "besides", "non-") must be in
  both or in neither; one inside a condition on what is set ("if I do not set it", "when none is
  given") asks for the default instead;
- what is asked for ("how many", "when", "which variable", "where") must fit.

With the answer given to the original question, one more: a noun of the original question that
the answer repeats (what the answer is about: "operating income", "whiskers") must be in the new
question too, as itself or in another form (another form of the word, a compound, the same side
of a contrast, a synonym, "how many" for a size; words describing an acronym both name); a verb
may be reworded ("supported" asked as "handle").

Everything else (word order, synonyms, filler) is left to the embedding's similarity.
"""

from __future__ import annotations

import re
import os
from collections.abc import Iterable

from rag.question_words import (
    NUMBER_WORDS,
    QUANTITY,
    STOP,
    all_parts,
    ask_types,
    asks_apart,
    camel_parts,
    codes,
    fold,
    holds_name,
    identifiers,
    is_code,
    is_identifier,
    keys,
    names,
    normalise,
    parts,
    phrase,
    polarity,
    stem,
    tokens,
    verb_like,
)

__all__ = ["codes", "content_stems", "differences", "names", "stem"]

# Sides of one contrast: a question on one side and its counterpart on another asks something
# else.
CONTRASTS: tuple[tuple[frozenset[str], ...], ...] = tuple(
    tuple(frozenset(side.split()) for side in sides)
    for sides in (
        (
            "minimum min least lowest smallest fewest shortest narrowest lower minimal minimise minimize",
            "maximum max most highest largest greatest biggest longest widest upper maximal maximise maximize",
        ),
        ("first earliest initial", "last latest final"),
        ("before prior preceding previous ahead until", "after following subsequent"),
        ("increase raise grow rise gain", "decrease reduce drop decline fall loss"),
        ("inside internal interior indoor inner inbound", "outside external exterior outdoor outer outbound"),
        ("input", "output"),
        ("import", "export"),
        ("read load", "write save"),
        ("get getter", "set setter"),
        ("enable activate", "disable deactivate"),
        ("open", "close"),
        ("add insert create install integrate include append prepend", "delete remove uninstall"),
        ("allow permit", "forbid prohibit"),
        ("required mandatory", "optional"),
        ("horizontal", "vertical"),
        ("left", "right"),
        ("top above", "bottom below"),
        ("positive", "negative"),
        ("true", "false"),
        ("hot heat heating warm", "cold cool cooling"),
        ("buy purchase", "sell sale"),
        ("asset", "liability"),
        ("debit", "credit"),
        ("income profit earning", "expense cost"),
        ("gross", "net"),
        ("start begin", "end stop finish"),
        ("upstream", "downstream"),
        ("supply", "return"),
        ("long", "short"),
        ("both", "only"),
        ("default", "example"),
    )
)
# Contrasts whose side, named in one question alone, still changes the ask: "the clear
# height" is not "the minimum clear height". Elsewhere ("the smallest height allowed") one side
# named alone is wording. Their words are adjectives and take no verb forms ("lowering" a
# tolerance names no extreme).
QUALIFIERS = frozenset({0, 1})
# The time before a period, named in one question alone, changes the ask: "before the April 2018
# release" is not "from" or "in" it, while "after" it is; "before unpacking" names no period (one
# named later in the clause counts: "before X was built into the 2020 release").
_BEFORE_PERIOD = re.compile(
    r"\b(?i:before|prior\s+to|ahead\s+of|until|preceding)\b[^,;:?]*?"
    r"(?:\b\d|\b[QH][1-4]\b|\b(?i:release|version|issue|quarter|year|month)s?\b)"
)
# Measures: two questions that each name one ask about different ones. A question that names
# none ("how big is …") is not held against one that names one.
MEASURES: tuple[frozenset[str], ...] = tuple(
    frozenset(words.split())
    for words in (
        "width wide breadth",
        "length",
        "height high tall",
        "depth deep",
        "weight heavy mass",
        "diameter radius",
        "area",
        "volume capacity",
        "speed velocity",
        "temperature",
        "pressure",
        "voltage",
        "current",
        "resistance",
        "duration time period",
        "cost price",
        "count number",
        "default",
        "unit units",
    )
)
_DEFAULTS = frozenset("default defaults defaulted".split())
# Words that name one thing in the questions asked here: one may stand for the other.
SYNONYMS: tuple[frozenset[str], ...] = tuple(
    frozenset(words.split()) for words in ("revenue revenues sales", "item items element elements entry entries")
)
# What "how many" / "how much" asks for without naming it.
QUANTITY_WORDS = frozenset("size number count amount total quantity".split())
# Markers of a relation with a direction: what comes before the marker and what after may not
# trade places ("ydelta instead of ylow" is not "ylow instead of ydelta").
_DIRECTED = re.compile(r"\b(?:instead\s+of|rather\s+than|in\s+place\s+of)\b", re.I)

# Irregular forms of the contrast words; regular ones are made by ``_forms``.
_IRREGULAR = {
    "write": "wrote written",
    "get": "got gotten",
    "sell": "sold",
    "buy": "bought",
    "begin": "began begun",
    "rise": "rose risen",
    "fall": "fell fallen",
    "grow": "grew grown",
    "high": "higher",
    "low": "lower",
    "long": "longer",
    "short": "shorter",
    "wide": "wider",
    "deep": "deeper",
    "heavy": "heavier",
}


def _forms(word: str) -> set[str]:
    """``word`` and its regular inflections: "read" -> reads, reading, reader…"""
    forms = {word, word + "s", word + "es", word + "ed", word + "ing", word + "er", word + "ers"}
    if word.endswith("e"):
        forms |= {word + "d", word[:-1] + "ing", word + "r", word + "rs"}
    if word.endswith("y"):
        forms |= {word[:-1] + "ies", word[:-1] + "ied"}
    if re.fullmatch(r".*[^aeiou][aeiou][bdgmnprt]", word):  # stop -> stopped, stopping
        forms |= {word + word[-1] + "ed", word + word[-1] + "ing"}
    return forms | set(_IRREGULAR.get(word, "").split())


def _index(groups, plain=()) -> dict[str, object]:
    index = {}
    for key, words in groups:
        for word in words:
            for form in {word, word + "s"} if key[0] in plain else _forms(word):
                index.setdefault(form, key)
    return index


_SIDES = _index((((g, s), side) for g, sides in enumerate(CONTRASTS) for s, side in enumerate(sides)), plain=QUALIFIERS)
_MEASURE = _index(((m,), words) for m, words in enumerate(MEASURES))
_SYNONYM = _index((("synonym", s), words) for s, words in enumerate(SYNONYMS))


def _words(question: str) -> set[str]:
    return {w.lower().strip("'").removesuffix("'s") for w in re.findall(r"[A-Za-z][A-Za-z']*", normalise(question))}


def content_stems(text: str) -> set[str]:
    """The stems of the words that carry content (no stop words; hyphenated words split)."""
    words = re.findall(r"[A-Za-z][A-Za-z']*", fold(text))
    return {stem(w) for w in words if w.lower() not in STOP and len(w) > 1}


def _vocabulary(text: str) -> set[str]:
    """Every key of every word of ``text``, hyphenated words split, "re-" taken off ("rescales")."""
    found = set()
    for token in tokens(text):
        for part in re.findall(r"[^\W\d_]+", token.lower().removesuffix("'s")):
            found |= keys(part)
            if part.startswith("re") and len(part) > 5:
                found |= keys(part[2:])
    return found


def left_out(new: str, original: str, answer: str) -> list[str]:
    """The nouns of ``original`` that ``answer`` repeats and ``new`` does not hold, as themselves or
    reworded (verbs, names, identifiers and codes are left to their own checks)."""
    said, asked = _vocabulary(answer), _vocabulary(new)
    the_names = names(original)
    words = tokens(original)
    new_words = {p for t in tokens(new) for p in re.findall(r"[^\W\d_]+", t.lower().removesuffix("'s"))}
    new_words |= {p for t in tokens(new) if is_identifier(t) for p in camel_parts(t)}
    quantity = QUANTITY in ask_types(new)
    found = []
    for i, token in enumerate(words):
        if is_code(token) or is_identifier(token) or token.lower().removesuffix("'s") in the_names:
            continue
        for part in re.findall(r"[^\W\d_]+", token.lower().removesuffix("'s")):
            if len(part) < 2 or part in STOP or part in NUMBER_WORDS or not keys(part) & said or keys(part) & asked:
                continue
            if verb_like(words, i) or part in found or _reworded(part, new_words, quantity):
                continue
            if not _described(words, i, all_parts(new)):
                found.append(part)
    return found


def _reworded(word: str, new_words: set[str], quantity: bool) -> bool:
    """Whether the new question holds ``word`` in another form: a word of the same stem
    ("extrusion", "extruding"), a compound holding it or held in it ("input", "inputenc";
    "filltype"; "dot", "dotfactor"), the same side of a contrast ("latest", "last"), a word of the
    same measure or meaning ("number", "count"; "revenue", "sales"), or, for a quantity, "how
    many"."""
    if quantity and word in QUANTITY_WORDS:
        return True
    groups = {index[w] for index in (_SIDES, _MEASURE, _SYNONYM) for w in new_words if w in index}
    if any(index.get(word) in groups for index in (_SIDES, _MEASURE, _SYNONYM)):
        return True
    for other in new_words - STOP:
        if len(other) < 3:
            continue
        if len(word) >= 5 and len(other) >= 5 and len(os.path.commonprefix([word, other])) >= 5:
            return True
        if word.startswith(other) or (len(word) >= 4 and (other.startswith(word) or other.endswith(word))):
            return True
    return False


def _described(words: list[str], i: int, asked: set[str]) -> bool:
    """Whether ``words[i]`` describes an acronym or identifier that follows it in its phrase and that
    the new question names too ("the MOS *channel width* DEFW": DEFW alone asks for it)."""
    around = phrase(words, i)
    after = around[around.index(words[i]) + 1 :]
    return any((is_identifier(w) or re.fullmatch(r"[A-Z][A-Z0-9]+", w)) and set(parts(w)) <= asked for w in after)


def differences(
    new: str,
    original: str,
    answer: str | None = None,
    *,
    cited: Iterable[str] = (),
    indexed: Iterable[str] = (),
) -> list[str]:
    """Why ``new`` asks something other than ``original``; empty when nothing sets them apart.

    The checks are symmetric in the two questions. With the ``answer`` given to ``original``,
    a noun of the original question that the answer repeats must be in the new question too.
    With what the answer rests on (``cited``: its sources' paths and its passages' text) and
    every source of the index (``indexed``), a name only the new question holds may not name
    another document. Each difference is a short
    phrase for logs and the benchmark ("numbers or codes differ: 2023, 2024").
    """
    found = []
    if answer is not None:
        missing = left_out(new, original, answer)
        if missing:
            found.append(f"leaves out what the answer is about: {', '.join(missing)}")
    a, b = codes(new), codes(original)
    if a != b:
        found.append(f"numbers or codes differ: {', '.join(sorted(a ^ b))}")
    ids_a, ids_b = identifiers(new), identifiers(original)
    parts_a, parts_b = all_parts(new), all_parts(original)
    if ids_a - parts_b or ids_b - parts_a:
        found.append(f"identifiers only one question holds: {', '.join(sorted((ids_a - parts_b) | (ids_b - parts_a)))}")
    found += _names_apart(new, original, parts_a, parts_b, cited, indexed)
    words_a, words_b = _words(new), _words(original)
    apart = _sides_apart(words_a, words_b)
    if apart:
        found.append("one asks the opposite or a narrower thing (" + ", ".join(_side_names(apart)) + ")")
    if _swapped(new, original):
        found.append("what comes instead of what is swapped")
    if bool(_BEFORE_PERIOD.search(normalise(new))) != bool(_BEFORE_PERIOD.search(normalise(original))):
        found.append("one asks about the time before a period")
    measures_a = {_MEASURE[w] for w in words_a if w in _MEASURE}
    measures_b = {_MEASURE[w] for w in words_b if w in _MEASURE}
    if measures_a and measures_b and not measures_a & measures_b:
        found.append("they ask about different measures")
    (negated_a, unset_a), (negated_b, unset_b) = polarity(new), polarity(original)
    if negated_a != negated_b:
        found.append("one is negated")
    elif unset_a != unset_b and not (_DEFAULTS & (words_a | words_b)):
        found.append("one asks what holds when something is not set")
    kinds = asks_apart(new, original)
    if kinds:
        found.append(f"they ask for different things ({kinds})")
    return found


def _names_apart(new, original, parts_a, parts_b, cited, indexed) -> list[str]:
    only_a = sorted(n for n in names(new) if not holds_name(n, parts_b))
    only_b = sorted(n for n in names(original) if not holds_name(n, parts_a))
    if only_a and only_b:
        return [f"names only one question holds: {', '.join(only_a + only_b)}"]
    for named, other, lone in ((new, original, only_a), (original, new, only_b)):
        described = _described_instead(named, other, set(lone))
        if described:
            return [f"one names {lone[0]}, the other another {described}"]
    cited_words = {p for source in cited for p in parts(source)}
    other_words = {p for source in indexed for p in parts(source)} - cited_words
    elsewhere = [n for n in only_a if holds_name(n, other_words) and not holds_name(n, cited_words)]
    return [f"names another document: {', '.join(elsewhere)}"] if elsewhere else []


def _described_instead(named: str, other: str, lone: set[str]) -> str | None:
    """The noun that ``named`` qualifies by a name only it holds ("the *OpenCASCADE* kernel") and
    that ``other`` qualifies by words ``named`` lacks ("the built-in geometry kernel"); None when
    there is none. A possessive name is an owner, not a kind ("Apple's 10-Q", "the company's 10-Q")."""
    if not lone:
        return None
    words, others = tokens(named), tokens(other)
    held = all_parts(named)
    for i, token in enumerate(words):
        if token.endswith("'s") or not set(parts(token)) & lone:
            continue
        head = phrase(words, i)[-1]
        # The thing named is a common noun ("kernel"), not the name itself nor an acronym or code.
        if head == token or not head.islower() or is_code(head) or is_identifier(head):
            continue
        for j, word in enumerate(others):
            if word.lower() != head:
                continue
            around = phrase(others, j)
            qualifiers = {p for w in around[: around.index(word)] for p in parts(w)} - held - STOP
            if qualifiers:
                return head
    return None


def _sides_apart(words_a: set[str], words_b: set[str]) -> set[tuple[int, int]]:
    sides_a = {_SIDES[w] for w in words_a if w in _SIDES}
    sides_b = {_SIDES[w] for w in words_b if w in _SIDES}
    apart = set()
    for g in {g for g, _ in sides_a | sides_b}:
        in_a = {s for h, s in sides_a if h == g}
        in_b = {s for h, s in sides_b if h == g}
        if g in QUALIFIERS:
            differ = in_a != in_b
        else:  # "income tax expense" still holds "expense"
            differ = bool(in_a and in_b and not in_a & in_b)
        if differ:
            apart |= {(g, s) for s in in_a ^ in_b}
    return apart


def _side_names(sides: set[tuple[int, int]]) -> list[str]:
    return sorted(sorted(CONTRASTS[g][s])[0] for g, s in sides)


def _swapped(a: str, b: str) -> bool:
    """Whether both questions relate two things with "instead of" (or "rather than") the other way
    round."""
    sides_a, sides_b = _directed(a), _directed(b)
    if not sides_a or not sides_b:
        return False
    (before_a, after_a), (before_b, after_b) = sides_a, sides_b
    # Words that cross sides and are not also on their own side in the other question: the context
    # both share ("... output ... from sdcc") does not hide the swap.
    return bool((before_a & after_b) - before_b and (after_a & before_b) - after_b)


def _directed(question: str) -> tuple[set[str], set[str]] | None:
    text = normalise(question)
    match = _DIRECTED.search(text)
    if not match:
        return None
    before = re.split(r"[,;:?]", text[: match.start()])[-1]
    after = re.split(r"[,;:?]", text[match.end() :])[0]

    def content(span: str) -> set[str]:
        return {p for t in tokens(span) for p in parts(t) if p not in STOP}

    return content(before), content(after)
