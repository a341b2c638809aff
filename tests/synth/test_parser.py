"""The synth reply parser: never raises, reads pairs however a model wraps them, drops bad objects."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from training.synth.parser import ParsedReply, parse_reply
from training.synth.prompt import KINDS

text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=5, max_size=80).filter(
    lambda t: t.strip() == t and len(t.strip()) >= 5
)
pair = st.fixed_dictionaries(
    {"question": text, "answer": text, "supporting_sentence": text, "kind": st.sampled_from(KINDS)}
)
prose = st.text(st.characters(blacklist_characters="[]{}`", blacklist_categories=("Cs",)), max_size=60)


@given(st.text(max_size=400))
@settings(max_examples=300)
def test_any_reply_is_read_without_raising(reply):
    parsed = parse_reply(reply)
    assert isinstance(parsed, ParsedReply)
    assert parsed.issue in (None, "no_json", "not_pairs")


@given(st.lists(pair, min_size=1, max_size=4), prose, prose, st.sampled_from(["plain", "fenced", "keyed", "single"]))
@settings(max_examples=200)
def test_pairs_are_read_back_inside_prose_fences_or_a_key(pairs, before, after, wrap):
    if wrap == "single":
        pairs = pairs[:1]
    body = {"plain": pairs, "fenced": pairs, "keyed": {"pairs": pairs}, "single": pairs[0]}[wrap]
    dumped = json.dumps(body, ensure_ascii=False)
    reply = f"{before}\n```json\n{dumped}\n```\n{after}" if wrap == "fenced" else f"{before} {dumped} {after}"
    parsed = parse_reply(reply)
    assert parsed.issue is None and parsed.invalid == []
    assert [p.model_dump() for p in parsed.pairs] == pairs


@given(st.lists(pair, min_size=1, max_size=4), st.sampled_from(["question", "answer", "kind"]), st.data())
def test_an_object_missing_a_field_is_counted_invalid_and_the_others_kept(pairs, field, data):
    broken = data.draw(st.integers(0, len(pairs) - 1))
    objects = [dict(p) for p in pairs]
    del objects[broken][field]
    parsed = parse_reply(json.dumps(objects))
    assert len(parsed.invalid) == 1 and field in parsed.invalid[0]
    assert [p.model_dump() for p in parsed.pairs] == [p for i, p in enumerate(pairs) if i != broken]


def test_an_unknown_kind_and_a_list_of_numbers_are_not_pairs():
    assert parse_reply('[{"question": "What is it?", "answer": "A.", "kind": "trivia"}]').invalid
    assert parse_reply("see [1] and [2]").issue == "not_pairs"
    assert parse_reply("No JSON here at all.").issue == "no_json"
