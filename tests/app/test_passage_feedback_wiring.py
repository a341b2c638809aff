"""Ratings and reviews in the feedback store move passages in the app's searches (app.endorsement_source,
wired into the Retriever), on the real SQLite store, LanceDB index and MiniLM."""

import pytest

from app.config import Settings
from app.endorsement_source import endorsements, from_record
from app.services import Backends, Identity, Services
from rag.records import Answer
from rag.pipeline import to_citations

QUESTION = "How many car parking spaces does the site have?"


@pytest.fixture
def services(tmp_path, shared_models):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "parking.md").write_text("# Parking\n\nThe site provides 412 car parking spaces for staff and visitors.\n")
    (docs / "spaces.md").write_text("# Car parks\n\nCar parking spaces on the site are 2.5 m by 5 m each.\n")
    admin = Services(backends=shared_models(Backends(Settings())), identity=Identity(user="ada", role="admin"))
    admin.corpus.ingest([docs])
    return admin


def record(services, user, answer):
    hits = services.backends.retriever.search(QUESTION, k=2)
    made = Answer(
        question=QUESTION,
        answer=answer,
        found=True,
        citations=to_citations(hits),
        model_id="m",
        prompt_version="p",
        latency_ms=1,
    )
    chat = services.as_identity(Identity(user=user, role="engineer")).chat
    return chat, chat.record_answer(made, session_id=f"s-{user}", turn=1)


def scores(services):
    services.backends.passage_feedback.invalidate()
    return {h.chunk.source: h.score for h in services.backends.retriever.search(QUESTION, k=2)}


def test_agreeing_ratings_lift_the_passage_the_answer_cited_and_a_correction_moves_it(services):
    before = scores(services)
    sources = [c.source for c in record(services, "probe", "x")[1].citations]
    second = sources[1]
    for user in ("u1", "u2", "u3"):
        chat, rec = record(services, user, "The site has 412 car parking spaces [2].")
        chat.rate(rec.id, 5)
    after = scores(services)
    assert after[second] > before[second] and after[sources[0]] == pytest.approx(before[sources[0]])
    # Three ratings of the same question: 0.1 * tanh(3 / 3).
    assert after[second] - before[second] == pytest.approx(0.1 * 0.7616, abs=1e-3)

    # A rating of 1 whose better answer holds the other passage's numbers moves the credit there.
    chat, rec = record(services, "u4", "Each space is 2.5 m by 5 m [2].")
    chat.rate(rec.id, 1, correction="412 spaces.")
    made = services.backends.feedback_store.get(rec.id)
    signs = {e.chunk_id: e.sign for e in from_record(made)}
    by_source = {c.source: c.chunk_id for c in made.citations}
    holds_412 = next(s for s in by_source if "412" in next(c.text for c in made.citations if c.source == s))
    other = next(s for s in by_source if s != holds_412)
    assert signs == {by_source[holds_412]: 1, by_source[other]: -1}


def test_switched_off_by_the_setting_and_unrated_answers_endorse_nothing(services):
    chat, rec = record(services, "u1", "The site has 412 car parking spaces [1].")
    assert endorsements(services.backends.feedback_store) == []
    chat.rate(rec.id, 3)
    assert endorsements(services.backends.feedback_store) == []
    chat.rate(rec.id, 4)
    assert [e.sign for e in endorsements(services.backends.feedback_store)] == [1]
    off = Backends(Settings(passage_feedback=False))
    off.embedder = services.backends.embedder
    assert off.retriever.passage_feedback is None
