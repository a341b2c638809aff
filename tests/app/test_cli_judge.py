"""``ragbot judge`` and ``ragbot judge agreement`` through click, with the real OpenAICompatGenerator
as the judge, talking HTTP to a server on 127.0.0.1 that answers like vLLM, and the real SQLite
store under RAGBOT_HOME."""

from __future__ import annotations

import json
import threading

import pytest
from click.testing import CliRunner

from app.cli import CliState, cli
from app.config import Settings
from app.services import Services
from feedback.judge import JUDGE_PROMPT_VERSION, RetryPolicy
from feedback.judge.runner import Judge
from feedback.records import Feedback, Review
from feedback.stores.base import InteractionFilter
from feedback.stores.sqlite import SQLiteFeedbackStore
from tests.feedback.contract import make
from tests.rag.generators.servers import Recorded, Reply, ScriptedServer, chat_completion, serve_role

WELL_FORMED = {
    "Q1": "<thinking>[1] says 412 spaces and so does the answer.</thinking>\n<scoring>4.5</scoring>\n<reason>Right number, cited.</reason>",
    "Q2": "<thinking>The engineer's answer says 25 kN/m2; the bot said 50.</thinking><scoring>1.0</scoring><reason>Wrong load.</reason>",
    "Q3": "<thinking>Partly matches the SME reference.</thinking><scoring>3</scoring><reason>Misses the clause.</reason>",
    "Q6": "Sure! Here is my grading.\n<thinking>Vague.</thinking><scoring>2.5</scoring><reason>Too vague.</reason>",
}
MALFORMED = {
    "Q4": "I think this answer is pretty good overall, maybe a four.",
    "Q5": "<thinking>hm</thinking><scoring>2</scoring> or rather <scoring>4</scoring><reason>unsure</reason>",
}
REPLIES = {**WELL_FORMED, **MALFORMED}


def question_of(request: Recorded) -> str:
    user = request.json["messages"][-1]["content"]
    return user.split("<question>\n", 1)[1].split(" ", 1)[0]


@pytest.fixture
def server():
    with ScriptedServer() as s:
        s.respond = lambda request: chat_completion(REPLIES[question_of(request)])
        yield s


@pytest.fixture
def judge_env(server, monkeypatch):
    serve_role(monkeypatch, "judge", server, "judge-70b", concurrency=3)
    return server


def store() -> SQLiteFeedbackStore:
    return SQLiteFeedbackStore(Settings().home_dir / "feedback.db")


@pytest.fixture
def answers(judge_env):
    """Six answers: rated or not, one with the user's better answer, one with an SME reference."""
    s = store()
    s.put(
        make(
            "a1",
            minutes=1,
            question="Q1 How many parking spaces?",
            context="[1] (a.pdf – page 3)\nParking: 412 spaces.",
            feedback=Feedback(rating=5),
        )
    )
    s.put(make("a2", minutes=2, question="Q2 Slab load?", feedback=Feedback(rating=1, correction="It is 25 kN/m2.")))
    s.put(
        make(
            "a3",
            minutes=3,
            question="Q3 Door width?",
            feedback=Feedback(rating=2),
            review=Review(reference_answer="900 mm clear, clause 08 11 13."),
        )
    )
    s.put(make("a4", minutes=4, question="Q4 Lux?", feedback=Feedback(rating=2)))
    s.put(make("a5", minutes=5, question="Q5 Fire rating?"))
    s.put(make("a6", minutes=6, question="Q6 Dock height?", feedback=Feedback(rating=4)))
    s.close()


def run(*args: str, services: Services | None = None):
    state = CliState(services) if services is not None else CliState()
    return CliRunner().invoke(cli, list(args), obj=state, catch_exceptions=False)


