"""The words of a question that decide what it asks, read without a parser (for ``rag.same_ask``).

A question is cut into tokens: words, codes (anything with a digit: "21 01 13", "10-Q", "Q2") and
identifiers ("\\llap", "limit_range", "View.AxesFormatX", "rand(-1)", "lppl.txt"). Words are
compared through their lemmas (lemminflect's lexicon: "paid" is "pay", "contents" "content"),
and a word is judged a verb or not from the lexicon and its neighbours ("which function *records*
an ordering rule", "must it *be placed*"), which is all the checks need: a verb left out of a
question is usually reworded ("supported" asked as "could handle"), a noun left out is usually
another thing asked about. ``polarity`` tells a negated question from one asking what holds when
something is not set ("if I do not set it" asks for the default).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import lemminflect
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

# Spelled numbers are codes ("nine months" is "9 months"); "one" is left out ("which one").
NUMBER_WORDS = _NUMBER_WORDS = dict(
    zip("two three four five six seven eight nine ten eleven twelve".split(), map(str, range(2, 13)), strict=True)
)
_ORDINALS = {"first": "1", "second": "2", "third": "3", "fourth": "4"}
MONTHS = frozenset("january february march april may june july august september october november december".split())
_MONTH_OF = {month[:3]: month.capitalize() for month in MONTHS}
# What the filings call one period in several ways: "three months ended" is a quarter, "first
# half" and "first fiscal half" are "H1", "second quarter" and "2Q" are "Q2", a quarterly report is
# a 10-Q; a year is written out ("FY24", "Q2 '24" are 2024). The base a change is measured against
# ("vs last year", "year-over-year") asks for nothing of its own.
_SPANS = (
    (re.compile(r"\b(?:three|3)[\s-]+months?\b", re.I), "quarter"),
    (re.compile(r"\b(?:six|6)[\s-]+months?\b", re.I), "half"),
    (re.compile(r"\b(?:twelve|12)[\s-]+months?\b", re.I), "year"),
    (re.compile(r"\bquarterly\s+report\b", re.I), "10-Q"),
    (re.compile(r"\bannual\s+report\b", re.I), "10-K"),
    (
        re.compile(r"\b(first|second|third|fourth)[\s-]+(?:fiscal[\s-]+)?(quarter|half)\b", re.I),
        lambda m: f"{m.group(2)[0].upper()}{_ORDINALS[m.group(1).lower()]}",
    ),
    (re.compile(r"\b([1-4])([QH])\b", re.I), lambda m: f"{m.group(2).upper()}{m.group(1)}"),
    (re.compile(r"\bFY\s*'?(\d{2})\b", re.I), r"20\1"),
    (re.compile(r"\bFY\s*(\d{4})\b", re.I), r"\1"),
    (re.compile(r"\b([QH][1-4])\s*'?(\d{2})\b", re.I), r"\1 20\2"),
    (re.compile(r"\b(?:the\s+)?(?:last|prior|previous|preceding)\s+(?:year|quarter|period)s?\b", re.I), ""),
    (re.compile(r"\byear[\s-]+over[\s-]+year\b|\byoy\b", re.I), ""),
    # A month shortened before a day or year ("oct 2019", "Sept. 30"), not "dec" for decimal.
    (
        re.compile(r"\b(jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\.?(?=\s+\d)", re.I),
        lambda m: _MONTH_OF[m.group(1).lower()[:3]],
    ),
    # The filings' "net sales" is their revenue.
    (re.compile(r"\bnet\s+sales\b", re.I), "revenue"),
    # An idiom, not an extreme: "at least 3.7" is the version required.
    (re.compile(r"\bat\s+(?:least|most)\b", re.I), ""),
)
_CODE = re.compile(r"(?:[A-Za-z]+[-_]?)?\d[\w.+\-/]*")
_TOKEN = re.compile(
    r"\\[A-Za-z@]+\*?"  # a TeX command
    r"|\.?[^\W\d_][\w'\-]*(?:\.[^\W\d_]\w*)*(?:\([^()\s]*\))?"  # a word, file name, member or call
    r"|\d[\w.+\-/]*"
)

STOP = ENGLISH_STOP_WORDS | frozenset(
    "default value values use used using report reported per according given does did quarter year "
    "fiscal document documents manual page section issue release new instead like exactly "
    "approximately currently ever".split()
)
# Capitalised words that start clauses or are simply English, not names.
_COMMON_CAPS = frozenset(
    "i what which who whom whose when where why how is are was were do does did can could should would "
    "will shall may might must the a an in on at of for to from by with and or but if per according "
    "give list name tell show explain describe find".split()
)
AUX = frozenset(
    "do does did can could should would will shall may might must to be is are was were been being "
    "has have had i you we they it".split()
)
_WH = frozenset("what which who whom whose when where why how".split())
_MODALS = frozenset("do does did can could should would will shall may might must".split())
_BE = frozenset("be is are was were been being".split())
_DETERMINERS = frozenset("the a an this that these those its their his her my our your each every any some no".split())
_PREPOSITIONS = frozenset(
    "in on at into onto from by with for of about under over after before between during per through "
    "to around without within across along".split()
)
_QUESTION_AUX = _MODALS | _BE | frozenset("has have had".split())
_STOPS_PHRASE = AUX | _PREPOSITIONS | _DETERMINERS | _WH | frozenset("and or".split())


def fold(text: str) -> str:
    """NFKC with typographic quotes made plain ("Apple’s" -> "Apple's")."""
    return unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'")


def normalise(question: str) -> str:
    """The question with periods and spans written one way ("third-quarter" -> "Q3", "three months"
    -> "quarter") and idioms that only look like an extreme removed ("at least")."""
    text = fold(question)
    for pattern, replacement in _SPANS:
        text = pattern.sub(replacement, text)
    return text


def codes(question: str) -> set[str]:
    """The numbers and codes of a question, normalised: lower case, no leading zeros, separators
    unified, periods as codes ("second quarter" -> "q2"), spelled numbers as digits."""
    text = normalise(question)
    found = set()
    for match in _CODE.finditer(text):
        token = match.group(0).rstrip(".-/+").lower().replace("_", "-")
        # A number with its unit or noun joined on ("7-bit", "125-node") is the number; the word is
        # compared as a word. "10-Q" keeps its one letter.
        token = re.sub(r"^(\d[\d.]*)-[a-z]{2,}$", r"\1", token)
        found.add(re.sub(r"(?<![\d.])0+(\d)", r"\1", token))
    found |= {_NUMBER_WORDS[w] for w in re.findall(r"[a-z]+", text.lower()) if w in _NUMBER_WORDS}
    return found


def tokens(question: str) -> list[str]:
    """Words, codes and identifiers in order, from the normalised question."""
    return _TOKEN.findall(normalise(question))


def is_code(token: str) -> bool:
    return any(c.isdigit() for c in token)


def is_identifier(token: str) -> bool:
    """A TeX command, file name, member, call or snake_case name: compared exactly, never reworded."""
    return token[0] in "\\." or "_" in token or "(" in token or bool(re.search(r"[A-Za-z]\.[A-Za-z]", token))


def camel_parts(token: str) -> list[str]:
    """The words of a token written in camel case or with separators, lower case
    ("\\ProcessKeyOptions" -> process, key, options)."""
    return [w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", token)]


def parts(token: str) -> list[str]:
    """The lower-case alphanumeric runs of a token ("View.AxesFormatX" -> view, axesformatx)."""
    return re.findall(r"[^\W_]+", token.lower().removesuffix("'s"))


def identifiers(question: str) -> set[str]:
    """The parts of the question's identifiers ("Plugin(Lambda2)" -> plugin, lambda2)."""
    return {p for t in tokens(question) if is_identifier(t) for p in parts(t)}


