"""Every role against every restricted action, through the real service functions: the check is
below the pages and the command line, so hiding a button is never what protects an action."""

from __future__ import annotations

import pytest

from app.config import Settings
from app.services import Action, Backends, Forbidden, Identity, Services
from app.services.access import PERMISSIONS, ROLES, authorize
from feedback.stores.base import InteractionFilter


def test_the_permission_table():
    assert PERMISSIONS["engineer"] == {Action.ASK, Action.RATE, Action.SEE_OWN}
    assert PERMISSIONS["sme"] == PERMISSIONS["engineer"] | {Action.SEE_ALL, Action.REVIEW, Action.JUDGE}
    assert PERMISSIONS["admin"] == set(Action)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(Action))
def test_authorize_refuses_exactly_what_the_table_leaves_out(role, action):
    me = Identity(user="ana@x.io", role=role)
    if action in PERMISSIONS[role]:
        authorize(me, action)
    else:
        with pytest.raises(Forbidden, match=f"ana@x.io has the {role} role; only the .* role may {action}"):
            authorize(me, action)


@pytest.fixture(scope="module")
def backends(tmp_path_factory):
    import os

    home = tmp_path_factory.mktemp("home")
    os.environ["RAGBOT_HOME"] = str(home)
    try:
        yield Backends(Settings())
    finally:
        del os.environ["RAGBOT_HOME"]


def calls(tmp_path):
    """Each restricted service function, called as a page or the command line would."""
    empty = tmp_path / "empty"
    empty.mkdir(exist_ok=True)
    dump = tmp_path / "dump.jsonl"
    dump.write_text("")
    return {
        Action.INGEST: lambda s: s.corpus.ingest([empty]),
        Action.EXPORT: lambda s: s.feedback.export(tmp_path / "out.jsonl", "jsonl"),
        Action.IMPORT: lambda s: s.feedback.import_file(dump),
        Action.MANAGE_STORE: lambda s: s.feedback.flush(),
        Action.SEE_ALL: lambda s: s.feedback.stats(InteractionFilter(user="someone-else")),
        Action.SEE_OWN: lambda s: s.chat.conversations(),
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "action", [Action.INGEST, Action.EXPORT, Action.IMPORT, Action.MANAGE_STORE, Action.SEE_ALL, Action.SEE_OWN]
)
def test_service_functions_check_the_role(backends, tmp_path, role, action):
    services = Services(backends=backends, identity=Identity(user="ana@x.io", role=role))
    call = calls(tmp_path)[action]
    if action in PERMISSIONS[role]:
        call(services)
    else:
        with pytest.raises(Forbidden):
            call(services)
        assert not (tmp_path / "out.jsonl").exists()


def test_a_service_refusal_inside_a_page_is_a_message_and_audited(monkeypatch):
    """A page offers what a service then refuses (here an SME role narrowed to review without
    seeing everyone's answers, as a role changed while the page was open would be): the router
    shows why, not a traceback, and the audit log keeps who was refused what, on which page."""
    from pathlib import Path

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from app.services import access

    monkeypatch.setitem(access.PERMISSIONS, "sme", access.PERMISSIONS["sme"] - {Action.SEE_ALL})
    monkeypatch.setenv("RAGBOT_ROLE", "sme")
    monkeypatch.setenv("RAGBOT_USER", "sam@x.io")
    st.cache_resource.clear()
    router = Path(__file__).parents[2] / "app" / "streamlit_app.py"
    at = AppTest.from_file(str(router), default_timeout=60)
    at.switch_page("app_pages/review.py").run()  # opened at Review: no model is loaded
    assert not at.exception
    assert [e.value for e in at.error] == ["sam@x.io has the sme role; only the admin role may see everyone's answers"]
    assert not at.dataframe, "nothing of the queue is shown"
    admin = Services(backends=Backends(Settings()), identity=Identity(user="boss", role="admin"))
    (event,) = admin.audit.events().items
    assert (event.actor, event.role, event.action, event.outcome) == ("sam@x.io", "sme", "app: Review", "refused")
    assert event.detail["needs"] == "see everyone's answers"
