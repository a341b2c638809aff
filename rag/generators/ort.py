"""The local model run by ONNX Runtime GenAI: int4 weights, a preallocated KV cache, no Python per layer.

Measured on this project's 2-core CPU (bench/generation_speed.py, bench/RESULTS.md), transformers
spends most of a decode step concatenating its growing KV cache and reading 540 MB of float32
weights, and its OpenMP threads spin-wait, so on a busy machine two threads run ten times slower
than one. ONNX Runtime GenAI with int4 weights (MatMulNBits) decodes about 4x faster per CPU
second, keeps its KV cache in one buffer, and its thread pool is per session with spinning off.

The model is exported once from the Hugging Face folder (the converted packaged GGUF, a merged
fine-tune, or a PEFT adapter merged first) by the package's own model builder, in a subprocess,
and cached beside the folder (or under the cache directory when the folder is read-only); a
stamp of the source weights' sizes and times triggers a new export when they change.

The prompt is tokenised with the model folder's own chat template (transformers), so the ids are
exactly those the transformers runtime and the training package use.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from rag.errors import GeneratorError
from rag.generators.base import GenerationParams, Message

log = logging.getLogger(__name__)

PRECISIONS = ("int4", "int8", "fp32")
# fp32: the first token comes soonest (its prefill is ~1.6x int8's on a CPU without VNNI) and it
# still decodes above 40 tokens/s on 2 idle cores; int8 decodes faster but reads the prompt
# slower; int4 turned SmolLM2-135M's answers to noise. See bench/RESULTS.md, "Local generation".
DEFAULT_PRECISION = "fp32"
STAMP = "ragbot-source.json"


def _require():
    try:
        import onnxruntime_genai as og
    except ImportError as e:
        raise GeneratorError(
            "The ONNX runtime needs onnxruntime-genai: install it with `pip install onnxruntime-genai`"
        ) from e
    return og


def _fingerprint(folder: Path) -> dict:
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in (".safetensors", ".bin", ".json"))
    return {"source": str(folder.resolve()), "files": [[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in files]}


def export_onnx(hf_folder: Path, cache_dir: Path, precision: str = DEFAULT_PRECISION) -> Path:
    """The ONNX Runtime GenAI folder for a Hugging Face model folder, exported on first use.

    Returns the folder (``genai_config.json``, ``model.onnx``, tokenizer files). Raises
    GeneratorError when the builder fails (an architecture it does not know, a missing package).
    """
    if precision not in PRECISIONS:
        raise GeneratorError(f"precision '{precision}' is not one of {', '.join(PRECISIONS)}")
    stamp = _fingerprint(hf_folder) | {"precision": precision}
    beside = hf_folder / f"onnx-cpu-{precision}"
    key = hashlib.sha256(json.dumps(stamp).encode()).hexdigest()[:12]
    elsewhere = cache_dir / "onnx" / f"{hf_folder.name}-{precision}-{key}"
    for target in (beside, elsewhere):
        if (target / "genai_config.json").exists() and _read_stamp(target) == stamp:
            return target
    _require()
    parent = beside.parent if os.access(hf_folder, os.W_OK) else elsewhere.parent
    target = beside if parent == beside.parent else elsewhere
    parent.mkdir(parents=True, exist_ok=True)
    log.info("exporting %s to ONNX (%s) once; later loads use %s", hf_folder, precision, target)
    # Beside the target and renamed when complete, so a second process never sees half a folder.
    staging = Path(tempfile.mkdtemp(prefix=".onnx-export-", dir=parent))
    try:
        # The builder is a script that imports its siblings by bare name, so it runs as a module
        # in its own interpreter; offline, since the input is a local folder.
        command = [
            sys.executable, "-m", "onnxruntime_genai.models.builder",
            "-i", str(hf_folder), "-o", str(staging / "model"), "-p", precision, "-e", "cpu",
            "-c", str(staging / "cache"), "--extra_options", "prune_lm_head=true", "hf_token=false",
        ]  # fmt: skip
        env = os.environ | {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise GeneratorError(f"exporting {hf_folder} to ONNX failed: {tail[0]}")
        (staging / "model" / STAMP).write_text(json.dumps(stamp))
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.rename(staging / "model", target)
        except OSError:  # another process finished first
            pass
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _read_stamp(folder: Path) -> dict | None:
    try:
        return json.loads((folder / STAMP).read_text())
    except (OSError, ValueError):
        return None


class OnnxRuntimeGenerator:
    """Runs a Hugging Face model folder with ONNX Runtime GenAI on the CPU.

    Args:
        hf_folder: the model folder (already resolved: see ``rag.generators.local.resolve_model``).
        model_id: recorded with every answer.
        cache_dir: where exports go when the model folder is read-only.
        max_input_tokens: prompts longer than this lose their oldest tokens first.
        threads: intra-op threads. Spinning is off: on a shared 2-core machine a spinning
            thread steals the core its partner needs.
        precision: weights of the export: fp32 (default), int8 or int4 (see bench/RESULTS.md).
    """

    supports_streaming = True
    supports_batch = False  # see generate_batch

    def __init__(
        self,
        hf_folder: Path,
        model_id: str,
        cache_dir: Path,
        *,
        max_input_tokens: int = 6000,
        threads: int = 2,
        precision: str = DEFAULT_PRECISION,
    ):
        self.hf_folder = Path(hf_folder)
        self.model_id = model_id
        self.cache_dir = Path(cache_dir)
        self.max_input_tokens = max_input_tokens
        self.threads = threads
        self.precision = precision
        self._model = None
        self._tokenizer = None
        self._stream_tokenizer = None
        self._context_length = 2048
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()
        # The last generator and the tokens it holds: the next prompt that starts the same way
        # (the instructions, or a follow-up over the same passages) rewinds to the shared prefix
        # instead of reading it again.
        self._live: tuple[object, tuple, int, list[int]] | None = None

    def close(self) -> None:
        """Let the model's memory go; the next request loads it again."""
        with self._load_lock, self._run_lock:
            self._model = self._live = None

    def load(self) -> None:
        if self._model is not None:
            return
        with self._load_lock:
            if self._model is not None:
                return
            og = _require()
            from transformers import AutoTokenizer

            folder = export_onnx(self.hf_folder, self.cache_dir, self.precision)
            config = og.Config(str(folder))
            options = {"intra_op_num_threads": self.threads, "session.intra_op.allow_spinning": "0"}
            config.overlay(json.dumps({"model": {"decoder": {"session_options": options}}}))
            try:
                model = og.Model(config)
            except Exception as e:  # onnxruntime raises plain RuntimeErrors
                raise GeneratorError(f"{self.model_id}: the ONNX model in {folder} does not load: {e}") from e
            self._context_length = json.loads((folder / "genai_config.json").read_text())["model"].get(
                "context_length", 2048
            )
            self._tokenizer = AutoTokenizer.from_pretrained(self.hf_folder)
            self._stream_tokenizer = og.Tokenizer(model)
            self._model = model

    # -- prompts ------------------------------------------------------------------------------

    def _ids(self, messages: Sequence[Message]) -> list[int]:
        ids = self._tokenizer.apply_chat_template(
            [m.model_dump() for m in messages], add_generation_prompt=True, tokenize=True, return_dict=True
        )["input_ids"]
        return list(ids[-self.max_input_tokens :])

    def _search(self, params: GenerationParams, max_length: int) -> dict:
        options = dict(max_length=max_length, batch_size=1, repetition_penalty=params.repetition_penalty)
        if params.no_repeat_ngram_size:
            options["no_repeat_ngram_size"] = params.no_repeat_ngram_size
        if params.temperature > 0:
            options |= dict(do_sample=True, temperature=params.temperature, top_p=params.top_p, top_k=0)
            return options if params.seed is None else options | dict(random_seed=params.seed)
        return options | dict(do_sample=False)

    def _generator(self, options: dict):
        og = _require()
        p = og.GeneratorParams(self._model)
        p.set_search_options(**options)
        return og.Generator(self._model, p)

    def _start(self, ids: list[int], params: GenerationParams):
        """A generator that has read ``ids``, reusing the live one's shared prefix when it can."""
        need = min(len(ids) + params.max_new_tokens + 1, self._context_length)
        # Room for longer prompts later, so the next one can reuse this generator (the KV buffer
        # is allocated up front: 2048 tokens of this model take 94 MB).
        capacity = min(max(need, 2048), self._context_length)
        options = self._search(params, capacity)
        key = tuple(sorted((k, v) for k, v in options.items() if k != "max_length"))
        if self._live is not None:
            generator, live_key, live_capacity, held = self._live
            # At least one new token must be read to get the next token's logits.
            shared = min(_common_prefix(held, ids), len(ids) - 1)
            if live_key == key and shared > 0 and need <= live_capacity:
                generator.rewind_to(shared)
                generator.append_tokens(ids[shared:])
                self._live = (generator, key, live_capacity, [])
                return generator
        self._live = None
        generator = self._generator(options)
        generator.append_tokens(ids)
        self._live = (generator, key, capacity, [])
        return generator

    # -- generation -----------------------------------------------------------------------------

    def generate(self, messages: Sequence[Message], params: GenerationParams | None = None) -> str:
        return "".join(self.stream(messages, params))

    def stream(self, messages: Sequence[Message], params: GenerationParams | None = None) -> Iterator[str]:
        params = params or GenerationParams()
        self.load()
        with self._run_lock:
            ids = self._ids(messages)
            try:
                generator = self._start(ids, params)
                decoder = self._stream_tokenizer.create_stream()
                produced: list[int] = []
                eos = set(_eos_ids(self._tokenizer))
                while True:
                    token = int(generator.get_next_tokens()[0])
                    if token in eos:
                        break
                    produced.append(token)
                    piece = decoder.decode(token)
                    if piece:
                        yield piece
                    if len(produced) >= params.max_new_tokens or generator.is_done():
                        break
                    generator.generate_next_token()
                if self._live is not None:
                    # The last token read back has no KV entry yet (it would be computed by the
                    # next step), so it is not part of the reusable prefix.
                    self._live = (*self._live[:3], ids + produced[:-1])
            except GeneratorExit:
                # The reader stopped early (a reply repeating itself): what was read stays reusable.
                if self._live is not None:
                    self._live = (*self._live[:3], ids + produced[:-1])
                raise
            except GeneratorError:
                self._live = None
                raise
            except Exception as e:  # onnxruntime raises plain RuntimeErrors
                self._live = None
                raise GeneratorError(f"{self.model_id} failed: {e}") from e

    def generate_batch(
        self, conversations: Sequence[Sequence[Message]], params: GenerationParams | None = None
    ) -> list[str]:
        """Replies to many conversations, in input order, each decoded alone (reusing the prefix
        it shares with the one before). ONNX Runtime GenAI 0.18 does not mask the left padding
        of a batch here: with 200 pad tokens before it, "412 car parking spaces" came back as
        unrelated text, so batches are not used (``supports_batch`` is False). Raises
        GeneratorError."""
        return [self.generate(messages, params) for messages in conversations]


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _eos_ids(tokenizer) -> list[int]:
    ids = tokenizer.eos_token_id
    ids = ids if isinstance(ids, list) else [ids]
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    return [i for i in [*ids, end] if isinstance(i, int) and i >= 0]
