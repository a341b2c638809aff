"""What every page shares: the services, built once per process."""

from __future__ import annotations

import os

import streamlit as st

from app.config import Settings
from app.services import Services


@st.cache_resource(show_spinner="Loading the models…")
def get_services() -> Services:
    """One Services per process; the models inside load once and are never mutated."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    services = Services(Settings())
    services.warm_up()
    return services
