"""Finding the models a run starts from, offline, and refusing clearly when one is missing.

A causal LM is named the way ``RAGBOT_LOCAL_MODEL`` names it (``rag.generators.local``): the
packaged SmolLM2, a model folder, or a PEFT adapter folder (merged into its base once), so a
policy trained by ``train sft`` is the starting point of ``train rl``/``dpo``/``kto`` as it is.
A sequence classifier for the reward model is the packaged MiniLM (its BERT, with a fresh
one-output head), a folder, or a hub name already in the Hugging Face cache.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from training.trainers.errors import TrainerError
from training.trainers.profiles import PACKAGED_CLASSIFIER, PACKAGED_LM

DEFAULT_CACHE = Path.home() / ".cache" / "ragbot" / "models"


def _from_hub_cache(name: str, what: str) -> str:
    """A hub name usable offline (in the HF cache) or online; else TrainerError."""
    from transformers import AutoConfig

    try:
        AutoConfig.from_pretrained(name)
    except (OSError, ValueError) as e:
        offline = " (HF_HUB_OFFLINE is set)" if os.environ.get("HF_HUB_OFFLINE") == "1" else ""
        raise TrainerError(
            f"the {what} '{name}' is missing: not packaged, not a folder, and not in the Hugging Face cache{offline}"
        ) from e
    return name


def causal_lm(name: str, cache_dir: Path | None = None) -> str:
    """A folder (or cached hub name) transformers loads as the causal LM ``name``."""
    from rag.errors import GeneratorError
    from rag.generators.local import PACKAGED_GGUF, resolve_model

    path = Path(name).expanduser()
    if name in PACKAGED_GGUF or path.exists():
        from training.trainers.runs import peft_probe_quiet

        try:
            # Resolving a trained adapter merges it through PEFT, whose probe warns (see runs.py).
            with peft_probe_quiet():
                return str(resolve_model(name if name in PACKAGED_GGUF else str(path), cache_dir or DEFAULT_CACHE))
        except GeneratorError as e:
            raise TrainerError(f"the base model '{name}' is missing or unusable: {e}") from e
    if "/" not in name or name.startswith((".", "/", "~")):
        raise TrainerError(
            f"the base model '{name}' is missing: it is not a folder, nor the packaged {PACKAGED_LM}, nor a hub name"
        )
    return _from_hub_cache(name, "base model")


def adapter_base_name(name: str) -> str:
    """What a trained adapter records as its base, so that ``RAGBOT_LOCAL_MODEL=OUT`` finds it
    on another machine: the packaged name as such, a folder as an absolute path."""
    from rag.generators.local import PACKAGED_GGUF

    if name in PACKAGED_GGUF:
        return name
    path = Path(name).expanduser()
    return str(path.resolve()) if path.exists() else name


def record_adapter_base(adapter: Path, base: str) -> None:
    """Point a saved adapter's ``base_model_name_or_path`` at ``base`` (see ``adapter_base_name``)."""
    config_path = Path(adapter) / "adapter_config.json"
    config = json.loads(config_path.read_text())
    config["base_model_name_or_path"] = adapter_base_name(base)
    config_path.write_text(json.dumps(config, indent=2) + "\n")


def sequence_classifier(name: str) -> str:
    """A folder (or cached hub name) to load with ``AutoModelForSequenceClassification``."""
    from rag.embedders.local import PACKAGED_MODELS, resolve_model_path
    from rag.errors import RagError

    if name in PACKAGED_MODELS:
        try:
            return resolve_model_path(name)
        except RagError as e:
            raise TrainerError(f"the base model '{name}' is missing: {e}") from e
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise TrainerError(f"the base model '{name}' is a folder without config.json")
        return str(path)
    if name.startswith((".", "/", "~")):
        raise TrainerError(f"the base model '{name}' is missing: no such folder (packaged: {PACKAGED_CLASSIFIER})")
    return _from_hub_cache(name, "base model")
