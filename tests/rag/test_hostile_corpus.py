"""A folder of hostile files (issue 9, items 2, 3, 7): every bad one is reported with its reason,
every good one is indexed, nothing hangs, and the report and catalog are written."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from bench.documents import make_docx_bomb
from rag.errors import LoadError
from rag.ingest.catalog import IngestCatalog
from rag.ingest.ingestor import Ingestor, file_hash, walk, walk_tree
from rag.ingest.loaders import DOCX_MAX_XML_BYTES, load_docx
from rag.stores.embedded import LanceDBVectorStore
from tests.docs import make_docx, make_pdf

LATIN1 = os.fsdecode(b"caf\xe9")  # a name written by a Windows-1252 machine: not UTF-8


@pytest.fixture(autouse=True)
def no_hang():
    """Before the fix a named pipe or a link to /dev/zero blocked forever: fail instead."""

    def hung(signum, frame):
        raise TimeoutError("ingest hung on a file that is not a regular file")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(240)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


GOOD = {"Design/criteria.pdf", "Design/Maintenance.docx", "notes.md", "Design/alias.md"}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile") / "docs"
    make_pdf(root / "Design" / "criteria.pdf", ["21 01 13 Parking: 412 car parking spaces."])
    make_docx(root / "Design" / "Maintenance.docx", ["The contractor inspects sprinklers every quarter."])
    (root / "notes.md").write_text("Fire doors are rated FD60.")
    (root / "Design" / "alias.md").symlink_to(root / "notes.md")  # a link inside the folder is followed
    # Bad files, each with the reason it must be reported under.
    (root / "empty.pdf").write_bytes(b"")
    whole = make_pdf(root / "whole.pdf", ["page one", "page two"]).read_bytes()
    (root / "whole.pdf").unlink()
    (root / "truncated.pdf").write_bytes(whole[: len(whole) // 2])
    make_pdf(root / "locked.pdf", ["secret"], password="pw")
    (root / "random.pdf").write_bytes(os.urandom(4096))
    (root / "random.docx").write_bytes(os.urandom(4096))
    make_docx_bomb(root / "bomb.docx", DOCX_MAX_XML_BYTES // 2**20 + 8)
    os.mkfifo(root / "pipe.txt")
    (root / "zero.pdf").symlink_to("/dev/zero")
    (root / "loop-a.md").symlink_to(root / "loop-b.md")
    (root / "loop-b.md").symlink_to(root / "loop-a.md")
    (root / "Design" / "back").symlink_to(root)  # a folder loop
    (root / "gone.md").symlink_to(root / "deleted.md")
    (root / (LATIN1 + ".md")).write_bytes(b"Caf\xe9 menu.")
    (root / LATIN1).mkdir()
    (root / LATIN1 / "inside.md").write_text("In a folder whose name is not UTF-8.")
    return root


EXPECTED = {
    "empty.pdf": ("failed", "empty file"),
    "truncated.pdf": ("failed", "PDF"),
    "locked.pdf": ("failed", "encrypted"),
    "random.pdf": ("failed", "not a readable PDF"),
    "random.docx": ("failed", "not a readable DOCX"),
    "bomb.docx": ("failed", "MB of XML, over the 128 MB limit"),
    "pipe.txt": ("skipped", "not a regular file (named pipe)"),
    "zero.pdf": ("skipped", "symbolic link to /dev/zero, outside the ingested folder; not followed"),
    "loop-a.md": ("skipped", "symbolic link loop"),
    "loop-b.md": ("skipped", "symbolic link loop"),
    "Design/back": ("skipped", "already walked; not followed again"),
    "gone.md": ("skipped", "broken symbolic link"),
    "caf\\xe9.md": ("failed", "the file name is not valid UTF-8"),
    "caf\\xe9/inside.md": ("failed", "the file name is not valid UTF-8"),
}


def issues(report) -> dict[str, tuple[str, str]]:
    return {i.source: ("failed", i.reason) for i in report.failed} | {
        i.source: ("skipped", i.reason) for i in report.skipped
    }


def test_every_bad_file_is_reported_with_its_reason_and_every_good_file_indexed(hostile, embedder, tmp_path):
    store = LanceDBVectorStore(tmp_path / "index")
    report = Ingestor(store, embedder).ingest([hostile])
    found = issues(report)
    assert found.keys() == EXPECTED.keys(), found
    for source, (where, reason) in EXPECTED.items():
        assert found[source][0] == where and reason in found[source][1], (source, found[source])
    assert set(report.indexed) == GOOD == set(store.documents())
    assert report.files_seen == len(GOOD) + len(EXPECTED)

    # The report and the catalog are written, and the chat can still find every cited file.
    catalog = IngestCatalog(tmp_path / "home")
    catalog.record(report)
    saved = json.loads(catalog.last_report_path.read_text(encoding="utf-8"))
    assert {i["source"] for i in saved["failed"] + saved["skipped"]} == EXPECTED.keys()
    assert catalog.last_report().indexed == report.indexed
    assert catalog.locate("Design/criteria.pdf") == hostile / "Design" / "criteria.pdf"


def test_a_link_to_a_device_is_not_read_even_when_links_are_followed(embedder, tmp_path):
    root = tmp_path / "docs"
    root.mkdir()
    (root / "zero.pdf").symlink_to("/dev/zero")
    os.mkfifo(root / "pipe.txt")
    report = Ingestor(LanceDBVectorStore(tmp_path / "index"), embedder, follow_links=True).ingest([root])
    assert issues(report) == {
        "zero.pdf": ("skipped", "not a regular file (character device)"),
        "pipe.txt": ("skipped", "not a regular file (named pipe)"),
    }


def test_links_leaving_the_folder_are_followed_only_when_asked(tmp_path, embedder):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "shared.md").write_text("Shared clause: HEA06 applies.")
    root = tmp_path / "docs"
    root.mkdir()
    (root / "own.md").write_text("Own clause.")
    (root / "shared").symlink_to(outside)
    default = Ingestor(LanceDBVectorStore(tmp_path / "a"), embedder).ingest([root])
    assert default.indexed == ["own.md"]
    assert issues(default) == {
        "shared": ("skipped", f"symbolic link to {outside}, outside the ingested folder; not followed")
    }
    followed = Ingestor(LanceDBVectorStore(tmp_path / "b"), embedder, follow_links=True).ingest([root])
    assert sorted(followed.indexed) == ["own.md", "shared/shared.md"] and followed.ok


def test_a_root_whose_name_is_not_utf8_is_indexed_and_its_files_found_again(tmp_path, embedder):
    root = tmp_path / (LATIN1 + "-docs")
    root.mkdir()
    (root / "notes.md").write_text("Fire doors are rated FD60.")
    report = Ingestor(LanceDBVectorStore(tmp_path / "index"), embedder).ingest([root])
    assert report.indexed == ["notes.md"] and report.ok
    catalog = IngestCatalog(tmp_path / "home")
    catalog.record(report)
    assert catalog.locate("notes.md") == root / "notes.md"
    assert catalog.last_report().roots == [str(root).replace(LATIN1, "caf\\xe9")]


def test_prune_keeps_documents_whose_files_are_there_but_not_read(tmp_path, embedder):
    root = tmp_path / "docs"
    root.mkdir()
    (root / "a.md").write_text("Alpha.")
    (root / "b.md").write_text("Beta.")
    ingestor = Ingestor(LanceDBVectorStore(tmp_path / "index"), embedder)
    ingestor.ingest([root])
    (root / "b.md").unlink()
    (root / "b.md").symlink_to("/dev/zero")
    report = ingestor.ingest([root], prune=True)
    assert report.pruned == [] and set(ingestor.store.documents()) == {"a.md", "b.md"}


def test_hashing_refuses_what_is_not_a_regular_file(tmp_path):
    folder = tmp_path / "specials"
    folder.mkdir()
    os.mkfifo(folder / "pipe")
    with pytest.raises(LoadError, match="named pipe"):
        file_hash(folder / "pipe")  # opened without blocking, refused on the descriptor
    with pytest.raises(LoadError, match="character device"):
        file_hash(Path("/dev/zero"))
    (folder / "real.md").write_text("text")
    assert list(walk(folder)) == [folder / "real.md"]


def test_a_docx_bomb_is_refused_before_it_is_unpacked(tmp_path):
    bomb = make_docx_bomb(tmp_path / "bomb.docx", DOCX_MAX_XML_BYTES // 2**20 + 1)
    assert bomb.stat().st_size < 4 * 2**20
    with pytest.raises(LoadError, match=r"DOCX unpacks to 129 MB of XML, over the 128 MB limit"):
        load_docx(bomb)
    normal = make_docx(tmp_path / "normal.docx", ["Sprinklers are inspected quarterly."])
    assert "quarterly" in load_docx(normal)[0].text


def test_a_link_to_a_folder_inside_never_hides_the_real_folder(tmp_path):
    root = tmp_path / "docs"
    (root / "A").mkdir(parents=True)
    (root / "Z").mkdir()
    (root / "Z" / "spec.md").write_text("Z spec.")
    (root / "A" / "to-z").symlink_to(root / "Z")  # met before Z in sorted order
    found = {p.relative_to(root).as_posix(): r and r.reason for p, r in walk_tree(root)}
    assert found == {
        "Z/spec.md": None,
        "A/to-z": f"symbolic link to the folder {root / 'Z'}, already walked; not followed again",
    }
