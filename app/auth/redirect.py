"""Why an OpenID Connect sign-in can end back on "Sign in" without a word, told on the page.

Streamlit keeps the sign-in's state in a cookie of the address the page was opened at, and the
provider sends the browser back to the registered redirect address. When the two differ
(``ragbot app`` prints ``http://127.0.0.1:8501`` while the redirect says ``localhost``), the
callback finds no state, and Streamlit quietly shows "Sign in" again.
"""

from __future__ import annotations

from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> str | None:
    """``scheme://host[:port]`` of ``url`` as a browser compares it (host lower-cased, a
    default port left out); None for anything that is not an http(s) URL with a host."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:  # a port that is not a number, an unclosed IPv6 bracket
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{scheme}://{host}" + ("" if port in (None, _DEFAULT_PORTS[scheme]) else f":{port}")


def wrong_address(page_url: str | None, redirect_uri: str | None) -> str | None:
    """What to tell someone on the sign-in page opened at ``page_url`` when the provider returns
    to ``redirect_uri`` at another address (None when both are the same address, or either is
    unknown)."""
    here = origin(page_url) if page_url else None
    there = origin(redirect_uri) if redirect_uri else None
    if here is None or there is None or here == there:
        return None
    # Only the address to open is a link: written bare, the other two would be links too (the
    # page's Markdown links any URL), the first of them to this very page.
    return (
        f"This page is open at `{here}`, but sign-in returns to `{redirect_uri}`. The browser keeps the "
        f"sign-in for one address only, so signing in from here ends back on this page. "
        f"Open [{there}]({there}) and sign in there (or set RAGBOT_OIDC_REDIRECT_URI to this "
        f"address and register it with your identity provider)."
    )
