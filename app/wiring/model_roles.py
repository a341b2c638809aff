"""The judge's and the synth model's settings: the answer model's, with each RAGBOT_JUDGE_* (and
RAGBOT_SYNTH_*) that is set in place of its counterpart, and the generator each role gets."""

from __future__ import annotations

from app.config import Settings
from app.errors import ConfigError
from app.wiring.factories import GENERATORS

# The settings a generator is built from: the judge reuses the answer model when they all match.
GENERATOR_FIELDS = (
    "generator",
    "sagemaker_endpoint",
    "sagemaker_container",
    "sagemaker_inference_component",
    "bedrock_model",
    "openai_base_url",
    "openai_model",
    "openai_api_key",
    "local_model",
    "local_runtime",
    "local_precision",
)
# RAGBOT_JUDGE_* setting -> the answer-model setting it replaces for the judge.
JUDGE_OVERRIDES = {
    "judge_backend": "generator",
    "judge_sagemaker_endpoint": "sagemaker_endpoint",
    "judge_sagemaker_container": "sagemaker_container",
    "judge_sagemaker_inference_component": "sagemaker_inference_component",
    "judge_bedrock_model": "bedrock_model",
    "judge_openai_base_url": "openai_base_url",
    "judge_openai_model": "openai_model",
    "judge_openai_api_key": "openai_api_key",
    "judge_local_model": "local_model",
}


def judge_settings(s: Settings) -> Settings:
    """The settings the judge's generator is built from: the answer model's, with every
    RAGBOT_JUDGE_* that is set in place of its counterpart."""
    update = {field: getattr(s, judge) for judge, field in JUDGE_OVERRIDES.items() if getattr(s, judge) is not None}
    return s.model_copy(update=update)


# RAGBOT_SYNTH_* setting -> the answer-model setting it replaces for the synth model; unset, the
# judge's (which falls back to the answer model's).
SYNTH_OVERRIDES = {
    "synth_backend": "generator",
    "synth_sagemaker_endpoint": "sagemaker_endpoint",
    "synth_sagemaker_container": "sagemaker_container",
    "synth_sagemaker_inference_component": "sagemaker_inference_component",
    "synth_bedrock_model": "bedrock_model",
    "synth_openai_base_url": "openai_base_url",
    "synth_openai_model": "openai_model",
    "synth_openai_api_key": "openai_api_key",
    "synth_local_model": "local_model",
}


def synth_settings(s: Settings) -> Settings:
    """The settings the synth model's generator is built from: the judge's (``judge_settings``),
    with every RAGBOT_SYNTH_* that is set in place of its counterpart."""
    js = judge_settings(s)
    update = {field: getattr(s, synth) for synth, field in SYNTH_OVERRIDES.items() if getattr(s, synth) is not None}
    return js.model_copy(update=update)


def stand_in_model(s: Settings, role: str) -> bool:
    """Whether the judge's (``role="judge"``) or the synth model's (``"synth"``) model would be
    the local answer model by default, which cannot do the job (it does not keep the reply form):
    its backend is local and no RAGBOT_JUDGE_LOCAL_MODEL (or RAGBOT_SYNTH_LOCAL_MODEL) names a
    local model for it on purpose."""
    resolved = judge_settings(s) if role == "judge" else synth_settings(s)
    named = s.judge_local_model or (s.synth_local_model if role == "synth" else None)
    return resolved.generator == "local" and named is None


def second_generator(own: Settings, fallback: Settings, fallback_generator, role: str):
    """The generator of a second model (the judge, the synth model): ``fallback_generator`` itself
    when none of ``own``'s generator settings differs from ``fallback``'s, else a new one. A
    missing setting is named as the role's own (RAGBOT_JUDGE_…, RAGBOT_SYNTH_…), the one to set."""
    if all(getattr(own, f) == getattr(fallback, f) for f in GENERATOR_FIELDS):
        return fallback_generator
    try:
        return GENERATORS[own.generator](own)
    except ConfigError as e:
        prefix = f"RAGBOT_{role.upper()}_"
        message = str(e).replace("RAGBOT_", prefix).replace(f"{prefix}GENERATOR", f"{prefix}BACKEND")
        raise ConfigError(f"the {role} model: {message}") from e
