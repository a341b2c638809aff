"""Amazon Titan text embeddings on Bedrock (``InvokeModel``, one text per call).

Titan Text Embeddings V2 takes ``{"inputText", "dimensions", "normalize"}`` and answers
``{"embedding": [...], "inputTextTokenCount": n}``; V1 takes only ``inputText`` and returns 1536
numbers. Texts are sent concurrently, since the API embeds one text per call.

boto3 is called directly rather than through langchain-aws's ``BedrockEmbeddings``: that class
embeds texts one after another, and logs a full traceback for every failed call before
re-raising; the request here is one documented JSON body. Region and credentials come from the
AWS SDK's own chain.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from common.aws import (
    THROTTLING_CODES,
    ClientOptions,
    LazyClient,
    error_code,
    error_text,
    is_aws_error,
    transport_failure,
)
from rag.embedders.sagemaker import unit_rows
from rag.errors import RagError

TITAN_V2_DIMENSIONS = (1024, 512, 256)


class BedrockEmbedder:
    """Embeds texts with Amazon Titan Text Embeddings on Bedrock.

    Args:
        model_id: "amazon.titan-embed-text-v2:0" (the default) or "amazon.titan-embed-text-v1".
        dimension: 1024, 512 or 256 for V2; 1536 for V1.
        region: AWS region; ``None`` takes it from the AWS SDK chain.
        client: a ready ``bedrock-runtime`` client; made on first use otherwise.
        endpoint_url: a VPC interface endpoint or test server instead of the public endpoint.
        concurrency: requests in flight at once while embedding many texts.
        max_attempts: total attempts per request (botocore retries throttling, 5xx, connection errors).
        connect_timeout, read_timeout: seconds.

    Needs the IAM action ``bedrock:InvokeModel`` on the model, and model access enabled for it
    in the region.

    Raises (from ``embed_documents``/``embed_query``):
        RagError: no model access, throttling after retries, an invalid request, or vectors of
            the wrong length.
    """

    def __init__(
        self,
        model_id: str = "amazon.titan-embed-text-v2:0",
        *,
        dimension: int = 1024,
        region: str | None = None,
        client: Any = None,
        endpoint_url: str | None = None,
        concurrency: int = 4,
        max_attempts: int = 6,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
    ):
        if not model_id.startswith("amazon.titan-embed-text"):
            raise ValueError(
                f"model_id must be a Titan text embedding model (amazon.titan-embed-text-v2:0), got {model_id!r}"
            )
        self.v1 = model_id.startswith("amazon.titan-embed-text-v1")
        allowed = (1536,) if self.v1 else TITAN_V2_DIMENSIONS
        if dimension not in allowed:
            raise ValueError(f"dimension must be one of {allowed} for {model_id}, got {dimension}")
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.model_id = model_id
        self.dimension = dimension
        self.concurrency = concurrency
        self.options = ClientOptions(
            region=region,
            endpoint_url=endpoint_url,
            max_attempts=max_attempts,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_pool_connections=max(10, concurrency),
        )
        self._aws = LazyClient("bedrock-runtime", self.options, client=client, error=RagError)

    def __repr__(self) -> str:
        return (
            f"BedrockEmbedder(model_id={self.model_id!r}, dimension={self.dimension}, region={self.options.region!r})"
        )

    @property
    def client(self):
        return self._aws.get()

    @property
    def _region(self) -> str:
        return self._aws.region

    @property
    def _what(self) -> str:
        return f"Bedrock embedding model '{self.model_id}' ({self._region})"

    def request_body(self, text: str) -> dict:
        if self.v1:
            return {"inputText": text}
        return {"inputText": text, "dimensions": self.dimension, "normalize": True}

    def _embed_one(self, text: str) -> list[float]:
        client = self.client
        try:
            response = client.invoke_model(
                modelId=self.model_id,
                body=json.dumps(self.request_body(text)).encode(),
                contentType="application/json",
                accept="application/json",
            )
            raw = response["body"].read()
        except Exception as e:
            if is_aws_error(e):
                raise self._failure(e) from e
            raise
        try:
            return json.loads(raw)["embedding"]
        except (ValueError, KeyError, TypeError) as e:
            raise RagError(f"{self._what} answered without an embedding: {raw[:200]!r}") from e

    def _failure(self, e: BaseException) -> RagError:
        from botocore.exceptions import ClientError

        what = self._what
        if not isinstance(e, ClientError):
            return RagError(transport_failure(e, what) or f"{what} failed: {e}")
        code, text = error_code(e), error_text(e)
        if code in THROTTLING_CODES:
            return RagError(
                f"{what} is throttling requests ({code}) after {self.options.max_attempts} attempts: "
                f"lower the concurrency or retry later [{text}]"
            )
        if code == "AccessDeniedException":
            return RagError(
                f"Access to {what} was denied: enable model access for {self.model_id} in {self._region} "
                f"(Bedrock console → Model access) and allow bedrock:InvokeModel for this role [{text}]"
            )
        return RagError(f"{what} refused the request ({code}): {text}")

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Float32 (len(texts), dimension), rows L2-normalised. Raises RagError."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        texts = list(texts)
        if self.concurrency == 1 or len(texts) == 1:
            vectors = [self._embed_one(t) for t in texts]
        else:
            workers = min(self.concurrency, len(texts))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ragbot-embed") as pool:
                vectors = list(pool.map(self._embed_one, texts))
        return unit_rows(vectors, self.dimension, self._what)

    def embed_query(self, text: str) -> np.ndarray:
        """A float32 vector of length ``dimension``. Raises RagError."""
        return self.embed_documents([text])[0]
