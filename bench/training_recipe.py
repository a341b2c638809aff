"""A CPU training recipe for SmolLM2-135M, measured on held-out questions of real documents.

Which training, if any, makes the packaged answer model (SmolLM2-135M-Instruct) better at
answering from passages, within about an hour of CPU time? (issue 28 part 4)

**Data.** The hand-written questions of ``bench/questions/{manuals,latex-news,filings}.jsonl``
(evidence, file, page) and the reference answers of ``replay.jsonl`` and ``replay-tune.jsonl``.
The split is by document (``HELD_OUT``): every referenced question on a held-out document is
evaluated, and training uses only questions on the other documents (asymptote, liboctave,
ExxonMobil, Microsoft, LaTeX News issues 1-18), so no passage and no question is shared.
Every prompt is built as the app builds it: hybrid search over the corpus index (k=5), the
passages trimmed by ``rag.trimming.ContextTrimmer``, ``rag.prompts.build_messages``; a training
question searches the training documents only, so no held-out passage is read in training.

**Targets** of the training questions (feedback-shaped SFT rows, as ``ragbot train dataset``
writes them): ``extractive``, the sentence (or table row) of a passage the model read that
holds the question's evidence, with its citation ("... 16,372 [1]."); ``reference``, the
hand-written reference where a training question has one. A question whose passages miss the
evidence is left out (there is no answer to teach). **DPO** pairs: the base model's own greedy answer
where it misses a number of the evidence (rejected) against the extractive target (chosen).

**Training** goes through ``training.trainers`` (the LoRA path of ``train sft``/``train dpo``
with its TRL settings): ``tiny`` profile settings with the step count, learning rate and LoRA
modules of each recipe, checkpoints every ``--every`` steps (the points of the curve).

**Measure.** Each checkpoint answers the held-out prompts greedily (``training.evaluate``'s
``answer_all`` on ``--runtime``, by default the app's: ONNX Runtime fp32), scored as ``ragbot eval`` scores: MiniLM cosine similarity to
the reference and "numbers right"; each paired with the base model's answers to the same
questions: the mean difference with its 95% bootstrap interval over questions and the verdict
of ``training.gate`` (better / no better / worse, Bonferroni over the two metrics). Answers are
cached per model under ``--work``, so a rerun measures only what is missing.

    nice -n 10 python -m bench.training_recipe [--recipes sft-extractive,dpo-own-wrong] [--steps 60 --every 20]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.realdocs import CACHE, CORPORA, QUESTIONS

# The held-out set's corpora; the three after them are training documents only (more rows to learn from).
CORPUS_NAMES = ("manuals", "latex-news", "filings", "pari", "r-manuals", "toolchains")
SPLIT = QUESTIONS / "training-recipe.jsonl"

# Documents whose referenced questions are the held-out set; nothing is trained on them.
HELD_OUT = {
    "manuals": ("ngspice/", "gmsh/", "gnuplot/"),
    "filings": ("Apple/", "Alphabet/", "Amazon/"),
    "latex-news": tuple(f"ltnews{n:02d}.pdf" for n in range(19, 37)),
    "pari": (),
    "r-manuals": (),
    "toolchains": (),
}


def held_out_document(corpus: str, source: str) -> bool:
    return source.startswith(HELD_OUT[corpus])


def load_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def questions() -> tuple[list[dict], list[dict]]:
    """(held-out, train) from ``bench/questions/training-recipe.jsonl``: the hand-written questions
    of the three corpora, with the references of ``replay*.jsonl`` (as committed when this split
    was made), held out by ``HELD_OUT`` document. Held-out questions all have a reference; a
    training question has evidence, and a reference where one was written. Unanswerable
    questions (no file) are left out."""
    rows = load_jsonl(SPLIT)
    for r in rows:
        if held_out_document(r["corpus"], r["source"]) != (r["split"] == "heldout"):
            raise SystemExit(f"{SPLIT}: {r['id']} is on the wrong side of the document split")
    return [r for r in rows if r["split"] == "heldout"], [r for r in rows if r["split"] == "train"]


# --- prompts, as the app builds them -------------------------------------------------------


def corpus_store(corpus: str, embedder, work: Path):
    """The corpus indexed by ragbot's Ingestor under ``work`` (once; the embeddings are cached)."""
    from rag.ingest.ingestor import Ingestor
    from rag.stores.embedded import LanceDBVectorStore

    folder = work / "index" / corpus
    store = LanceDBVectorStore(folder)
    if not (folder / "built").exists():
        print(f"indexing {corpus} into {folder}", flush=True)
        Ingestor(store, embedder).ingest([CORPORA / corpus])
        (folder / "built").write_text("ok\n")
    return store


