"""Who is signed in: roles from the roles file and groups, and the ALB's signed header verified
against a key served over HTTP like the ALB's key endpoint."""

from __future__ import annotations

import http.server
import threading
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from app.auth import NotSignedIn, RolePolicy, SignInRefused, identify_proxy, identity_from_claims
from app.auth.alb import AlbTokenVerifier
from app.auth.roles import RolesFileError, read_roles_file

ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/ragbot/50dc6c495c0c9188"
POLICY = RolePolicy(by_group={"ragbot-admins": "admin", "ragbot-smes": "sme"}, by_email={"boss@x.io": "sme"})


def test_the_roles_file_wins_over_groups_and_the_highest_group_counts():
    assert POLICY.role_for("Boss@X.io", ["ragbot-admins"]) == "sme"
    assert POLICY.role_for("ana@x.io", ["staff", "ragbot-smes", "ragbot-admins"]) == "admin"
    assert POLICY.role_for("ana@x.io", ["staff"]) == "engineer"
    assert RolePolicy(unknown="refuse").role_for("ana@x.io", ["staff"]) is None


@given(st.lists(st.text(max_size=20), max_size=5), st.one_of(st.none(), st.text(max_size=40)))
def test_any_groups_give_a_known_role_or_a_refusal(groups, email):
    assert POLICY.role_for(email, groups) in ("engineer", "sme", "admin")


def test_roles_file_lines_and_a_bad_role(tmp_path):
    good = tmp_path / "roles.toml"
    good.write_text('"ana@x.io" = "admin"\n"BO@x.io" = "sme"\n')
    assert read_roles_file(good) == {"ana@x.io": "admin", "bo@x.io": "sme"}
    bad = tmp_path / "bad.toml"
    bad.write_text('"ana@x.io" = "root"\n')
    with pytest.raises(RolesFileError, match='"root" is not a role'):
        read_roles_file(bad)


def test_claims_without_a_user_or_role_are_refused():
    with pytest.raises(SignInRefused, match="neither an e-mail nor a subject"):
        identity_from_claims({"name": "x"}, POLICY, roles_claim="groups", how="oidc")
    with pytest.raises(SignInRefused, match="no ragbot role"):
        identity_from_claims({"email": "z@x.io"}, RolePolicy(unknown="refuse"), roles_claim="groups", how="oidc")
    me = identity_from_claims(
        {"email": "ana@x.io", "name": "Ana", "cognito:groups": ["ragbot-smes"]},
        POLICY,
        roles_claim="cognito:groups",
        how="oidc",
    )
    assert (me.user, me.role, me.name) == ("ana@x.io", "sme", "Ana")


@pytest.fixture(scope="module")
def key_server():
    """An HTTP server publishing PEM public keys by kid, as public-keys.auth.elb.REGION.amazonaws.com does."""
    keys = {}
    fetched = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            kid = self.path.rsplit("/", 1)[-1]
            fetched.append(self.path)
            body = keys.get(kid)
            self.send_response(200 if body else 404)
            self.end_headers()
            self.wfile.write((body or "no such key").encode())

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{{region}}/{{kid}}", keys, fetched
    server.shutdown()
    server.server_close()
    thread.join()


def alb_token(private_key, *, kid="k1", signer=ARN, exp_in=60, claims=None) -> str:
    payload = {"sub": "1234", "email": "ana@x.io", "exp": int(time.time()) + exp_in, **(claims or {})}
    headers = {"kid": kid, "signer": signer, "iss": "https://idp.example", "client": "abc", "typ": "JWT"}
    return jwt.encode(payload, private_key, algorithm="ES256", headers=headers)


@pytest.fixture(scope="module")
def alb(key_server):
    url, keys, fetched = key_server
    private = ec.generate_private_key(ec.SECP256R1())
    keys["k1"] = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, AlbTokenVerifier(ARN, key_url=url), fetched


def proxy(headers, verifier):
    return identify_proxy(headers, POLICY, mode="alb", roles_claim="groups", verifier=verifier)