def all_parts(question: str) -> set[str]:
    return {p for t in tokens(question) for p in parts(t)}


def names(question: str) -> set[str]:
    """Words that name something: a capitalised word past the first (the first too when it is a
    possessive or has a capital inside), an acronym (plural or not), a month. Each is given as
    its lower-case parts ("O'Brien" -> o, brien), as ``parts`` cuts the other question."""
    found = set()
    words = [t for t in tokens(question) if not is_identifier(t) and not is_code(t)]
    for i, token in enumerate(words):
        for word in token.removesuffix("'s").split("-"):
            word = word.strip("'")
            lower = word.lower()
            if not word:
                continue
            if re.fullmatch(r"[A-Z]{2,}s", word):  # "PDFs"
                found.add(lower[:-1])
            elif lower in MONTHS:
                if lower != "may" or (word[0].isupper() and i > 0):
                    found.add(lower)
            elif (word.isupper() and len(word) > 1) or (
                word[0].isupper() and lower not in _COMMON_CAPS and (i > 0 or _named(words[0]))
            ):
                found.update(parts(word))
    return found


def _named(first: str) -> bool:
    """Whether a question's first word is a name all the same: a possessive ("Apple's") or a
    capital inside ("ExxonMobil", "LaTeX")."""
    return first.endswith("'s") or any(c.isupper() for c in first[1:])


def holds_name(name: str, words: set[str]) -> bool:
    """Whether ``words`` hold ``name``, as itself or as a longer or shorter form of it ("Exxon",
    "ExxonMobil") when the shorter has four letters or more."""
    if name in words:
        return True
    return len(name) >= 4 and any(len(w) >= 4 and (w.startswith(name) or name.startswith(w)) for w in words)


