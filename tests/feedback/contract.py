"""The contract every feedback store passes. A backend's test module subclasses
``FeedbackStoreContract`` and provides the ``store`` fixture, an empty store (see test_sqlite.py).

Only behaviour of the ``FeedbackStore`` protocol is tested here, so the DynamoDB store can reuse
the suite unchanged."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from feedback.errors import NotFound, UnreadableRecord
from feedback.records import CitationRecord, Feedback, InjectionRecord, Interaction, JudgeScore, Review
from feedback.stores.base import InteractionFilter

T0 = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)


def make(
    interaction_id: str,
    *,
    minutes: float = 0,
    user: str = "ana",
    session_id: str = "s1",
    turn: int = 1,
    question: str = "What is the slab load?",
    sources: tuple[str, ...] = (),
    **fields,
) -> Interaction:
    """An interaction created ``minutes`` after T0, citing ``sources`` (page 1 each)."""
    citations = [CitationRecord(n=i + 1, source=s, page=1, chunk_id=f"c{i}", score=0.5) for i, s in enumerate(sources)]
    return Interaction(
        id=interaction_id,
        session_id=session_id,
        user=user,
        role="engineer",
        created_at=T0 + timedelta(minutes=minutes),
        updated_at=T0 + timedelta(minutes=minutes),
        turn=turn,
        question=question,
        answer="50 kN/m2 [1].",
        citations=citations,
        model_id="test-model",
        prompt_version="v1",
        **fields,
    )


def ids(page_or_items) -> list[str]:
    items = getattr(page_or_items, "items", page_or_items)
    return [i.id for i in items]


def list_all(store, filters: InteractionFilter | None = None) -> list[str]:
    """Every matching id, newest first, following the cursor to the end."""
    out: list[str] = []
    cursor = None
    while True:
        page = store.list(filters, limit=100, cursor=cursor)
        out += ids(page)
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


def spoiled(record_json: str, **changes) -> str:
    """A stored record's JSON with fields replaced as no validation would allow."""
    return json.dumps(json.loads(record_json) | changes)


