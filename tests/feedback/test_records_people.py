"""Record fields that name people or roles, and the question someone typed: what new writes and
imports refuse (bidi and invisible characters, unknown roles, control characters), and that a
record stored before these rules still loads, lists and takes a rating."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from feedback.errors import InvalidExportFile
from feedback.importing import import_records
from feedback.records import RECORD_ROLES, Feedback, Interaction, Review, load_stored
from feedback.stores.sqlite import SQLiteFeedbackStore
from rag.errors import InvalidQuery
from rag.retrieval import validate_question
from tests.feedback.contract import make

BASE = make("a").model_dump(mode="json")


def with_fields(**fields) -> dict:
    return {**BASE, **fields}


def visible(value: str) -> bool:
    return all(c.isprintable() or c == " " for c in value)


def typed(value: str) -> bool:
    return all(unicodedata.category(c) not in ("Cc", "Cs") or c in "\n\t\r" for c in value)


@settings(max_examples=300)
@given(st.text(max_size=30))
def test_a_user_or_reviewer_is_accepted_exactly_when_every_character_is_visible(user):
    clean = visible(user) and typed(user)
    try:
        got = Interaction.model_validate(with_fields(user=user))
    except ValidationError as e:
        assert not clean, e
        assert "user" in str(e)
    else:
        assert clean and got.user == user
    try:
        Review(status="validated", reviewer=user)
    except ValidationError:
        assert not clean
    else:
        assert clean


@given(st.one_of(st.sampled_from(RECORD_ROLES), st.text(max_size=12)))
def test_a_role_is_accepted_exactly_when_it_is_known(role):
    try:
        got = Interaction.model_validate(with_fields(role=role))
    except ValidationError as e:
        assert role not in RECORD_ROLES and "role" in str(e)
    else:
        assert role in RECORD_ROLES and got.role == role


@settings(max_examples=300)
@given(st.text(max_size=60))
def test_a_question_refuses_control_characters_but_line_breaks_and_tabs(question):
    try:
        got = Interaction.model_validate(with_fields(question=question))
    except ValidationError as e:
        assert not typed(question) and "question" in str(e)
    else:
        assert typed(question) and got.question == question


@pytest.mark.parametrize(
    "fields",
    [
        {"user": "ana\u202e@x.io"},  # right-to-left override: "ana" that reads otherwise
        {"user": "a\u200bna"},  # zero-width space
        {"question": "slab\x00load?"},
        {"question": "\x1b[31mred"},  # a terminal escape
        {"role": "superadmin"},
    ],
)
def test_the_probes_records_are_refused_on_write_and_import(fields, tmp_path):
    with pytest.raises(ValidationError):
        Interaction.model_validate(with_fields(**fields))
    export = tmp_path / "hostile.jsonl"
    export.write_text(json.dumps(with_fields(**fields)) + "\n" + json.dumps(make("b").model_dump(mode="json")) + "\n")
    store = SQLiteFeedbackStore(tmp_path / "feedback.db")
    with pytest.raises(InvalidExportFile, match="line 1"):
        import_records(store, export)
    assert store.get("b") is None  # nothing was imported
    store.close()


# What names refused before these rules (control characters, line separators) never loaded.
NAME_CHARS = st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp"))


@settings(max_examples=100)
@given(
    st.text(NAME_CHARS, max_size=20),
    st.text(NAME_CHARS, max_size=12),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
)
def test_a_stored_record_from_before_the_rules_still_loads_as_it_was(user, role, question):
    stored = json.dumps(with_fields(user=user, role=role or "x", question=question))
    got = load_stored(stored, "a")
    assert (got.user, got.role, got.question) == (user, role or "x", question)


def test_a_store_holding_such_a_record_stays_readable_and_rateable(tmp_path):
    from tests.feedback.test_sqlite import spoil_sqlite

    store = SQLiteFeedbackStore(tmp_path / "feedback.db")
    store.put(make("a"))
    store.put(make("b", minutes=1))
    spoil_sqlite(store, "a", user="ana\u202e", role="superadmin", question="slab\x00load")
    assert [i.id for i in store.list().items] == ["b", "a"]
    old = store.get("a")
    assert (old.user, old.role, old.question) == ("ana\u202e", "superadmin", "slab\x00load")
    assert store.set_feedback("a", Feedback(rating=2)).feedback.rating == 2
    assert store.get("a").feedback.rating == 2 and store.get("a").user == "ana\u202e"
    store.close()


@given(st.text(min_size=1, max_size=40))
def test_the_chat_refuses_before_any_work_the_questions_a_record_would_refuse(question):
    """A question the record would refuse is refused by the pipeline first (rag.retrieval), so an
    answer is never produced and then left unstored."""
    try:
        kept = validate_question(question)
    except InvalidQuery:
        return
    Interaction.model_validate(with_fields(question=kept))
