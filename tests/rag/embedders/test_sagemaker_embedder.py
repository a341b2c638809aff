"""SageMakerEmbedder against a local server speaking the SageMaker Runtime wire protocol."""

import numpy as np
import pytest

from rag.embedders.sagemaker import SageMakerEmbedder
from rag.errors import RagError
from tests.rag.generators.conftest import REGION
from tests.rag.generators.servers import Reply, aws_error


def vectors(n: int, dim: int = 4) -> list[list[float]]:
    return [[float(i + 1), 2.0, 0.0, -1.0][:dim] for i in range(n)]


@pytest.fixture
def tei(server, aws_env):
    return SageMakerEmbedder(
        "tei-ep", model_id="BAAI/bge-small-en-v1.5", dimension=4, endpoint_url=server.url, batch_size=2
    )


def test_init_is_lazy():
    e = SageMakerEmbedder("ep", model_id="m", dimension=384)
    assert not e._aws.made and (e.model_id, e.dimension) == ("m", 384)


def test_inputs_payload_in_batches_gives_unit_float32_rows(tei, server):
    server.reply(Reply.json(vectors(2)), Reply.json(vectors(1)))
    out = tei.embed_documents(["a", "b", "c"])
    assert out.dtype == np.float32 and out.shape == (3, 4)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0)
    expected = np.array(vectors(2) + vectors(1), dtype=np.float32)
    assert np.allclose(out, expected / np.linalg.norm(expected, axis=1, keepdims=True))
    assert [r.json for r in server.requests] == [{"inputs": ["a", "b"]}, {"inputs": ["c"]}]
    assert server.requests[0].path == "/endpoints/tei-ep/invocations"


def test_text_inputs_payload(server, aws_env):
    e = SageMakerEmbedder(
        "js-ep", model_id="jumpstart-bge", dimension=4, payload="text_inputs", endpoint_url=server.url
    )
    server.reply(Reply.json({"embedding": vectors(1)}))
    q = e.embed_query("parking")
    assert q.shape == (4,) and q.dtype == np.float32
    assert server.requests[0].json == {"text_inputs": ["parking"]}


def test_empty_input_makes_no_call(tei, server):
    assert tei.embed_documents([]).shape == (0, 4) and server.requests == []


def test_wrong_dimension(tei, server):
    server.reply(Reply.json([[1.0, 2.0, 3.0]]))
    with pytest.raises(RagError, match="configured dimension is 4"):
        tei.embed_query("x")


def test_token_level_output_is_explained(tei, server):
    server.reply(Reply.json([[[1.0, 0, 0, 0], [0, 1.0, 0, 0]]]))
    with pytest.raises(RagError, match="one vector per token"):
        tei.embed_query("x")


def test_endpoint_not_found(tei, server):
    server.reply(aws_error(400, "ValidationError", "Endpoint tei-ep of account 123456789012 not found."))
    with pytest.raises(RagError, match=f"'tei-ep' \\({REGION}\\) was not found"):
        tei.embed_query("x")


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="payload"):
        SageMakerEmbedder("ep", model_id="m", dimension=4, payload="instances")
