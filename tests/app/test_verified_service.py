"""Verified answers through the services: an SME validates, a paraphrase is served it, ratings
dispute it, SMEs list and retire it (app.services.verified), on the real SQLite store and index."""

import pytest

from app.config import Settings
from app.services import Backends, Forbidden, Identity, Services
from feedback.errors import InvalidFeedback
from rag.records import Answer
from rag.pipeline import to_citations

TANK = "What is the effective capacity of the sprinkler storage tank?"
PARAPHRASE = "What effective capacity does the sprinkler storage tank have?"


@pytest.fixture
def services(tmp_path, shared_models):
    docs = tmp_path / "docs" / "Fire"
    docs.mkdir(parents=True)
    (docs / "sprinklers.md").write_text("# Tank\n\nThe effective capacity of the sprinkler storage tank is 950 m3.\n")
    (tmp_path / "docs" / "parking.md").write_text("# Parking\n\nThe site provides 412 car parking spaces.\n")
    admin = Services(backends=shared_models(Backends(Settings())), identity=Identity(user="ada", role="admin"))
    admin.corpus.ingest([tmp_path / "docs"])
    return admin


def as_user(services, user, role="engineer"):
    return services.as_identity(Identity(user=user, role=role))


def answered(services, user, question=TANK, answer="The tank holds 2,450 m3."):
    """A question as the chat records it, with the passages the search found."""
    chat = as_user(services, user).chat
    hits = services.backends.retriever.search(question, k=2)
    made = Answer(
        question=question,
        answer=answer,
        found=True,
        citations=to_citations(hits),
        model_id="m",
        prompt_version="p",
        latency_ms=900,
    )
    return chat.record_answer(made, session_id=f"s-{user}", turn=1)


def validate(services, record, reference="The effective capacity is 950 m3 [1]."):
    sme = as_user(services, "sam", "sme")
    return sme.review.review(record.id, opened=None, status="validated", sme_score=1.0, reference_answer=reference)


def test_a_validated_reference_is_served_to_a_paraphrase_and_recorded_as_served(services):
    original = answered(services, "eve")
    engineer = as_user(services, "bob").verified
    assert engineer.find(PARAPHRASE) is None, "nothing is verified yet"
    validate(services, original)
    match = engineer.find(PARAPHRASE)
    assert match is not None and match.entry.id == original.id
    assert match.entry.answer == "The effective capacity is 950 m3 [1]." and match.entry.reviewer == "sam"
    assert engineer.find("What is the minimum capacity of the sprinkler storage tank?") is None
    served = engineer.record_served(match, PARAPHRASE, session_id="s-bob", turn=1)
    stored = services.backends.feedback_store.get(served.id)
    assert stored.answer == "The effective capacity is 950 m3 [1]." and stored.question == PARAPHRASE
    assert stored.verified.id == original.id and stored.verified.question == TANK
    assert stored.verified.reviewer == "sam" and stored.model_id == "verified-answer"
    # The reference cites [1]: the verified answer rests on that passage and shows it alone.
    assert len(original.citations) == 2
    assert [c.chunk_id for c in stored.citations] == [original.citations[0].chunk_id]
    # A record that was served a verified answer is not a verified answer itself.
    validate(services, stored)
    services.backends.verified_changed()
    assert [e.id for e in services.backends.verified.load()] == [original.id]


def test_switched_off_by_the_setting(services):
    validate(services, answered(services, "eve"))
    services.backends.settings.verified_answers = False
    assert as_user(services, "bob").verified.find(PARAPHRASE) is None


def test_three_disagree_ratings_send_it_back_to_the_queue_and_agreement_takes_one_back(services):
    original = answered(services, "eve")
    validate(services, original)
    store = services.backends.feedback_store

    def serve_and_rate(user, rating):
        people = as_user(services, user)
        match = people.verified.find(PARAPHRASE)
        assert match is not None
        record = people.verified.record_served(match, PARAPHRASE, session_id=f"s-{user}", turn=1)
        people.chat.rate(record.id, rating)
        return record

    first = serve_and_rate("u1", 1)
    serve_and_rate("u2", 2)
    assert len(store.get(original.id).review.disputes) == 2
    as_user(services, "u1").chat.rate(first.id, 4)  # changed their mind
    assert store.get(original.id).review.disputes != [] and first.id not in store.get(original.id).review.disputes
    serve_and_rate("u3", 5)
    serve_and_rate("u4", 1)
    still = store.get(original.id).review
    assert still.status == "validated" and len(still.disputes) == 2
    serve_and_rate("u5", 2)
    back = store.get(original.id).review
    assert back.status == "unreviewed" and len(back.disputes) == 3
    assert back.reference_answer == "The effective capacity is 950 m3 [1]."
    assert as_user(services, "bob").verified.find(PARAPHRASE) is None
    assert any(e.action == "verified-disputed" for e in services.audit.events().items)


def test_retired_and_stale_answers_are_listed_and_not_served(services, tmp_path):
    tank = answered(services, "eve")
    parking = answered(services, "eve", "How many car parking spaces does the site have?", "412.")
    validate(services, tank)
    validate(services, parking, "412 car parking spaces [1].")
    sme = as_user(services, "sam", "sme").verified
    assert {r.id: r.status for r in sme.listing()} == {tank.id: "served", parking.id: "served"}
    sme.retire(parking.id)
    assert as_user(services, "bob").verified.find("How many car parking spaces are there on the site?") is None
    (tmp_path / "docs" / "Fire" / "sprinklers.md").write_text("# Tank\n\nThe tank now holds 1,200 m3.\n")
    services.corpus.ingest([tmp_path / "docs"])
    services.backends.verified_changed()
    rows = {r.id: r for r in sme.listing()}
    assert rows[parking.id].status == "retired" and rows[tank.id].status == "stale"
    assert "Fire/sprinklers.md" in rows[tank.id].missing[0]
    assert as_user(services, "bob").verified.find(PARAPHRASE) is None
    sme.retire(parking.id, retired=False)
    assert as_user(services, "bob").verified.find("How many car parking spaces are there on the site?") is not None


def test_only_reviewers_list_or_retire_and_only_verified_answers_retire(services):
    record = answered(services, "eve")
    engineer = as_user(services, "bob").verified
    with pytest.raises(Forbidden):
        engineer.listing()
    with pytest.raises(Forbidden):
        engineer.retire(record.id)
    with pytest.raises(InvalidFeedback, match="only a validated answer"):
        as_user(services, "sam", "sme").verified.retire(record.id)
