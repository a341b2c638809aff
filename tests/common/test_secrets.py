"""common.secrets: secrets masked in any text, whatever surrounds them."""

import logging
from urllib.parse import quote

from hypothesis import assume, given
from hypothesis import strategies as st

from common.secrets import MASK, MIN_SECRET_CHARS, Scrubber, ScrubFilter, register_secrets

secrets = st.text(min_size=MIN_SECRET_CHARS, max_size=40).filter(lambda s: s.strip())


@given(st.text(max_size=60), secrets, st.text(max_size=60))
def test_a_secret_never_survives(before, secret, after):
    scrub = Scrubber([secret])
    for text in (before + secret + after, before + quote(secret, safe="") + after, secret * 3):
        assert secret not in scrub(text)


@given(st.text(max_size=80), secrets)
def test_text_without_the_secret_is_unchanged(text, secret):
    assume(not any(form in text for form in (secret, quote(secret, safe=""), secret.replace('"', '\\"'))))
    assert Scrubber([secret])(text) == text


def test_a_secret_that_contains_another_is_masked_whole():
    scrub = Scrubber(["sk-abcdef", "sk-abcdef-0123456789"])
    assert scrub("key sk-abcdef-0123456789 and sk-abcdef") == f"key {MASK} and {MASK}"


def test_short_and_missing_values_are_not_looked_for():
    scrub = Scrubber([None, "", "ab"])
    assert not scrub and scrub("ab cd") == "ab cd"


def test_masking_cannot_join_the_text_around_a_secret_into_it():
    secret = "ab***c"
    assert secret not in Scrubber([secret])("ab" + secret + "c")


def test_the_log_filter_masks_messages_and_tracebacks():
    register_secrets(["log-secret-123456"])
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "server said %s", ("bad key log-secret-123456",), None)
    try:
        raise ValueError("echo log-secret-123456")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    ScrubFilter().filter(record)
    text = logging.Formatter().format(record)
    assert "log-secret-123456" not in text and MASK in text and "ValueError" in text
