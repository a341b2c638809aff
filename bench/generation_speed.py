"""First-token latency and decode speed of the local model, per runtime and variant, side by side.

Builds the answer prompts the app builds (the sample corpus indexed into a fresh RAGBOT_HOME,
the default top-k, the real retriever), for the questions of issue 14, with the passages whole
(as before rag/trimming.py) and trimmed (as now), then, ``--runs`` times, interleaved:

* transformers (the shipped path: ``TransformersGenerator.stream``, fp32, SDPA, default threads),
  and bare-forward variants of it: eager attention, 1 thread, a static KV cache, int8 dynamic
  quantisation, ``torch.compile`` (``--compile``: minutes of compiling on 2 cores);
* ONNX Runtime GenAI (``OnnxRuntimeGenerator.stream``) with int4, int8 and fp32 weights, on 2
  threads without spinning and int4 on 1 thread, and the same with the prefix cache (a second
  question after the first, as a conversation's next turn);
* llama.cpp through llama-cpp-python on the packaged Q4_1 GGUF, when it is installed (it builds
  from source: ~10 min on 2 cores; not a project dependency).

For each: prompt tokens, first token (from the call to the first text piece, tokenisation and
chat template included), decode tokens/s after the first token, and the process CPU seconds,
which on a shared machine say more than wall time. Prints the median of the runs.

    python -m bench.generation_speed [--runs 3] [--new-tokens 48] [--home DIR] [--only onnx,llama]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from bench.local_model import prepare_home, services

QUESTIONS = ["How many cars can we park on site?", "What is the minimum clear height under sprinklers?"]


def prompts(svc, questions: list[str]) -> dict[str, list[list]]:
    """Messages per context policy ("whole", "trimmed") per question, as AnswerPipeline builds them."""
    from rag.trimming import ContextTrimmer
    from rag.pipeline import to_citations
    from rag.prompts import build_messages

    out: dict[str, list[list]] = {"whole": [], "trimmed": []}
    for q in questions:
        results = svc.backends.retriever.search(q, k=svc.settings.top_k)
        citations = to_citations(results)
        out["whole"].append(build_messages(q, citations))
        out["trimmed"].append(build_messages(q, ContextTrimmer().select(q, citations, results)))
    return out


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def timed_stream(pieces: Iterator[str], count_tokens: Callable[[str], int]) -> dict:
    """Times a stream of text pieces: first piece, then the rest."""
    start = clock()
    first = None
    text = []
    for piece in pieces:
        if first is None:
            first = clock()
        text.append(piece)
    end = clock()
    reply = "".join(text)
    generated = count_tokens(reply)
    first = first or end
    return {
        "first_s": first[0] - start[0],
        "first_cpu_s": first[1] - start[1],
        "decode_tps": (generated - 1) / (end[0] - first[0]) if generated > 1 and end[0] > first[0] else float("nan"),
        "decode_cpu_tps": (generated - 1) / (end[1] - first[1])
        if generated > 1 and end[1] > first[1]
        else float("nan"),
        "new_tokens": generated,
        "reply": reply,
    }


def forward_variant(model, tokenizer, new_tokens: int) -> Callable:
    """Greedy decoding with bare forward calls and the model's dynamic KV cache (no generate(),
    no streamer thread), for model-level variants."""
    import torch

    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")

    def run(messages) -> Iterator[str]:
        enc = tokenizer.apply_chat_template(
            [m.model_dump() for m in messages], add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        with torch.inference_mode():
            out = model(**enc, use_cache=True, logits_to_keep=1)
            for _ in range(new_tokens):
                token = out.logits[:, -1:].argmax(-1)
                if token.item() == eos:
                    return
                yield tokenizer.decode(token[0])
                out = model(input_ids=token, past_key_values=out.past_key_values, use_cache=True, logits_to_keep=1)

    return run


def streamer_variant(generator, params, **overrides) -> Callable:
    """The shipped TransformersGenerator.stream (generate() in a thread, TextIteratorStreamer),
    with generate() keyword arguments overridden."""
    original = generator._generate_kwargs

    def run(messages) -> Iterator[str]:
        generator._generate_kwargs = lambda p: original(p) | overrides
        try:
            yield from generator.stream(messages, params)
        finally:
            generator._generate_kwargs = original

    return run


def build_variants(args, folder: Path, cache: Path, tokenizer) -> dict[str, Callable]:
    from rag.generators.base import GenerationParams

    params = GenerationParams(max_new_tokens=args.new_tokens)
    only = set(args.only.split(",")) if args.only else None
    variants: dict[str, Callable] = {}

    def want(family: str) -> bool:
        return only is None or family in only

    if want("transformers") or want("shipped"):
        from rag.generators.local import TransformersGenerator

        shipped = TransformersGenerator(str(folder))
        variants["transformers fp32 sdpa, streamer (as shipped)"] = streamer_variant(shipped, params)
    if want("transformers"):
        import torch
        from transformers import AutoModelForCausalLM

        variants["transformers fp32 sdpa, streamer, static cache"] = streamer_variant(
            shipped, params, cache_implementation="static"
        )
        eager = AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager").eval()
        variants["transformers fp32 eager"] = forward_variant(eager, tokenizer, args.new_tokens)
        sdpa = AutoModelForCausalLM.from_pretrained(folder, attn_implementation="sdpa").eval()
        variants["transformers fp32 sdpa"] = forward_variant(sdpa, tokenizer, args.new_tokens)

        def one_thread(run):
            def wrapped(m):
                before = torch.get_num_threads()
                torch.set_num_threads(1)
                try:
                    yield from run(m)
                finally:
                    torch.set_num_threads(before)

            return wrapped

        variants["transformers fp32 sdpa 1 thread"] = one_thread(forward_variant(sdpa, tokenizer, args.new_tokens))
        from torch.ao.quantization import quantize_dynamic

        q8 = quantize_dynamic(
            AutoModelForCausalLM.from_pretrained(folder, attn_implementation="sdpa").eval(),
            {torch.nn.Linear},
            dtype=torch.qint8,
        )
        variants["transformers int8 dynamic sdpa"] = forward_variant(q8, tokenizer, args.new_tokens)
        if args.compile:
            compiled = AutoModelForCausalLM.from_pretrained(folder, attn_implementation="sdpa").eval()
            compiled.forward = torch.compile(compiled.forward)
            variants["transformers fp32 sdpa torch.compile"] = forward_variant(compiled, tokenizer, args.new_tokens)
    if want("onnx"):
        from rag.generators.ort import OnnxRuntimeGenerator

        for precision, threads in [("int8", 2), ("int8", 1), ("int4", 2), ("fp32", 2)]:
            gen = OnnxRuntimeGenerator(folder, "bench", cache, threads=threads, precision=precision)
            gen.load()

            def run(m, gen=gen):
                gen._live = None  # no prefix reuse between runs: each run pays its prefill
                return gen.stream(m, params)

            variants[f"onnxruntime-genai {precision}, {threads} thread{'s' * (threads > 1)}"] = run
    if want("llama"):
        try:
            from llama_cpp import Llama
        except ImportError:
            print(
                "llama-cpp-python is not installed: llama.cpp skipped (pip install llama-cpp-python builds it, ~10 min)"
            )
        else:
            from rag.generators.local import _gguf_location

            gguf_folder, filename = _gguf_location("SmolLM2-135M-Instruct")
            llm = Llama(str(gguf_folder / filename), n_ctx=4096, n_threads=2, n_batch=512, verbose=False)

            def llama_run(m):
                for chunk in llm.create_chat_completion(
                    [x.model_dump() for x in m], max_tokens=args.new_tokens, temperature=0.0, stream=True
                ):
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        yield piece

            variants["llama.cpp Q4_1 (llama-cpp-python), 2 threads"] = llama_run
    return variants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--new-tokens", type=int, default=48)
    parser.add_argument(
        "--home", type=Path, help="a RAGBOT_HOME to reuse (the sample corpus is indexed into it if empty)"
    )
    parser.add_argument(
        "--only", help="comma-separated families: transformers, shipped (transformers as shipped only), onnx, llama"
    )
    parser.add_argument("--contexts", default="whole,trimmed")
    parser.add_argument("--compile", action="store_true", help="also torch.compile (minutes of compiling)")
    parser.add_argument("--json", type=Path, help="write every measurement here")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home or Path(tmp)
        prepare_home(home)
        svc = services(home)
        from transformers import AutoTokenizer

        from rag.generators.local import resolve_model

        folder = resolve_model(svc.settings.local_model, svc.settings.models_dir)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        messages = prompts(svc, QUESTIONS)
        variants = build_variants(args, folder, svc.settings.models_dir, tokenizer)
        count = lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"]) + 1  # noqa: E731 (+1: the end token)
        rows: list[dict] = []
        print(
            f"# generation speed  (torch threads {__import__('torch').get_num_threads()}, cpus {os.cpu_count()}, load {os.getloadavg()[0]:.2f} at start)"
        )
        for run in range(args.runs):
            for context in args.contexts.split(","):
                for qi, msgs in enumerate(messages[context]):
                    n_prompt = len(
                        tokenizer.apply_chat_template(
                            [m.model_dump() for m in msgs], add_generation_prompt=True, return_dict=True
                        )["input_ids"]
                    )
                    for name, variant in variants.items():
                        r = timed_stream(variant(msgs), count)
                        r |= {
                            "variant": name,
                            "context": context,
                            "question": qi,
                            "prompt_tokens": n_prompt,
                            "run": run,
                            "load": os.getloadavg()[0],
                        }
                        rows.append(r)
                        print(
                            f"run {run} {context:7} q{qi} {name:48} prompt {n_prompt:5} first {r['first_s']:6.2f}s (cpu {r['first_cpu_s']:5.2f}) decode {r['decode_tps']:6.1f} tok/s (per cpu-s {r['decode_cpu_tps']:6.1f}) load {r['load']:.1f} {r['reply'][:60]!r}",
                            flush=True,
                        )
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1))
        print(
            f"\n#### medians of {args.runs} runs x {len(QUESTIONS)} questions; load {os.getloadavg()[0]:.2f} at end\n"
        )
        print(
            "| variant | context | prompt tokens | first token s | first token cpu-s | decode tok/s | decode tok/cpu-s |"
        )
        print("|---|---|---:|---:|---:|---:|---:|")
        for context in args.contexts.split(","):
            for name in variants:
                sel = [r for r in rows if r["variant"] == name and r["context"] == context]
                med = lambda key: statistics.median(r[key] for r in sel)  # noqa: E731
                print(
                    f"| {name} | {context} | {med('prompt_tokens'):.0f} | {med('first_s'):.2f} | {med('first_cpu_s'):.2f} | {med('decode_tps'):.1f} | {med('decode_cpu_tps'):.1f} |"
                )


if __name__ == "__main__":
    main()
