"""The connection of the OpenSearch store: the client made on first use, authentication (basic
or AWS SigV4 for ``es`` and ``aoss``), what the cluster is (version, plugins), and opensearch-py's
exceptions turned into StoreErrors that say what to do.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

from rag.errors import StoreError

log = logging.getLogger(__name__)

T = TypeVar("T")
Service = Literal["es", "aoss"]


def parse_version(number: str) -> tuple[int, ...]:
    """``"2.19.1"`` → ``(2, 19, 1)``; suffixes such as ``-SNAPSHOT`` are dropped."""
    parts = []
    for part in number.split("-")[0].split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)


def redact_url(url: str) -> str:
    """``url`` without user and password, for messages and logs."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _reason(error: Exception) -> str:
    """The most specific reason OpenSearch gave for a failed request."""
    info = getattr(error, "info", None)
    if isinstance(info, dict):
        detail = info.get("error", info)
        if isinstance(detail, dict):
            root = (detail.get("root_cause") or [detail])[0]
            if isinstance(root, dict) and (root.get("type") or root.get("reason")):
                return f"{root.get('type', 'error')}: {root.get('reason', '')}".strip()
        if isinstance(detail, str):
            return detail
    if isinstance(info, Exception):
        return str(info)
    if info:
        return str(info)[:300]
    return str(getattr(error, "error", None) or error)


def _is_unreachable(error: BaseException | None) -> bool:
    from opensearchpy.exceptions import ConnectionError

    return isinstance(error, ConnectionError)


def _is_missing_index(error: Exception) -> bool:
    if getattr(error, "status_code", None) != 404:
        return False
    return "index_not_found" in f"{getattr(error, 'error', '')}{_reason(error)}"


