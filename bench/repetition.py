"""How often the local model repeats itself, and what the repetition controls cost in right numbers.

Issue 28: on the GLPK manual SmolLM2-135M named the right routine, then wrote the same sentence
nine times until the token limit. For the first ``--limit`` questions of a real-document set
(``bench/questions/<corpus>.jsonl``, documents fetched by ``bench/fetch_corpora.py``), each
question is answered through the app's own ``AnswerPipeline`` (retrieval, trimmed passages, the
local model streaming on its default runtime, greedy) once per variant:

* ``none``: no repetition control (the pipeline before issue 28: ``stop_repeats=False``);
* ``stop``: the repeated-sentence stop (rag/generators/repetition.py), the default. Under greedy
  decoding the model writes the same tokens up to the point where the stop ends it, so this row
  is computed from ``none``'s replies (the guard run over each whole reply, as the pipeline runs
  it over the stream) unless it is listed in ``--variants`` to be run live;
* ``ngram<N>+stop``: the runtime's ``no_repeat_ngram_size=N`` (tokens) and the stop;
* ``penalty<P>+stop``: the runtime's ``repetition_penalty=P`` and the stop.

Per variant it prints the share of answers with a repeated sentence (a sentence of 4 words or
more, or a run of 12 words, that comes twice: ``RepetitionGuard`` run over the final text), the
answers whose reply the stop cut, the answers that ran to the token limit, "numbers right" (the
evidence's numbers and codes all in the answer, as bench/generation_quality.py counts them),
mean words per answer and seconds per answer. Asserts nothing.

    nice python -m bench.repetition [--corpus latex-news] [--limit 50] [--home DIR]
        [--variants none,ngram8+stop,penalty1.1+stop] [--answers FILE.jsonl]

``--home`` reuses an index (``ragbot ingest bench/corpora/<corpus>`` into it) and its model
cache; without it the corpus is ingested into a temporary folder first (~4 min for LaTeX News).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.local_model import is_right
from bench.realdocs import CORPORA, load_questions

from rag.generators.repetition import RepetitionGuard

BENCH = Path(__file__).resolve().parent


def variant_settings(name: str) -> dict:
    """Pipeline changes for a variant name: none, stop, ngram<N>+stop, penalty<P>+stop."""
    stop = name == "stop" or name.endswith("+stop")
    head = name.removesuffix("+stop")
    params: dict = {}
    if m := re.fullmatch(r"ngram(\d+)", head):
        params["no_repeat_ngram_size"] = int(m.group(1))
    elif m := re.fullmatch(r"penalty(\d+(?:\.\d+)?)", head):
        params["repetition_penalty"] = float(m.group(1))
    elif head not in ("none", "stop"):
        raise SystemExit(f"unknown variant '{name}': none, stop, ngram<N>+stop or penalty<P>+stop")
    return {"stop_repeats": stop, "params": params}


def has_repeat(text: str) -> bool:
    guard = RepetitionGuard()
    guard.feed(text)
    guard.finish()
    return guard.stopped


class Recording:
    """The generator as the pipeline reads it, keeping what the model wrote before any cut."""

    def __init__(self, inner):
        self.inner = inner
        self.model_id = inner.model_id
        self.supports_streaming = inner.supports_streaming
        self.supports_batch = False
        self.raw = ""

    def stream(self, messages, params=None):
        self.raw = ""
        for piece in self.inner.stream(messages, params):
            self.raw += piece
            yield piece


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="latex-news")
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--home", type=Path)
    parser.add_argument("--variants", default="none", help="run live, e.g. none,stop,ngram8+stop,penalty1.1+stop")
    parser.add_argument("--answers", type=Path, help="write every answer here (JSONL)")
    args = parser.parse_args()
    variants = {name: variant_settings(name) for name in args.variants.split(",")}
    questions = load_questions(args.corpus)[: args.limit]
    with tempfile.TemporaryDirectory(prefix="ragbot-repetition-") as tmp:
        home = args.home or Path(tmp)
        os.environ["RAGBOT_HOME"] = str(home)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        subprocess.run(
            [sys.executable, "-m", "app.cli", "ingest", str(CORPORA / args.corpus), "--if-empty"],
            check=True,
            capture_output=True,
        )
        from transformers import AutoTokenizer

        from app.services import Services
        from rag.generators.local import resolve_model

        services = Services()
        settings = services.settings
        base = services.backends.pipeline
        tokenizer = AutoTokenizer.from_pretrained(resolve_model(settings.local_model, settings.models_dir))
        base.ask(questions[0]["query"])  # loads the embedder, the index and the model
        runtime = getattr(base.generator, "runtime", None)
        print(f"# repetition: {len(questions)} questions of {args.corpus}, model {base.generator.model_id} ({runtime})")
        print(f"# max_new_tokens {base.params.max_new_tokens}, load {os.getloadavg()[0]:.2f} at start")
        out = args.answers.open("w") if args.answers else None
        rows = []
        for name, change in variants.items():
            recording = Recording(base.generator)
            pipeline = dataclasses.replace(
                base,
                generator=recording,
                stop_repeats=change["stop_repeats"],
                params=base.params.model_copy(update=change["params"]),
            )
            found = repeated = cut = at_limit = right = 0
            words, seconds = [], []
            derived = {"repeated": 0, "cut": 0, "right": 0, "words": []} if name == "none" else None
            for q in questions:
                started = time.perf_counter()
                answer = pipeline.ask(q["query"])
                seconds.append(time.perf_counter() - started)
                text = answer.answer
                raw, recording.raw = recording.raw, ""
                found += answer.found
                repeated += has_repeat(text)
                cut += bool(raw) and text != raw.strip()
                at_limit += len(tokenizer.encode(raw, add_special_tokens=False)) >= pipeline.params.max_new_tokens
                ok = is_right(text, q["evidence"])
                right += ok
                words.append(len(text.split()))
                if derived is not None:  # what the stop keeps of this reply
                    guard = RepetitionGuard()
                    guard.feed(raw)
                    guard.finish()
                    stopped_text = guard.text.strip() if raw and answer.found else text
                    derived["repeated"] += has_repeat(stopped_text)
                    derived["cut"] += guard.stopped
                    derived["right"] += is_right(stopped_text, q["evidence"])
                    derived["words"].append(len(stopped_text.split()))
                if out:
                    out.write(json.dumps({"variant": name, "id": q["id"], "right": ok, "answer": text}) + "\n")
                    out.flush()
            n = len(questions)
            rows.append(
                (name, found, repeated / n, cut, at_limit, right, statistics.mean(words), statistics.median(seconds))
            )
            print(
                f"{name:>18}: repeated {repeated}/{n} ({repeated / n:.0%}), cut by the stop {cut}, "
                f"at the token limit {at_limit}, numbers right {right}/{n}, found {found}, "
                f"{statistics.mean(words):.0f} words, {statistics.median(seconds):.1f} s median",
                flush=True,
            )
            if derived is not None and "stop" not in variants:
                d = derived
                rows.append(
                    (
                        "stop (from none)",
                        found,
                        d["repeated"] / n,
                        d["cut"],
                        0,
                        d["right"],
                        statistics.mean(d["words"]),
                        float("nan"),
                    )
                )
                print(
                    f"{'stop (from none)':>18}: repeated {d['repeated']}/{n}, cut by the stop {d['cut']}, numbers right {d['right']}/{n}",
                    flush=True,
                )
        if out:
            out.close()
        print()
        print(
            "| variant | answers with a repeated sentence | cut by the stop | at the token limit | numbers right | words (mean) | s/answer (median) |"
        )
        print("|---|---|---|---|---|---|---|")
        for name, _found, share, cut, at_limit, right, w, s in rows:
            print(f"| {name} | {share:.0%} | {cut} | {at_limit} | {right}/{len(questions)} | {w:.0f} | {s:.1f} |")


if __name__ == "__main__":
    main()
