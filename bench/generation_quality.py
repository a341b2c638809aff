"""Answer quality and prompt size of the local model per runtime and context policy.

For every question of samples/questions.jsonl, retrieves the passages as the app does (the sample
corpus in a fresh RAGBOT_HOME, default top-k), builds the prompt with the passages whole and
trimmed (rag/trimming.py), generates greedy answers with each runtime (in batches where the
generator supports them) and counts, for the paraphrase questions, the answers that state the
evidence's numbers and codes ("numbers right"; for evidence without digits, its last two words).
Also prints whether the evidence survived trimming, prompt tokens, and the wall time per config.

    python -m bench.generation_quality [--runtimes onnx-int4,onnx-fp32,transformers] [--contexts whole,trimmed]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench.local_model import ROOT, is_right, norm, prepare_home, services


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runtimes", default="onnx-int4,onnx-fp32,transformers")
    parser.add_argument("--contexts", default="whole,trimmed")
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--home", type=Path)
    parser.add_argument("--answers", type=Path, help="write every answer here (JSONL)")
    args = parser.parse_args()
    questions = [json.loads(x) for x in (ROOT / "samples/questions.jsonl").read_text().splitlines() if x.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home or Path(tmp)
        prepare_home(home)
        svc = services(home)
        from transformers import AutoTokenizer

        from rag.trimming import ContextTrimmer
        from rag.generators.base import GenerationParams, generate_all
        from rag.generators.local import TransformersGenerator, resolve_model
        from rag.generators.ort import OnnxRuntimeGenerator
        from rag.pipeline import to_citations
        from rag.prompts import build_messages, format_passages

        folder = resolve_model(svc.settings.local_model, svc.settings.models_dir)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        prompts: dict[str, list] = {"whole": [], "trimmed": []}
        kept: dict[str, int] = {"whole": 0, "trimmed": 0}
        for q in questions:
            results = svc.backends.retriever.search(q["query"], k=svc.settings.top_k)
            citations = to_citations(results)
            for name, read in (
                ("whole", citations),
                ("trimmed", ContextTrimmer().select(q["query"], citations, results)),
            ):
                prompts[name].append(build_messages(q["query"], read))
                kept[name] += norm(q["evidence"]) in norm(format_passages(read))
        paraphrase = [i for i, q in enumerate(questions) if q.get("kind") == "paraphrase"]
        params = GenerationParams(max_new_tokens=args.new_tokens)
        out = open(args.answers, "w") if args.answers else None
        print(f"{len(questions)} questions ({len(paraphrase)} paraphrase scored), max_new_tokens {args.new_tokens}")
        print("| runtime | context | evidence in context | prompt tokens (mean) | numbers right | seconds |")
        print("|---|---|---:|---:|---:|---:|")
        for runtime in args.runtimes.split(","):
            if runtime == "transformers":
                gen = TransformersGenerator(str(folder))
            else:
                gen = OnnxRuntimeGenerator(folder, runtime, svc.settings.models_dir, precision=runtime.split("-")[1])
            gen.load()
            for context in args.contexts.split(","):
                started = time.perf_counter()
                answers = generate_all(gen, [prompts[context][i] for i in paraphrase], params)
                seconds = time.perf_counter() - started
                right = sum(is_right(a, questions[i]["evidence"]) for i, a in zip(paraphrase, answers, strict=True))
                tokens = sum(
                    len(
                        tokenizer.apply_chat_template(
                            [m.model_dump() for m in prompts[context][i]], add_generation_prompt=True, return_dict=True
                        )["input_ids"]
                    )
                    for i in paraphrase
                ) / len(paraphrase)
                evidence = sum(
                    norm(questions[i]["evidence"]) in norm(prompts[context][i][0].content) for i in paraphrase
                )
                print(
                    f"| {runtime} | {context} | {evidence}/{len(paraphrase)} | {tokens:.0f} | {right}/{len(paraphrase)} | {seconds:.0f} |",
                    flush=True,
                )
                for i, a in zip(paraphrase, answers, strict=True):
                    if out:
                        out.write(
                            json.dumps(
                                {
                                    "runtime": runtime,
                                    "context": context,
                                    "query": questions[i]["query"],
                                    "evidence": questions[i]["evidence"],
                                    "answer": a,
                                    "right": is_right(a, questions[i]["evidence"]),
                                }
                            )
                            + "\n"
                        )
        if out:
            out.close()


if __name__ == "__main__":
    main()
