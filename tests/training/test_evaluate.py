"""``ragbot eval`` on the real tiny local model, two examples, through click; with ``--judge``, the
real judge (``OpenAICompatGenerator`` over HTTP) grading against a server on 127.0.0.1."""

from __future__ import annotations

import json
import statistics

import pytest
from click.testing import CliRunner

from app.cli import cli
from app.config import Settings
from app.wiring import Backends
from rag.prompts import INSTRUCTIONS, passages_of
from tests.rag.generators.servers import Reply, ScriptedServer, chat_completion, serve_role
from tests.training.conftest import feedback_set
from training.dataset import DatasetOptions, build_dataset
from training.errors import EvaluationError
from training.evaluate import judge_all, numbers_right


def judge_score(question: str) -> float | None:
    """The scripted judge's score of an answer to ``question``: fixed per question, none for some."""
    value = sum(map(ord, question)) % 7
    return None if value == 6 else float(value) if value < 5 else 4.5


def judge_reply(request) -> Reply:
    user = request.json["messages"][-1]["content"]
    question = user.split("<question>\n", 1)[1].split("\n</question>", 1)[0]
    score = judge_score(question)
    text = (
        "I cannot grade this."
        if score is None
        else f"<thinking>Compared.</thinking><scoring>{score}</scoring><reason>Scripted.</reason>"
    )
    return chat_completion(text)


@pytest.fixture
def judge_server(monkeypatch):
    with ScriptedServer() as server:
        server.respond = judge_reply
        serve_role(monkeypatch, "judge", server, "judge-70b", concurrency=2)
        yield server


def test_eval_scores_model_and_baseline_side_by_side(tmp_path, tokenizer, local_model_dir, judge_server):
    build_dataset(feedback_set(), tmp_path / "ds", tokenizer, DatasetOptions(val_fraction=0.3, min_examples=3), {})
    data = tmp_path / "ds" / "sft" / "val.jsonl"
    model = str(local_model_dir)
    args = [
        "eval",
        "--model",
        model,
        "--baseline",
        model,
        "--data",
        str(data),
        "--out",
        str(tmp_path / "rep"),
        "--limit",
        "2",
        "--max-new-tokens",
        "24",
        "--judge",
        "--json",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["examples"] == 2
    # Greedy decoding: the same model twice gives the same answers, so the same figures.
    assert figures["model"]["similarity"] == figures["baseline"]["similarity"]
    assert 0.0 < figures["model"]["similarity"] <= 1.0
    answers = [json.loads(x) for x in (tmp_path / "rep" / "answers.jsonl").read_text().splitlines()]
    assert len(answers) == 2 and all(a["model"] == a["baseline"] and a["model"] for a in answers)
    report = (tmp_path / "rep" / "report.md").read_text()
    assert f"| model | `{model}` | 2 |" in report and "0.6419" in report

    # The judge graded each of the 2 x 2 answers once, seeing what it sees in the chat: the
    # question, the reference as an SME's, the passages the model read (not the instructions).
    examples = [json.loads(x)["messages"] for x in data.read_text().splitlines()[:2]]
    sent = [r.json["messages"][-1]["content"] for r in judge_server.requests]
    assert len(sent) == 4
    for messages in examples:
        asked = [u for u in sent if f"<question>\n{messages[-2]['content']}\n</question>" in u]
        assert len(asked) == 2
        for u in asked:
            assert f"(written by a subject-matter expert)\n{messages[-1]['content']}" in u
            assert f"<passages>\n{passages_of(messages[0]['content']).strip()}\n</passages>" in u
            assert INSTRUCTIONS not in u
    scores = [judge_score(m[-2]["content"]) for m in examples]
    scored = [x for x in scores if x is not None]
    for label in ("model", "baseline"):
        j = figures[label]["judge"]
        assert j["judge_model"] == "judge-70b"
        assert (j["scored"], j["unscored"]) == (len(scored), len(scores) - len(scored))
        assert j["mean"] == (statistics.mean(scored) if scored else None)
        assert j["above_4"] == (sum(x > 4 for x in scored) / len(scored) if scored else None)
        assert j["below_3"] == (sum(x < 3 for x in scored) / len(scored) if scored else None)
    assert "## The AI judge (`judge-70b`)" in report and "![judge scores](judge.png)" in report
    for plot in ("similarity.png", "judge.png"):
        assert (tmp_path / "rep" / plot).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_eval_judge_is_refused_to_an_engineer_before_any_answer(tmp_path, monkeypatch, judge_server):
    monkeypatch.setenv("RAGBOT_ROLE", "engineer")
    data = tmp_path / "val.jsonl"
    data.write_text(
        json.dumps({"messages": [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}]}) + "\n"
    )
    result = CliRunner().invoke(
        cli, ["eval", "--model", "no-such-model", "--data", str(data), "--out", str(tmp_path / "r"), "--judge"]
    )
    assert result.exit_code == 1
    assert "only the sme or admin role may score answers with the AI judge" in result.output
    assert not (tmp_path / "r").exists() and judge_server.requests == []


def test_a_failing_judge_stops_the_evaluation_with_its_reason(monkeypatch, judge_server):
    judge_server.respond = lambda request: Reply.json({"error": {"message": "no such model"}}, status=400)
    judge = Backends(Settings()).judge
    prompt = [{"role": "system", "content": "x"}, {"role": "user", "content": "How many parking spaces?"}]
    with pytest.raises(EvaluationError, match="^the judge cannot grade: .*HTTP 400.*no such model"):
        judge_all(judge.grade, [prompt], ["412."], ["412 spaces."], judge.concurrency)


def test_eval_refuses_a_file_that_is_not_sft(tmp_path, local_model_dir):
    bad = tmp_path / "prefs.jsonl"
    bad.write_text('{"prompt": [], "chosen": [], "rejected": []}\n')
    result = CliRunner().invoke(
        cli, ["eval", "--model", str(local_model_dir), "--data", str(bad), "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 1
    assert (
        result.output
        == f"Error: {bad} line 1 is not an SFT example (a 'messages' list ending with the assistant's answer)\n"
    )


def test_numbers_right_ignores_citation_markers():
    assert numbers_right("There are 412 spaces.", "412 car parking spaces [1].") is True
    assert numbers_right("There are 120 spaces [1].", "412 car parking spaces [1].") is False
    assert numbers_right("Yes.", "It is on the north side [2].") is None
