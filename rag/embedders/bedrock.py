"""Text embeddings on Bedrock (``InvokeModel``): Amazon Titan and Cohere Embed.

Titan Text Embeddings V2 takes ``{"inputText", "dimensions", "normalize"}`` and answers
``{"embedding": [...], "inputTextTokenCount": n}``; V1 takes only ``inputText`` and returns 1536
numbers. One text per call, so texts are sent concurrently.

Cohere Embed (``cohere.embed-english-v3``, ``cohere.embed-multilingual-v3``: 1024 numbers;
``cohere.embed-v4:0``: 1536, or 1024/512/256 with ``output_dimension``) takes up to 96 texts
of up to 2,048 characters per call with an ``input_type``: ``search_document`` for passages
and ``search_query`` for questions. The two are embedded differently on purpose; using one
for both costs retrieval quality, so ``embed_documents`` and ``embed_query`` send each its own.

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
from common.deadline import Deadline, read_all
from rag.embedders.sagemaker import unit_rows
from rag.errors import RagError

TITAN_V2_DIMENSIONS = (1024, 512, 256)
COHERE_V3_DIMENSIONS = (1024,)
COHERE_V4_DIMENSIONS = (1536, 1024, 512, 256)
COHERE_BATCH = 96  # texts per call
COHERE_MAX_CHARS = 2048  # characters per text; longer ones are cut, as sentence-transformers cuts at its limit
# Prefixes of cross-region inference profile ids ("us.cohere.embed-v4:0").
PROFILE_PREFIXES = ("us", "us-gov", "eu", "apac", "jp", "au", "ca", "global")


def _base_model(model_id: str) -> str:
    head, _, rest = model_id.partition(".")
    return rest if head in PROFILE_PREFIXES else model_id


class BedrockEmbedder:
    """Embeds texts with Amazon Titan Text Embeddings or Cohere Embed on Bedrock.

    Args:
        model_id: "amazon.titan-embed-text-v2:0" (the default), "amazon.titan-embed-text-v1",
            "cohere.embed-english-v3", "cohere.embed-multilingual-v3" or "cohere.embed-v4:0"
            (also behind a cross-region inference profile, "us.cohere.embed-v4:0").
        dimension: 1024, 512 or 256 for Titan V2; 1536 for Titan V1; 1024 for Cohere v3;
            1536, 1024, 512 or 256 for Cohere v4.
        region: AWS region; ``None`` takes it from the AWS SDK chain.
        client: a ready ``bedrock-runtime`` client; made on first use otherwise.
        endpoint_url: a VPC interface endpoint or test server instead of the public endpoint.
        concurrency: requests in flight at once while embedding many texts.
        max_attempts: total attempts per request (botocore retries throttling, 5xx, connection errors).
        connect_timeout, read_timeout: seconds.
        deadline: seconds one request's reply may take to be read in full
            (RAGBOT_REQUEST_DEADLINE_S); ``None`` for none.

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
        deadline: float | None = 300.0,
    ):
        Deadline(deadline)  # ValueError now, not at the first request
        self.deadline = deadline
        base = _base_model(model_id)
        if base.startswith("amazon.titan-embed-text"):
            self.family = "titan"
            self.v1 = base.startswith("amazon.titan-embed-text-v1")
            allowed = (1536,) if self.v1 else TITAN_V2_DIMENSIONS
        elif base.startswith("cohere.embed"):
            self.family = "cohere"
            self.v1 = False
            allowed = COHERE_V4_DIMENSIONS if base.startswith("cohere.embed-v4") else COHERE_V3_DIMENSIONS
        else:
            raise ValueError(
                "model_id must be a Titan or Cohere text embedding model (amazon.titan-embed-text-v2:0, "
                f"cohere.embed-english-v3, cohere.embed-v4:0), got {model_id!r}"
            )
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
        """Titan's body for one text."""
        if self.v1:
            return {"inputText": text}
        return {"inputText": text, "dimensions": self.dimension, "normalize": True}

    def cohere_body(self, texts: Sequence[str], input_type: str) -> dict:
        """Cohere's body for up to 96 texts; ``input_type`` is search_document or search_query."""
        body: dict[str, Any] = {
            "texts": [t[:COHERE_MAX_CHARS] for t in texts],
            "input_type": input_type,
            "truncate": "END",
            "embedding_types": ["float"],
        }
        if _base_model(self.model_id).startswith("cohere.embed-v4"):
            body["output_dimension"] = self.dimension
        return body

    def _invoke(self, body: dict) -> Any:
        deadline = Deadline(self.deadline)
        try:
            response = self.client.invoke_model(
                modelId=self.model_id,
                body=json.dumps(body).encode(),
                contentType="application/json",
                accept="application/json",
            )
            raw = read_all(response["body"], deadline)
        except Exception as e:
            if deadline.expired:
                raise RagError(
                    f"{self._what} did not finish its reply within the deadline of {deadline.seconds:g} s; "
                    "retry, or raise RAGBOT_REQUEST_DEADLINE_S"
                ) from e
            if is_aws_error(e):
                raise self._failure(e) from e
            raise
        try:
            return json.loads(raw)
        except ValueError as e:
            raise RagError(f"{self._what} answered with something that is not JSON: {raw[:200]!r}") from e

    def _embed_one(self, text: str) -> list[float]:
        data = self._invoke(self.request_body(text))
        try:
            return data["embedding"]
        except (KeyError, TypeError) as e:
            raise RagError(f"{self._what} answered without an embedding: {str(data)[:200]}") from e

    def _embed_cohere(self, texts: list[str], input_type: str) -> list[list[float]]:
        data = self._invoke(self.cohere_body(texts, input_type))
        try:
            embeddings = data["embeddings"]
            # embeddings_by_type: {"float": [...]}; embeddings_floats (no embedding_types): [...]
            vectors = embeddings["float"] if isinstance(embeddings, dict) else embeddings
        except (KeyError, TypeError) as e:
            raise RagError(f"{self._what} answered without float embeddings: {str(data)[:200]}") from e
        if len(vectors) != len(texts):
            raise RagError(f"{self._what} returned {len(vectors)} vectors for {len(texts)} texts")
        return vectors

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

    def _embed(self, texts: Sequence[str], input_type: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        texts = list(texts)
        if self.family == "cohere":
            batches = [texts[i : i + COHERE_BATCH] for i in range(0, len(texts), COHERE_BATCH)]
            work = [lambda b=b: self._embed_cohere(b, input_type) for b in batches]
        else:
            work = [lambda t=t: [self._embed_one(t)] for t in texts]
        if self.concurrency == 1 or len(work) == 1:
            parts = [job() for job in work]
        else:
            workers = min(self.concurrency, len(work))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ragbot-embed") as pool:
                parts = list(pool.map(lambda job: job(), work))
        return unit_rows([v for part in parts for v in part], self.dimension, self._what)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Float32 (len(texts), dimension), rows L2-normalised (Cohere: ``search_document``). Raises RagError."""
        return self._embed(texts, "search_document")

    def embed_query(self, text: str) -> np.ndarray:
        """A float32 vector of length ``dimension`` (Cohere: ``search_query``). Raises RagError."""
        return self._embed([text], "search_query")[0]
