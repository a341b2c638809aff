"""``ragbot loop run``: feedback to a registered candidate model, as one resumable operation.

The steps, in order (``training.loop_state.STEPS``):

1. **judge** — the AI judge scores the answers that have no score yet (the app's judge);
2. **eval_set** — the frozen evaluation set takes in newly validated references (``training.evalset``);
3. **dataset** — ``train dataset`` without the evaluation set's records; when its hash, the
   evaluation set and the options are those of the last run that got this far, there is nothing
   new: the run says so and trains nothing;
4. **train** — the method's trainers in turn (``sft``; ``sft`` then ``dpo``; ``sft``, ``reward``,
   then ``rl``), each resuming from its checkpoints;
5. **evaluate** — the candidate and the served model answer the evaluation set; the figures,
   then the gate (``training.gate``); the report as ``ragbot eval`` writes it;
6. **register** — the candidate enters the registry with its card and verdict, and is promoted
   only when asked to (``promote``) and the gate called it better.

After each step the run's state is saved (``training.loop_state``): a run killed or failed once it
reached training is picked up at its first unfinished step by the next ``loop run`` with the same
options; one that stopped before starts over, as those steps are cheap and the feedback may have
changed. A lock keeps two runs apart. Nothing here changes the served model except the last
step's promotion, so a failed run leaves it as it was.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from feedback.records import Interaction
from training.dataset import DatasetOptions, build_dataset
from training.errors import LoopError
from training.evalset import EvalSets
from training.evaluate import EvalReport, answer_all, conclude, judge_all, load_examples, score, write_report
from training.gate import GateOptions
from training.loop_state import STEPS, TRAINERS, LoopOptions, RunState, RunStore, Step
from training.registry import ModelCard, Registry, new_id
from training.trainers.profiles import PROFILES


@dataclass
class LoopContext:
    """What a run needs from the app: its records, judge, embedder and served model."""

    records: Callable[[], Iterable[Interaction]]
    judge: Callable[[], dict]
    embed: Callable[[list[str]], np.ndarray]
    served: Callable[[], tuple[str, str]]
    """(the served model's id, what loads it): a registry id and its folder, or a packaged name."""
    grader: Callable[[], tuple | None]
    """The judge's grading for the gate's judge metrics, None when no judge model is set."""
    user: str
    cache_dir: Path
    gate: GateOptions
    eval_share: float = 0.5
    registered: Callable[[ModelCard, Path], ModelCard] | None = None
    """Called with each registered card and its model folder (e.g. the SageMaker Model Registry)."""


class LoopRunner:
    """Runs the loop under ``root`` (``RAGBOT_HOME/loop``) with the evaluation sets and registry given."""

    def __init__(self, root: Path, evalsets: EvalSets, registry: Registry, context: LoopContext):
        self.store = RunStore(root)
        self.evalsets = evalsets
        self.registry = registry
        self.context = context
        self._records: list[Interaction] | None = None

    def run(
        self, options: LoopOptions, *, fresh: bool = False, progress: Callable[[str], None] | None = None
    ) -> RunState:
        """One run, resumed or new; returns its final state (finished, nothing new).

        Raises:
            LoopError: another run holds the lock; or a step failed (the state says which; the
                served model is untouched; the next run resumes from that step).
        """
        say = progress or (lambda line: None)
        with self.store.lock() as holding:
            state = self._resume_or_start(options, fresh, say)
            holding(state.id)
            for name in STEPS:
                if state.done(name) or state.status == "nothing new":
                    continue
                say(f"{name}…")
                started = time.perf_counter()
                try:
                    detail = getattr(self, f"_{name}")(state, say)
                except Exception as e:
                    state.steps.append(Step(name=name, status="failed", seconds=_since(started), detail={}))
                    state.status, state.error = "failed", f"{name}: {e}"
                    state.message = (
                        f"the {name} step failed: {e}. The served model is untouched; `ragbot loop run` "
                        f"again resumes run {state.id} from there once the cause is fixed (--fresh starts over)."
                    )
                    self.store.save(state)
                    raise LoopError(state.message) from e
                state.steps.append(Step(name=name, status="done", seconds=_since(started), detail=detail))
                self.store.save(state)
            if state.status == "running":
                state.status = "finished"
                state.message = self._conclusion(state)
                self.store.save(state)
            return state

    def _resume_or_start(self, options: LoopOptions, fresh: bool, say) -> RunState:
        for earlier in self.store.runs():
            if earlier.status not in ("running", "failed"):
                continue
            trained = earlier.done("dataset") is not None
            if earlier.options == options and trained and not fresh:
                earlier.status, earlier.error, earlier.resumed = "running", None, earlier.resumed + 1
                earlier.steps = [s for s in earlier.steps if s.status == "done"]
                say(f"resuming run {earlier.id} after {', '.join(s.name for s in earlier.steps)}")
                self.store.save(earlier)
                return earlier
            earlier.status = "abandoned"
            earlier.message = "left unfinished: a later run started over"
            self.store.save(earlier)
        now = datetime.now(UTC)
        state = RunState(id=f"{now:%Y%m%d-%H%M%S-%f}", started_at=now, updated_at=now, options=options)
        self.store.save(state)
        return state

    # -- the steps: each returns the figures it records ------------------------------------------

    def _judge(self, state: RunState, say) -> dict:
        if not state.options.judge:
            return {"skipped": "--no-judge"}
        return self.context.judge()

    def records(self) -> list[Interaction]:
        if self._records is None:
            self._records = list(self.context.records())
        return self._records

    def _base(self, options: LoopOptions) -> str:
        return options.base or PROFILES["sft"][options.profile].base

    def _counter(self, options: LoopOptions):
        from training.tokens import load_tokenizer

        return load_tokenizer(self._base(options), self.context.cache_dir)

    def _eval_set(self, state: RunState, say) -> dict:
        card = self.evalsets.freeze(self.records(), self._counter(state.options), share=self.context.eval_share)
        state.eval_set = card.hash
        return {"hash": card.hash, "version": card.version, "questions": card.questions, "added": card.added}

    def _dataset(self, state: RunState, say) -> dict:
        options = DatasetOptions(min_examples=state.options.min_examples)
        held = self.evalsets.card(state.eval_set).holdout()
        source = {"store": "feedback store", "loop_run": state.id}
        folder = self.store.folder(state.id) / "data"
        card = build_dataset(self.records(), folder, self._counter(state.options), options, source, held)
        state.data_hash = card.data_hash
        detail = {
            "data_hash": card.data_hash,
            "records": card.records.used,
            "eval_set_excluded": card.eval_set.excluded if card.eval_set else 0,
        } | {f"{kind}_train": f.train for kind, f in card.files.items()}
        same = self._last_with_data(state)
        if same is not None:
            state.status = "nothing new"
            state.message = (
                f"nothing new since run {same.id}: the same data (hash {card.data_hash[:12]}), evaluation set and "
                f"options; trained nothing (its candidate: {same.candidate or 'none'})"
            )
        return detail

    def _last_with_data(self, state: RunState) -> RunState | None:
        """The latest earlier run that got past the dataset step with the same inputs, if any."""
        for earlier in self.store.runs():
            if earlier.id == state.id or earlier.status not in ("finished", "nothing new"):
                continue
            keys = ("data_hash", "eval_set")
            if (
                all(getattr(earlier, k) == getattr(state, k) for k in keys)
                and earlier.options.method == state.options.method
            ):
                if earlier.options.profile == state.options.profile and self._base(earlier.options) == self._base(
                    state.options
                ):
                    return earlier
        return None

    def _train(self, state: RunState, say) -> dict:
        from training.trainers.dpo import train_preference
        from training.trainers.reward import train_reward
        from training.trainers.rl import train_rl
        from training.trainers.sft import train_sft

        o = state.options
        folder = self.store.folder(state.id)
        data, out = folder / "data", folder / "train"
        common = dict(profile_name=o.profile, max_steps=o.max_steps, overrides=dict(o.overrides))
        lm = dict(common, cache_dir=self.context.cache_dir)
        figures = {}
        for trainer in TRAINERS[o.method]:
            say(f"train {trainer}…")
            if trainer == "sft":
                metrics = train_sft(data, out / "sft", base=self._base(o), **lm)
            elif trainer == "dpo":
                metrics = train_preference("dpo", data, out / "dpo", policy=str(out / "sft"), **lm)
            elif trainer == "reward":
                metrics = train_reward(data, out / "reward", **common)
            else:
                metrics = train_rl(data, str(out / "sft"), out / "reward", out / "rl", **lm)
            figures[trainer] = {k: v for k, v in metrics.items() if isinstance(v, int | float)}
        return figures

    def _candidate_folder(self, state: RunState) -> Path:
        last = TRAINERS[state.options.method][-1]
        return self.store.folder(state.id) / "train" / last

    def _evaluate(self, state: RunState, say) -> dict:
        o = state.options
        examples = load_examples(self.evalsets.examples_path(state.eval_set), o.eval_limit)
        prompts, references = [p for p, _ in examples], [r for _, r in examples]
        served_id, served_path = self.context.served()
        state.served = served_id
        say(f"evaluate: the candidate and {served_id} answer {len(examples)} questions…")
        answers = {
            "model": answer_all(
                str(self._candidate_folder(state)), prompts, self.context.cache_dir, o.max_new_tokens, o.runtime
            ),
            "baseline": self._served_answers(served_id, served_path, state, prompts),
        }
        report = EvalReport(
            data=str(self.evalsets.examples_path(state.eval_set)),
            model=score(state.id, answers["model"], references, self.context.embed),
            baseline=score(served_id, answers["baseline"], references, self.context.embed),
        )
        grader = self.context.grader()
        if grader is not None:
            grade, concurrency = grader
            report.model.judge = judge_all(grade, prompts, answers["model"], references, concurrency)
            report.baseline.judge = judge_all(grade, prompts, answers["baseline"], references, concurrency)
        conclude(report, self.context.gate)
        write_report(report, self.store.folder(state.id) / "eval", answers, examples)
        state.gate, state.verdict = report.gate, report.gate.verdict
        return {"questions": len(examples), "verdict": report.gate.verdict, "reason": report.gate.reason}

    def _served_answers(self, served_id: str, path: str, state: RunState, prompts: list) -> list[str]:
        """The served model's answers, kept per model, set and settings: a registered or packaged
        model never changes, so the next run need not ask it again."""
        o = state.options
        key = f"{served_id}-{state.eval_set[:16]}-{o.max_new_tokens}-{o.eval_limit or 'all'}-{o.runtime}"
        cache = self.store.root / "served-answers" / f"{key}.json"
        if cache.is_file():
            return json.loads(cache.read_text(encoding="utf-8"))
        answers = answer_all(path, prompts, self.context.cache_dir, o.max_new_tokens, o.runtime)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(answers), encoding="utf-8")
        return answers

    def _register(self, state: RunState, say) -> dict:
        o = state.options
        report = EvalReport.model_validate_json((self.store.folder(state.id) / "eval" / "results.json").read_text())
        figures = {
            label: {"model": s.model, "similarity": s.similarity, "numbers_right": s.numbers_right}
            | ({"judge_mean": s.judge.mean, "judge_above_4": s.judge.above_4} if s.judge else {})
            for label, s in (("candidate", report.model), ("served", report.baseline))
        }
        card = ModelCard(
            id=new_id(o.method),
            created_at=datetime.now(UTC),
            base=self._base(o),
            method=o.method,
            profile=o.profile,
            data_hash=state.data_hash,
            eval_set_hash=state.eval_set,
            served=state.served,
            metrics=figures,
            gate=state.gate,
            verdict=state.verdict,
            run_id=state.id,
        )
        card = self.registry.register(self._candidate_folder(state), card)
        state.candidate = card.id
        if self.context.registered is not None:
            card = self.context.registered(card, self.registry.path(card.id))
            self.registry.update(card)
        if o.promote and card.verdict == "better":
            self.registry.promote(card.id, by=self.context.user)
            state.promoted = True
        return {"candidate": card.id, "promoted": state.promoted}

    def _conclusion(self, state: RunState) -> str:
        what = f"candidate {state.candidate}: {state.verdict} than {state.served}"
        if state.promoted:
            return f"{what}; promoted, the app serves it from now on"
        if state.verdict == "better":
            return f"{what}; serve it with `ragbot model promote {state.candidate}`"
        return f"{what}; not served (the gate refused it)"


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 2)
