"""The OpenSearch cluster of the tests: the cluster at OPENSEARCH_URL when it is set, else the real
single-node OpenSearch of tests/opensearch-node/, built once into .cache/ and started once per test
session (bench/opensearch_node.py). Without a JDK or Maven the tests that need it skip, saying so."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class Cluster:
    """Where the tests' OpenSearch is and how to talk to it."""

    url: str
    auth: tuple[str, str] | None = None
    verify_certs: bool = True
    engine: str = "lucene"

    def env(self) -> dict[str, str]:
        """The settings that point ragbot's command line at this cluster."""
        values = {
            "RAGBOT_VECTOR_STORE": "opensearch",
            "OPENSEARCH_URL": self.url,
            "RAGBOT_OPENSEARCH_VERIFY_CERTS": str(self.verify_certs).lower(),
            "RAGBOT_OPENSEARCH_ENGINE": self.engine,
        }
        if self.auth:
            values |= {
                "RAGBOT_OPENSEARCH_AUTH": "basic",
                "RAGBOT_OPENSEARCH_USER": self.auth[0],
                "RAGBOT_OPENSEARCH_PASSWORD": self.auth[1],
            }
        return values


@pytest.fixture(scope="session")
def opensearch(tmp_path_factory):
    """The session's OpenSearch cluster (see the module docstring)."""
    url = os.environ.get("OPENSEARCH_URL")
    if url:
        user, password = os.environ.get("OPENSEARCH_USER"), os.environ.get("OPENSEARCH_PASSWORD")
        yield Cluster(
            url,
            auth=(user, password or "") if user else None,
            verify_certs=os.environ.get("OPENSEARCH_VERIFY_CERTS", "true").lower() not in ("0", "false", "no"),
            engine=os.environ.get("OPENSEARCH_ENGINE", "lucene"),
        )
        return
    from bench import opensearch_node

    try:
        opensearch_node.build()
    except opensearch_node.Unavailable as e:
        pytest.skip(str(e))
    node = opensearch_node.start(tmp_path_factory.mktemp("opensearch-node"))
    try:
        yield Cluster(node.url)
    finally:
        node.stop()
