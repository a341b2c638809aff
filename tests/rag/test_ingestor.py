from pathlib import Path

import pytest

from rag.errors import RagError
from rag.ingest.ingestor import Ingestor
from rag.stores.embedded import LanceDBVectorStore
from tests.docs import make_docx, make_pdf


@pytest.fixture
def store(tmp_path):
    return LanceDBVectorStore(tmp_path / "index")


@pytest.fixture
def ingestor(store, embedder):
    return Ingestor(store, embedder)


@pytest.fixture
def docs(tmp_path) -> Path:
    root = tmp_path / "warehouse-standards"
    make_pdf(
        root / "ARS GEN 10.0" / "Design Criteria v20.pdf",
        [
            "Scope of the design criteria.",
            "21 01 13 Parking: 412 car parking spaces.",
            "26 51 00 Lighting: 20 lux in the yard.",
        ],
    )
    make_docx(root / "Contracts" / "Maintenance.docx", ["The contractor inspects sprinklers every quarter."])
    (root / "Guides").mkdir()
    (root / "Guides" / "Onboarding.md").write_text("# Onboarding\nSite inductions take two hours.")
    return root


def sources_in(store):
    return set(store.documents())


def test_sources_are_relative_to_the_root_and_keep_folders(ingestor, store, docs):
    report = ingestor.ingest([docs])
    assert report.ok
    assert sources_in(store) == {
        "ARS GEN 10.0/Design Criteria v20.pdf",
        "Contracts/Maintenance.docx",
        "Guides/Onboarding.md",
    }
    assert report.pages == 5 and report.chunks == store.count()
    info = store.documents()["ARS GEN 10.0/Design Criteria v20.pdf"]
    assert info.pages == 3


def test_bad_files_are_reported_and_the_rest_indexed(ingestor, store, docs, tmp_path):
    make_pdf(docs / "Secret" / "locked.pdf", ["classified"], password="pw")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    (docs / "empty.txt").write_bytes(b"")
    (docs / "drawing.dwg").write_bytes(b"AC1032")
    (docs / ".DS_Store").write_bytes(b"\x00")
    (docs / "Contracts" / "~$Maintenance.docx").write_bytes(b"lock")
    report = ingestor.ingest([docs])
    assert not report.ok
    reasons = {f.source: f.reason for f in report.failed}
    assert reasons.keys() == {"Secret/locked.pdf", "broken.pdf", "empty.txt"}
    assert "encrypted" in reasons["Secret/locked.pdf"]
    assert reasons["empty.txt"] == "empty file"
    assert [(s.source, s.reason) for s in report.skipped] == [("drawing.dwg", "unsupported file type '.dwg'")]
    assert sources_in(store) == {
        "ARS GEN 10.0/Design Criteria v20.pdf",
        "Contracts/Maintenance.docx",
        "Guides/Onboarding.md",
    }
    assert report.files_seen == 7  # hidden files and Office lock files are not documents


def test_reingest_skips_unchanged_and_replaces_changed(ingestor, store, docs, embedder):
    ingestor.ingest([docs])
    before = store.count()
    again = ingestor.ingest([docs])
    assert again.unchanged == 3 and again.indexed == [] and store.count() == before

    (docs / "Guides" / "Onboarding.md").write_text("# Onboarding\nSite inductions now take forty minutes.")
    changed = ingestor.ingest([docs])
    assert changed.indexed == ["Guides/Onboarding.md"] and changed.unchanged == 2
    texts = [r.chunk.text for r in store.search("site inductions", embedder.embed_query("site inductions"), k=10)]
    assert any("forty minutes" in t for t in texts)
    assert not any("two hours" in t for t in texts)
    assert store.count() == before


def test_prune_removes_documents_whose_files_are_gone(ingestor, store, docs):
    ingestor.ingest([docs])
    (docs / "Contracts" / "Maintenance.docx").unlink()
    kept = ingestor.ingest([docs])
    assert "Contracts/Maintenance.docx" in sources_in(store) and kept.pruned == []
    pruned = ingestor.ingest([docs], prune=True)
    assert pruned.pruned == ["Contracts/Maintenance.docx"]
    assert "Contracts/Maintenance.docx" not in sources_in(store)


def test_progress_reports_files_and_pages(ingestor, docs):
    seen = []
    ingestor.ingest([docs], progress=seen.append)
    assert [p.files_done for p in seen] == [1, 2, 3]
    assert all(p.files_total == 3 for p in seen)
    assert seen[-1].pages_done == 5


def test_a_missing_root_is_an_error(ingestor, tmp_path):
    with pytest.raises(RagError, match="no such file or folder"):
        ingestor.ingest([tmp_path / "nope"])


def test_single_file_root_is_cited_by_its_name(ingestor, store, docs):
    ingestor.ingest([docs / "Guides" / "Onboarding.md"])
    assert sources_in(store) == {"Onboarding.md"}


def test_a_broken_docx_does_not_stop_the_batch(ingestor, store, docs):
    import zipfile

    broken = docs / "Contracts" / "Broken.docx"
    with zipfile.ZipFile(docs / "Contracts" / "Maintenance.docx") as good, zipfile.ZipFile(broken, "w") as bad:
        for item in good.infolist():
            data = good.read(item)
            bad.writestr(item, data[: len(data) // 2] if item.filename == "word/document.xml" else data)
    report = ingestor.ingest([docs])
    assert [f.source for f in report.failed] == ["Contracts/Broken.docx"]
    assert "Guides/Onboarding.md" in store.documents()


def test_a_changed_file_that_no_longer_loads_keeps_its_old_version_and_says_so(ingestor, store, docs):
    ingestor.ingest([docs])
    (docs / "Guides" / "Onboarding.md").write_bytes(b"")
    report = ingestor.ingest([docs])
    (failure,) = report.failed
    assert failure.reason == "empty file; the previously indexed version stays searchable"
    assert "Guides/Onboarding.md" in store.documents()


def test_two_roots_with_the_same_relative_path_are_reported(ingestor, store, tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "spec.txt").write_text(f"specification from {name}")
    report = ingestor.ingest([tmp_path / "a", tmp_path / "b"])
    assert report.files_seen == 2 and report.indexed == ["spec.txt"]
    (clash,) = report.skipped
    assert (
        clash.source == "spec.txt"
        and "was not indexed" in clash.reason
        and str(tmp_path / "b" / "spec.txt") in clash.reason
    )
