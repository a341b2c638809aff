import os
import subprocess
import sys

import pytest

from rag.errors import RagError
from rag.ingest.ingestor import Ingestor
from rag.ingest.job import JobState, read_state, resume, run_job, write_state
from rag.stores.embedded import LanceDBVectorStore
from tests.docs import make_pdf


@pytest.fixture
def setup(tmp_path, embedder):
    docs = tmp_path / "docs"
    make_pdf(docs / "a.pdf", ["Parking: 412 car spaces."])
    make_pdf(docs / "b.pdf", ["Lighting: 20 lux in the yard."])
    return Ingestor(LanceDBVectorStore(tmp_path / "index"), embedder), docs, tmp_path / "ingest-job.json"


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_a_job_leaves_its_progress_and_report_for_every_reader(setup):
    ingestor, docs, state_path = setup
    assert read_state(state_path) is None
    report = run_job(ingestor, [docs], state_path)
    state = read_state(state_path)
    assert state.status == "done" and state.files_done == state.files_total == 2
    assert state.report.indexed == report.indexed == ["a.pdf", "b.pdf"]


def test_a_crashed_job_reads_interrupted_and_resumes_without_redoing_files(setup):
    ingestor, docs, state_path = setup
    run_job(ingestor, [docs / "a.pdf"], state_path)  # a.pdf made it before the crash
    write_state(state_path, JobState(roots=[str(docs)], pid=dead_pid(), status="running"))
    assert read_state(state_path).status == "interrupted"
    report = resume(ingestor, state_path)
    assert report.indexed == ["b.pdf"] and report.unchanged == 1
    assert read_state(state_path).status == "done"
    with pytest.raises(RagError, match="no interrupted ingest"):
        resume(ingestor, state_path)


def test_a_second_job_is_refused_while_one_runs(setup):
    ingestor, docs, state_path = setup
    write_state(state_path, JobState(roots=[str(docs)], pid=os.getppid(), status="running"))
    with pytest.raises(RagError, match="already running"):
        run_job(ingestor, [docs], state_path)
