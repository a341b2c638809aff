"""What every page shares: the backends (built once per process) and the services of the person
using this browser session."""

from __future__ import annotations

import os

import streamlit as st

from app.config import Settings
from app.services import Backends, Services


@st.cache_resource(show_spinner="Loading the models…")
def get_backends() -> Backends:
    """One set of backends per process; the models inside load once and are never mutated."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    backends = Backends(Settings())
    backends.warm_up()
    return backends


def get_services() -> Services:
    """The services acting for this session's user."""
    return Services(backends=get_backends())
