"""Identifiers people type exactly, shared by every store's keyword query.

Plain BM25 scores "21 13 01" exactly like "21 01 13" (same tokens), so each store adds a
phrase clause for every identifier in the query. Single-token codes ("HEA06") need no phrase:
the plain match already finds them.
"""

from __future__ import annotations

import re

# Section numbers: digit groups joined by spaces, dots, dashes or slashes ("21 01 13", "05.01.02").
NUMBER_RUN = re.compile(r"\b\d+(?:[ .\-/]\d+)+\b")
# Hyphenated codes with letters and digits ("DD-114", "FP-300", "NGD-ELE-DR-E-6150").
CODE = re.compile(r"\b(?=[\w-]*\d)(?=[\w-]*[A-Za-z])\w+(?:-\w+)+\b")


def identifier_phrases(text: str) -> list[str]:
    """Section numbers and hyphenated codes in ``text``, in order, without repeats."""
    return list(dict.fromkeys(m.group(0) for pattern in (NUMBER_RUN, CODE) for m in pattern.finditer(text)))