PROMPTS_VERSION = 2


def with_evidence(q: dict, results: list) -> list:
    """The top 5 of a training question's ``results``; when none of them holds its evidence and a
    lower one (of the 30) does, that passage takes the place of one of the five (chosen by the
    question's id, so the evidence is not always last), with that place's scores, so the trimmer
    keeps it as it would the passage it replaced. More rows to learn from, none from a held-out
    document; the not-found rows stay out (``train_rows``)."""
    from bench.real_retrieval import holds

    top = results[:5]
    if any(holds(r.chunk.text, q["evidence"]) for r in top) or len(top) < 5:
        return top
    lower = next((r for r in results[5:] if holds(r.chunk.text, q["evidence"])), None)
    if lower is None:
        return top
    at = zlib.crc32(q["id"].encode()) % 5
    top[at] = lower.model_copy(update={"score": top[at].score, "similarity": top[at].similarity})
    return top


def build_prompts(rows: list[dict], work: Path) -> list[dict]:
    """Each question with ``prompt`` (the messages) and ``passages`` (the trimmed citations' texts
    by number), cached in ``work/prompts.jsonl``."""
    cache = work / "prompts.jsonl"
    done = {r["id"]: r for r in load_jsonl(cache)} if cache.exists() else {}
    # A training prompt built before the evidence swap (``with_evidence``) is built again.
    missing = [
        q
        for q in rows
        if q["id"] not in done or (q["split"] == "train" and done[q["id"]].get("version") != PROMPTS_VERSION)
    ]
    if missing:
        from bench.realdocs import CachedEmbedder
        from rag.trimming import ContextTrimmer
        from rag.embedders.local import SentenceTransformerEmbedder
        from rag.pipeline import to_citations
        from rag.prompts import build_messages
        from rag.retrieval import Retriever

        embedder = CachedEmbedder(
            SentenceTransformerEmbedder("all-MiniLM-L6-v2"), CACHE / "embeddings-all-MiniLM-L6-v2.sqlite"
        )
        trimmer = ContextTrimmer()
        for corpus in CORPUS_NAMES:
            todo = [q for q in missing if q["corpus"] == corpus]
            if not todo:
                continue
            retriever = Retriever(corpus_store(corpus, embedder, work), embedder)
            for q in todo:
                results = retriever.search(q["query"], k=5 if q["split"] == "heldout" else 30)
                if q["split"] != "heldout":
                    # A training prompt reads only training documents: no held-out passage is
                    # trained on, even as a passage beside the answer.
                    results = with_evidence(q, [r for r in results if not held_out_document(corpus, r.chunk.source)])
                read = trimmer.select(q["query"], to_citations(results), results)
                done[q["id"]] = {
                    "id": q["id"],
                    "version": PROMPTS_VERSION,
                    "prompt": [m.model_dump() for m in build_messages(q["query"], read)],
                    "passages": {str(c.n): c.text for c in read},
                    "sources": {str(c.n): [c.source, c.page] for c in read},
                }
        cache.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in done.values()))
    return [q | done[q["id"]] for q in rows]


# --- targets -----------------------------------------------------------------------------


def extractive_target(q: dict) -> str:
    """The sentence or table row of a passage the model read that holds the evidence, cited;
    the not-found sentence when no passage holds it."""
    from bench.real_retrieval import holds, squash
    from rag.trimming import segments
    from rag.prompts import NOT_FOUND

    for n, text in q["passages"].items():
        if not holds(text, q["evidence"]):
            continue
        pieces = segments(text)
        wanted = squash(q["evidence"])
        # The segment holding the evidence; else the one holding its longest start.
        best = next((s for s in pieces if wanted in squash(s)), None)
        if best is None:
            best = max(pieces, key=lambda s: _overlap(squash(s), wanted))
        best = " ".join(best.replace("|", " ").split()).strip(" …")
        return f"{best.rstrip('.')} [{n}]."
    return NOT_FOUND


def _overlap(segment: str, evidence: str) -> int:
    return max(
        (k for k in range(len(evidence), 0, -1) if evidence[:k] in segment or evidence[-k:] in segment), default=0
    )


def target(q: dict, kind: str) -> str:
    if kind == "reference":
        return q["reference"]
    return extractive_target(q)


def held_for_val(i: int, n: int) -> bool:
    """Every 8th row goes to val, and the last one when there are fewer than 8 (a profile needs one)."""
    return i % 8 == 7 or (1 < n < 8 and i == n - 1)


