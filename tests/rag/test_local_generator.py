"""The real SmolLM2-135M-Instruct, loaded from the packaged GGUF."""

import sys

import pytest

from rag.errors import GeneratorError
from rag.generators.base import GenerationParams, Message
from rag.generators.local import TransformersGenerator, materialize

pytestmark = pytest.mark.slow


def test_conversion_is_cached_as_a_model_folder(local_model_dir):
    assert (local_model_dir / "config.json").exists()
    assert "quantization_config" not in (local_model_dir / "config.json").read_text()
    assert materialize("SmolLM2-135M-Instruct", local_model_dir.parent) == local_model_dir  # no second conversion


def test_streams_pieces_that_make_the_whole_reply(local_model_dir):
    gen = TransformersGenerator(str(local_model_dir))
    messages = [
        Message(
            role="system", content="Answer using only these passages.\n\n[1] The site provides 412 car parking spaces."
        ),
        Message(role="user", content="How many car parking spaces are there?"),
    ]
    params = GenerationParams(max_new_tokens=24)
    pieces = list(gen.stream(messages, params))
    assert len(pieces) > 1, "tokens arrive one by one"
    assert "".join(pieces) == gen.generate(messages, params), "greedy decoding is repeatable"
    assert "412" in "".join(pieces)


def test_unknown_model_is_a_clear_error(tmp_path):
    with pytest.raises(GeneratorError, match="neither a packaged model"):
        TransformersGenerator(str(tmp_path / "nothing-here")).load()


PARKING = [
    Message(
        role="system",
        content="Answer using only these passages.\n\n[1] The site provides 412 car parking spaces and 38 trailer positions.",
    ),
    Message(role="user", content="How many car parking spaces are there?"),
]
TRAILERS = [PARKING[0], Message(role="user", content="How many trailer positions are there?")]


# A prompt ~300 tokens longer than PARKING: batched with it, PARKING gets ~300 tokens of padding.
LONG = [
    Message(
        role="system",
        content="Answer using only these passages.\n\n"
        + "\n".join(f"[{i}] Bay {i} has a clear height of {i + 8} m under the sprinklers." for i in range(2, 16))
        + "\n[16] The site provides 412 car parking spaces.",
    ),
    PARKING[1],
]


def test_transformers_batch_equals_one_by_one(local_model_dir):
    gen = TransformersGenerator(str(local_model_dir))
    params = GenerationParams(max_new_tokens=16)
    assert gen.supports_batch
    assert gen.generate_batch([PARKING, TRAILERS, LONG], params) == [
        gen.generate(PARKING, params),
        gen.generate(TRAILERS, params),
        gen.generate(LONG, params),
    ]


def test_many_conversations_on_onnx_each_get_the_reply_they_get_alone(local_model_dir, tmp_path):
    """ONNX Runtime GenAI ignored the left padding of a batch: a short prompt batched with a long
    one came back as unrelated text. The app's path must give every conversation its own reply."""
    from rag.generators.base import generate_all
    from rag.generators.local import LocalGenerator

    gen = LocalGenerator(str(local_model_dir), cache_dir=tmp_path)
    params = GenerationParams(max_new_tokens=16)
    replies = generate_all(gen, [PARKING, LONG, TRAILERS], params)
    assert gen.runtime == "onnx"
    alone = [
        LocalGenerator(str(local_model_dir), cache_dir=tmp_path).generate(c, params) for c in (PARKING, LONG, TRAILERS)
    ]
    assert replies == alone
    assert "412" in replies[0] and "38" in replies[2]


def test_onnx_runtime_streams_batches_and_reuses_the_shared_prefix(local_model_dir, tmp_path):
    from rag.generators.local import LocalGenerator
    from rag.generators.ort import DEFAULT_PRECISION, OnnxRuntimeGenerator

    gen = LocalGenerator(str(local_model_dir), cache_dir=tmp_path)
    params = GenerationParams(max_new_tokens=24)
    pieces = list(gen.stream(PARKING, params))
    assert gen.runtime == "onnx" and (local_model_dir / f"onnx-cpu-{DEFAULT_PRECISION}" / "genai_config.json").exists()
    assert len(pieces) > 1 and "412" in "".join(pieces)
    # The second question starts with the same system prompt: the live generator rewinds to it,
    # and the reply is the one a fresh generator gives.
    reused = gen.generate(TRAILERS, params)
    assert gen.load()._live is not None
    assert reused == OnnxRuntimeGenerator(local_model_dir, "fresh", tmp_path).generate(TRAILERS, params)
    assert "38" in reused
    assert gen.generate_batch([PARKING, TRAILERS], params) == ["".join(pieces), reused]