def stem(word: str) -> str:
    """A rough English stem for words the lexicon relates only by derivation ("allocation",
    "allocated" -> "allocat")."""
    w = word.lower().strip("'-").removesuffix("'s")
    for suffix in ("ations", "ation", "ments", "ment", "ings", "ing", "ers", "ees", "ies", "ied", "ed", "es", "er"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3 and not w.endswith("ss"):
            return w[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
    return w.removesuffix("s") if len(w) > 3 and not w.endswith("ss") else w


@lru_cache(maxsize=8192)
def keys(word: str) -> frozenset[str]:
    """What a word is compared by: itself, its lemmas in any part of speech, its rough stem."""
    w = word.lower().strip("'-").removesuffix("'s")
    found = {w, stem(w)}
    for lemmas in lemminflect.getAllLemmas(w).values():
        found |= {lemma.lower() for lemma in lemmas}
    return frozenset(found)


@lru_cache(maxsize=8192)
def _pos(word: str) -> frozenset[str]:
    return frozenset(lemminflect.getAllLemmas(word.lower()))


def known(word: str) -> bool:
    """Whether the lexicon knows ``word`` (in any part of speech)."""
    return bool(_pos(word))


def is_verb(word: str) -> bool:
    """Whether the lexicon knows ``word`` as a verb."""
    return "VERB" in _pos(word)


def verb_like(words: list[str], i: int) -> bool:
    """Whether ``words[i]`` is used as a verb, judged from the lexicon and its neighbours: a word
    that can only be a verb; one after an auxiliary ("must be *placed*") or before an article
    ("*records* an ordering rule"); one before a preposition after a name or code ("inputenc
    *support* in"); the last word after "do"/"can" ("how far do whiskers *extend*"); a participle in
    a passive ("is allocation *set* depending")."""
    word = words[i].lower()
    pos = _pos(word)
    if "VERB" not in pos:
        return False
    if not pos & {"NOUN", "ADJ", "PROPN"}:
        return True
    before = words[i - 1].lower() if i else ""
    after = words[i + 1].lower() if i + 1 < len(words) else ""
    if before in AUX:
        return True
    if before in _DETERMINERS or before in _PREPOSITIONS:
        return False
    if after in _DETERMINERS or after in _WH:
        return True
    if after in _PREPOSITIONS and (is_code(before) or before.endswith(")") or not _pos(before)):
        return True
    # "Which command *changes* small capitals": the inflected word after "which"/"what" and a noun,
    # unless a question's auxiliary follows ("which file formats are").
    if (
        i >= 2
        and words[i - 2].lower() in ("which", "what")
        and re.search(r"(?:s|ed)$", word)
        and after
        and after not in _QUESTION_AUX
    ):
        return True
    earlier = {w.lower() for w in words[:i]}
    if not after and earlier & _MODALS:
        return True
    participle = any(
        word in lemminflect.getInflection(lemma, "VBN") for lemma in lemminflect.getAllLemmas(word)["VERB"]
    )
    # A participle before a noun describes it ("the fixed exchange ratio"); elsewhere it is passive.
    return participle and bool(earlier & _BE) and "NOUN" not in _pos(after)


NEGATIONS = frozenset("not no never without except excluding cannot nor neither none besides non".split())
_NEGATED_VERB = re.compile(r"\b\w+n't\b", re.I)
# Negations spelled as a verb or a phrase: what is left out, omitted, excluded, other than something.
_NEGATED_PHRASE = re.compile(
    r"\b(?:(?:leave|leaves|leaving|left)\s+out|omit\w*|exclud\w*|lack\w*|(?:apart|aside)\s+from|other\s+than)\b", re.I
)
# A negation inside a condition on what is set or given ("if I do not set it", "when none is given",
# "when it is unset") asks for the default, as "by default" does.
_CONDITION = re.compile(r"\b(?:if|when|whenever|unless)\b[^,;:?]*", re.I)
_SPECIFY = frozenset(
    "set give given specify specified provide provided supply supplied define defined pass passed declare "
    "declared assign assigned choose chosen select selected configure configured".split()
)


def polarity(question: str) -> tuple[bool, bool]:
    """Whether ``question`` is negated, and whether it asks what holds when something is not set
    or given (a negation inside such a condition, which is not counted as negating the ask)."""
    text, unset = normalise(question), False
    for condition in _CONDITION.finditer(text):
        words = _plain_words(condition.group(0))
        specified = words & _SPECIFY or {w[2:] for w in words if w.startswith("un")} & _SPECIFY
        if specified and _negated(condition.group(0), words):
            unset = True
            text = text.replace(condition.group(0), " ")
    return _negated(text, _plain_words(text)), unset


def _plain_words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z]+", text)}


def _negated(text: str, words: set[str]) -> bool:
    if words & NEGATIONS or _NEGATED_VERB.search(text) or _NEGATED_PHRASE.search(text):
        return True
    return any(w.startswith("un") and _negatable(w) for w in words)


def _negatable(word: str) -> bool:
    """Whether an "un-" word negates: an adjective the lexicon knows ("unset", "unused",
    "unsupported") of a word it knows, or a participle it does not know of a word it does
    ("undeclared"); not a verb ("uninstall", "unpack", "untarring"), nor "unless", "under" or
    "union"."""
    if "ADJ" in _pos(word) and known(word[2:]):
        return True
    return not known(word) and word.endswith("ed") and known(word[2:])


# What a question asks for, read from its question words.
QUANTITY, TIME, PLACE, PERSON, REASON, METHOD, ENTITY = "quantity time place person reason method entity".split()
_HOW_MUCH = frozenset(
    "many much far long big large small often old high wide tall deep heavy fast slow slower faster "
    "bigger larger smaller longer".split()
)
_HEADS = {
    QUANTITY: "number count amount total sum price cost value values rate ratio percentage percent size range "
    "level limit threshold length width height depth weight capacity frequency speed temperature pressure "
    "voltage current resistance duration fee margin growth density factor share",
    TIME: "date day year month time",
    PLACE: "file files folder directory section page chapter line path location place position part",
    PERSON: "person people author authors stockholders shareholders holders users contributor contributors",
    ENTITY: "variable option options command commands function functions routine routines method package "
    "packages module key parameter macro class field column row table tool algorithm procedure plugin "
    "terminal program script setting flag environment symbol format encoding encodings element type kind "
    "sort name version accent argument exhibit hook",
}
_HEAD_OF = {w: kind for kind, words in _HEADS.items() for w in words.split()}
_COMPATIBLE = {frozenset({ENTITY, METHOD}), frozenset({PLACE, METHOD})}


def ask_types(question: str) -> list[str]:
    """What each question word of ``question`` asks for, in order: "How many" a quantity, "when"
    a time, "which variable" an entity, "which file" a place; "what is"/"what does" nothing
    certain, so it is left out. "When" and "where" before a clause ("when an error occurs") are
    conjunctions, not questions."""
    words = tokens(question)
    lower = [w.lower() for w in words]
    found = []
    for i, word in enumerate(lower):
        after = lower[i + 1] if i + 1 < len(lower) else ""
        if word == "how":
            found.append(QUANTITY if after in _HOW_MUCH else METHOD)
        elif word in ("when", "where") and after in _QUESTION_AUX:
            found.append(TIME if word == "when" else PLACE)
        elif word == "why":
            found.append(REASON)
        elif word in ("who", "whom", "whose"):
            found.append(PERSON)
        elif word in ("what", "which"):
            head = _head(words, i + 1)
            if head in _HEAD_OF:
                found.append(_HEAD_OF[head])
    return found


def phrase(words: list[str], i: int) -> list[str]:
    """The words of the phrase around ``words[i]``: the run of words between question words,
    auxiliaries, prepositions, determiners and conjunctions ("the default MOS *channel* width DEFW
    in ngspice" -> default, MOS, channel, width, DEFW)."""

    def inside(j: int) -> bool:
        return words[j].lower() not in _STOPS_PHRASE

    start, end = i, i + 1
    while start > 0 and inside(start - 1) and not words[start - 1].endswith("'s"):
        start -= 1
    while end < len(words) and inside(end):
        end += 1
    return words[start:end]


def _head(words: list[str], start: int) -> str | None:
    """The last noun of the phrase that starts at ``words[start]`` ("what fixed exchange *ratio*
    did", "which *variable* sets how many")."""
    head = None
    for j in range(start, min(start + 5, len(words))):
        word = words[j].lower()
        if word in _STOPS_PHRASE or word.endswith("'s") or is_code(word) or verb_like(words, j):
            break
        head = word
    return head


def asks_apart(a: str, b: str) -> str | None:
    """Why ``a`` and ``b`` ask for different kinds of answer, or None: the first question word of
    each must fit one of the other's ("how many" against "which variable", "when" against "how
    many"); a question with no question word that says what it wants fits any."""
    types_a, types_b = ask_types(a), ask_types(b)
    for first, others in ((types_a[:1], types_b), (types_b[:1], types_a)):
        if first and others and not any(_fits(first[0], o) for o in others):
            return f"{first[0]} against {others[0]}"
    return None


def _fits(x: str, y: str) -> bool:
    return x == y or frozenset({x, y}) in _COMPATIBLE