def write_sft(rows: list[dict], kind: str, folder: Path) -> int:
    """``folder/sft/{train,val}.jsonl`` as ``ragbot train dataset`` writes them (val: ``held_for_val``)."""
    usable = [q for q in rows if kind != "reference" or q["reference"]]
    (folder / "sft").mkdir(parents=True, exist_ok=True)
    lines = {"train": [], "val": []}
    for i, q in enumerate(usable):
        messages = q["prompt"] + [{"role": "assistant", "content": target(q, kind)}]
        lines["val" if held_for_val(i, len(usable)) else "train"].append(
            json.dumps({"messages": messages}, ensure_ascii=False)
        )
    for split, body in lines.items():
        (folder / "sft" / f"{split}.jsonl").write_text("\n".join(body) + "\n")
    return len(lines["train"])


# --- answers and scores ---------------------------------------------------------------------


def answers_of(model: str, rows: list[dict], work: Path, max_new_tokens: int, runtime: str = "auto") -> list[str]:
    """Greedy answers of ``model`` to the rows' prompts (``ragbot eval``'s path), cached by model."""
    from training.evaluate import answer_all

    key = re.sub(r"[^A-Za-z0-9]+", "_", str(model)).strip("_")[-120:]
    cache = work / "answers" / f"{key}-{max_new_tokens}-{runtime}.json"
    saved = json.loads(cache.read_text()) if cache.exists() else {}
    todo = [r for r in rows if r["id"] not in saved]
    started = time.time()
    cache.parent.mkdir(parents=True, exist_ok=True)
    # In slices, each saved, so a run cut short keeps the answers it has.
    for at in range(0, len(todo), 16):
        part = todo[at : at + 16]
        replies = answer_all(model, [r["prompt"] for r in part], work / "models", max_new_tokens, runtime)
        saved |= {r["id"]: a for r, a in zip(part, replies, strict=True)}
        cache.write_text(json.dumps(saved, indent=1, ensure_ascii=False))
    if todo:
        print(f"  {len(todo)} answers of {model} in {time.time() - started:.0f} s", flush=True)
    return [saved[r["id"]] for r in rows]


def per_question(answers: list[str], rows: list[dict], embed) -> tuple[np.ndarray, np.ndarray]:
    """(similarity to the reference, numbers right as 1/0, NaN where the reference has no number)."""
    from training.evaluate import numbers_right, score

    sims = np.array(score("m", answers, [r["reference"] for r in rows], embed).similarities)
    right = [numbers_right(a, r["reference"]) for a, r in zip(answers, rows, strict=True)]
    return sims, np.array([np.nan if x is None else float(x) for x in right])


def paired_interval(model: np.ndarray, base: np.ndarray) -> tuple[float, float, float]:
    """Mean of model - base over the questions both have a figure for, with its 95% bootstrap
    interval (``training.gate.interval``: percentile, resampling questions, fixed seed)."""
    from training.gate import interval

    keep = ~(np.isnan(model) | np.isnan(base))
    diff = model[keep] - base[keep]
    low, high = interval(diff, 0.95, 10000, 0)
    return float(diff.mean()), low, high


def gate_verdict(model: tuple[np.ndarray, np.ndarray], base: tuple[np.ndarray, np.ndarray]) -> str:
    """``training.gate.decide`` on similarity and numbers right: better, no better or worse."""
    from training.gate import decide

    def figures(pair):
        sims, right = pair
        return {"similarity": sims.tolist(), "numbers_right": [None if np.isnan(x) else x for x in right]}

    return decide(figures(model), figures(base)).verdict


# --- recipes ----------------------------------------------------------------------------------

ATTENTION = ["q_proj", "k_proj", "v_proj", "o_proj"]
ALL_LINEAR = ATTENTION + ["gate_proj", "up_proj", "down_proj"]

RECIPES: dict[str, dict] = {
    # SFT on extractive targets, the tiny profile's LoRA (r=8 on attention).
    "sft-extractive": dict(kind="sft", targets="extractive"),
    # The same rows with the hand-written references as targets (training questions that have one).
    "sft-reference": dict(kind="sft", targets="reference"),
    # More capacity: LoRA r=16 on every linear layer (attention and MLP).
    "sft-extractive-mlp": dict(
        kind="sft", targets="extractive", lora=dict(r=16, lora_alpha=32, target_modules=ALL_LINEAR)
    ),
    # DPO on the base model: its own greedy answers that miss a number of the evidence (rejected)
    # against the extractive target (chosen).
    "dpo-own-wrong": dict(kind="dpo", targets="extractive"),
}


