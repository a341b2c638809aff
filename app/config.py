"""All settings in one place: environment variables with the RAGBOT_ prefix, or a TOML file.

Only the composition root (``app.services``) reads them; ``rag`` and ``feedback`` take
explicit arguments.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource


def _default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local"


class Settings(BaseSettings):
    """ragbot's settings. Every field can be set as ``RAGBOT_<FIELD>`` (e.g. ``RAGBOT_TOP_K=8``)
    or in the TOML file named by ``RAGBOT_CONFIG`` (default ``ragbot.toml`` in the working folder).
    """

    model_config = SettingsConfigDict(env_prefix="RAGBOT_", extra="ignore")

    home: Path = Field(default=Path("~/.ragbot"), description="Folder for all embedded state: index, models, feedback.")
    # Retrieval
    vector_store: Literal["embedded", "opensearch"] = Field(default="embedded", description="Retrieval backend.")
    opensearch_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("RAGBOT_OPENSEARCH_URL", "OPENSEARCH_URL", "opensearch_url"),
        description="OpenSearch endpoint(s), comma-separated (also read from OPENSEARCH_URL).",
    )
    opensearch_index: str = Field(default="ragbot-chunks", description="OpenSearch index name.")
    opensearch_auth: Literal["none", "basic", "sigv4"] = Field(default="none", description="none, basic (user/password) or sigv4 (AWS).")
    opensearch_user: str | None = Field(default=None, description="Basic-auth user.")
    opensearch_password: SecretStr | None = Field(default=None, description="Basic-auth password.")
    opensearch_service: Literal["es", "aoss"] = Field(default="es", description="SigV4 service: es (managed domain) or aoss (Serverless).")
    opensearch_engine: Literal["lucene", "faiss", "nmslib"] | None = Field(default=None, description="k-NN engine (default lucene; faiss on Serverless).")
    opensearch_space_type: str = Field(default="cosinesimil", description="k-NN space type.")
    opensearch_hybrid: Literal["auto", "pipeline", "client"] = Field(default="auto", description="Hybrid fusion: search pipeline, client-side RRF, or detect.")
    opensearch_verify_certs: bool = Field(default=True, description="Verify the cluster's TLS certificate.")
    embedding_backend: Literal["local", "sagemaker", "bedrock"] = Field(default="local", description="Where embeddings are computed.")
    embedding_model: str = Field(default="all-MiniLM-L6-v2", description="Model name (local: sentence-transformers name or folder; bedrock: model id).")
    embedding_endpoint: str | None = Field(default=None, description="SageMaker embedding endpoint name.")
    embedding_dimension: int | None = Field(default=None, ge=1, description="Vector length of a remote embedding model.")
    embedding_payload: Literal["inputs", "text_inputs"] = Field(default="inputs", description="SageMaker embedding request shape (TEI: inputs; JumpStart: text_inputs).")
    embed_batch_size: int = Field(default=64, ge=1, description="Texts per embedding forward pass.")
    chunk_size: int = Field(default=1000, ge=100, description="Characters per chunk.")
    chunk_overlap: int = Field(default=150, ge=0, description="Characters shared by neighbouring chunks.")
    top_k: int = Field(default=5, ge=1, le=50, description="Passages retrieved and given to the model.")
    search_mode: Literal["hybrid", "vector", "keyword"] = Field(default="hybrid", description="How chunks are ranked.")
    distinct_pages: bool = Field(default=True, description="Cite each page once: the best passage per page, then the next pages.")
    ann_min_rows: int = Field(default=20_000, ge=1, description="Chunks before the ANN index is built (exact search below).")
    # Generation
    generator: Literal["local", "sagemaker", "bedrock", "openai"] = Field(default="local", description="Answer model backend.")
    sagemaker_endpoint: str | None = Field(default=None, description="SageMaker real-time endpoint serving the answer model.")
    sagemaker_container: Literal["tgi", "lmi"] = Field(default="tgi", description="The endpoint's container: TGI or LMI/vLLM messages API.")
    sagemaker_inference_component: str | None = Field(default=None, description="Inference component name, for endpoints that use them.")
    bedrock_model: str = Field(default="mistral.mistral-7b-instruct-v0:2", description="Bedrock model id (or inference profile).")
    openai_base_url: str | None = Field(default=None, description="OpenAI-compatible server, e.g. http://localhost:8000/v1 (vLLM).")
    openai_model: str | None = Field(default=None, description="Model name on that server.")
    openai_api_key: SecretStr | None = Field(default=None, description="API key for that server, if it needs one.")
    local_model: str = Field(default="SmolLM2-135M-Instruct", description="Packaged model name, a model folder or a PEFT adapter folder.")
    local_runtime: Literal["auto", "onnx", "transformers"] = Field(default="auto", description="Runtime of the local model: ONNX Runtime GenAI, else transformers (auto).")
    max_new_tokens: int = Field(default=256, ge=1, le=4096, description="Longest answer, in tokens.")
    temperature: float = Field(default=0.0, ge=0.0, le=2.0, description="0 is greedy decoding.")
    min_similarity: float = Field(default=0.22, description="Below this best-passage cosine similarity, answer 'not found' without asking the model.")
    history_turns: int = Field(default=3, ge=0, description="Earlier turns of a conversation given to the model.")
    # Feedback
    feedback_store: Literal["sqlite", "dynamodb"] = Field(default="sqlite", description="Where interactions and feedback live.")
    dynamodb_table: str = Field(default="ragbot-feedback", description="DynamoDB table (region, endpoint, credentials: the AWS SDK's own variables).")
    # Identity (until sign-in exists)
    user: str = Field(default_factory=_default_user, description="Who is using this app.")
    role: Literal["engineer", "sme", "admin"] = Field(default="admin", description="Their role.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = os.environ.get("RAGBOT_CONFIG", "ragbot.toml")
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_file))

    @property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def index_dir(self) -> Path:
        return self.home_dir / "index"

    @property
    def models_dir(self) -> Path:
        return self.home_dir / "models"