def test_a_verified_alb_header_signs_in_and_the_key_is_fetched_once(alb):
    private, verifier, fetched = alb
    token = alb_token(private, claims={"groups": "ragbot-admins"})
    assert proxy({"X-Amzn-Oidc-Data": token}, verifier).role == "admin"
    assert proxy({"x-amzn-oidc-data": token}, verifier).user == "ana@x.io"
    assert fetched.count("/eu-west-1/k1") == 1


def test_forged_expired_foreign_and_missing_alb_headers_are_refused(alb):
    private, verifier, _ = alb
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(SignInRefused, match="does not verify"):
        proxy({"x-amzn-oidc-data": alb_token(other)}, verifier)  # signed by someone else's key
    with pytest.raises(SignInRefused, match="does not verify"):
        proxy({"x-amzn-oidc-data": alb_token(private, exp_in=-120)}, verifier)
    with pytest.raises(SignInRefused, match="not this load balancer"):
        proxy({"x-amzn-oidc-data": alb_token(private, signer=ARN.replace("ragbot", "other"))}, verifier)
    with pytest.raises(SignInRefused, match="cannot be fetched"):
        proxy({"x-amzn-oidc-data": alb_token(private, kid="unknown")}, verifier)
    with pytest.raises(SignInRefused, match="not a JWT"):
        proxy({"x-amzn-oidc-data": "hello"}, verifier)
    with pytest.raises(NotSignedIn, match="through its load balancer"):
        proxy({}, verifier)
    unsigned = jwt.encode(
        {"email": "root@x.io", "exp": int(time.time()) + 60},
        None,
        algorithm="none",
        headers={"signer": ARN, "kid": "k1"},
    )
    with pytest.raises(SignInRefused, match="does not verify"):
        proxy({"x-amzn-oidc-data": unsigned}, verifier)


def test_a_trusted_header_with_groups():
    me = identify_proxy(
        {"X-Forwarded-Email": "bo@x.io", "X-Forwarded-Groups": "staff,ragbot-smes"},
        POLICY,
        mode="header",
        roles_claim="groups",
        groups_header="X-Forwarded-Groups",
    )
    assert (me.user, me.role, me.how) == ("bo@x.io", "sme", "proxy")
    with pytest.raises(NotSignedIn):
        identify_proxy({}, POLICY, mode="header", roles_claim="groups")


def test_a_bad_load_balancer_arn_is_named():
    with pytest.raises(ValueError, match="is not a load balancer ARN"):
        AlbTokenVerifier("arn:aws:s3:::bucket")


@pytest.mark.parametrize("verified", [False, "false", "False", 0, "no"])
def test_an_unverified_email_never_signs_in(verified):
    """The probe's row 4: the admin's e-mail, unverified, signed in as admin."""
    policy = RolePolicy(by_email={"boss@x.io": "admin"})
    with pytest.raises(SignInRefused, match="not verified"):
        identity_from_claims({"email": "boss@x.io", "email_verified": verified}, policy, roles_claim="g", how="oidc")


@pytest.mark.parametrize("verified", [True, "true", " TRUE ", None])
def test_a_verified_or_unmarked_email_signs_in(verified):
    claims = {"email": "boss@x.io"} | ({} if verified is None else {"email_verified": verified})
    me = identity_from_claims(claims, RolePolicy(by_email={"boss@x.io": "admin"}), roles_claim="g", how="oidc")
    assert (me.user, me.role) == ("boss@x.io", "admin")


def test_an_alb_token_with_an_unverified_admin_email_is_refused(alb):
    private, verifier, _ = alb
    policy = RolePolicy(by_email={"boss@x.io": "admin"})
    for verified in (False, "false"):
        token = alb_token(private, claims={"email": "boss@x.io", "email_verified": verified})
        with pytest.raises(SignInRefused, match="not verified"):
            identify_proxy({"x-amzn-oidc-data": token}, policy, mode="alb", roles_claim="groups", verifier=verifier)
    token = alb_token(private, claims={"email": "boss@x.io", "email_verified": "true"})
    me = identify_proxy({"x-amzn-oidc-data": token}, policy, mode="alb", roles_claim="groups", verifier=verifier)
    assert me.role == "admin"


def test_an_email_never_matches_a_command_line_account():
    policy = RolePolicy(by_email={"os:root": "admin"}, unknown="refuse")
    assert policy.role_for("os:root") is None and policy.role_for("OS:Root ") is None
