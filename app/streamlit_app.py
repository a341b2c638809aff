"""The router: the page list, by role. Pages live in app/app_pages/."""

from pathlib import Path

import streamlit as st
from pydantic import ValidationError

from app.services import Action
from app.ui import get_services
from rag.errors import RagError

PAGES = Path(__file__).parent / "app_pages"

st.set_page_config(page_title="ragbot", page_icon=":material/menu_book:", layout="wide")
try:
    services = get_services()
except (ValidationError, RagError) as e:
    st.error(f"ragbot cannot start: {e}")
    st.caption("Fix the setting (RAGBOT_… environment variable or ragbot.toml) and reload the page.")
    st.stop()
pages = [st.Page(PAGES / "chat.py", title="Ask the documents", icon=":material/chat:", default=True)]
if services.identity.may(Action.SEE_DASHBOARD):
    pages.append(st.Page(PAGES / "admin.py", title="Admin", icon=":material/admin_panel_settings:"))
st.navigation(pages).run()