class Connection:
    """One opensearch-py client for one store, created on first use.

    Args:
        hosts: the cluster's URLs; a user and password in a URL are used for basic auth.
        auth: ``(user, password)``, ``"sigv4"`` (AWS credentials from boto3's chain) or None.
        region: the AWS region for SigV4 (default: boto3's).
        service: ``es`` (Amazon OpenSearch Service) or ``aoss`` (OpenSearch Serverless).
        verify_certs, ca_certs: TLS checks and the CA bundle to check with.
        timeout: seconds to wait for any request.
    """

    def __init__(
        self,
        hosts: Sequence[str],
        *,
        auth: tuple[str, str] | Literal["sigv4"] | None = None,
        region: str | None = None,
        service: Service = "es",
        verify_certs: bool = True,
        ca_certs: str | None = None,
        timeout: float = 30.0,
    ):
        self.hosts = list(hosts)
        self.url = redact_url(self.hosts[0])
        self.auth = auth
        self.region = region
        self.service = service
        self.verify_certs = verify_certs
        self.ca_certs = ca_certs
        self.timeout = timeout
        self._client = None
        self._cluster: dict | None = None
        self._lock = threading.Lock()

    @property
    def serverless(self) -> bool:
        return self.service == "aoss"

    @property
    def made(self) -> bool:
        """Whether the client exists yet (construction stays lazy)."""
        return self._client is not None

    def client(self):
        """The ``opensearchpy.OpenSearch`` client, created on first use."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make_client()
        return self._client

    def _make_client(self):
        try:
            from opensearchpy import OpenSearch
        except ImportError as e:
            raise StoreError(
                "The OpenSearch store needs opensearch-py. Install it with `pip install opensearch-py`."
            ) from e
        kwargs: dict[str, Any] = {
            "hosts": self.hosts,
            "verify_certs": self.verify_certs,
            "timeout": self.timeout,
            "max_retries": 2,
            # Serverless picks every _id, so a _bulk resent after a timeout would index its
            # chunks twice; there a timed-out write fails and its version never becomes current.
            "retry_on_timeout": not self.serverless,
            # Vectors as JSON compress about 3:1; Serverless is not documented to take gzip bodies.
            "http_compress": not self.serverless,
        }
        if self.ca_certs:
            kwargs["ca_certs"] = self.ca_certs
        if self.auth == "sigv4":
            kwargs["http_auth"] = self._sigv4_auth()
        elif self.auth is not None:
            kwargs["http_auth"] = tuple(self.auth)
        return OpenSearch(**kwargs)

    def _sigv4_auth(self):
        try:
            import boto3  # noqa: F401 - what the message below is about
            from opensearchpy import Urllib3AWSV4SignerAuth

            from common.aws import new_session, sdk_region
        except ImportError as e:
            raise StoreError("SigV4 signing needs boto3. Install it with `pip install boto3`.") from e
        session = new_session()
        credentials = session.get_credentials()
        if credentials is None:
            raise StoreError(
                "auth='sigv4' but boto3 found no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                "AWS_PROFILE, or run with an instance or task role."
            )
        region = self.region or sdk_region(session)
        if not region:
            raise StoreError("auth='sigv4' needs an AWS region: set the store's region or AWS_REGION.")
        # The urllib3 signer signs each request with fresh credentials (roles rotate them).
        return Urllib3AWSV4SignerAuth(credentials, region, self.service)

    def close(self) -> None:
        """Close the client's connections (a later call opens new ones)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    @contextmanager
    def errors(self, doing: str):
        """Turn opensearch-py's exceptions into StoreErrors that say what to do."""
        from opensearchpy.exceptions import (
            AuthenticationException,
            AuthorizationException,
            ConnectionError,
            ConnectionTimeout,
            SSLError,
            TransportError,
        )

        try:
            yield
        except StoreError:
            raise
        except ConnectionTimeout as e:
            raise StoreError(
                f"OpenSearch at {self.url} did not answer within {self.timeout:g} s while trying to {doing}."
            ) from e
        except SSLError as e:
            raise StoreError(
                f"TLS to OpenSearch at {self.url} failed while trying to {doing}: {_reason(e)}. "
                "Give the cluster's CA bundle, or turn certificate checks off for a test cluster."
            ) from e
        except ConnectionError as e:
            raise StoreError(
                f"Could not reach OpenSearch at {self.url} to {doing}: {_reason(e)}. "
                "Check that the cluster is running and that OPENSEARCH_URL points at it."
            ) from e
        except AuthenticationException as e:
            how = "the AWS credentials and region (SigV4)" if self.auth == "sigv4" else "the user name and password"
            raise StoreError(
                f"OpenSearch at {self.url} rejected the credentials (HTTP 401) while trying to {doing}: check {how}."
            ) from e
        except AuthorizationException as e:
            raise StoreError(
                f"OpenSearch at {self.url} refused to let this user {doing} (HTTP 403): {_reason(e)}. "
                "Grant the permissions listed in the README."
            ) from e
        except TransportError as e:
            raise StoreError(f"OpenSearch could not {doing} (HTTP {e.status_code}): {_reason(e)}") from e

    def cluster_info(self) -> dict:
        """Version and plugins of the cluster, asked once; empty for Serverless, which has neither."""
        if self._cluster is None:
            info: dict[str, Any] = {"version": None, "distribution": None, "plugins": set()}
            if not self.serverless:
                with self.errors("read the cluster's version"):
                    about = self.client().info()
                version = about.get("version", {})
                info["version"] = parse_version(version.get("number", "0"))
                info["distribution"] = version.get("distribution", "elasticsearch")
                try:
                    with self.errors("list the cluster's plugins"):
                        rows = self.client().cat.plugins(format="json")
                    info["plugins"] = {row.get("component") for row in rows}
                except StoreError as e:  # a user without monitor rights still gets the client fusion
                    log.info("could not list plugins, assuming none: %s", e)
            self._cluster = info
        return self._cluster

    def read(self, doing: str, call: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """Run a read; a missing index reads as None (an empty store), not an error."""
        try:
            with self.errors(doing):
                return call(*args, **kwargs)
        except StoreError as e:
            if _is_missing_index(e.__cause__):
                return None
            raise
