"""A question's walk from the chat page to the stored rating enters each module once (issue 27):
page → chat service → pipeline → retriever → store, and rating → chat service → feedback store.

Traced with ``sys.setprofile`` over a real ask and a real rating through the chat page (AppTest)
on the embedded defaults: the local model, the LanceDB index and the SQLite feedback store.
"""

from __future__ import annotations

import dis
import inspect
import sys
import threading
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app.services import Services
from app.services.chat import ChatService
from rag.records import Answer
from rag.pipeline import AnswerPipeline
from rag.retrieval import Retriever, validate_question
from tests.docs import make_pdf

pytestmark = pytest.mark.slow
CHAT_PAGE = Path(__file__).parents[2] / "app" / "app_pages" / "chat.py"
OURS = ("app", "rag", "feedback", "training", "common", "__main__")
PAGE = ("__main__", "app.chat_parts")  # AppTest runs the page as __main__; chat_parts holds its widgets
_RESUMABLE = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR


@cache
def _first_resume(code) -> int:
    return next(i.offset for i in dis.get_instructions(code) if i.opname == "RESUME")


def _entered(frame) -> bool:
    """Whether a 'call' event starts the function, rather than resuming a suspended generator."""
    return not frame.f_code.co_flags & _RESUMABLE or frame.f_lasti <= _first_resume(frame.f_code)


class Entries:
    """Every call into one of our modules (module, qualified name, calling module, thread,
    arguments), in every thread, while active."""

    def __init__(self):
        self.calls: list[tuple[str, str, str, int, dict]] = []

    def _profile(self, frame, event, arg):
        if event != "call" or frame.f_back is None:
            return
        callee = frame.f_globals.get("__name__", "")
        if not callee.startswith(OURS) or not _entered(frame):
            return
        caller = frame.f_back.f_globals.get("__name__", "")
        self.calls.append((callee, frame.f_code.co_qualname, caller, threading.get_ident(), dict(frame.f_locals)))

    def __enter__(self):
        threading.setprofile(self._profile)  # the AppTest script runs in a thread of its own
        sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc):
        sys.setprofile(None)
        threading.setprofile(None)

    def thread_of(self, function) -> int:
        (thread,) = {t for m, q, _, t, _ in self.calls if (m, q) == (function.__module__, function.__qualname__)}
        return thread

    def count(self, function, thread: int, on: object = None) -> Counter:
        """How often ``function`` was entered in ``thread`` (as a method of ``on``, when given), by
        calling module: a wrapper store calling the same method of the store it wraps is not counted."""
        key = (function.__module__, function.__qualname__)
        return Counter(
            caller
            for m, q, caller, t, args in self.calls
            if (m, q) == key and t == thread and (on is None or args.get("self") is on)
        )


@pytest.fixture
def page(tmp_path, local_model_dir, monkeypatch, shared_models):
    """The chat page over an indexed PDF, its backends holding the session's loaded models."""
    from app.ui import get_backends

    monkeypatch.setenv("RAGBOT_LOCAL_MODEL", str(local_model_dir))
    monkeypatch.setenv("RAGBOT_MAX_NEW_TOKENS", "24")
    make_pdf(
        tmp_path / "docs" / "Design" / "criteria.pdf",
        [
            "General requirements.",
            "21 01 13 Parking. The site provides 412 car parking spaces and 38 trailer positions.",
        ],
    )
    st.cache_resource.clear()  # each test has its own RAGBOT_HOME
    st.cache_data.clear()
    backends = shared_models(get_backends())  # the page's own (cached) backends
    Services(backends=backends).corpus.ingest([tmp_path / "docs"])
    return AppTest.from_file(str(CHAT_PAGE), default_timeout=240).run(), backends


def test_the_question_enters_each_module_once_and_the_rating_reads_its_record_once(page):
    at, backends = page
    store, vectors = type(backends.feedback_store), type(backends.store)

    with Entries() as asked:
        at.chat_input(key="chat_input").set_value("  How many car parking spaces do we have?  ").run()
    assert not at.exception
    (turn,) = at.session_state.chat_turns
    assert turn.question == "How many car parking spaces do we have?" and turn.citations

    thread = asked.thread_of(ChatService.answer)
    # The page asks once, and hands the chat service nothing back.
    assert asked.count(ChatService.answer, thread) == Counter({"__main__": 1})
    from_page = [(q, a) for m, q, caller, t, a in asked.calls if caller in PAGE and m.startswith("app.services")]
    assert not [q for q, args in from_page if any(isinstance(v, Answer) for v in args.values())], (
        "the page handed the pipeline's Answer back to a service"
    )
    assert not _work_done_by_the_page(asked, backends)
    # The chat service streams the pipeline once; the pipeline searches once; the question is
    # checked once; the answer is stored once, by the chat service.
    assert asked.count(AnswerPipeline.stream, thread) == Counter({"app.services.chat": 1})
    assert asked.count(Retriever.search, thread) == Counter({"rag.pipeline": 1})
    assert asked.count(vectors.search, thread) == Counter({"rag.retrieval": 1})
    assert sum(asked.count(validate_question, thread).values()) == 1
    assert asked.count(store.put, thread, on=backends.feedback_store) == Counter({"app.services.chat": 1})

    with Entries() as rated:
        at.segmented_control(key=f"chat_rating_{turn.id}").set_value(4).run()
    assert not at.exception
    assert backends.feedback_store.get(turn.id).feedback.rating == 4
    thread = rated.thread_of(ChatService.rate)
    assert rated.count(ChatService.rate, thread) == Counter({"app.chat_parts": 1})
    # The record is read once (ownership, what is kept) and written once, by the chat service.
    assert rated.count(store.get, thread, on=backends.feedback_store) == Counter({"app.services.chat": 1})
    assert rated.count(store.set_feedback, thread, on=backends.feedback_store) == Counter({"app.services.chat": 1})
    assert not _work_done_by_the_page(rated, backends)


def _work_done_by_the_page(entries: Entries, backends) -> list[tuple[str, str]]:
    """Calls from the page into the answer pipeline or a store: the services' work, not the page's."""
    stores = (type(backends.feedback_store).__module__, type(backends.store).__module__, "feedback.stores")
    return [(m, q) for m, q, caller, _, _ in entries.calls if caller in PAGE and m.startswith(("rag", *stores))]


def test_a_resumed_generator_is_not_counted_as_an_entry():
    def numbers():
        yield 1
        yield 2

    seen = []

    def profile(frame, event, arg):
        if event == "call" and frame.f_code is numbers.__code__:
            seen.append(_entered(frame))

    sys.setprofile(profile)
    try:
        assert list(numbers()) == [1, 2]
    finally:
        sys.setprofile(None)
    assert seen == [True, False, False]