def test_judge_stores_well_formed_scores_keeps_malformed_raw_and_a_second_run_sends_nothing(answers, server):
    result = run("judge", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["selected"], summary["scored"], summary["unparsable"], summary["failed"]) == (6, 4, 2, 0)
    assert summary["judge_model"] == "judge-70b" and summary["prompt_version"] == JUDGE_PROMPT_VERSION
    assert summary["issues"]["no_tags"] == 1 and summary["issues"]["several_scores"] == 1
    assert summary["issues"]["text_outside_tags"] == 2  # Q5's "or rather" and Q6's preamble
    assert summary["seconds"] >= 0
    assert len(server.requests) == 6

    s = store()
    expected = {
        "a1": (4.5, "Right number, cited."),
        "a2": (1.0, "Wrong load."),
        "a3": (3.0, "Misses the clause."),
        "a6": (2.5, "Too vague."),
    }
    for record_id, (score, reason) in expected.items():
        judge = s.get(record_id).judge
        assert (judge.score, judge.reason, judge.judge_model) == (score, reason, "judge-70b")
        assert judge.raw == WELL_FORMED[s.get(record_id).question.split()[0]] and judge.thinking
    for record_id, question in (("a4", "Q4"), ("a5", "Q5")):
        judge = s.get(record_id).judge
        assert judge.score is None and judge.raw == MALFORMED[question] and judge.issues
    assert s.get("a1").feedback.rating == 5  # the judge's write keeps the rest of the record

    # What the judge was shown: question, the reference (the SME's before the user's), answer, passages.
    prompts = {question_of(r): r.json["messages"][-1]["content"] for r in server.requests}
    assert "Parking: 412 spaces." in prompts["Q1"] and "<assistant_answer>\n50 kN/m2 [1].\n" in prompts["Q1"]
    assert "It is 25 kN/m2." in prompts["Q2"] and "engineer who asked" in prompts["Q2"]
    assert "900 mm clear" in prompts["Q3"] and "subject-matter expert" in prompts["Q3"]
    assert "no reference answer" in prompts["Q4"]
    assert all(r.json["model"] == "judge-70b" and r.json["temperature"] == 0.0 for r in server.requests)

    again = run("judge", "--json")
    assert json.loads(again.stdout)["selected"] == 0
    assert len(server.requests) == 6  # nothing sent for what is done


def test_an_interrupted_run_is_resumed_and_each_score_is_stored_as_it_is_made(answers, server, monkeypatch):
    monkeypatch.setenv("RAGBOT_JUDGE_CONCURRENCY", "1")
    seen_in_store: list[int] = []

    def respond(request: Recorded) -> Reply:
        # Before answering the n-th request, the n-1 earlier verdicts are already in the file.
        reader = store()
        seen_in_store.append(len(reader.list(InteractionFilter(judged=True)).items))
        reader.close()
        return chat_completion(REPLIES[question_of(request)])

    server.respond = respond
    first = run("judge", "--limit", "2", "--json")
    assert json.loads(first.stdout)["selected"] == 2
    rest = run("judge", "--json")
    assert json.loads(rest.stdout)["selected"] == 4
    assert seen_in_store == [0, 1, 2, 3, 4, 5]
    assert len(server.requests) == 6 and len({question_of(r) for r in server.requests}) == 6


