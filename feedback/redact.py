"""Masking personal data in exported records, for sharing training data.

User ids and e-mail addresses become stable pseudonyms (``person-3f9a1c0b2e``): the same person
gets the same pseudonym in every record and every export made with the same key, so one user's
records still group, while the key (kept beside the data, never exported) stops anyone from
recomputing a pseudonym from a guessed address. Phone numbers found by ``phonenumbers`` (valid
numbers for the region, or any international number) become ``[phone]``. Names written in free
text are not detected; say so to whoever receives the data.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from feedback.records import Interaction

EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])")


class Redactor:
    """Masks e-mail addresses, phone numbers and user ids in interactions.

    Args:
        key: secret bytes that make the pseudonyms (at least 16).
        phone_region: the ISO country whose national phone formats are recognised (``US``, ``GB``…).
    """

    def __init__(self, key: bytes, phone_region: str = "US"):
        if len(key) < 16:
            raise ValueError("the pseudonym key must be at least 16 bytes")
        self._key = key
        self.phone_region = phone_region.upper()

    def pseudonym(self, value: str) -> str:
        digest = hmac.new(self._key, value.strip().lower().encode(), hashlib.sha256).hexdigest()
        return f"person-{digest[:10]}"

    def text(self, value: str | None) -> str | None:
        """``value`` with its e-mail addresses and phone numbers masked."""
        if not value:
            return value
        import phonenumbers

        value = EMAIL.sub(lambda m: self.pseudonym(m.group(0)), value)
        matches = list(phonenumbers.PhoneNumberMatcher(value, self.phone_region, leniency=phonenumbers.Leniency.VALID))
        for match in reversed(matches):
            value = value[: match.start] + "[phone]" + value[match.end :]
        return value

    def __call__(self, record: Interaction) -> Interaction:
        """A copy of ``record`` with every personal field masked."""
        update: dict = {
            "user": self.pseudonym(record.user),
            "question": self.text(record.question),
            "answer": self.text(record.answer),
            "context": self.text(record.context),
            "citations": [c.model_copy(update={"text": self.text(c.text)}) for c in record.citations],
        }
        if record.grounding is not None:
            g = record.grounding
            update["grounding"] = g.model_copy(
                update={
                    "sentences": [x.model_copy(update={"text": self.text(x.text)}) for x in g.sentences],
                    "supporting": [x.model_copy(update={"text": self.text(x.text)}) for x in g.supporting],
                }
            )
        if record.feedback is not None:
            update["feedback"] = record.feedback.model_copy(
                update={"correction": self.text(record.feedback.correction), "note": self.text(record.feedback.note)}
            )
        if record.judge is not None:
            update["judge"] = record.judge.model_copy(
                update={"reason": self.text(record.judge.reason), "raw": self.text(record.judge.raw)}
            )
        review = record.review
        update["review"] = review.model_copy(
            update={
                "reviewer": self.pseudonym(review.reviewer) if review.reviewer else None,
                "reference_answer": self.text(review.reference_answer),
            }
        )
        return record.model_copy(update=update)
