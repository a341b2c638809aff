"""The real SmolLM2-135M-Instruct, loaded from the packaged GGUF."""

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
        Message(role="system", content="Answer using only these passages.\n\n[1] The site provides 412 car parking spaces."),
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
