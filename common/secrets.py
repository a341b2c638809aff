"""Keeping secrets (API keys, tokens, passwords from the settings) out of any text shown or stored.

A model server may echo the API key it was sent in its error text ("invalid key sk-…"); that
text becomes an error message, which the command line prints, the judge stores in its summary,
the web page shows and the log writes. ``scrub`` replaces every registered secret in a text with
``***``. The composition root registers the secret values of its settings once
(``register_secrets``); the product's error classes scrub their own text (``str(error)``), and
the command line, the judge and the log scrub what they print or keep.

Secrets shorter than ``MIN_SECRET_CHARS`` are not looked for: masking every "ab" in every message
would garble the text while protecting nothing a guess would not find.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from urllib.parse import quote

MASK = "***"
MIN_SECRET_CHARS = 6


class Scrubber:
    """Replaces known secret values in text.

    Each secret is also looked for percent-encoded (as it would appear in a URL) and with its
    JSON escapes, the two ways a server most often quotes what it was sent.
    """

    def __init__(self, secrets: Iterable[str | None] = ()):
        self._secrets: frozenset[str] = frozenset()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()
        self.add(secrets)

    def add(self, secrets: Iterable[str | None]) -> None:
        """Look for these values too (``None``, empty and short values are ignored)."""
        forms = set()
        for secret in secrets:
            if not secret or len(secret) < MIN_SECRET_CHARS:
                continue
            forms.add(secret)
            forms.add(quote(secret, safe=""))
            forms.add(secret.replace("\\", "\\\\").replace('"', '\\"'))
        with self._lock:
            if forms <= self._secrets:
                return
            self._secrets = self._secrets | forms
            # Longest first, so a secret that contains another is masked whole.
            alternatives = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in alternatives))

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def __call__(self, text: str) -> str:
        """``text`` with every secret replaced by ``***``."""
        pattern = self._pattern
        if pattern is None or not text:
            return text
        # Again until none is left: masking can join the text around a secret into another one.
        # Each pass shortens the text (a secret is longer than the mask), so this ends.
        while pattern.search(text):
            text = pattern.sub(MASK, text)
        return text


_registered = Scrubber()


def register_secrets(secrets: Iterable[str | None]) -> None:
    """Mask these values in everything ``scrub`` cleans from now on, in this process."""
    _registered.add(secrets)


def scrub(text: str) -> str:
    """``text`` without any registered secret."""
    return _registered(text)


class ScrubFilter(logging.Filter):
    """A logging filter that masks registered secrets in each record's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _registered:
            message = record.getMessage()
            clean = scrub(message)
            if clean != message:
                record.msg, record.args = clean, None
            if record.exc_info and record.exc_info[1] is not None:
                # The formatter prints the exception with str(); a product error scrubs its own
                # text, anything else is formatted here once and cleaned.
                text = logging.Formatter().formatException(record.exc_info)
                record.exc_text = scrub(text)
        return True
