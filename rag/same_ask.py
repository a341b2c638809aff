"""Whether two questions that read alike ask the same thing.

An embedding puts "What is the minimum clear height?" right beside "What is the maximum clear
height?", and "Apple's 10-Q for Q1 2024" beside Amazon's or Q2's: the words that decide the
answer are few and the rest is shared. ``differences`` looks only at those words, each kind with
its own rule (words are compared in their regular inflections: "reads" is "read"):

- numbers and codes ("21 01 13", "DD-101", "10-Q", "2024", "Q2") must be the same set;
- names (a capitalised word that is not the question's first word, an acronym, a month) must
  each appear in the other question, in any case;
- words of a contrast ("minimum"/"maximum", "read"/"write", "before"/"after", "input"/"output")
  must take the same side; an extreme or an order ("minimum", "first") named in one question
  must be named in the other;
- a measure ("width"/"length"/"height"…) named in both must be the same;
- a negation ("not", "without", "except") must be in both or in neither.

Everything else (word order, synonyms, filler) is left to the embedding's similarity.
"""

from __future__ import annotations

import re
import unicodedata

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

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
        ("before prior preceding previous", "after following subsequent"),
        ("increase raise grow rise gain", "decrease reduce drop decline fall loss"),
        ("inside internal interior indoor inner inbound", "outside external exterior outdoor outer outbound"),
        ("input", "output"),
        ("import", "export"),
        ("read load", "write save"),
        ("get getter", "set setter"),
        ("enable activate", "disable deactivate"),
        ("open", "close"),
        ("add insert create install", "delete remove uninstall"),
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
    )
)
# Contrasts whose side, named in one question alone, still changes the ask: "the clear
# height" is not "the minimum clear height". Elsewhere ("the smallest height allowed") one side
# named alone is wording.
QUALIFIERS = frozenset({0, 1})
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
NEGATIONS = frozenset("not no never without except excluding cannot nor neither none".split())
_NEGATED_VERB = re.compile(r"\b\w+n't\b", re.I)
MONTHS = frozenset("january february march april may june july august september october november december".split())
# Ordinal periods say the same as their codes: "second quarter" is "Q2", "first half" is "H1".
_ORDINALS = {"first": "1", "second": "2", "third": "3", "fourth": "4"}
_PERIOD_WORDS = re.compile(r"\b(first|second|third|fourth)\s+(quarter|half)\b", re.I)
# A code or number: digits with the letters and separators glued to them ("DD-101", "10-Q",
# "HEA06", "1.2e+12", "v2.0"); "21 01 13" is three of them.
_CODE = re.compile(r"(?:[A-Za-z]+[-_]?)?\d[\w.+\-/]*")
_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*")
# Capitalised words that start clauses or are simply English, not names.
_COMMON_CAPS = frozenset(
    "i what which who whom whose when where why how is are was were do does did can could should would "
    "will shall may might must the a an in on at of for to from by with and or but if per according "
    "give list name tell show explain describe find".split()
)


# Stop words, and words any question about a document may use without changing the ask.
_STOP = ENGLISH_STOP_WORDS | frozenset(
    "default value values use used using report reported per according given does did quarter year "
    "fiscal document documents manual page section issue release".split()
)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


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


def _index(groups) -> dict[str, object]:
    index = {}
    for key, words in groups:
        for word in words:
            for form in _forms(word):
                index.setdefault(form, key)
    return index


_SIDES = _index(((g, s), side) for g, sides in enumerate(CONTRASTS) for s, side in enumerate(sides))
_MEASURE = _index(enumerate(MEASURES))


def codes(question: str) -> set[str]:
    """The numbers and codes of a question, normalised: lower case, no leading zeros, separators
    unified, ordinal periods as codes ("second quarter" -> "q2")."""
    text = _PERIOD_WORDS.sub(lambda m: f"{m.group(2)[0]}{_ORDINALS[m.group(1).lower()]}", _fold(question))
    found = set()
    for match in _CODE.finditer(text):
        token = match.group(0).rstrip(".-/+").lower().replace("_", "-")
        found.add(re.sub(r"(?<![\d.])0+(\d)", r"\1", token))
    return found


