"""Reading the judge's reply: ``<thinking>``, ``<scoring>`` (0.0–5.0) and ``<reason>``.

``parse_reply`` never raises. It returns the score only when the reply holds exactly one
unambiguous one, and names every deviation from the asked form in ``issues`` (the values of
``ISSUES``), so a run can count them and an SME can see why a reply has no score. The reply
itself is always kept raw by the caller.

The rules, in the order they apply:

* Tags are matched case-insensitively and may have spaces inside the brackets (``< scoring >``).
* A tag's text runs to its closing tag. A tag that is never closed runs to the next opening tag
  or the end of the reply (``unclosed_tag``); a closing tag with no opening is ignored
  (``stray_closing_tag``). Tags inside another tag's text are part of that text, so a score
  mentioned inside ``<thinking>`` is not taken for the score.
* A ``<scoring>`` text gives a score when it holds one number ("4", "4.5", "4.5/5", "4 out of 5",
  "Score: 4") or one number written in words ("four", "four point five"; ``number_in_words``).
  Two numbers ("8/10", "between 3 and 4") are ``several_numbers``; none is ``no_number``; a
  number outside 0–5 is ``out_of_range``. None of these gives a score.
* Several ``<scoring>`` tags (``several_scores``) give a score only when all agree.
* Text outside the tags (``text_outside_tags``), a missing ``<reason>`` (``no_reason``) or
  ``<thinking>`` (``no_thinking``) is counted but does not cost the score.

A reply need not be a string: OpenAI-compatible servers send ``message.content`` as a string, a
list of parts (``[{"type": "text", "text": "…"}]``), an object or null. ``reply_text`` reads
each of these as text (``parse_reply`` calls it); a shape that holds no text part, or parts
that are not text, is kept as its JSON text with ``not_text`` and never gives a score.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

ISSUES: tuple[str, ...] = (
    "empty_reply",
    "not_text",
    "no_tags",
    "no_scoring",
    "unclosed_tag",
    "stray_closing_tag",
    "text_outside_tags",
    "several_scores",
    "several_numbers",
    "no_number",
    "out_of_range",
    "number_in_words",
    "no_reason",
    "no_thinking",
    "reply_cut",
    "no_reference",
)
"""``reply_cut`` is added by the runner when it stores only the first part of a long reply;
``no_reference`` by the reference judge (``feedback.judge.reference``) when it had no reference."""

MIN_SCORE, MAX_SCORE = 0.0, 5.0

_TAG = re.compile(r"<\s*(/?)\s*(thinking|scoring|reason)\s*>", re.IGNORECASE)
# ASCII digits only: other scripts' digits are not what the prompt asked for.
_NUMBER = re.compile(r"(?<![\w.])[-+−]?[0-9]+(?:\.[0-9]+)?(?![\w])")
_OUT_OF_FIVE = re.compile(r"(?:/|\bout\s+of)\s*5(?:\.0+)?(?!\w|\.[0-9])", re.IGNORECASE)
# "4", "4.5", "+4", "4/5", "4 / 5.0", "4 out of 5", optionally with a label before it ("Score: 4").
_PLAIN = re.compile(
    r"(?:(?:final\s+)?score\s*[:=]?\s*)?(?P<n>[-+−]?[0-9]+(?:\.[0-9]+)?)\s*(?:(?:/|out\s+of)\s*5(?:\.0+)?)?\s*[.!]?",
    re.IGNORECASE,
)
_WORDS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
_SPELLED = re.compile(r"\b(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|half|quarter)\b", re.IGNORECASE)
_IN_WORDS = re.compile(
    r"(?P<whole>zero|one|two|three|four|five|six|seven|eight|nine)"
    r"(?:\s+(?:point|dot)\s+(?P<tenth>zero|one|two|three|four|five|six|seven|eight|nine)|\s+and\s+a\s+half)?"
    r"(?:\s+out\s+of\s+five)?\s*[.!]?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ParsedReply:
    """What a judge reply said. ``score`` is None unless it held one unambiguous score in 0–5."""

    score: float | None
    reason: str | None = None
    thinking: str | None = None
    issues: tuple[str, ...] = field(default=())

    @property
    def scored(self) -> bool:
        return self.score is not None


@dataclass
class _Blocks:
    texts: dict[str, list[str]] = field(default_factory=lambda: {"thinking": [], "scoring": [], "reason": []})
    issues: set[str] = field(default_factory=set)
    outside: list[str] = field(default_factory=list)


def _split(reply: str) -> _Blocks:
    """The texts of the reply's tags, the text outside them, and the structural issues found."""
    blocks = _Blocks()
    tags = list(_TAG.finditer(reply))
    # For each tag, the index of the next closing tag of each name and of the next opening tag
    # (one backward pass, so a reply full of tags still parses in linear time).
    next_close: list[dict[str, int]] = [{}] * len(tags)
    next_open: list[int | None] = [None] * len(tags)
    closes: dict[str, int] = {}
    opening: int | None = None
    for j in range(len(tags) - 1, -1, -1):
        next_close[j], next_open[j] = dict(closes), opening
        if tags[j].group(1) == "/":
            closes[tags[j].group(2).lower()] = j
        else:
            opening = j
    position = 0
    i = 0
    while i < len(tags):
        tag = tags[i]
        closing, name = tag.group(1) == "/", tag.group(2).lower()
        if tag.start() < position:  # inside the text of the tag before
            i += 1
            continue
        blocks.outside.append(reply[position : tag.start()])
        if closing:
            blocks.issues.add("stray_closing_tag")
            position = tag.end()
            i += 1
            continue
        close = next_close[i].get(name)
        if close is not None:
            blocks.texts[name].append(reply[tag.end() : tags[close].start()])
            position = tags[close].end()
            i = close + 1
            continue
        blocks.issues.add("unclosed_tag")
        following = next_open[i]
        end = tags[following].start() if following is not None else len(reply)
        blocks.texts[name].append(reply[tag.end() : end])
        position = end
        i = following if following is not None else len(tags)
    blocks.outside.append(reply[position:])
    return blocks


