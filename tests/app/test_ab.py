"""The blind A/B test in the app: the chat's arm per conversation (app.wiring.ab through
ChatService.answer), the arms' figures on a real SQLite store, and an admin's promote and stop,
audited. The models are stand-ins that say who they are; the real tiny model answers both arms in
the browser journey (test_browser_ab)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from scipy.stats import fisher_exact

from app.config import Settings
from app.services import Forbidden, Identity, Services
from app.services.ab import ABService
from app.wiring.ab import ABRouter
from feedback.records import Feedback, Interaction, JudgeScore
from tests.docs import make_pdf
from tests.fakes import FakeGenerator
from tests.training.test_registry import card, trained_folder
from training.ab import arm
from training.errors import RegistryError
from training.registry import Registry

pytestmark = pytest.mark.slow  # the real embedding model retrieves for both arms

SERVED = "SmolLM2-135M-Instruct"  # the packaged base: what is served while nothing is promoted


class Model(FakeGenerator):
    def load(self) -> None:
        pass


@pytest.fixture
def services(monkeypatch, embedder, tmp_path):
    monkeypatch.setenv("RAGBOT_AB_SHARE", "0.5")
    monkeypatch.setenv("RAGBOT_MODEL_CHECK_S", "0")
    services = Services(Settings())
    services.backends.embedder = embedder
    services.backends.generator = Model(default="The site has 412 spaces [1].", model_id=SERVED)
    made = []
    services.backends.ab = ABRouter(
        services.backends, make=lambda path: made.append(path) or Model(default="Candidate says 412 [1].")
    )
    services.made = made
    make_pdf(tmp_path / "docs" / "criteria.pdf", ["21 01 13 Parking. The site provides 412 car parking spaces."])
    services.corpus.ingest([tmp_path / "docs"])
    return services


def candidate(services, verdict="better", name="cand"):
    registry = Registry(services.settings.models_dir)
    folder = trained_folder(services.settings.home_dir, name)
    return registry.register(folder, card(verdict))


def ask(services, session: str, turn: int = 1) -> Interaction:
    run = services.chat.answer("How many car parking spaces?", session_id=session, turn=turn, verified=False)
    for _ in run:
        pass
    return run.close()


def test_conversations_split_between_the_arms_and_each_record_names_its_model(services):
    cand = candidate(services)
    ids = [f"conversation-{i}" for i in range(40)]
    sessions = [s for s in ids if arm(s, 0.5, cand.id) == "candidate"][:3]
    sessions += [s for s in ids if arm(s, 0.5, cand.id) == "served"][:3]
    recorded = {s: ask(services, s) for s in sessions}
    for s, record in recorded.items():
        expected = cand.id if arm(s, 0.5, cand.id) == "candidate" else SERVED
        assert record.model_id == expected
        assert record.answer.startswith("Candidate" if expected == cand.id else "The site")
    assert {r.model_id for r in recorded.values()} == {cand.id, SERVED}
    assert services.made == [str(Registry(services.settings.models_dir).path(cand.id))]  # loaded once
    # A follow-up stays in its arm, and another process routes the same conversations alike.
    first = sessions[0]
    assert ask(services, first, turn=2).model_id == recorded[first].model_id
    other = ABRouter(services.backends, make=lambda path: Model())
    assert all((other.route(s).arm == "candidate") == (r.model_id == cand.id) for s, r in recorded.items())


def test_the_user_is_not_told_which_arm_answered(services):
    cand = candidate(services)
    assert services.chat.model_label(cand.id) == services.chat.model_label(SERVED) == "the answer model (local)"
    ABService(services.backends, services.identity, services.audit).stop()
    assert SERVED in services.chat.model_label(SERVED)  # no test: the model is named again


def test_share_0_or_no_candidate_sends_everything_to_the_served_model(services):
    services.settings.ab_share = 1.0  # whatever is tested gets every conversation
    sessions = ["s0", "s1"]
    assert {ask(services, s).model_id for s in sessions} == {SERVED}  # no candidate yet
    candidate(services, "worse")  # never tested unless named
    assert {ask(services, s + "x").model_id for s in sessions} == {SERVED}
    candidate(services, name="good")
    services.settings.ab_share = 0.0
    services.backends.ab.forget()
    assert {ask(services, s + "y").model_id for s in sessions} == {SERVED}
    assert services.made == []


def test_a_conversation_begun_before_the_test_stays_with_the_served_model(services):
    services.settings.ab_share = 0.0
    begun = [ask(services, f"old-{i}") for i in range(3)]
    cand = candidate(services)
    services.settings.ab_share = 1.0  # every new conversation goes to the candidate
    services.backends.ab.forget()
    assert {ask(services, b.session_id, turn=2).model_id for b in begun} == {SERVED}
    assert ask(services, "new").model_id == cand.id


def test_a_candidate_that_fails_to_load_leaves_its_conversations_on_the_served_model(services, caplog):
    cand = candidate(services)
    services.settings.ab_share = 1.0

    def broken(path):
        raise OSError(f"{path} holds no weights")

    services.backends.ab = ABRouter(services.backends, make=broken)
    with caplog.at_level(logging.WARNING, logger="app.wiring.ab"):
        records = [ask(services, f"s{i}") for i in range(3)]
    assert {r.model_id for r in records} == {SERVED} and all(r.answer for r in records)
    assert [m for m in caplog.messages if cand.id in m and "failed to load" in m] != []
    assert len([m for m in caplog.messages if "failed to load" in m]) == 1  # not tried again


def put(services, model_id, rating=None, score=None, **fields):
    record = Interaction(
        session_id=fields.pop("session_id", "s"),
        turn=1,
        user="ada",
        role="engineer",
        question="How many spaces?",
        answer="412",
        model_id=model_id,
        prompt_version="p",
        feedback=Feedback(rating=rating) if rating else None,
        judge=JudgeScore(score=score, judge_model="j") if score is not None else None,
        **fields,
    )
    services.backends.feedback_store.put(record)


def test_the_arms_figures_and_the_significance_of_their_negative_shares(services):
    cand = candidate(services)
    ab = ABService(services.backends, services.identity, services.audit)
    for rating, score in [(1, 1.0), (2, 2.0), (2, None), (5, 4.5), (4, None), (None, None)]:
        put(services, SERVED, rating, score)
    for rating, score in [(5, 5.0), (4, 4.0), (1, 3.0), (None, None)]:
        put(services, cand.id, rating, score)
    put(services, cand.id, 1, origin="synthetic")  # not a user's answer
    put(services, "verified-answer", 1)  # no model wrote it
    put(services, SERVED, 1, created_at=cand.created_at - timedelta(days=1))  # before the test
    report = ab.report()
    served, tested = report.arms
    assert report.running and report.candidate.id == cand.id and served.model_id == SERVED
    assert (served.answers, served.rated, served.negative, served.judged) == (6, 5, 3, 3)
    assert served.ratings == {1: 1, 2: 2, 3: 0, 4: 1, 5: 1} and served.negative_share == pytest.approx(0.6)
    assert served.judge_mean == pytest.approx(2.5) and served.judge_good_share == pytest.approx(1 / 3)
    assert (tested.answers, tested.rated, tested.negative, tested.judged) == (4, 3, 1, 3)
    assert tested.judge_mean == pytest.approx(4.0) and tested.judge_good_share == pytest.approx(2 / 3)
    sig = report.significance
    assert sig.p_value == pytest.approx(fisher_exact([[1, 2], [3, 2]]).pvalue)
    assert sig.verdict == "undecided" and sig.more_candidate == sig.needed_per_arm - 3 > 0


def test_promote_and_stop_are_admin_actions_and_audited(services):
    cand = candidate(services)
    put(services, SERVED, 1)
    put(services, cand.id, 5)
    engineer = services.as_identity(Identity(user="eve", role="engineer"))
    with pytest.raises(Forbidden):
        ABService(engineer.backends, engineer.identity, engineer.audit).stop()
    ab = ABService(services.backends, services.identity, services.audit)
    stop = ab.stop()
    assert stop.by == services.identity.user
    assert ask(services, next(s for s in map(str, range(99)) if arm(s, 0.5, cand.id) == "candidate")).model_id == SERVED
    with pytest.raises(RegistryError, match="no A/B test to stop: the test of .* was stopped by"):
        ab.stop()
    assert not ab.report().running and ab.report().arms[1].answers >= 1  # the figures stay
    event = ab.promote()
    assert event.served == cand.id and Registry(services.settings.models_dir).promoted() == cand.id
    assert ab.report().candidate is None  # served now: nothing left to test
    events = {e.action: e for e in services.audit.events(limit=20).items}
    assert events["ab stop"].target == cand.id and events["ab stop"].detail["candidate_rated"] == 1
    assert events["ab promote"].target == cand.id and events["model promote"].target == cand.id
    assert events["ab promote"].detail["served_negative"] == 1
