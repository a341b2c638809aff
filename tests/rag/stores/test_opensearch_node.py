"""The test OpenSearch node's builder (bench/opensearch_node.py): where it cannot build, it says why."""

from __future__ import annotations

import pytest

from bench import opensearch_node


def test_without_a_jdk_the_reason_names_it(monkeypatch):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(opensearch_node.shutil, "which", lambda name: None)
    with pytest.raises(opensearch_node.Unavailable, match=r"no JDK \(java\).*OPENSEARCH_URL"):
        opensearch_node.build()


def test_without_maven_an_unbuilt_node_names_it(monkeypatch, tmp_path):
    monkeypatch.setattr(opensearch_node, "STAMP", tmp_path / "never-built")
    monkeypatch.setattr(opensearch_node.shutil, "which", lambda name: "/usr/bin/java" if name == "java" else None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(opensearch_node.Unavailable, match=r"no Maven \(mvn\)"):
        opensearch_node.build()


def test_a_change_to_the_node_project_changes_what_it_is_built_from(monkeypatch, tmp_path):
    project = tmp_path / "opensearch-node"
    (project / "src").mkdir(parents=True)
    (project / "pom.xml").write_text("<project/>")
    (project / "src" / "Main.java").write_text("class Main {}")
    monkeypatch.setattr(opensearch_node, "PROJECT", project)
    before = opensearch_node.sources_digest()
    (project / "target").mkdir()
    (project / "target" / "x.class").write_text("built")
    assert opensearch_node.sources_digest() == before  # build output is not a source
    (project / "src" / "Main.java").write_text("class Main { int port; }")
    assert opensearch_node.sources_digest() != before


def test_the_heap_is_what_the_caller_asks_and_a_size_the_jvm_reads():
    assert "-Xmx3g" in opensearch_node.jvm_options("3g")
    assert opensearch_node.jvm_options("256m")[:2] == ["-Xms256m", "-Xmx256m"]  # no start above the cap
    assert "-Xmx1g" in opensearch_node.jvm_options()
    for bad in ("", "3", "3gb", "lots", "-1g"):
        with pytest.raises(ValueError, match="heap must be a size"):
            opensearch_node.jvm_options(bad)
