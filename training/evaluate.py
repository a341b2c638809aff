"""``ragbot eval``: the seed's metric on a validation file, for a model and optionally a baseline.

For every example of an SFT file (``DIR/sft/val.jsonl``: the prompt as at answer time and the
reference answer), the model answers the prompt greedily and the answer is compared with the
reference by cosine similarity of MiniLM embeddings (the rag embedder: the seed's "semantic
similarity", 0.6419 for plain RAG and 0.8100 after SFT). Also counted: the share of answers that
state every number of the reference ("numbers right"), which a similarity can hide. Models load
through ``rag.generators.local`` exactly as the app loads them (a packaged name, a model folder
or a PEFT adapter, merged once).

With a judge (``--judge``: the app's AI judge, ``feedback.judge``), each answer is also graded
0–5 against the reference and the passages, with the prompt the judge uses on the chat's answers;
the report gives the score distribution (mean, share above 4, share above 3 as the seed reported
it, share below 3).

Beside a baseline (the served model), the verdict is the gate's (``training.gate``): "better",
"no better" or "worse", with the bootstrap interval over questions of each metric's difference.

Writes ``report.md``, ``results.json``, ``answers.jsonl`` and the plots (``similarity.png``,
``judge.png`` with a judge) in the report folder.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from pydantic import BaseModel, Field

from feedback.errors import JudgeModelError
from feedback.records import Interaction, JudgeScore, Review
from rag.prompts import PROMPT_VERSION, passages_of
from training.errors import EvaluationError
from training.gate import GOOD_SCORE, GateOptions, GateResult, decide

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


class JudgeFigures(BaseModel):
    """The judge's scores of one model's answers (None: the reply had no usable score)."""

    judge_model: str
    scored: int
    unscored: int
    mean: float | None
    above_4: float | None
    above_3: float | None
    below_3: float | None
    scores: list[float | None]


class ModelScores(BaseModel):
    model: str
    examples: int
    similarity: float
    numbers_right: float | None
    similarities: list[float]
    numbers: list[bool | None] = Field(default_factory=list, description="Per answer: its numbers right (None: none).")
    judge: JudgeFigures | None = None


class EvalReport(BaseModel):
    data: str
    model: ModelScores
    baseline: ModelScores | None = None
    no_baseline: str | None = None  # why there is no baseline, when there is none
    gate: GateResult | None = None
    verdict: str = ""


def figures(scores: ModelScores) -> dict[str, list[float | None]]:
    """Per metric of the gate, one figure per answer (None where the answer has none)."""
    out: dict[str, list[float | None]] = {
        "similarity": list(scores.similarities),
        "numbers_right": [None if x is None else float(x) for x in scores.numbers],
    }
    if scores.judge is not None:
        out["judge_mean"] = list(scores.judge.scores)
        out["judge_good"] = [None if x is None else float(x >= GOOD_SCORE) for x in scores.judge.scores]
    return out


def conclude(report: EvalReport, options: GateOptions | None = None) -> EvalReport:
    """The gate's verdict on the model against the baseline (none without one), and its words."""
    if report.baseline is not None:
        report.gate = decide(figures(report.model), figures(report.baseline), options)
    report.verdict = verdict(report)
    return report


def verdict(report: EvalReport) -> str:
    """What the gate's verdict means, in plain words, with its intervals, and what to do next."""
    if report.baseline is None or report.gate is None:
        return (
            "No verdict: a mean similarity alone says little; compare with the model it would replace "
            "(--baseline PATH)."
        )
    gate = report.gate
    intervals = "; ".join(d.describe() for d in gate.metrics)
    return (
        f"{gate.verdict}: {gate.reason} ({gate.level:.2%} intervals of the difference over questions: {intervals}). "
        + advice(report)
    )


def advice(report: EvalReport) -> str:
    """What to do after the gate's verdict."""
    if report.gate is None:
        return ""
    if report.gate.verdict == "better":
        return (
            f"To serve it: `ragbot model promote` for a loop candidate, else RAGBOT_LOCAL_MODEL={report.model.model}, "
            "after reading a few answers in answers.jsonl."
        )
    if report.gate.verdict == "worse":
        return "Keep the served model."
    return "Nothing here says to switch."


