"""The user an AWS Application Load Balancer signed in, read from its ``x-amzn-oidc-data`` header.

The ALB sends the user's claims as a JWT signed with ES256; the public key for the token's
``kid`` is published at ``https://public-keys.auth.elb.REGION.amazonaws.com/KID``. A header is
only believed when its signature verifies with that key, its ``signer`` is this load balancer
(so a token from another ALB in the same region is refused) and it has not expired. Keys are
cached by ``kid``; they never change for a given ``kid``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

ALB_HEADER = "x-amzn-oidc-data"


class InvalidProxyToken(Exception):
    """The proxy's header is missing, forged, expired or from another load balancer."""


def _fetch(url: str) -> str:
    import httpx

    response = httpx.get(url, timeout=5.0)
    response.raise_for_status()
    return response.text


class AlbTokenVerifier:
    """Verifies ALB user-claims tokens.

    Args:
        alb_arn: the load balancer's ARN; the token's ``signer`` header must equal it.
        region: where its keys are published (default: the ARN's region).
        key_url: template with ``{region}`` and ``{kid}``.
        fetch: how a key is downloaded (tests point it at a local server through ``key_url``).
    """

    def __init__(
        self, alb_arn: str, region: str | None = None, key_url: str = "", fetch: Callable[[str], str] = _fetch
    ):
        parts = alb_arn.split(":")
        if len(parts) < 6 or parts[2] != "elasticloadbalancing":
            raise ValueError(f"RAGBOT_ALB_ARN={alb_arn!r} is not a load balancer ARN (arn:aws:elasticloadbalancing:…)")
        self.alb_arn = alb_arn
        self.region = region or parts[3]
        self.key_url = key_url or "https://public-keys.auth.elb.{region}.amazonaws.com/{kid}"
        self._fetch = fetch
        self._keys: dict[str, str] = {}
        self._lock = threading.Lock()

    def claims(self, token: str | None) -> dict:
        """The verified claims. Raises InvalidProxyToken."""
        import jwt

        if not token:
            raise InvalidProxyToken(f"no {ALB_HEADER} header: requests must come through the load balancer")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as e:
            raise InvalidProxyToken(f"the {ALB_HEADER} header is not a JWT: {e}") from e
        if header.get("signer") != self.alb_arn:
            raise InvalidProxyToken(f"the token was signed by {header.get('signer')!r}, not this load balancer")
        kid = str(header.get("kid", ""))
        if not kid or "/" in kid or ".." in kid:
            raise InvalidProxyToken("the token names no usable key id")
        try:
            return jwt.decode(
                token, self._key(kid), algorithms=["ES256"], options={"require": ["exp"], "verify_aud": False}
            )
        except jwt.PyJWTError as e:
            raise InvalidProxyToken(f"the {ALB_HEADER} token does not verify: {e}") from e

    def _key(self, kid: str) -> str:
        with self._lock:
            if kid not in self._keys:
                try:
                    self._keys[kid] = self._fetch(self.key_url.format(region=self.region, kid=kid))
                except Exception as e:  # noqa: BLE001 - any failure to get the key refuses the request
                    raise InvalidProxyToken(f"the load balancer's key {kid} cannot be fetched: {e}") from e
            return self._keys[kid]