def _number(text: str) -> tuple[float | None, tuple[str, ...]]:
    """The score a ``<scoring>`` text gives (None when it gives none) and the issues found."""
    text = " ".join(text.split())
    plain = _PLAIN.fullmatch(text)
    issues: tuple[str, ...] = ()
    if plain:
        value = float(plain.group("n").replace("−", "-"))
    else:
        numbers = _NUMBER.findall(_OUT_OF_FIVE.sub(" ", text))
        if len(numbers) > 1 or (numbers and _SPELLED.search(text)):  # "8/10", "4 and a half"
            return None, ("several_numbers",)
        if numbers:
            value = float(numbers[0].replace("−", "-"))
        else:
            words = _IN_WORDS.fullmatch(text)
            if not words:
                return None, ("no_number",)
            value = float(_WORDS[words.group("whole").lower()])
            if words.group("tenth"):
                value += _WORDS[words.group("tenth").lower()] / 10
            elif "half" in text.lower():
                value += 0.5
            issues = ("number_in_words",)
    if not math.isfinite(value) or not MIN_SCORE <= value <= MAX_SCORE:
        return None, (*issues, "out_of_range")
    return value + 0.0, issues  # + 0.0 turns "-0" into 0.0


def _text(texts: list[str]) -> str | None:
    joined = "\n\n".join(t.strip() for t in texts if t.strip())
    return joined or None


_TEXT_PART_TYPES = {"text", "output_text"}
_SKIPPED_PART_TYPES = {"reasoning", "thinking", "refusal"}


def _as_json(value: object) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError, RecursionError):
        return repr(value)


def _part_text(part: object) -> str | None:
    """The text of one content part, "" for a part that holds none on purpose, None for a shape
    that is not a text part."""
    if isinstance(part, str):
        return part
    if isinstance(part, dict):
        kind = part.get("type")
        if kind is not None and not isinstance(kind, str):
            return None
        if kind in _SKIPPED_PART_TYPES:
            return ""
        text = part.get("text")
        if (kind is None or kind in _TEXT_PART_TYPES) and isinstance(text, str):
            return text
        if isinstance(text, dict) and isinstance(text.get("value"), str):  # {"text": {"value": …}}
            return text["value"]
    return None


def reply_text(reply: object) -> tuple[str, bool]:
    """A reply of any shape as text, and whether it was text (see the module docstring).

    A string is itself; None is ""; bytes are decoded (undecodable bytes replaced); a list of
    content parts is the concatenation of its text parts (reasoning and refusal parts left out);
    an object with a ``text`` or ``content`` is read as that. Anything else, or a list with a
    part that is not text, is its JSON text and ``False``. Never raises.
    """
    try:
        if reply is None:
            return "", True
        if isinstance(reply, str):
            return reply, True
        if isinstance(reply, (bytes, bytearray)):
            return bytes(reply).decode("utf-8", errors="replace"), True
        if isinstance(reply, dict):
            for key in ("text", "content"):
                if key in reply and not isinstance(reply[key], dict):
                    return reply_text(reply[key])
            return _as_json(reply), False
        if isinstance(reply, (list, tuple)):
            texts = [_part_text(part) for part in reply]
            if any(t is None for t in texts):
                return _as_json(reply), False
            return "".join(t for t in texts if t), True
        return _as_json(reply), False
    except (RecursionError, TypeError, ValueError):  # a shape no server sends; never a crash
        return _as_json(reply), False


def parse_reply(reply: object) -> ParsedReply:
    """The score, reason and thinking of a judge reply, and what was wrong with it. Never raises.

    ``reply`` is normally a string; any other shape is read by ``reply_text`` first, and one
    that is not text gives no score (``not_text``)."""
    reply, is_text = reply_text(reply)
    if not is_text:
        return ParsedReply(score=None, issues=("not_text",))
    if not reply or not reply.strip():
        return ParsedReply(score=None, issues=("empty_reply",))
    blocks = _split(reply)
    issues = set(blocks.issues)
    if not any(blocks.texts.values()) and not issues:
        return ParsedReply(score=None, issues=("no_tags",))
    if any(part.strip() for part in blocks.outside):
        issues.add("text_outside_tags")
    if not blocks.texts["reason"]:
        issues.add("no_reason")
    if not blocks.texts["thinking"]:
        issues.add("no_thinking")
    scoring = blocks.texts["scoring"]
    score: float | None = None
    if not scoring:
        issues.add("no_scoring")
    else:
        if len(scoring) > 1:
            issues.add("several_scores")
        values = []
        for text in scoring:
            value, found = _number(text)
            issues.update(found)
            values.append(value)
        if None not in values and len(set(values)) == 1:
            score = values[0]
    return ParsedReply(
        score=score,
        reason=_text(blocks.texts["reason"]),
        thinking=_text(blocks.texts["thinking"]),
        issues=tuple(i for i in ISSUES if i in issues),
    )
