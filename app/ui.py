"""What every page shares: the backends (built once per process) and the services of the person
using this browser session."""

from __future__ import annotations

import os

import streamlit as st

from app.auth import NotSignedIn, RolePolicy, identify_proxy, identity_from_claims
from app.config import Settings
from app.services import Action, Backends, Forbidden, Identity, Services


@st.cache_resource(show_spinner=False)
def get_settings() -> Settings:
    return Settings()


@st.cache_resource(show_spinner=False)
def get_backends() -> Backends:
    """One set of backends per process, built lazily: a page that needs no model loads none."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    return Backends(get_settings())


def models_ready() -> None:
    """Load the answer models once per process, showing what is loading while it happens."""
    backends = get_backends()
    if not backends.warm:
        with st.status("Starting up: loading the models…", expanded=True) as status:
            backends.warm_up(progress=st.write)
            status.update(label="Models loaded", state="complete", expanded=False)


@st.cache_resource(show_spinner=False)
def get_sign_in():
    """The role policy and, behind an ALB, the token verifier: built once from settings."""
    from app.auth.alb import AlbTokenVerifier
    from app.auth.roles import read_roles_file

    s = get_settings()
    policy = RolePolicy(
        by_group=dict(s.role_map),
        by_email=read_roles_file(s.roles_file) if s.roles_file else {},
        unknown=s.unknown_users,
    )
    verifier = None
    if s.auth == "proxy" and s.proxy_mode == "alb" and s.alb_arn:
        verifier = AlbTokenVerifier(s.alb_arn, s.alb_region, s.alb_key_url)
    return policy, verifier


def current_identity() -> Identity:
    """Who is using this session. Raises NotSignedIn, SignInRefused."""
    s = get_settings()
    if s.auth == "none":
        return Identity(user=s.user, role=s.role, how="settings")
    policy, verifier = get_sign_in()
    if s.auth == "oidc":
        if not st.user.is_logged_in:
            raise NotSignedIn("sign in to use ragbot")
        return identity_from_claims(st.user.to_dict(), policy, roles_claim=s.roles_claim, how="oidc")
    return identify_proxy(
        st.context.headers,
        policy,
        mode=s.proxy_mode,
        roles_claim=s.roles_claim,
        verifier=verifier,
        user_header=s.proxy_header,
        groups_header=s.proxy_groups_header,
    )


def get_services() -> Services:
    """The services acting for this session's user. Raises NotSignedIn, SignInRefused."""
    identity = current_identity()  # first: the sign-in page must not wait for the models
    return Services(backends=get_backends(), identity=identity)


def refuse(services: Services, refusal: Action | Forbidden, where: str) -> None:
    """Say why the role may not do this here, leave it in the audit log (who was refused what,
    where, and why, as ``ragbot`` does for a refused command), and end the page's run."""
    if isinstance(refusal, Action):
        refusal = Forbidden(services.identity, refusal)
    services.audit.refused(f"app: {where}", str(refusal), needs=str(refusal.action))
    st.error(str(refusal))
    st.stop()
