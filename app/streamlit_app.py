"""The router: who is signed in, and the pages their role may open. Pages live in app/app_pages/."""

from pathlib import Path

import streamlit as st
from pydantic import ValidationError

from app.auth import NotSignedIn, SignInRefused
from app.auth.redirect import origin, wrong_address
from app.auth.roles import RolesFileError
from app.services import Action, Forbidden
from app.ui import get_services, get_settings, refuse
from rag.errors import RagError

PAGES = Path(__file__).parent / "app_pages"

st.set_page_config(page_title="ragbot", page_icon=":material/menu_book:", layout="wide")
try:
    settings = get_settings()
    services = get_services()
except (ValidationError, RagError, RolesFileError) as e:
    st.error(f"ragbot cannot start: {e}")
    st.caption("Fix the setting (RAGBOT_… environment variable or ragbot.toml) and reload the page.")
    st.stop()
except NotSignedIn as e:
    st.title("ragbot")
    st.write("Answers from your team's documents, with the pages they come from.")
    if settings.auth == "oidc":
        try:
            redirect = st.secrets["auth"]["redirect_uri"]
        except (KeyError, FileNotFoundError):
            redirect = None
        warning = wrong_address(st.context.url, redirect)
        if warning:
            st.warning(warning)
            # Signing in from this address cannot work: going to the right one is the first step.
            there = origin(redirect)
            st.link_button(f"Open {there} to sign in", there, type="primary")
        st.button("Sign in", type="secondary" if warning else "primary", on_click=st.login, key="auth_login")
        if redirect:
            st.caption(f"Sign-in returns to `{redirect}`; if it brings you back here, ragbot's log says why.")
    else:
        st.info(str(e).capitalize() + ".")
    st.stop()
except SignInRefused as e:
    st.error(f"You cannot use ragbot: {e}")
    if settings.auth == "oidc":
        st.button("Sign out", on_click=st.logout, key="auth_logout_refused")
    st.stop()

me = services.identity
with st.sidebar:
    st.subheader("ragbot")
    if settings.auth == "none":
        st.caption(
            f"Single-user mode: you are **{me.user}** ({me.role}). "
            "Set RAGBOT_AUTH=oidc or proxy before sharing this app."
        )
    else:
        st.caption(f"Signed in as **{me.name or me.user}** · {me.role}")
        if settings.auth == "oidc":
            st.button("Sign out", on_click=st.logout, key="auth_logout")

pages = [st.Page(PAGES / "chat.py", title="Ask the documents", icon=":material/chat:", default=True)]
if me.may(Action.REVIEW) and (PAGES / "review.py").exists():
    pages.append(st.Page(PAGES / "review.py", title="Review", icon=":material/fact_check:"))
if me.may(Action.SEE_DASHBOARD):
    pages.append(st.Page(PAGES / "admin.py", title="Admin", icon=":material/admin_panel_settings:"))
page = st.navigation(pages)
try:
    page.run()
except Forbidden as e:  # a service refused what the page offered (a role changed meanwhile)
    refuse(services, e, page.title)