class FeedbackStoreContract:
    """Tests of behaviour the rest of ragbot relies on, for any feedback store."""

    @pytest.fixture
    def store(self):  # overridden by each backend
        raise NotImplementedError

    @pytest.fixture
    def spoil(self):
        """Overridden by each backend: ``spoil(store, id, **changes)`` rewrites the stored record with
        ``spoiled`` behind validation's back, as an older ragbot or a hand edit could have left it."""
        raise NotImplementedError

    def test_a_stored_record_that_no_longer_validates_is_skipped_and_counted(self, store, spoil):
        for i, name in enumerate(["a", "b", "c"]):
            store.put(make(name, minutes=i))
        spoil(store, "b", created_at="0001-01-01T00:00:00+14:00")
        page = store.list()
        assert ids(page) == ["c", "a"] and page.unreadable == ["b"]
        assert store.list(limit=1, cursor=store.list(limit=1).next_cursor).unreadable == ["b"]
        with pytest.raises(UnreadableRecord, match="'b' cannot be read: created_at"):
            store.get("b")
        with pytest.raises(UnreadableRecord):
            store.set_feedback("b", Feedback(rating=2))
        store.put(make("b", minutes=1))  # a valid record with the id replaces it
        page = store.list()
        assert ids(page) == ["c", "b", "a"] and page.unreadable == []

    # -- records -----------------------------------------------------------------------------

    def test_empty_store(self, store):
        assert store.get("nope") is None
        page = store.list()
        assert page.items == [] and page.next_cursor is None
        assert store.sessions("ana") == []

    def test_put_get_roundtrip_every_field(self, store):
        full = make(
            "full",
            sources=("Design/Criteria/lighting.pdf", "notes.md"),
            found=True,
            context="[1] Design/Criteria/lighting.pdf p.1\nExterior lighting shall give 20 lux.\n" * 20,
            context_truncated=True,
            latency_ms=1234,
            feedback=Feedback(
                rating=2, correction="It is 25 kN/m2.", note="wrong section", updated_at=T0 + timedelta(hours=1)
            ),
            judge=JudgeScore(
                score=1.5,
                reason="contradicts [1]",
                judge_model="judge-1",
                raw="<score>1.5</score>",
                scored_at=T0 + timedelta(hours=2),
            ),
            review=Review(
                status="rejected", reviewer="sme", reference_answer="25 kN/m2", reviewed_at=T0 + timedelta(hours=3)
            ),
            injection=[
                InjectionRecord(n=1, source="Design/Criteria/lighting.pdf", page=1, kinds=["override"], matches=["x"])
            ],
        )
        full.citations[1].page = None  # page-less formats keep a null page
        store.put(full)
        got = store.get("full")
        assert got == full
        assert got.model_dump() == full.model_dump()
        for stamp in (
            got.created_at,
            got.updated_at,
            got.feedback.updated_at,
            got.judge.scored_at,
            got.review.reviewed_at,
        ):
            assert stamp.utcoffset() == timedelta(0), "datetimes come back timezone-aware, in UTC"
        assert got.feedback.label == "Disagree"
        assert [(c.source, c.page) for c in got.citations] == [("Design/Criteria/lighting.pdf", 1), ("notes.md", None)]

    def test_unicode_and_large_text(self, store):
        text = "Überprüfung der Bodenplatte — 荷重 ✓ 'quotes' \"double\" " * 500
        store.put(make("u", question=text, context=text))
        assert store.get("u").question == text

    def test_put_twice_keeps_one_record_and_last_write_wins(self, store):
        store.put(make("a", question="first"))
        store.put(make("a", question="first"))  # a retried write
        assert ids(store.list()) == ["a"]
        store.put(make("a", question="second", minutes=5))
        assert store.get("a").question == "second"
        assert ids(store.list()) == ["a"]
        assert [s.turns for s in store.sessions("ana")] == [1]

    def test_a_replayed_put_keeps_feedback_judge_and_review(self, store):
        original = make("a")
        store.put(original)
        store.set_feedback("a", Feedback(rating=2, note="wrong page"))
        store.set_judge("a", JudgeScore(score=3.5, reason="partly right", judge_model="judge"))
        store.set_review("a", Review(status="validated", reviewer="sme"))
        store.put(original)  # the first write, retried after the user had already rated
        got = store.get("a")
        assert got.feedback.rating == 2 and got.feedback.note == "wrong page"
        assert got.judge.score == 3.5 and got.review.status == "validated"
        store.put(make("a", feedback=Feedback(rating=5)))  # a write that carries feedback wins
        assert store.get("a").feedback.rating == 5

    def test_an_older_copy_never_rolls_back_newer_attachments(self, store):
        from datetime import timedelta

        store.put(make("a"))
        old = store.set_feedback("a", Feedback(rating=2, updated_at=T0 + timedelta(days=1)))  # exported on Monday
        store.set_feedback("a", Feedback(rating=5, updated_at=T0 + timedelta(days=2)))  # re-rated on Tuesday
        store.set_review("a", Review(status="unreviewed", reviewer="sme", reference_answer="draft"))
        store.put(old)  # Monday's export imported on Wednesday
        got = store.get("a")
        assert got.feedback.rating == 5
        assert got.review.reference_answer == "draft", "a draft reference answer is kept too"

    def test_set_feedback_attaches_and_returns_the_record(self, store):
        store.put(make("a"))
        updated = store.set_feedback("a", Feedback(rating=4, note="clear"))
        assert updated.id == "a" and updated.feedback.rating == 4 and updated.feedback.label == "Agree"
        assert updated.updated_at > make("a").updated_at
        got = store.get("a")
        assert got.feedback == updated.feedback
        assert got.updated_at == updated.updated_at
        assert got.question == make("a").question

    def test_rerating_replaces_the_feedback_of_the_same_record(self, store):
        store.put(make("a"))
        store.set_feedback("a", Feedback(rating=1, correction="Wrong.", note="bad"))
        store.set_feedback("a", Feedback(rating=5))
        got = store.get("a")
        assert got.feedback.rating == 5 and got.feedback.correction is None and got.feedback.note is None
        assert ids(store.list()) == ["a"]
        assert ids(store.list(InteractionFilter(has_correction=True))) == []
        assert ids(store.list(InteractionFilter(max_rating=2))) == []

    def test_feedback_judge_and_review_do_not_overwrite_each_other(self, store):
        store.put(make("a"))
        store.set_feedback("a", Feedback(rating=3))
        store.set_judge("a", JudgeScore(score=4.0, judge_model="judge-1"))
        store.set_review("a", Review(status="validated", reviewer="sme", reviewed_at=T0))
        got = store.get("a")
        assert got.feedback.rating == 3 and got.judge.score == 4.0 and got.review.status == "validated"
        store.set_judge("a", JudgeScore(score=None, judge_model="judge-2", raw="no tags"))
        got = store.get("a")
        assert got.judge.score is None and got.judge.raw == "no tags" and got.feedback.rating == 3

    @pytest.mark.parametrize(
        "call",
        [
            lambda s: s.set_feedback("missing", Feedback(rating=3)),
            lambda s: s.set_judge("missing", JudgeScore(score=3.0, judge_model="j")),
            lambda s: s.set_review("missing", Review(status="validated")),
        ],
        ids=["set_feedback", "set_judge", "set_review"],
    )
    def test_unknown_id_raises_not_found_and_creates_nothing(self, store, call):
        store.put(make("a"))
        with pytest.raises(NotFound, match="missing"):
            call(store)
        assert store.get("missing") is None
        assert ids(store.list()) == ["a"]

    # -- listing -----------------------------------------------------------------------------

    def test_list_is_newest_first(self, store):
        for i, minutes in enumerate([5, 1, 9, 3]):
            store.put(make(f"i{i}", minutes=minutes))
        assert ids(store.list()) == ["i2", "i0", "i3", "i1"]

    def test_same_created_at_is_ordered_by_id_descending(self, store):
        for name in ["b", "d", "a", "c"]:
            store.put(make(name))
        assert ids(store.list()) == ["d", "c", "b", "a"]

    @pytest.fixture
    def varied(self, store):
        """Seven interactions that differ in every filtered attribute."""
        rows = [
            make("ana-1", minutes=1, user="ana", session_id="sa", turn=1, sources=("Design/Criteria/lighting.pdf",)),
            make("ana-2", minutes=2, user="ana", session_id="sa", turn=2, sources=("Design Extra/schedule.pdf",)),
            make("ana-3", minutes=3, user="ana", session_id="sb", turn=1, sources=("Design/floor.pdf", "notes.md")),
            make("bo-1", minutes=4, user="bo", session_id="sc", turn=1, sources=("design/lower.pdf",)),
            make("bo-2", minutes=5, user="bo", session_id="sc", turn=2, sources=("Design",)),
            make("bo-3", minutes=6, user="bo", session_id="sc", turn=3, sources=("Design_%/odd.pdf",)),
            make("cy-1", minutes=7, user="cy", session_id="sd", turn=1),
        ]
        for row in rows:
            store.put(row)
        store.set_feedback("ana-1", Feedback(rating=1, correction="Use 25 kN/m2."))
        store.set_feedback("ana-2", Feedback(rating=2, note="vague"))
        store.set_feedback("ana-3", Feedback(rating=3))
        store.set_feedback("bo-1", Feedback(rating=4, correction="Add the clause number."))
        store.set_feedback("bo-2", Feedback(rating=5, correction="   "))  # blank: no correction
        store.set_review("ana-1", Review(status="validated", reviewer="sme"))
        store.set_review("bo-1", Review(status="rejected", reviewer="sme"))
        store.set_judge("ana-2", JudgeScore(score=2.5, judge_model="judge"))
        store.set_judge("bo-3", JudgeScore(score=None, judge_model="judge", raw="no tags"))  # judged, unparsable
        return rows

    @pytest.mark.parametrize(
        ("filters", "expected"),
        [
            ({}, ["cy-1", "bo-3", "bo-2", "bo-1", "ana-3", "ana-2", "ana-1"]),
            ({"user": "ana"}, ["ana-3", "ana-2", "ana-1"]),
            ({"user": "nobody"}, []),
            ({"session_id": "sc"}, ["bo-3", "bo-2", "bo-1"]),
            ({"since": T0 + timedelta(minutes=5)}, ["cy-1", "bo-3", "bo-2"]),  # since is inclusive
            ({"until": T0 + timedelta(minutes=3)}, ["ana-2", "ana-1"]),  # until is exclusive
            (
                {"since": T0 + timedelta(minutes=2), "until": T0 + timedelta(minutes=4, seconds=1)},
                ["bo-1", "ana-3", "ana-2"],
            ),
            ({"since": (T0 + timedelta(minutes=6)).astimezone(timezone(timedelta(hours=9)))}, ["cy-1", "bo-3"]),
            ({"min_rating": 4}, ["bo-2", "bo-1"]),
            ({"max_rating": 2}, ["ana-2", "ana-1"]),
            ({"min_rating": 2, "max_rating": 4}, ["bo-1", "ana-3", "ana-2"]),
            ({"rated": True}, ["bo-2", "bo-1", "ana-3", "ana-2", "ana-1"]),
            ({"rated": False}, ["cy-1", "bo-3"]),
            ({"has_correction": True}, ["bo-1", "ana-1"]),
            ({"has_correction": False}, ["cy-1", "bo-3", "bo-2", "ana-3", "ana-2"]),
            ({"review_status": "validated"}, ["ana-1"]),
            ({"review_status": "rejected"}, ["bo-1"]),
            ({"review_status": "unreviewed"}, ["cy-1", "bo-3", "bo-2", "ana-3", "ana-2"]),
            ({"user": "bo", "has_correction": True}, ["bo-1"]),
            ({"user": "ana", "max_rating": 2, "review_status": "unreviewed"}, ["ana-2"]),
            ({"judged": True}, ["bo-3", "ana-2"]),
            ({"judged": False}, ["cy-1", "bo-2", "bo-1", "ana-3", "ana-1"]),
            ({"judged": False, "user": "bo"}, ["bo-2", "bo-1"]),
            ({"judged": True, "max_rating": 2}, ["ana-2"]),
            ({"judged": False, "rated": False}, ["cy-1"]),
        ],
        ids=lambda v: "-".join(f"{k}={v[k]}" for k in v) if isinstance(v, dict) else None,
    )
    def test_filters(self, store, varied, filters, expected):
        assert ids(store.list(InteractionFilter(**filters))) == expected

    @pytest.mark.parametrize(
        ("prefix", "expected"),
        [
            ("Design/Criteria/lighting.pdf", ["ana-1"]),  # one document
            ("Design/Criteria", ["ana-1"]),  # a folder
            ("Design", ["bo-2", "ana-3", "ana-1"]),  # a folder and its subfolders, not "Design Extra"
            ("Design/", ["bo-2", "ana-3", "ana-1"]),  # the same folder written with its slash
            ("Design Extra", ["ana-2"]),
            ("Design/Crit", []),  # a prefix of a name is not a folder
            ("design", ["bo-1"]),  # paths are case-sensitive
            ("Design_%", ["bo-3"]),  # % and _ are characters, not wildcards
            ("Desig_", []),
            ("Design%", []),
            ("notes.md", ["ana-3"]),
            ("missing", []),
        ],
    )
    def test_source_prefix(self, store, varied, prefix, expected):
        assert ids(store.list(InteractionFilter(source_prefix=prefix))) == expected

    def test_source_prefix_follows_a_rewrite_of_the_citations(self, store):
        store.put(make("a", sources=("Design/a.pdf",)))
        store.put(make("a", sources=("Specs/b.pdf",)))
        assert ids(store.list(InteractionFilter(source_prefix="Design"))) == []
        assert ids(store.list(InteractionFilter(source_prefix="Specs"))) == ["a"]

    def test_source_prefix_with_user_and_rating(self, store, varied):
        assert ids(store.list(InteractionFilter(source_prefix="Design", user="ana", max_rating=1))) == ["ana-1"]

    # -- pagination --------------------------------------------------------------------------

    @pytest.mark.parametrize("same_time", [False, True], ids=["distinct-times", "all-same-time"])
    def test_pagination_has_no_duplicates_and_no_gaps(self, store, same_time):
        for i in range(25):
            store.put(make(f"i{i:02d}", minutes=0 if same_time else i * 7 % 25))
        expected = ids(store.list(limit=100))
        assert len(expected) == 25
        pages, cursor = [], None
        while True:
            page = store.list(limit=10, cursor=cursor)
            pages.append(ids(page))
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert [len(p) for p in pages] == [10, 10, 5]
        assert [i for p in pages for i in p] == expected

    def test_exact_multiple_of_the_limit_ends_without_an_empty_page(self, store):
        for i in range(20):
            store.put(make(f"i{i:02d}", minutes=i))
        first = store.list(limit=10)
        second = store.list(limit=10, cursor=first.next_cursor)
        assert len(second.items) == 10 and second.next_cursor is None

    def test_pagination_with_a_filter(self, store):
        for i in range(25):
            store.put(make(f"i{i:02d}", minutes=i, user="ana" if i % 2 else "bo"))
        first = store.list(InteractionFilter(user="ana"), limit=10)
        second = store.list(InteractionFilter(user="ana"), limit=10, cursor=first.next_cursor)
        assert len(first.items) == 10 and len(second.items) == 2 and second.next_cursor is None
        assert ids(first) + ids(second) == [f"i{i:02d}" for i in range(23, 0, -2)]

    def test_pagination_with_the_judged_filter_fills_every_page(self, store):
        for i in range(25):
            store.put(make(f"i{i:02d}", minutes=i))
            if i % 3 == 0:
                store.set_judge(f"i{i:02d}", JudgeScore(score=3.0, judge_model="judge"))
        expected = [f"i{i:02d}" for i in range(24, -1, -1) if i % 3]
        first = store.list(InteractionFilter(judged=False), limit=10)
        second = store.list(InteractionFilter(judged=False), limit=10, cursor=first.next_cursor)
        assert len(first.items) == 10 and len(second.items) == 6 and second.next_cursor is None
        assert ids(first) + ids(second) == expected

    def test_origin_filter_keeps_users_questions_and_synthetic_pairs_apart(self, store):
        store.put(make("u1"))
        store.put(make("s1", minutes=1, user="synth", origin="synthetic"))
        store.put(make("u2", minutes=2))
        store.put(make("s2", minutes=3, user="synth", origin="synthetic", review=Review(reference_answer="x")))
        assert list_all(store, InteractionFilter(origin="user")) == ["u2", "u1"]
        assert list_all(store, InteractionFilter(origin="synthetic")) == ["s2", "s1"]
        assert list_all(store, InteractionFilter(origin="synthetic", review_status="unreviewed")) == ["s2", "s1"]
        store.set_review("s1", Review(status="validated", reviewer="sme"))
        assert list_all(store, InteractionFilter(origin="synthetic", review_status="validated")) == ["s1"]
        assert list_all(store) == ["s2", "u2", "s1", "u1"]

    def test_judging_moves_a_record_out_of_the_unjudged_listing_and_a_replayed_put_keeps_it_out(self, store):
        """What makes a judge run resumable: a scored record is never listed as unjudged again."""
        store.put(make("a"))
        store.put(make("b", minutes=1))
        store.set_judge("a", JudgeScore(score=None, judge_model="judge", raw="garbled"))
        store.put(make("a"))  # the original answer written again (a retry, an outbox replay)
        assert ids(store.list(InteractionFilter(judged=False))) == ["b"]
        assert ids(store.list(InteractionFilter(judged=True))) == ["a"]

    def test_a_record_added_between_pages_does_not_shift_the_next_page(self, store):
        for i in range(15):
            store.put(make(f"i{i:02d}", minutes=i))
        first = store.list(limit=10)
        store.put(make("newest", minutes=100))
        second = store.list(limit=10, cursor=first.next_cursor)
        assert ids(second) == [f"i{i:02d}" for i in range(4, -1, -1)]

    @pytest.mark.parametrize("cursor", ["garbage!", "", "bm90IGEgY3Vyc29y", "ééé"])
    def test_bad_cursor_is_a_value_error(self, store, cursor):
        store.put(make("a"))
        with pytest.raises(ValueError, match="cursor"):
            store.list(cursor=cursor)

    def test_limit_below_one_is_a_value_error(self, store):
        with pytest.raises(ValueError, match="limit"):
            store.list(limit=0)

    # -- sessions ----------------------------------------------------------------------------

    def test_sessions(self, store):
        # Written out of order: the second turn reaches the store before the first.
        store.put(make("a2", minutes=12, session_id="morning", turn=2, question="And the walls?"))
        store.put(make("a1", minutes=10, session_id="morning", turn=1, question="Slab load?"))
        store.put(make("b1", minutes=30, session_id="noon", turn=1, question="Dock doors?"))
        store.put(make("c1", minutes=20, session_id="late-start", turn=1, question="Roof drains?"))
        store.put(make("c2", minutes=40, session_id="late-start", turn=2, question="Gutters?"))
        store.put(make("c3", minutes=41, session_id="late-start", turn=3, question="Downpipes?"))
        store.put(make("x1", minutes=50, user="bo", session_id="other-user", turn=1, question="Not ana's"))
        sessions = store.sessions("ana")
        assert [(s.session_id, s.turns, s.first_question) for s in sessions] == [
            ("noon", 1, "Dock doors?"),
            ("late-start", 3, "Roof drains?"),
            ("morning", 2, "Slab load?"),
        ]
        assert sessions[2].started_at == T0 + timedelta(minutes=10)
        assert sessions[2].started_at.utcoffset() == timedelta(0)
        assert [s.session_id for s in store.sessions("ana", limit=2)] == ["noon", "late-start"]
        assert [s.session_id for s in store.sessions("bo")] == ["other-user"]
        assert store.sessions("nobody") == []

    def test_sessions_count_a_rewritten_turn_once(self, store):
        store.put(make("a1", session_id="s", turn=1))
        store.put(make("a1", session_id="s", turn=1))
        store.set_feedback("a1", Feedback(rating=3))
        assert [(s.session_id, s.turns) for s in store.sessions("ana")] == [("s", 1)]