def load_examples(path: Path, limit: int | None = None) -> list[tuple[list[dict], str]]:
    """(prompt messages, reference answer) per line of an SFT file. Raises EvaluationError."""
    if not path.is_file():
        raise EvaluationError(f"{path} is not a file: give --data DIR/sft/val.jsonl from ragbot train dataset")
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            messages = json.loads(line)["messages"]
            assert messages[-1]["role"] == "assistant" and all({"role", "content"} <= set(m) for m in messages)
        except (ValueError, KeyError, TypeError, IndexError, AssertionError):
            raise EvaluationError(
                f"{path} line {number} is not an SFT example (a 'messages' list ending with the assistant's answer)"
            ) from None
        out.append((messages[:-1], messages[-1]["content"]))
        if limit and len(out) >= limit:
            break
    if not out:
        raise EvaluationError(f"{path} has no examples")
    return out


def numbers_right(answer: str, reference: str) -> bool | None:
    """Whether the answer states every number of the reference (None: the reference has none)."""
    wanted = {n.replace(",", "") for n in _NUMBER.findall(reference)}
    # Citation markers like [1] are not facts.
    wanted -= {m.strip("[]") for m in re.findall(r"\[\d+\]", reference)}
    if not wanted:
        return None
    said = {n.replace(",", "") for n in _NUMBER.findall(answer)}
    return wanted <= said


def score(
    name: str, answers: list[str], references: list[str], embed: Callable[[list[str]], np.ndarray]
) -> ModelScores:
    a = embed(answers)
    r = embed(references)
    a = a / np.linalg.norm(a, axis=1, keepdims=True).clip(1e-12)
    r = r / np.linalg.norm(r, axis=1, keepdims=True).clip(1e-12)
    # Unit vectors' dot product, clipped: float rounding gives 1.0000001 for an exact answer.
    sims = [float(x) for x in np.clip((a * r).sum(axis=1), -1.0, 1.0)]
    numbers = [numbers_right(x, y) for x, y in zip(answers, references, strict=True)]
    checks = [c for c in numbers if c is not None]
    return ModelScores(
        model=name,
        examples=len(answers),
        similarity=float(np.mean(sims)),
        numbers_right=sum(checks) / len(checks) if checks else None,
        similarities=sims,
        numbers=numbers,
    )


Grade = Callable[[Interaction], JudgeScore]


def judge_all(
    grade: Grade, prompts: list[list[dict]], answers: list[str], references: list[str], concurrency: int = 1
) -> JudgeFigures:
    """The judge's verdict on every answer, as it grades a chat answer: the question, the reference
    (as an SME's), the passages the model read and the answer. Raises EvaluationError when the
    judge model fails (an unusable reply is counted, not an error)."""
    records = [
        Interaction(
            session_id="eval",
            user="eval",
            role="eval",
            turn=1,
            question=prompt[-1]["content"],
            answer=answer,
            context=passages_of(prompt[0]["content"]) if prompt[0]["role"] == "system" else "",
            model_id="eval",
            prompt_version=PROMPT_VERSION,
            review=Review(reference_answer=reference),
        )
        for prompt, answer, reference in zip(prompts, answers, references, strict=True)
    ]
    try:
        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            verdicts = list(pool.map(grade, records))
    except JudgeModelError as e:
        raise EvaluationError(f"the judge cannot grade: {e}") from e
    scores = [v.score for v in verdicts]
    scored = [x for x in scores if x is not None]

    def share(keep) -> float | None:
        return sum(1 for x in scored if keep(x)) / len(scored) if scored else None

    return JudgeFigures(
        judge_model=verdicts[0].judge_model if verdicts else "",
        scored=len(scored),
        unscored=len(scores) - len(scored),
        mean=float(np.mean(scored)) if scored else None,
        above_4=share(lambda x: x > 4),
        above_3=share(lambda x: x > 3),
        below_3=share(lambda x: x < 3),
        scores=scores,
    )


def answer_all(model: str, prompts: list[list[dict]], cache_dir: Path, max_new_tokens: int, runtime: str) -> list[str]:
    """Greedy answers of ``model`` (loaded as the app loads it). Raises EvaluationError."""
    from rag.errors import GeneratorError
    from rag.generators.base import GenerationParams, Message, generate_all
    from rag.generators.local import LocalGenerator

    from training.trainers.runs import peft_probe_quiet

    try:
        # An adapter from `train sft` is merged through PEFT on first use: its probe warns alone.
        with peft_probe_quiet():
            generator = LocalGenerator(model, cache_dir, runtime=runtime)
            conversations = [[Message(**m) for m in p] for p in prompts]
            params = GenerationParams(max_new_tokens=max_new_tokens)
            return [a.strip() for a in generate_all(generator, conversations, params)]
    except GeneratorError as e:
        raise EvaluationError(f"the model '{model}' cannot answer: {e}") from e


