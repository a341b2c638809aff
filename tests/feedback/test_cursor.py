"""The listing cursor every feedback store shares (feedback/stores/cursor.py)."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedback.stores.cursor import MAX_US, MIN_US, decode_cursor, encode_cursor

created = st.integers(min_value=MIN_US, max_value=MAX_US)
ids = st.text(min_size=1)


@given(created, ids)
def test_roundtrip(created_us, interaction_id):
    cursor = encode_cursor(created_us, interaction_id)
    assert decode_cursor(cursor) == (created_us, interaction_id)
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@given(st.text())
def test_anything_else_is_a_value_error_that_says_what_to_pass(text):
    try:
        created_us, interaction_id = decode_cursor(text)
    except ValueError as e:
        assert "next_cursor" in str(e)
    else:  # a string that happens to decode is a position a store could have made
        assert MIN_US <= created_us <= MAX_US and interaction_id
        assert decode_cursor(encode_cursor(created_us, interaction_id)) == (created_us, interaction_id)


def raw(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        raw("12|"),  # no id
        raw("12"),  # no separator
        raw(" 12|a"),  # int() would take these; a cursor never holds them
        raw("+12|a"),
        raw("1_2|a"),
        raw(f"{MAX_US + 1}|a"),  # past year 9999: no datetime to resume from
        raw("99999999999999999999999|a"),
        base64.urlsafe_b64encode(b"\xff\xfe|a").decode(),  # not UTF-8
        "not base64!",
        "",
    ],
)
def test_refuses_what_no_store_made(cursor):
    with pytest.raises(ValueError, match="is not a cursor this store returned"):
        decode_cursor(cursor)