def names(question: str) -> set[str]:
    """Words that name something: a capitalised word past the first (the first too when it is
    a possessive or has a capital inside), an acronym, a month."""
    words = _WORD.findall(_fold(question))
    found = set()
    for i, word in enumerate(words):
        lower = word.lower()
        if lower in MONTHS and (lower != "may" or word[0].isupper() and i > 0):
            found.add(lower)
        elif (
            word.isupper()
            and len(word) > 1
            or (word[0].isupper() and lower not in _COMMON_CAPS and (i > 0 or _named(word)))
        ):
            found.add(lower.removesuffix("'s"))
    return found


def _named(first: str) -> bool:
    """Whether a question's first word is a name all the same: a possessive ("Apple's") or a
    capital inside ("ExxonMobil", "LaTeX")."""
    return first.endswith("'s") or any(c.isupper() for c in first[1:])


def _words(question: str) -> set[str]:
    return {w.lower().strip("'-").removesuffix("'s") for w in _WORD.findall(_fold(question))}


def stem(word: str) -> str:
    """A rough English stem for comparing content words: "employees", "employed" -> "employ"."""
    w = word.lower().strip("'-").removesuffix("'s")
    for suffix in (
        "ations",
        "ation",
        "ments",
        "ment",
        "ings",
        "ing",
        "ers",
        "ees",
        "ies",
        "ied",
        "ed",
        "es",
        "er",
        "ee",
        "s",
        "ly",
    ):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3 and not w.endswith("ss"):
            return w[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
    return w


def content_stems(text: str) -> set[str]:
    """The stems of the words that carry content (no stop words; hyphenated words split)."""
    words = re.findall(r"[A-Za-z][A-Za-z']*", _fold(text))
    return {stem(w) for w in words if w.lower() not in _STOP and len(w) > 1}


def differences(new: str, original: str, answer: str | None = None) -> list[str]:
    """Why ``new`` asks something other than ``original``; empty when nothing sets them apart.

    The checks are symmetric in the two questions. With the ``answer`` given to ``original``,
    one more: a content word of the original question that the answer repeats (what the
    answer is about: "operating income", "columns") must be in the new question too. Each
    difference is a short phrase for logs and the benchmark ("numbers or codes differ: 2023, 2024").
    """
    found = []
    if answer is not None:
        left_out = (content_stems(original) & content_stems(answer)) - content_stems(new)
        if left_out:
            found.append(f"leaves out what the answer is about: {', '.join(sorted(left_out))}")
    a, b = codes(new), codes(original)
    if a != b:
        found.append(f"numbers or codes differ: {', '.join(sorted(a ^ b))}")
    words_a, words_b = _words(new), _words(original)
    lower_a, lower_b = _fold(new).lower(), _fold(original).lower()
    missing = sorted(n for n in names(new) if n not in lower_b) + sorted(n for n in names(original) if n not in lower_a)
    if missing:
        found.append(f"names only one question holds: {', '.join(missing)}")
    sides_a = {_SIDES[w] for w in words_a if w in _SIDES}
    sides_b = {_SIDES[w] for w in words_b if w in _SIDES}
    apart = set()
    for g in {g for g, _ in sides_a | sides_b}:
        in_a = {s for h, s in sides_a if h == g}
        in_b = {s for h, s in sides_b if h == g}
        if (in_a and in_b and in_a != in_b) or (g in QUALIFIERS and bool(in_a) != bool(in_b)):
            apart |= {(g, s) for s in in_a ^ in_b}
    if apart:
        found.append("one asks the opposite or a narrower thing (" + ", ".join(_side_names(apart)) + ")")
    measures_a = {_MEASURE[w] for w in words_a if w in _MEASURE}
    measures_b = {_MEASURE[w] for w in words_b if w in _MEASURE}
    if measures_a and measures_b and not measures_a & measures_b:
        found.append("they ask about different measures")
    negated_a = bool(words_a & NEGATIONS or _NEGATED_VERB.search(new))
    negated_b = bool(words_b & NEGATIONS or _NEGATED_VERB.search(original))
    if negated_a != negated_b:
        found.append("one is negated")
    return found


def _side_names(sides: set[tuple[int, int]]) -> list[str]:
    return sorted(sorted(CONTRASTS[g][s])[0] for g, s in sides)
