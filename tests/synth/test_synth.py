"""``ragbot synth`` end to end: the sample corpus indexed for real, the real OpenAICompatGenerator
talking HTTP to a server on 127.0.0.1 that replies with scripted pairs per page (good ones, one
unsupported, one copied from another page, a leak, a near-duplicate, malformed replies), the real
SQLite store; then validation through ``app.services.review``, ``synth export-eval``, and the
bench's own reader and scorer over ``ragbot search --queries``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app.config import Settings
from bench import retrieval_eval
from feedback.stores.base import InteractionFilter
from tests.rag.generators.servers import Recorded, Reply, ScriptedServer, chat_completion, serve_role

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "samples" / "warehouse-standards"
CRITERIA = "ARS GEN 10.0/05.01.02 Design Criteria/Performance Package Design Criteria v20.1.1.pdf"


def pair(question, answer, support, kind="number"):
    return {"question": question, "answer": answer, "supporting_sentence": support, "kind": kind}


# Synth asks about the longest passage of a page; the pairs below are written from those passages.
DOORS = pair(
    "Which dock door is the designated dangerous-goods receiving door?",
    "DD-114 is the designated dangerous-goods receiving door.",
    "DD-114 is the designated dangerous-goods receiving door.",
)
AREA = pair(
    "What is the gross internal floor area of the Northgate warehouse?",
    "The warehouse gross internal floor area is 46,800 m2.",
    "Warehouse gross internal floor area 46,800 m2",
    "table",
)
REPLIES = {
    # page 6: one good pair, one whose numbers the page does not hold, one that leaks its answer
    6: json.dumps(
        [
            DOORS,
            pair(
                "What clear opening do the level-access doors have?",
                "The level-access doors have a clear opening of 4.5 m wide by 5.0 m high.",
                "Dock doors shall be insulated sectional overhead doors with a clear opening 3.0 m wide by 3.2 m high, 40 mm thick panels and one row of vision panels at 1.5 m above floor level.",
            ),
            pair(
                "Are the dock doors 3.0 m wide by 3.2 m high?",
                "3.0 m wide by 3.2 m high.",
                "clear opening 3.0 m wide by 3.2 m high",
            ),
        ]
    ),
    # page 2: a good pair in prose and a fence, its near-duplicate, an object without an answer
    2: "Here you go:\n```json\n"
    + json.dumps(
        [
            AREA,
            pair(
                "What's the gross internal floor area of the Northgate warehouse?",
                "It is 46,800 m2 of gross internal floor area.",
                "Warehouse gross internal floor area 46,800 m2",
                "table",
            ),
            {"question": "Who is the document owner?", "kind": "fact"},
        ]
    )
    + "\n```",
    # page 9: an answer copied from another page (page 2), and a good one
    9: json.dumps(
        [
            AREA,
            pair(
                "How many pallet positions does the racking layout provide in total?",
                "The racking layout provides 41,760 pallet positions in total.",
                "The racking layout provides 41,760 pallet positions in total.",
            ),
        ]
    ),
    # page 13: supported by the page, but the question leads the retriever elsewhere
    13: json.dumps(
        [
            pair(
                "What K-factor and end-head pressure does the sprinkler standard FP-300 set for ESFR pendent sprinklers?",
                "The battery charging room shall be treated as a high-risk task area.",
                "The battery charging room shall be treated as a high-risk task area.",
                "fact",
            )
        ]
    ),
    # page 4: no JSON at all
    4: "Sure! 1. What is the clear internal height? It is 12.5 m.",
}
PAGE = re.compile(r"Document: (.+) – page (\d+)")


def reply_for(request: Recorded) -> Reply:
    source, page = PAGE.search(request.json["messages"][-1]["content"]).groups()
    return chat_completion(REPLIES.get(int(page), "[]") if source == CRITERIA else "[]")


@pytest.fixture
def server(monkeypatch):
    with ScriptedServer() as s:
        s.respond = reply_for
        serve_role(monkeypatch, "synth", s, "writer-70b", concurrency=3)
        yield s


@pytest.fixture
def services(shared_models, server):
    from app.services import Backends, Services

    def build():
        return Services(backends=shared_models(Backends(Settings())))

    report = build().corpus.ingest([CORPUS])
    assert report.ok
    return build


def run(services, *args: str):
    from click.testing import CliRunner

    from app.cli import CliState, cli

    return CliRunner().invoke(cli, list(args), obj=CliState(services()), catch_exceptions=False)


def test_good_pairs_land_unreviewed_with_their_evidence_the_rest_is_counted_and_a_second_run_asks_nothing(
    services, server, tmp_path
):
    result = run(services, "synth", "--source", CRITERIA, "--per-page", "3", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    pages = {int(PAGE.search(r.json["messages"][-1]["content"]).group(2)) for r in server.requests}
    assert len(server.requests) == summary["passages"] == summary["asked"] == len(pages) >= 10
    assert summary["synth_model"] == "writer-70b" and summary["failed"] == 0
    assert summary["rejected"] == {"malformed": 2, "leak": 1, "unsupported": 2, "duplicate": 1, "unreachable": 1}
    assert summary["stored"] == 3

    store = services().backends.feedback_store
    stored = store.list(InteractionFilter(origin="synthetic"), limit=50).items
    assert sorted(i.question for i in stored) == sorted(
        [DOORS["question"], AREA["question"], REPLIES[9] and json.loads(REPLIES[9])[1]["question"]]
    )
    for i in stored:
        assert (i.user, i.origin, i.review.status, i.model_id) == ("synth", "synthetic", "unreviewed", "writer-70b")
        assert i.review.reference_answer == i.answer
        [c] = i.citations
        assert c.source == CRITERIA and c.text in i.context and i.grounding.supporting[0].text
        assert i.grounding.supporting[0].text.split(",")[0].lower() in c.text.lower()
    doors = next(i for i in stored if i.question == DOORS["question"])
    assert doors.citations[0].page == 6 and "DD-114 is the designated" in doors.citations[0].text
    # Users' statistics do not count them.
    assert services().feedback.stats().total == 0

    # A second run sends no request for the pages done.
    again = run(services, "synth", "--source", CRITERIA, "--json")
    assert again.exit_code == 0, again.output
    second = json.loads(again.stdout)
    assert len(server.requests) == summary["asked"]
    assert second["passages"] == 0 and second["skipped"]["done"] == summary["asked"]

    # SMEs validate the pairs; export-eval writes what the bench reads.
    s = services()
    result = s.review.validate_pairs(InteractionFilter(origin="synthetic"))
    assert (result.done, result.skipped) == (3, 0)
    out = tmp_path / "eval.jsonl"
    exported = run(services, "synth", "export-eval", "--out", str(out))
    assert exported.exit_code == 0 and "3 questions" in exported.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert {(q["source"], q["page"]) for q in lines} == {(CRITERIA, 6), (CRITERIA, 2), (CRITERIA, 9)}

    searched = run(services, "search", "--queries", str(out), "--json", "--k", "5")
    assert searched.exit_code == 0, searched.output
    results = [json.loads(line) for line in searched.stdout.splitlines()]
    scores = retrieval_eval.score(lines, results, 5)
    assert scores["all"]["n"] == 3 and scores["all"]["hit@5"] == 1.0  # every kept pair reached its page


def test_a_bad_kind_is_a_one_line_error(services):
    result = run(services, "synth", "--kinds", "fact,trivia")
    assert result.exit_code == 2 and "trivia" in result.output


def test_with_default_settings_synth_says_plainly_it_cannot_and_loads_nothing(monkeypatch):
    """Issue 25, row 4: the local answer model wrote no parsable pair in 10 minutes, and the run
    ended "0 pairs stored" with exit 0; now it refuses at once, naming the settings to set."""
    from click.testing import CliRunner

    from app.cli import CliState, cli

    for name in ("RAGBOT_SYNTH_BACKEND", "RAGBOT_JUDGE_BACKEND", "RAGBOT_SYNTH_LOCAL_MODEL"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(cli, ["synth", "--limit", "3"], obj=CliState())
    assert result.exit_code == 1
    assert "needs a model that writes JSON" in result.output and "RAGBOT_SYNTH_BACKEND" in result.output
    assert not (Settings().home_dir / "synth" / "passages.jsonl").exists()


@pytest.fixture
def small_corpus(shared_models, server):
    from app.services import Backends, Services

    def build():
        return Services(backends=shared_models(Backends(Settings())))

    assert build().corpus.ingest([CORPUS / "ARS GEN 10.0" / "03 Structure"]).ok
    return build


def test_a_run_that_keeps_no_pair_exits_1_and_says_what_to_do(small_corpus, server):
    server.respond = lambda request: chat_completion("Sure! 1. What is the slab load? It is 50 kN/m2.")
    result = run(small_corpus, "synth", "--limit", "2")
    assert result.exit_code == 1, result.output
    assert "0 pairs stored for review, 2 dropped" in result.stdout
    assert "replies were mostly not the JSON asked for" in result.stderr and "RAGBOT_SYNTH_BACKEND" in result.stderr
    assert "Writing questions: 0/2 pages" in result.stderr and "Writing questions: 2/2 pages" in result.stderr

    nothing = run(small_corpus, "synth", "--source", "no such file.pdf")  # nothing to ask about is no failure
    assert nothing.exit_code == 0 and "Nothing to ask about" in nothing.stderr and len(server.requests) == 2