def test_agreement_matches_hand_computed_values(answers, server):
    assert run("judge").exit_code == 0
    s = store()
    s.set_review("a1", Review(status="validated", reviewer="sme"))  # validated as is: 4.5
    s.set_review("a3", Review(status="validated", reviewer="sme", sme_score=2.0))
    s.set_review("a6", Review(status="validated", reviewer="sme", sme_score=4.0))
    s.set_review("a2", Review(status="rejected", reviewer="sme", sme_score=0.0))  # not validated: left out
    s.close()
    result = run("judge", "agreement", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["judged"] == 4  # a4 and a5 have no usable score
    # Users: (judge, rating) = a1 (4.5, 5), a2 (1.0, 1), a3 (3.0, 2), a6 (2.5, 4); binned judge 5, 1, 3, 3.
    # Quadratic weights (i-j)^2/16: observed sum 2/16/4; expected 4.5/16 -> kappa 1 - 1/9.
    # Ranks of the raw scores 4,1,3,2 against the ratings' 4,1,2,3: sum d^2 = 2 -> rho = 1 - 12/60.
    users = report["users"]
    assert users["n"] == 4
    assert users["kappa"] == pytest.approx(8 / 9, abs=1e-6)
    assert users["spearman"] == pytest.approx(0.8, abs=1e-6)
    assert users["mae"] == pytest.approx(0.5)
    assert users["confusion"] == [[1, 0, 0, 0, 0], [0, 0, 1, 0, 0], [0] * 5, [0, 0, 1, 0, 0], [0, 0, 0, 0, 1]]
    # SMEs: (judge, SME) = a1 (4.5, 4.5), a3 (3.0, 2.0), a6 (2.5, 4.0); binned judge 5, 3, 3 vs 5, 2, 4.
    # Observed 2/16/3; expected (11/3 + 1 + 8/3)/3/16 = 22/144 -> kappa 1 - 6/22; rho 1 - 12/24.
    smes = report["smes"]
    assert smes["n"] == 3
    assert smes["kappa"] == pytest.approx(16 / 22, abs=1e-6)
    assert smes["spearman"] == pytest.approx(0.5, abs=1e-6)
    assert smes["mae"] == pytest.approx(2 / 3, abs=1e-6)
    assert report["kappa_weights"] == "quadratic"

    text = run("judge", "agreement")
    assert "n 4, weighted kappa 0.889, Spearman rho 0.800, MAE 0.500" in text.stdout
    assert "5 Strongly agree" in text.stdout

    only_ana = json.loads(run("judge", "agreement", "--json", "--min-rating", "4").stdout)
    assert only_ana["users"]["n"] == 2  # the export filters apply


def test_throttling_is_retried_with_backoff_and_failures_are_retried_by_the_next_run(judge_env, monkeypatch):
    monkeypatch.setenv("RAGBOT_JUDGE_CONCURRENCY", "1")
    s = store()
    s.put(make("ok", minutes=1, question="Q1 parking?"))
    s.put(make("broken", minutes=2, question="Q2 slab?"))
    s.close()
    calls = {"Q1": 0, "Q2": 0}
    lock = threading.Lock()

    def respond(request: Recorded) -> Reply:
        question = question_of(request)
        with lock:
            calls[question] += 1
            n = calls[question]
        if question == "Q2":
            return Reply.json({"error": {"message": "model crashed"}}, 500, {"Retry-After": "0"})
        if n <= 4:  # the generator's own 3 attempts, then one more after the judge's backoff
            return Reply.json({"error": {"message": "slow down"}}, 429, {"Retry-After": "0"})
        return chat_completion(WELL_FORMED["Q1"])

    judge_env.respond = respond
    services = Services(Settings())
    fast = services.backends.judge
    services.backends.judge = Judge(fast.store, fast.model, concurrency=1, retry=RetryPolicy(attempts=3, backoff=0.01))
    result = run("judge", "--json", services=services)
    assert result.exit_code == 1  # an answer could not be scored
    summary = json.loads(result.stdout)
    assert (summary["scored"], summary["failed"]) == (1, 1)
    assert "HTTP 500" in summary["errors"][0] and "model crashed" in summary["errors"][0]
    assert calls == {"Q1": 5, "Q2": 3}  # a 500 is the generator's to retry, not the judge's
    s = store()
    assert s.get("ok").judge.score == 4.5 and s.get("broken").judge is None  # nothing stored for a failure

    judge_env.respond = lambda request: chat_completion(WELL_FORMED["Q1"])
    again = json.loads(run("judge", "--json").stdout)
    assert (again["selected"], again["scored"]) == (1, 1)


def test_the_human_summary(answers):
    result = run("judge")
    assert result.exit_code == 0
    assert (
        "Judged 6 answers with judge-70b" in result.stdout
        and "4 scored, 2 kept raw with no score, 0 failed" in result.stdout
    )
    assert "no_tags 1" in result.stdout


def test_engineers_may_not_judge(answers, monkeypatch, server):
    monkeypatch.setenv("RAGBOT_ROLE", "engineer")
    for args in (["judge"], ["judge", "agreement"]):
        result = CliRunner().invoke(cli, args, obj=CliState())
        assert result.exit_code == 1 and "refused" in result.output
    assert server.requests == []


def test_a_missing_judge_setting_is_named(monkeypatch):
    monkeypatch.setenv("RAGBOT_JUDGE_BACKEND", "openai")
    monkeypatch.setenv("RAGBOT_JUDGE_OPENAI_MODEL", "judge")
    s = store()
    s.put(make("a"))
    s.close()
    result = CliRunner().invoke(cli, ["judge"], obj=CliState())
    assert result.exit_code == 1
    assert "RAGBOT_JUDGE_BACKEND=openai needs RAGBOT_JUDGE_OPENAI_BASE_URL" in result.output


def test_a_bad_limit_is_a_usage_error():
    result = CliRunner().invoke(cli, ["judge", "--limit", "0"], obj=CliState())
    assert result.exit_code == 2 and "--limit" in result.output


def test_new_answers_are_judged_in_the_background_when_auto_is_on(answers, server, monkeypatch):
    off = Services(Settings())
    assert off.judge.auto_judge("a1") is False
    monkeypatch.setenv("RAGBOT_JUDGE_AUTO", "true")
    monkeypatch.setenv("RAGBOT_ROLE", "engineer")  # the setting decides, not the asker's role
    services = Services(Settings())
    assert services.judge.auto_judge("a1") is True and services.judge.auto_judge("a4") is True
    worker = services.backends.judge_worker
    assert worker.wait_idle(timeout=30)
    worker.stop()
    s = store()
    assert s.get("a1").judge.score == 4.5 and s.get("a4").judge.raw == MALFORMED["Q4"]
    assert s.get("a2").judge is None
    assert sorted(question_of(r) for r in server.requests) == ["Q1", "Q4"]


@pytest.mark.slow
def test_the_local_model_can_be_the_judge(local_model_dir, ragbot, monkeypatch):
    monkeypatch.setenv("RAGBOT_JUDGE_LOCAL_MODEL", str(local_model_dir))  # named on purpose: the model judges
    monkeypatch.setenv("RAGBOT_JUDGE_MAX_NEW_TOKENS", "64")  # a 135M judge's scores are poor; only the path is shown
    s = store()
    s.put(make("a", question="How many parking spaces?", context="[1] (a.pdf – page 3)\nParking: 412 spaces."))
    s.close()
    result = ragbot("judge", "--json")
    summary = json.loads(result.stdout)
    assert summary["selected"] == 1 and summary["scored"] + summary["unparsable"] == 1
    # A run that scored nothing exits 1 (the 135M model rarely keeps the reply form); one that did, 0.
    assert result.exit_code == (0 if summary["scored"] else 1), result.output
    assert summary["judge_model"] == str(local_model_dir)
    judge = store().get("a").judge
    assert judge.raw.strip() and judge.judge_model == str(local_model_dir)


def test_the_stored_reply_cap_is_a_setting(monkeypatch, answers, server):
    server.respond = lambda request: chat_completion(
        "<thinking>" + "x" * 5_000 + "</thinking><scoring>4</scoring><reason>r</reason>"
    )
    monkeypatch.setenv("RAGBOT_JUDGE_MAX_REPLY_CHARS", "1000")
    assert Services(Settings()).backends.judge.max_reply_chars == 1000
    result = run("judge", "--json", "--limit", "1")
    assert json.loads(result.stdout)["issues"]["reply_cut"] == 1
    judged = store().list(InteractionFilter(judged=True)).items
    assert len(judged) == 1 and len(judged[0].judge.raw) < 1_100 and judged[0].judge.score == 4.0


PARKING = "[1] (a.pdf – page 3)\nThe site provides 412 car parking spaces and 38 trailer positions."


def test_with_no_judge_model_configured_answers_are_scored_by_reference_similarity(ragbot):
    """Issue 25, row 4: with the default settings the local 135M model 'judged' for 10 minutes and
    stored replies with no score. Now answers get a labelled reference-similarity score, without
    loading a language model, and the run says what to do next."""
    s = store()
    reference = Review(reference_answer="There are 412 car parking spaces.")
    answers = {
        "right": ("The site provides 412 car parking spaces [1].", reference),
        "wrong": ("The site provides 300 car parking spaces [1].", reference),
        "grounded": ("The site provides 412 car parking spaces [1].", Review()),
        "invented": ("The site provides 950 parking spaces [1].", Review()),
    }
    for i, (answer, review) in enumerate(answers.values()):
        s.put(make(list(answers)[i], minutes=i, question="How many parking spaces?", context=PARKING, review=review))
        s.put(s.get(list(answers)[i]).model_copy(update={"answer": answer}))
    s.put(
        make("notfound", minutes=9, question="Lux?", context=PARKING).model_copy(
            update={"answer": "The documents do not say.", "found": False}
        )
    )
    s.close()

    result = ragbot("judge")
    assert result.exit_code == 0, result.output
    assert "Judged 5 answers with reference-similarity" in result.stdout and "4 scored, 1 kept raw" in result.stdout
    assert "Judging: 0/5 answers" in result.stderr and "Judging: 5/5 answers" in result.stderr
    assert "Next: sort the Review page by AI score" in result.stderr and "RAGBOT_JUDGE_BACKEND" in result.stderr
    judged = {i: store().get(i).judge for i in [*answers, "notfound"]}
    assert {j.judge_model for j in judged.values()} == {"reference-similarity"}
    assert judged["right"].score >= 4.0 and judged["wrong"].score <= 2.0 and "412" in judged["wrong"].reason
    assert judged["grounded"].score == 5.0 and judged["invented"].score <= 2.0 and "950" in judged["invented"].reason
    assert "no_reference" in judged["grounded"].issues and "no_reference" not in judged["right"].issues
    assert judged["notfound"].score is None and judged["notfound"].reason


def test_a_run_that_scores_nothing_exits_1_and_says_what_to_do(ragbot):
    s = store()
    s.put(
        make("nf", question="Lux?", context=PARKING).model_copy(
            update={"answer": "The documents do not say.", "found": False}
        )
    )
    s.close()
    result = ragbot("judge")
    assert result.exit_code == 1
    assert "0 scored, 1 kept raw" in result.stdout and "Write reference answers on the Review page" in result.stderr
    nothing = ragbot("judge")
    assert nothing.exit_code == 0 and "Nothing to judge" in nothing.stderr
