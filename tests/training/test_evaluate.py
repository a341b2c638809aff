"""``ragbot eval`` on the real tiny local model, two examples, through click; with ``--judge``, the
real judge (``OpenAICompatGenerator`` over HTTP) grading against a server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import statistics

import numpy as np
import pytest
from click.testing import CliRunner

from app.cli import cli
from app.config import Settings
from app.wiring.backends import Backends
from rag.prompts import INSTRUCTIONS, passages_of
from tests.rag.generators.servers import Reply, ScriptedServer, chat_completion, serve_role
from tests.training.conftest import feedback_set
from training.dataset import DatasetOptions, build_dataset
from training.errors import EvaluationError
from training.evaluate import EvalReport, ModelScores, _plot_similarity, conclude, judge_all, numbers_right, score


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
    # The gate weighs the judge's figures with the others: the same model twice is no better.
    gate = figures["gate"]
    assert gate["verdict"] == "no better" and figures["verdict"].startswith("no better: ")
    assert [m["metric"] for m in gate["metrics"]] == ["numbers_right", "similarity", "judge_mean", "judge_good"]
    assert all(m["difference"] in (0.0, None) for m in gate["metrics"])
    assert "| similarity | 2 |" in report and "| judge_mean |" in report
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


def eval_json(*args: str) -> dict:
    result = CliRunner().invoke(cli, ["eval", *args, "--limit", "1", "--max-new-tokens", "8", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.slow
def test_without_a_baseline_eval_compares_with_the_served_model(tmp_path, tokenizer, local_model_dir, monkeypatch):
    build_dataset(feedback_set(), tmp_path / "ds", tokenizer, DatasetOptions(val_fraction=0.3, min_examples=3), {})
    common = ["--data", str(tmp_path / "ds" / "sft" / "val.jsonl"), "--out", str(tmp_path / "rep")]
    # A trained model beside the served one: the same weights in another folder (hard links).
    trained = tmp_path / "trained"
    shutil.copytree(local_model_dir, trained, copy_function=os.link)
    monkeypatch.setenv("RAGBOT_LOCAL_MODEL", str(local_model_dir))
    figures = eval_json("--model", str(trained), *common)
    assert figures["baseline"]["path"] == str(local_model_dir)
    assert figures["model"]["similarity"] == figures["baseline"]["similarity"]  # greedy, same weights
    # One question: nothing to bootstrap, and the verdict says so.
    assert figures["gate"]["verdict"] == "no better"
    assert figures["verdict"].startswith("no better: nothing measured: fewer than 2 questions with figures")
    assert "**Verdict.** no better: nothing measured" in (tmp_path / "rep" / "report.md").read_text()

    # The served model itself: nothing to compare with, and the reason is given.
    figures = eval_json("--model", str(local_model_dir), *common)
    assert "baseline" not in figures
    assert figures["no_baseline"].startswith(f"No baseline: --model is the served model ({local_model_dir}")
    assert figures["verdict"].startswith("No verdict: a mean similarity alone says little")

    # A served model that cannot be loaded here: the model's figures still come, with why and what to do.
    monkeypatch.setenv("RAGBOT_LOCAL_MODEL", str(tmp_path / "gone"))
    figures = eval_json("--model", str(trained), *common)
    assert "baseline" not in figures and figures["model"]["similarity"] > 0
    assert figures["no_baseline"].startswith(f"No baseline: the served model '{tmp_path / 'gone'}'")
    assert figures["no_baseline"].endswith("; give one with --baseline PATH.")


def test_the_verdict_is_the_gates_with_its_intervals_and_what_to_do():
    rng = np.random.default_rng(0)
    base = list(rng.uniform(0.4, 0.8, 30))

    def scores(name, sims, numbers):
        return ModelScores(
            model=name,
            examples=len(sims),
            similarity=float(np.mean(sims)),
            numbers_right=None,
            similarities=sims,
            numbers=numbers,
        )

    right = [True] * 30
    better = conclude(
        EvalReport(data="d", model=scores("out", [s + 0.1 for s in base], right), baseline=scores("base", base, right))
    )
    assert better.gate.verdict == "better"
    assert better.verdict.startswith(
        "better: better beyond noise on similarity to the reference, worse on none (97.50% intervals of the "
        "difference over questions: numbers right +0.0000 [+0.0000, +0.0000] on 30 questions (same); "
        "similarity to the reference +0.1000 [+0.1000, +0.1000] on 30 questions (better))."
    )
    assert better.verdict.endswith("else RAGBOT_LOCAL_MODEL=out, after reading a few answers in answers.jsonl.")
    # Closer to the references but wrong about the numbers: worse, whatever the similarity.
    wrong = [i % 2 == 0 for i in range(30)]
    worse = conclude(
        EvalReport(data="d", model=scores("out", [s + 0.1 for s in base], wrong), baseline=scores("base", base, right))
    )
    assert worse.gate.verdict == "worse"
    assert worse.verdict.startswith("worse: worse beyond noise on numbers right (")
    assert worse.verdict.endswith("Keep the served model.")
    alone = conclude(EvalReport(data="d", model=scores("out", base, right)))
    assert alone.gate is None and alone.verdict.startswith("No verdict")


def test_a_similarity_rounded_above_one_stays_on_the_plot(tmp_path):
    # A unit vector whose float32 dot product with itself rounds to 1.0000001.
    rng = np.random.default_rng(0)
    vectors = (rng.normal(size=(1, 384)).astype(np.float32) for _ in range(100))
    exact = next(v for v in vectors if (v / np.linalg.norm(v)) @ (v / np.linalg.norm(v)).T > 1)
    scored = score("m", ["412 spaces."], ["412 spaces."], lambda texts: np.repeat(exact, len(texts), axis=0))
    assert scored.similarities == [1.0]
    rows = [("model", scored.model_copy(update={"similarities": [1.0000001, 0.5, -0.2]})), ("baseline", scored)]
    counts = _plot_similarity(rows, tmp_path / "similarity.png")
    assert [sum(c) for c in counts] == [3, 1]  # every answer in a bar, the negative one too
    assert sum(_plot_similarity(rows[1:], tmp_path / "one.png")[0]) == 1
