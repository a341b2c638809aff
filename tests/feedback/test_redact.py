"""Masking personal data for sharing training data: stable pseudonyms, no address or phone left."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from feedback.records import Feedback, GroundingRecord, Review, SentenceRecord, SupportRecord
from feedback.redact import EMAIL, Redactor
from tests.feedback.contract import make

KEY = b"k" * 32


def test_every_personal_field_is_masked_and_pseudonyms_are_stable():
    r = Redactor(KEY)
    record = make("a", user="ana@x.io").model_copy(
        update={
            "question": "Ask ana@x.io or call (415) 555-2671 about section 21 01 13 (2024-01-15).",
            "feedback": Feedback(rating=2, correction="See +44 20 7946 0958.", note="bo@y.org knows"),
            "review": Review(status="validated", reviewer="bo@y.org", reference_answer="mail ana@x.io"),
            "grounding": GroundingRecord(
                unsupported=["100"],
                sentences=[SentenceRecord(text="Mail ana@x.io.", citation=None)],
                supporting=[SupportRecord(n=1, text="Call (415) 555-2671.")],
            ),
        }
    )
    out = r(record)
    dumped = out.model_dump_json()
    assert "ana@x.io" not in dumped and "bo@y.org" not in dumped and "555-2671" not in dumped and "7946" not in dumped
    assert out.user == r.pseudonym("ana@x.io") and out.user.startswith("person-")
    assert out.question == f"Ask {out.user} or call [phone] about section 21 01 13 (2024-01-15)."
    assert out.review.reviewer == r.pseudonym("bo@y.org") and out.feedback.note == f"{r.pseudonym('bo@y.org')} knows"
    assert out.id == record.id and out.feedback.rating == 2
    assert Redactor(KEY)(record).user == out.user, "the same key gives the same pseudonym"
    assert Redactor(b"x" * 32)(record).user != out.user, "another key gives another"


@given(st.text(max_size=200))
def test_no_email_survives_and_engineering_numbers_do(text):
    out = Redactor(KEY).text(text + " eve@example.com 21 01 13 2.5 m")
    assert EMAIL.search(out) is None, out
    assert out.endswith(" 21 01 13 2.5 m")
