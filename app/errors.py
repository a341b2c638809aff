"""The app's errors: what the composition root and the app's settings raise."""

from __future__ import annotations

from rag.errors import RagError


class ConfigError(RagError):
    """A backend was chosen without the settings it needs."""