def train_rows(rows: list[dict], targets: str) -> list[dict]:
    """The training questions whose passages hold the evidence (the others have no answer to
    teach), with a reference when ``targets`` is "reference"."""
    from rag.prompts import NOT_FOUND

    found = [r for r in rows if extractive_target(r) != NOT_FOUND]
    return [r for r in found if targets != "reference" or r["reference"]]


def write_preference(rows: list[dict], rejected: list[str], folder: Path) -> int:
    """``folder/preference/{train,val}.jsonl``: the pairs whose rejected answer misses a number."""
    from training.evaluate import numbers_right

    pairs = []
    for r, bad in zip(rows, rejected, strict=True):
        good = extractive_target(r)
        if numbers_right(bad, good) is False and bad.strip() and bad.strip() != good:
            pairs.append({"prompt": r["prompt"], "chosen": [{"role": "assistant", "content": good}],
                          "rejected": [{"role": "assistant", "content": bad.strip()}]})  # fmt: skip
    (folder / "preference").mkdir(parents=True, exist_ok=True)
    split = {
        "train": [p for i, p in enumerate(pairs) if not held_for_val(i, len(pairs))],
        "val": [p for i, p in enumerate(pairs) if held_for_val(i, len(pairs))],
    }
    for name, body in split.items():
        (folder / "preference" / f"{name}.jsonl").write_text(
            "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in body)
        )
    return len(split["train"])


def train_recipe(
    name: str,
    rows: list[dict],
    work: Path,
    steps: int,
    every: int,
    lr: float,
    max_new_tokens: int,
    runtime: str,
    start: str,
) -> Path:
    """Train recipe ``name`` through ``training.trainers`` on the model ``start`` (the packaged one,
    or a checkpoint: its adapter merged first), keeping a checkpoint every ``every`` steps. DPO's
    rejected answers are ``start``'s own. Returns the output folder."""
    from training.trainers.adapter import train_lora_adapter
    from training.trainers.profiles import PACKAGED_LM, profile

    recipe = RECIPES[name]
    # One folder per recipe, start, step count and learning rate: a checkpoint's answers are
    # cached by its path.
    origin = "" if start == PACKAGED_LM else "-from-" + re.sub(r"[^A-Za-z0-9.]+", "_", start).strip("_")[-60:]
    out = work / f"{name}-{steps}steps-lr{lr:g}{origin}"
    if (out / "adapter_config.json").exists():
        return out
    data = work / f"data-{out.name}"
    chosen = train_rows(rows, recipe["targets"])
    overrides = dict(learning_rate=lr, save_steps=every, save_total_limit=None, max_length=1024, eval_strategy="no")
    if recipe["kind"] == "sft":
        from trl import SFTConfig as config_class, SFTTrainer as trainer_class

        count = write_sft(chosen, recipe["targets"], data)
    else:
        from trl import DPOConfig as config_class, DPOTrainer as trainer_class

        from training.evaluate import numbers_right

        # Only a target with a number can be missed by a number (write_preference's test): the
        # model answers those alone.
        chosen = [r for r in chosen if numbers_right("", extractive_target(r)) is not None]
        count = write_preference(chosen, answers_of(start, chosen, work, max_new_tokens, runtime), data)
    settings = profile(recipe["kind"], "tiny", steps, overrides)
    if "lora" in recipe:
        settings = replace(settings, lora=settings.lora | recipe["lora"])
    print(f"training {name}: {count} rows, {steps} steps", flush=True)
    started = time.time()
    extra = dict(completion_only_loss=True) if recipe["kind"] == "sft" else {}
    train_lora_adapter(
        recipe["kind"], "sft" if recipe["kind"] == "sft" else "preference", trainer_class, config_class,
        data=data, out=out, model=start, inputs={"data": str(data), "recipe": name}, settings=settings,
        resume=False, cache_dir=work / "models", **extra,
    )  # fmt: skip
    (out / "recipe.json").write_text(json.dumps({"rows": count, "seconds": round(time.time() - started)}) + "\n")
    return out


def checkpoints(out: Path) -> list[tuple[int, Path]]:
    found = [(int(p.name.split("-")[1]), p) for p in (out / "checkpoints").glob("checkpoint-*")]
    return sorted(found)


# --- the curve --------------------------------------------------------------------------------