class AuditLogContract:
    """The audit log every feedback store keeps beside the interactions."""

    @pytest.fixture
    def store(self):  # overridden by each backend
        raise NotImplementedError

    def test_events_are_appended_and_listed_newest_first(self, store):
        from feedback.audit import AuditEvent

        events = [
            AuditEvent(
                actor="ana@x.io", role="admin", action="export", at=T0 + timedelta(minutes=i), detail={"count": i}
            )
            for i in range(5)
        ]
        for e in events:
            store.record_event(e)
        store.record_event(events[2])  # a replayed write adds nothing
        first = store.events(limit=3)
        assert [e.id for e in first.items] == [events[4].id, events[3].id, events[2].id]
        rest = store.events(limit=3, cursor=first.next_cursor)
        assert [e.id for e in rest.items] == [events[1].id, events[0].id] and rest.next_cursor is None
        assert rest.items[0].detail == {"count": 1} and rest.items[0].actor == "ana@x.io"

    def test_events_never_appear_among_interactions(self, store):
        from feedback.audit import AuditEvent

        store.record_event(AuditEvent(actor="ana@x.io", role="admin", action="ingest", target="/srv/docs"))
        assert store.list().items == []
        assert store.events().items[0].target == "/srv/docs"


class ReviewQueueContract:
    """What the Review page asks of a store: judge-score filters, every order with paging that
    neither repeats nor skips, group counts, and reviews that never overwrite each other silently."""

    @pytest.fixture
    def store(self):  # overridden by each backend
        raise NotImplementedError

    @pytest.fixture
    def judged(self, store):
        """Ten answers: scores 0.5, 1.0 … 4.5 on some, an unparsable reply, unjudged, rated or not."""
        from feedback.records import JudgeScore

        scores = {"a": 4.5, "b": 1.0, "c": None, "d": 3.0, "e": 3.0, "f": 0.5, "g": 5.0, "h": 2.5}
        ratings = {"a": 5, "b": 1, "d": 4, "f": 2, "g": 5, "i": 3}
        for minute, name in enumerate("abcdefghij"):
            record = make(
                name,
                minutes=minute,
                sources=("Design/a.pdf", "Specs/b.pdf") if name in "abc" else ("Design/a.pdf",),
                feedback=Feedback(rating=ratings[name]) if name in ratings else None,
            )
            store.put(record)
            if name in scores:
                store.set_judge(name, JudgeScore(score=scores[name], judge_model="j", raw="r"))
        return scores

    @pytest.mark.parametrize(
        ("filters", "expected"),
        [
            (InteractionFilter(max_judge_score=2.9), {"b", "f", "h"}),
            (InteractionFilter(min_judge_score=3.0), {"a", "d", "e", "g"}),
            (InteractionFilter(min_judge_score=1.0, max_judge_score=3.0), {"b", "d", "e", "h"}),
            (InteractionFilter(judge_unparsable=True), {"c"}),
            (InteractionFilter(judge_unparsable=False, judged=True), {"a", "b", "d", "e", "f", "g", "h"}),
            (InteractionFilter(judged=False), {"i", "j"}),
            (InteractionFilter(max_judge_score=3.0, max_rating=2), {"b", "f"}),
        ],
    )
    def test_judge_score_filters(self, store, judged, filters, expected):
        assert set(list_all(store, filters)) == expected

    @pytest.mark.parametrize(
        ("order", "expected"),
        [
            ("newest", list("jihgfedcba")),
            ("oldest", list("abcdefghij")),
            ("judge_asc", ["f", "b", "h", "e", "d", "a", "g"]),
            ("judge_desc", ["g", "a", "e", "d", "h", "b", "f"]),
            ("rating_asc", ["b", "f", "i", "d", "g", "a"]),
            ("rating_desc", ["g", "a", "d", "i", "f", "b"]),
        ],
    )
    @pytest.mark.parametrize("limit", [1, 2, 3, 50])
    def test_every_order_pages_without_repeats_or_gaps(self, store, judged, order, expected, limit):
        seen, cursor = [], None
        while True:
            page = store.list(limit=limit, cursor=cursor, order=order)
            seen += ids(page)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == expected

    def test_an_order_with_filters(self, store, judged):
        page = store.list(InteractionFilter(source_prefix="Specs", judged=True), order="judge_desc")
        assert ids(page) == ["a", "b"]

    def test_a_cursor_of_another_order_is_refused(self, store, judged):
        cursor = store.list(limit=2, order="newest").next_cursor
        with pytest.raises(ValueError, match="cursor"):
            store.list(limit=2, cursor=cursor, order="judge_asc")
        with pytest.raises(ValueError, match="order"):
            store.list(order="by-mood")

    def test_group_counts(self, store, judged):
        bands = store.count_groups(by="judge_band")
        assert bands == {"0–1": 1, "1–2": 1, "2–3": 1, "3–4": 2, "4–5": 2, "unparsable": 1, "not judged": 2}
        assert store.count_groups(by="document") == {"Design/a.pdf": 10, "Specs/b.pdf": 3}
        assert store.count_groups(InteractionFilter(max_rating=2), by="rating") == {"1": 1, "2": 1}
        assert store.count_groups(by="rating")["unrated"] == 4
        assert store.count_groups(by="review_status") == {"unreviewed": 10}

    def test_a_review_is_refused_when_someone_reviewed_since(self, store):
        from feedback.errors import Conflict

        store.put(make("r"))
        opened = store.get("r").review
        first = Review(status="validated", reviewer="sme1", reviewed_at=T0 + timedelta(hours=1), sme_score=4.0)
        store.set_review("r", first, expected_reviewed_at=opened.reviewed_at)
        late = Review(status="rejected", reviewer="sme2", reviewed_at=T0 + timedelta(hours=2))
        with pytest.raises(Conflict, match="sme1 changed the review of this answer since you opened it"):
            store.set_review("r", late, expected_reviewed_at=opened.reviewed_at)
        assert store.get("r").review == first
        reloaded = store.get("r").review
        store.set_review("r", late, expected_reviewed_at=reloaded.reviewed_at)
        assert store.get("r").review.status == "rejected"