def write_report(report: EvalReport, out: Path, answers: dict[str, list[str]], examples) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(report.model_dump_json(indent=2) + "\n")
    with (out / "answers.jsonl").open("w") as f:
        for i, (prompt, reference) in enumerate(examples):
            row = {"question": prompt[-1]["content"], "reference": reference}
            row |= {name: values[i] for name, values in answers.items()}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    rows = [("model", report.model)] + ([("baseline", report.baseline)] if report.baseline else [])
    lines = [
        "# Evaluation",
        "",
        f"{report.model.examples} examples of `{report.data}`; MiniLM cosine similarity of each answer to the reference.",
        "",
        "| | model | examples | mean similarity | numbers right |",
        "|---|---|---:|---:|---:|",
    ]
    for label, s in rows:
        right = "–" if s.numbers_right is None else f"{s.numbers_right:.1%}"
        lines.append(f"| {label} | `{s.model}` | {s.examples} | {s.similarity:.4f} | {right} |")
    if report.no_baseline:
        lines += ["", report.no_baseline]
    lines += ["", f"**Verdict.** {report.verdict}"] if report.verdict else []
    if report.gate is not None:
        lines += [
            "",
            f"The gate: {report.gate.level:.2%} bootstrap intervals over questions of the paired difference "
            "(model minus baseline).",
            "",
            "| metric | questions | model | baseline | difference | interval | least gain | outcome |",
            "|---|---:|---:|---:|---:|---|---:|---|",
        ]
        for d in report.gate.metrics:
            cells = ["–"] * 4 if d.difference is None else [
                f"{d.candidate:.4f}", f"{d.served:.4f}", f"{d.difference:+.4f}", f"[{d.low:+.4f}, {d.high:+.4f}]"
            ]  # fmt: skip
            lines.append(f"| {d.metric} | {d.questions} | {' | '.join(cells)} | {d.min_gain:g} | {d.outcome} |")
    lines += ["", "The seed's figures: 0.6419 (plain RAG) → 0.8100 (after SFT), 274 examples.", ""]
    _plot_similarity(rows, out / "similarity.png")
    lines += ["![similarity](similarity.png)", ""]
    judged = [(label, s) for label, s in rows if s.judge is not None]
    if judged:
        lines += [
            f"## The AI judge (`{judged[0][1].judge.judge_model}`)",
            "",
            "Each answer graded 0–5 against the reference answer and the passages, as the judge grades chat answers.",
            "",
            "| | mean score | score > 4 | score > 3 | score < 3 | no usable score |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for label, s in judged:
            j = s.judge
            lines.append(
                f"| {label} | {_fmt(j.mean, '.2f')} | {_fmt(j.above_4, '.1%')} | {_fmt(j.above_3, '.1%')}"
                f" | {_fmt(j.below_3, '.1%')} | {j.unscored} |"
            )
        lines += ["", "The seed's judge: score > 3 for 78.1% of answers before RL, 85.5% after.", ""]
        _plot_judge(judged, out / "judge.png")
        lines += ["![judge scores](judge.png)", ""]
    (out / "report.md").write_text("\n".join(lines))


def _fmt(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _plot_similarity(rows, path: Path) -> list[list[int]]:
    """The histogram of each row's similarities; returns the answers per bar, per row (every
    answer is in a bar: the range reaches below 0 when an answer does)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    values = [np.clip(s.similarities, -1.0, 1.0) for _, s in rows]
    low = min(0.0, *(float(v.min()) for v in values if len(v)))
    counts, _, _ = ax.hist(values, bins=20, range=(low, 1.0), label=[label for label, _ in rows])
    ax.set_xlabel("cosine similarity to the reference")
    ax.set_ylabel("answers")
    ax.set_title("Similarity of each answer to its reference")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    counts = counts if len(rows) > 1 else [counts]
    return [[int(c) for c in row] for row in counts]


def _plot_judge(rows, path: Path) -> None:
    """Answers per judge score (rounded half up to a whole point), one bar per model."""
    from matplotlib.ticker import MaxNLocator

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    width = 0.8 / len(rows)
    for i, (label, s) in enumerate(rows):
        counts = [sum(1 for x in s.judge.scores if x is not None and int(x + 0.5) == point) for point in range(6)]
        ax.bar([p + (i - (len(rows) - 1) / 2) * width for p in range(6)], counts, width, label=label)
    ax.set_xticks(range(6))
    ax.set_xlabel("judge score (0 = wrong or harmful, 5 = correct and supported)")
    ax.set_ylabel("answers")
    ax.set_title("The AI judge's scores")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
