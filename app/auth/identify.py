"""From what a sign-in produced (ID-token claims, or a proxy's headers) to an ``Identity``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from app.auth.alb import ALB_HEADER, AlbTokenVerifier, InvalidProxyToken
from app.auth.roles import RolePolicy
from app.services.access import Identity


class NotSignedIn(Exception):
    """Nobody is signed in on this request."""


class SignInRefused(Exception):
    """Someone is signed in but may not use ragbot (no role, or a proxy header that does not verify)."""


def _groups(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [g.strip() for g in value.split(",") if g.strip()]
    if isinstance(value, (list, tuple, set)):
        return [str(g) for g in value]
    return []


def _verified(value: object) -> bool:
    """``email_verified`` as providers send it: a JSON boolean, or (Cognito through an ALB) "true"."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def identity_from_claims(claims: Mapping[str, object], policy: RolePolicy, *, roles_claim: str, how: str) -> Identity:
    """The identity of a person from their claims: the e-mail (else the subject) is the user id.

    Raises SignInRefused when there is no usable user id, the e-mail is marked unverified
    (``email_verified`` false; a token without the claim is believed), or the policy refuses them."""
    email = claims.get("email")
    if email and not _verified(claims.get("email_verified", True)):
        # The e-mail is the user id and the roles file's key: an address the provider has not
        # verified could name anyone, the admin included.
        raise SignInRefused(
            f"the identity provider has not verified the e-mail {str(email)[:320]!r}; ragbot signs in "
            "verified addresses only: verify it with the provider, then sign in again"
        )
    user = str(email or claims.get("sub") or "").strip()
    if not user:
        raise SignInRefused("the identity provider sent neither an e-mail nor a subject for this user")
    role = policy.role_for(str(email) if email else None, _groups(claims.get(roles_claim)))
    if role is None:
        raise SignInRefused(f"{user} has no ragbot role; ask an admin to add you")
    name = claims.get("name") or claims.get("preferred_username")
    return Identity(user=user[:320], role=role, name=str(name) if name else None, how=how)


def identify_proxy(
    headers: Mapping[str, str],
    policy: RolePolicy,
    *,
    mode: Literal["alb", "header"],
    roles_claim: str,
    verifier: AlbTokenVerifier | None = None,
    user_header: str = "X-Forwarded-Email",
    groups_header: str | None = None,
) -> Identity:
    """The identity a reverse proxy vouches for.

    ``alb``: the signed ``x-amzn-oidc-data`` token, verified. ``header``: the user named in
    ``user_header`` (the proxy must be the only way to reach the app).
    Raises NotSignedIn (no header), SignInRefused (a token that does not verify, or no role).
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    if mode == "alb":
        if verifier is None:
            raise SignInRefused("RAGBOT_AUTH=proxy with the ALB needs RAGBOT_ALB_ARN")
        token = lowered.get(ALB_HEADER)
        if not token:
            raise NotSignedIn(f"no {ALB_HEADER} header: open ragbot through its load balancer")
        try:
            claims = verifier.claims(token)
        except InvalidProxyToken as e:
            raise SignInRefused(str(e)) from e
        return identity_from_claims(claims, policy, roles_claim=roles_claim, how="proxy")
    user = (lowered.get(user_header.lower()) or "").strip()
    if not user:
        raise NotSignedIn(f"no {user_header} header: open ragbot through its sign-in proxy")
    claims = {"email": user if "@" in user else None, "sub": user}
    if groups_header:
        claims[roles_claim] = lowered.get(groups_header.lower())
    return identity_from_claims(claims, policy, roles_claim=roles_claim, how="proxy")
