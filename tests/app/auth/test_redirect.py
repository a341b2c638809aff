"""The sign-in page's explanation of a redirect to another address than the page's."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.auth.redirect import origin, wrong_address

hosts = st.sampled_from(["localhost", "127.0.0.1", "ragbot.example.com", "[::1]", "RAGBOT.example.com"])
ports = st.one_of(st.none(), st.integers(1, 65535))
schemes = st.sampled_from(["http", "https"])


def url(scheme: str, host: str, port: int | None, path: str = "/") -> str:
    return f"{scheme}://{host}{'' if port is None else f':{port}'}{path}"


def test_localhost_against_127_0_0_1_is_explained_with_the_address_to_open():
    told = wrong_address("http://127.0.0.1:8501/review", "http://localhost:8501/oauth2callback")
    assert "This page is open at `http://127.0.0.1:8501`" in told
    assert "sign-in returns to `http://localhost:8501/oauth2callback`" in told
    # The address to open is the one link; the other two are code, not links to follow.
    assert "Open [http://localhost:8501](http://localhost:8501)" in told


def test_nothing_is_said_when_the_addresses_agree_or_one_is_unknown():
    assert wrong_address("http://localhost:8501/review", "http://localhost:8501/oauth2callback") is None
    assert wrong_address("https://Ragbot.example.com/", "https://ragbot.example.com:443/oauth2callback") is None
    assert wrong_address(None, "http://localhost:8501/oauth2callback") is None
    assert wrong_address("http://127.0.0.1:8501/", None) is None
    assert wrong_address("http://127.0.0.1:8501/", "not a url") is None


@given(schemes, hosts, ports, st.text(max_size=20))
def test_the_same_address_with_any_path_is_never_flagged(scheme, host, port, path):
    page = url(scheme, host, port, "/" + path.replace("#", "").replace("?", ""))
    assert wrong_address(page, url(scheme, host, port, "/oauth2callback")) is None


@given(schemes, hosts, ports, schemes, hosts, ports)
def test_a_different_scheme_host_or_port_is_always_flagged(s1, h1, p1, s2, h2, p2):
    here, there = url(s1, h1, p1), url(s2, h2, p2, "/oauth2callback")
    if origin(here) != origin(there):
        assert wrong_address(here, there) is not None
    else:  # only case and default ports may make two spellings one address
        assert (s1, h1.lower()) == (s2, h2.lower())


@given(st.text(max_size=60))
def test_hostile_urls_never_raise(text):
    origin(text)
    wrong_address(text, text)
    wrong_address(text, "http://localhost:8501/oauth2callback")
