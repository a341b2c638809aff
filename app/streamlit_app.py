"""The router: the page list, by role. Pages live in app/app_pages/."""

from pathlib import Path

import streamlit as st

from app.ui import get_services

PAGES = Path(__file__).parent / "app_pages"

st.set_page_config(page_title="ragbot", page_icon="📚", layout="wide")
settings = get_services().settings
pages = [st.Page(PAGES / "chat.py", title="Ask the documents", icon="💬", default=True)]
if settings.role == "admin":
    pages.append(st.Page(PAGES / "admin.py", title="Admin", icon="🛠️"))
st.navigation(pages).run()
