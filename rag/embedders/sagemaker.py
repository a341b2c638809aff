"""Text embeddings from a SageMaker real-time endpoint.

Two request shapes are in use: Hugging Face Text Embeddings Inference (TEI) and most custom
containers take ``{"inputs": [texts]}`` and answer with a list of vectors; JumpStart's
sentence-embedding models take ``{"text_inputs": [texts]}`` and answer ``{"embedding": [vectors]}``.

boto3 is called directly: langchain-aws's ``SagemakerEndpointEmbeddings`` needs the same two
JSON transforms written as a content handler and adds nothing else. The region and credentials
come from the AWS SDK's own chain.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from common.aws import ClientOptions, LazyClient, is_aws_error, sagemaker_failure
from common.deadline import Deadline, read_all
from rag.errors import RagError

Payload = Literal["inputs", "text_inputs"]


def unit_rows(vectors: Any, dimension: int, what: str) -> np.ndarray:
    """``vectors`` as a float32 (n, dimension) array with L2-normalised rows.

    Raises:
        RagError: when the vectors are not a 2-D array of ``dimension`` columns or one is zero.
    """
    try:
        array = np.asarray(vectors, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise RagError(f"{what} returned something that is not a list of vectors: {str(vectors)[:200]}") from e
    if array.ndim == 3:
        raise RagError(
            f"{what} returned one vector per token, not per text: deploy a sentence-embedding "
            "container (e.g. Text Embeddings Inference) or a model with pooling"
        )
    if array.ndim != 2 or array.shape[1] != dimension:
        shape = array.shape[1:] if array.ndim else ()
        raise RagError(f"{what} returned vectors of shape {shape}; the configured dimension is {dimension}")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    if not np.all(norms > 0) or not np.all(np.isfinite(norms)):
        raise RagError(f"{what} returned a zero or non-finite vector")
    return array / norms


class SageMakerEmbedder:
    """Embeds texts with a model behind a SageMaker endpoint.

    Args:
        endpoint_name: the endpoint.
        model_id: the embedding model's name, recorded in the index (an index refuses queries
            embedded by another model), e.g. "BAAI/bge-small-en-v1.5".
        dimension: the vector length the model returns.
        payload: "inputs" (TEI and most containers) or "text_inputs" (JumpStart).
        region: AWS region; ``None`` takes it from the AWS SDK chain.
        client: a ready ``sagemaker-runtime`` client; made on first use otherwise.
        endpoint_url: a VPC interface endpoint or test server instead of the public endpoint.
        batch_size: texts per request (TEI's default limit is 32; SageMaker's payload limit 6 MB).
        max_attempts: total attempts per request (botocore retries throttling, 5xx, connection errors).
        connect_timeout, read_timeout: seconds.
        deadline: seconds one request's reply may take to be read in full
            (RAGBOT_REQUEST_DEADLINE_S); ``None`` for none.

    Needs the IAM action ``sagemaker:InvokeEndpoint`` on the endpoint.

    Raises (from ``embed_documents``/``embed_query``):
        RagError: the endpoint is missing, throttled or failing, or returned vectors of the
            wrong shape.
    """

    def __init__(
        self,
        endpoint_name: str,
        *,
        model_id: str,
        dimension: int,
        payload: Payload = "inputs",
        region: str | None = None,
        client: Any = None,
        endpoint_url: str | None = None,
        batch_size: int = 32,
        max_attempts: int = 4,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        deadline: float | None = 300.0,
    ):
        if not endpoint_name:
            raise ValueError("endpoint_name is empty")
        Deadline(deadline)  # ValueError now, not at the first request
        self.deadline = deadline
        if payload not in ("inputs", "text_inputs"):
            raise ValueError(f"payload must be 'inputs' or 'text_inputs', got {payload!r}")
        if dimension <= 0:
            raise ValueError(f"dimension must be positive, got {dimension}")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.endpoint_name = endpoint_name
        self.model_id = model_id
        self.dimension = dimension
        self.payload = payload
        self.batch_size = batch_size
        self.options = ClientOptions(
            region=region,
            endpoint_url=endpoint_url,
            max_attempts=max_attempts,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
        self._aws = LazyClient("sagemaker-runtime", self.options, client=client, error=RagError)

    def __repr__(self) -> str:
        return (
            f"SageMakerEmbedder(endpoint_name={self.endpoint_name!r}, model_id={self.model_id!r}, "
            f"dimension={self.dimension})"
        )

    @property
    def client(self):
        return self._aws.get()

    @property
    def _what(self) -> str:
        return f"SageMaker embedding endpoint '{self.endpoint_name}' ({self._aws.region})"

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        body = json.dumps({self.payload: texts}).encode()
        client = self.client
        deadline = Deadline(self.deadline)
        try:
            response = client.invoke_endpoint(
                EndpointName=self.endpoint_name, Body=body, ContentType="application/json", Accept="application/json"
            )
            raw = read_all(response["Body"], deadline)
        except Exception as e:
            if deadline.expired:
                raise RagError(
                    f"{self._what} did not finish its reply within the deadline of {deadline.seconds:g} s; "
                    "retry, or raise RAGBOT_REQUEST_DEADLINE_S"
                ) from e
            if is_aws_error(e):
                attempts = self.options.max_attempts
                failure = sagemaker_failure(
                    e, self._what, setting="RAGBOT_EMBEDDING_ENDPOINT", max_attempts=attempts, error=RagError
                )
                raise failure from e
            raise
        try:
            data = json.loads(raw)
            vectors = data["embedding"] if self.payload == "text_inputs" else data
        except (ValueError, KeyError, TypeError) as e:
            raise RagError(
                f"{self._what} answered in a shape the '{self.payload}' payload does not use: {raw[:200]!r}"
            ) from e
        if len(vectors) != len(texts):
            raise RagError(f"{self._what} returned {len(vectors)} vectors for {len(texts)} texts")
        return unit_rows(vectors, self.dimension, self._what)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Float32 (len(texts), dimension), rows L2-normalised. Raises RagError."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        texts = list(texts)
        batches = [self._embed_batch(texts[i : i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
        return np.concatenate(batches)

    def embed_query(self, text: str) -> np.ndarray:
        """A float32 vector of length ``dimension``. Raises RagError."""
        return self.embed_documents([text])[0]