def curve_row(label: str, step: int, answers: list[str], held: list[dict], embed, base) -> dict:
    from rag.prompts import says_not_found

    sims, right = per_question(answers, held, embed)
    verdict = "–" if step == 0 else gate_verdict((sims, right), base)
    d_sim = paired_interval(sims, base[0])
    d_right = paired_interval(right, base[1])
    counted = ~np.isnan(right)
    return {
        "recipe": label, "step": step, "similarity": float(sims.mean()), "similarity_diff": d_sim,
        "numbers_right": int(np.nansum(right)), "numbers_total": int(counted.sum()), "numbers_diff": d_right,
        "gate": verdict,
        "not_found": sum(says_not_found(a) or "does not contain the answer" in a.lower() for a in answers),
    }  # fmt: skip


def table(rows: list[dict], examples: int) -> str:
    lines = [
        f"| recipe | steps (examples seen) | similarity | Δ similarity vs base [95% CI] | numbers right"
        f" | Δ numbers right vs base [95% CI] | gate | not found (of {examples}) |",
        "|---|---:|---:|---|---:|---|---|---:|",
    ]
    for r in rows:
        s, n = r["similarity_diff"], r["numbers_diff"]
        lines.append(
            f"| {r['recipe']} | {r['step']} ({2 * r['step']}) | {r['similarity']:.4f} | {s[0]:+.4f} [{s[1]:+.4f}, {s[2]:+.4f}]"
            f" | {r['numbers_right']}/{r['numbers_total']} | {n[0]:+.3f} [{n[1]:+.3f}, {n[2]:+.3f}] | {r['gate']} | {r['not_found']} |"
        )
    return "\n".join(lines)


def by_corpus(rows: list[dict]) -> str:
    return ", ".join(f"{c} {n}" for c in CORPUS_NAMES if (n := sum(r["corpus"] == c for r in rows)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/recipe"), help="checkpoints, answers, caches")
    parser.add_argument("--recipes", default="sft-extractive,dpo-own-wrong", help=f"of {', '.join(RECIPES)}")
    parser.add_argument("--steps", type=int, default=60, help="training steps of each recipe (2 rows a step)")
    parser.add_argument("--every", type=int, default=20, help="a point of the curve every N steps")
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (leave a core to others)")
    parser.add_argument("--start", help="train on this checkpoint (its adapter merged) instead of the packaged model")
    parser.add_argument(
        "--runtime", default="auto", choices=["auto", "onnx", "transformers"], help="as ragbot eval (auto: ONNX fp32)"
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch

    torch.set_num_threads(args.threads)
    from rag.embedders.local import SentenceTransformerEmbedder
    from training.trainers.profiles import PACKAGED_LM

    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    held_questions, train_questions = questions()
    rows = build_prompts(held_questions + train_questions, work)
    held, train = rows[: len(held_questions)], rows[len(held_questions) :]
    print(f"{len(held)} held-out questions, {len(train)} training questions", flush=True)
    embed = SentenceTransformerEmbedder("all-MiniLM-L6-v2").embed_documents
    base = per_question(answers_of(PACKAGED_LM, held, work, args.max_new_tokens, args.runtime), held, embed)
    results = [
        curve_row(
            "base (SmolLM2-135M-Instruct)",
            0,
            answers_of(PACKAGED_LM, held, work, args.max_new_tokens, args.runtime),
            held,
            embed,
            base,
        )
    ]
    print(table(results, len(held)), flush=True)
    for name in args.recipes.split(","):
        out = train_recipe(
            name,
            train,
            work,
            args.steps,
            args.every,
            args.lr,
            args.max_new_tokens,
            args.runtime,
            args.start or PACKAGED_LM,
        )
        label = name if not args.start else f"{name} on {Path(args.start).name}"
        # The last checkpoint first: on a busy machine it is the point that matters most.
        for step, folder in reversed(checkpoints(out)):
            answers = answers_of(str(folder), held, work, args.max_new_tokens, args.runtime)
            results.append(curve_row(label, step, answers, held, embed, base))
            print(table(results[-1:], len(held)).splitlines()[-1], flush=True)
    results[1:] = sorted(results[1:], key=lambda r: (r["recipe"], r["step"]))
    setup = (
        f"{len(held)} held-out questions ({by_corpus(held)}),"
        f" {args.max_new_tokens} new tokens, greedy; LoRA through training.trainers, tiny profile, lr {args.lr}"
    )
    (work / "training_recipe.json").write_text(json.dumps({"setup": setup, "results": results}, indent=1) + "\n")
    print(setup)
    print(table(results, len(held)))


if __name__ == "__main__":
    main()