def test_without_onnxruntime_genai_the_same_folder_runs_on_transformers(local_model_dir, tmp_path, monkeypatch):
    from rag.generators.local import LocalGenerator

    monkeypatch.setitem(sys.modules, "onnxruntime_genai", None)  # as if not installed
    gen = LocalGenerator(str(local_model_dir), cache_dir=tmp_path)
    assert "412" in gen.generate(PARKING, GenerationParams(max_new_tokens=16)) and gen.runtime == "transformers"
    with pytest.raises(GeneratorError, match="pip install onnxruntime-genai"):
        LocalGenerator(str(local_model_dir), cache_dir=tmp_path, runtime="onnx").load()


def test_a_lora_adapter_folder_is_merged_once_and_runs_on_the_same_path(local_model_dir, tmp_path):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from rag.generators.local import LocalGenerator, resolve_model

    base = AutoModelForCausalLM.from_pretrained(local_model_dir)
    # Non-zero LoRA weights, so the merged model really differs from its base.
    lora = get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    lora.save_pretrained(tmp_path / "adapter")
    gen = LocalGenerator(str(tmp_path / "adapter"), cache_dir=tmp_path / "cache")
    assert gen.generate(PARKING, GenerationParams(max_new_tokens=8)) and gen.runtime == "onnx"
    merged = tmp_path / "adapter" / "merged"
    assert resolve_model(str(tmp_path / "adapter"), tmp_path / "cache") == merged  # merged once
    weight = "model.layers.0.self_attn.q_proj.weight"
    plain = AutoModelForCausalLM.from_pretrained(local_model_dir).state_dict()[weight]
    assert not torch.equal(AutoModelForCausalLM.from_pretrained(merged).state_dict()[weight], plain)


def test_an_adapter_whose_base_is_missing_is_a_clear_error(tmp_path):
    from rag.generators.local import LocalGenerator

    (tmp_path / "adapter").mkdir()
    (tmp_path / "adapter" / "adapter_config.json").write_text('{"base_model_name_or_path": "/nowhere/base"}')
    with pytest.raises(GeneratorError, match="trained on '/nowhere/base', which is not here"):
        LocalGenerator(str(tmp_path / "adapter"), cache_dir=tmp_path).load()


def test_closing_a_stream_early_ends_its_generation_before_the_next_one_starts(local_model_dir):
    """The answer pipeline stops reading a reply that repeats itself; the model must stop too,
    not run on to the token limit beside the next question."""
    import threading

    gen = TransformersGenerator(str(local_model_dir))
    params = GenerationParams(max_new_tokens=200)
    stream = gen.stream(PARKING, params)
    next(stream)
    stream.close()
    assert not any(t.name == "ragbot-generate" and t.is_alive() for t in threading.enumerate())
    assert gen.generate(PARKING, GenerationParams(max_new_tokens=16)) == TransformersGenerator(
        str(local_model_dir)
    ).generate(PARKING, GenerationParams(max_new_tokens=16))


LOOPY = [Message(role="user", content="Write the word hook fifty times, separated by spaces.")]


def _repeated_ngram(ids: list[int], n: int) -> bool:
    grams = [tuple(ids[i : i + n]) for i in range(len(ids) - n + 1)]
    return len(grams) != len(set(grams))


@pytest.mark.parametrize("runtime", ["onnx", "transformers"])
def test_no_repeat_ngram_size_reaches_the_runtime(local_model_dir, tmp_path, runtime):
    from transformers import AutoTokenizer

    from rag.generators.local import LocalGenerator

    tokenizer = AutoTokenizer.from_pretrained(local_model_dir)
    gen = LocalGenerator(str(local_model_dir), cache_dir=tmp_path, runtime=runtime)
    looping = gen.generate(LOOPY, GenerationParams(max_new_tokens=40))
    assert _repeated_ngram(tokenizer.encode(looping, add_special_tokens=False), 3), looping
    held = gen.generate(LOOPY, GenerationParams(max_new_tokens=40, no_repeat_ngram_size=3))
    assert not _repeated_ngram(tokenizer.encode(held, add_special_tokens=False), 3), held
