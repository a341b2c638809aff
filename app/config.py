"""All settings in one place: environment variables with the RAGBOT_ prefix, or a TOML file.

Only the composition root (``app.services``) reads them; ``rag`` and ``feedback`` take
explicit arguments.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from app.loop_config import LoopSettings

DEFAULT_CONFIG = "ragbot.toml"


class SettingsError(ValueError):
    """The settings cannot be read at all (a named config file is missing); the message says which."""


def explain(error: ValidationError) -> str:
    """A settings validation error on one line, naming the variables: ``RAGBOT_TOP_K=0: …; …``."""
    parts = []
    for item in error.errors():
        message = item["msg"].removeprefix("Value error, ")
        if item["loc"]:
            name = "RAGBOT_" + str(item["loc"][0]).upper()
            parts.append(
                f"{name}={item['input']!r}: {message}" if not isinstance(item["input"], dict) else f"{name}: {message}"
            )
        else:
            parts.append(message)
    return "; ".join(parts)


def _default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local"


class Settings(LoopSettings):
    """ragbot's settings. Every field can be set as ``RAGBOT_<FIELD>`` (e.g. ``RAGBOT_TOP_K=8``)
    or in the TOML file named by ``RAGBOT_CONFIG`` (default ``ragbot.toml`` in the working folder).
    The loop's fields are declared in ``app.loop_config``.
    """

    model_config = SettingsConfigDict(env_prefix="RAGBOT_", extra="ignore")

    home: Path = Field(
        default=Path("~/.ragbot"),
        validate_default=True,
        description="Folder for all embedded state: index, models, feedback.",
    )
    # Retrieval
    vector_store: Literal["embedded", "opensearch"] = Field(default="embedded", description="Retrieval backend.")
    opensearch_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("RAGBOT_OPENSEARCH_URL", "OPENSEARCH_URL", "opensearch_url"),
        description="OpenSearch endpoint(s), comma-separated (also read from OPENSEARCH_URL).",
    )
    opensearch_index: str = Field(default="ragbot-chunks", description="OpenSearch index name.")
    opensearch_auth: Literal["none", "basic", "sigv4"] = Field(
        default="none", description="none, basic (user/password) or sigv4 (AWS)."
    )
    opensearch_user: str | None = Field(default=None, description="Basic-auth user.")
    opensearch_password: SecretStr | None = Field(default=None, description="Basic-auth password.")
    opensearch_service: Literal["es", "aoss"] = Field(
        default="es", description="SigV4 service: es (managed domain) or aoss (Serverless)."
    )
    opensearch_engine: Literal["lucene", "faiss", "nmslib"] | None = Field(
        default=None, description="k-NN engine (default lucene; faiss on Serverless)."
    )
    opensearch_space_type: Literal["cosinesimil", "innerproduct", "l2"] = Field(
        default="cosinesimil", description="k-NN space type (see Run on AWS in the README)."
    )
    opensearch_hybrid: Literal["auto", "pipeline", "client"] = Field(
        default="client",
        description="Hybrid fusion: client-side score fusion (per-query weights, as the embedded store), the search pipeline (one fixed weight), or auto (the pipeline where the cluster has one).",
    )
    opensearch_verify_certs: bool = Field(default=True, description="Verify the cluster's TLS certificate.")
    embedding_backend: Literal["local", "sagemaker", "bedrock"] = Field(
        default="local", description="Where embeddings are computed."
    )
    embedding_model: str = Field(
        default="all-MiniLM-L6-v2",
        description="Model name (local: sentence-transformers name or folder; bedrock: model id).",
    )
    embedding_endpoint: str | None = Field(default=None, description="SageMaker embedding endpoint name.")
    embedding_dimension: int | None = Field(
        default=None, ge=1, description="Vector length of a remote embedding model."
    )
    embedding_payload: Literal["inputs", "text_inputs"] = Field(
        default="inputs", description="SageMaker embedding request shape (TEI: inputs; JumpStart: text_inputs)."
    )
    embed_batch_size: int = Field(default=64, ge=1, description="Texts per embedding forward pass.")
    chunk_size: int = Field(default=1000, ge=100, description="Characters per chunk.")
    chunk_overlap: int = Field(
        default=150, ge=0, description="Characters shared by neighbouring chunks (less than the chunk size)."
    )
    top_k: int = Field(default=5, ge=1, le=50, description="Passages retrieved and given to the model.")
    search_mode: Literal["hybrid", "vector", "keyword"] = Field(default="hybrid", description="How chunks are ranked.")
    distinct_pages: bool = Field(
        default=True, description="Cite each page once: the best passage per page, then the next pages."
    )
    route_weight: float = Field(
        default=0.5,
        ge=0.0,
        le=2.0,
        allow_inf_nan=False,
        description="Hybrid mode: how much passages gain when the question names their file or folder (0: off).",
    )
    ann_min_rows: int = Field(
        default=20_000, ge=1, description="Chunks before the ANN index is built (exact search below)."
    )
    ingest_follow_links: bool = Field(
        default=False, description="Ingest also follows symbolic links that lead outside the ingested folder."
    )
    skip_boilerplate_pages: bool = Field(
        default=True, description="Leave contents, index, blank, blank-form and repeated pages out of the index."
    )
    reranker: Path | None = Field(
        default=None,
        description="Folder of a sentence-transformers CrossEncoder that re-ranks the best candidates (off when unset).",
    )
    rerank_candidates: int = Field(default=20, ge=1, le=200, description="First-stage results the re-ranker reads.")
    embed_concurrency: int = Field(
        default=4, ge=1, le=64, description="Embedding batches in flight at once for the SageMaker backend."
    )
    # Generation
    generator: Literal["local", "sagemaker", "bedrock", "openai"] = Field(
        default="local", description="Answer model backend."
    )
    sagemaker_endpoint: str | None = Field(
        default=None, description="SageMaker real-time endpoint serving the answer model."
    )
    sagemaker_container: Literal["tgi", "lmi"] = Field(
        default="tgi", description="The endpoint's container: TGI or LMI/vLLM messages API."
    )
    sagemaker_inference_component: str | None = Field(
        default=None, description="Inference component name, for endpoints that use them."
    )
    bedrock_model: str = Field(
        default="mistral.mistral-7b-instruct-v0:2", description="Bedrock model id (or inference profile)."
    )
    openai_base_url: str | None = Field(
        default=None, description="OpenAI-compatible server, e.g. http://localhost:8000/v1 (vLLM)."
    )
    openai_model: str | None = Field(default=None, description="Model name on that server.")
    openai_api_key: SecretStr | None = Field(default=None, description="API key for that server, if it needs one.")
    request_deadline_s: float = Field(
        default=300.0,
        gt=0,
        le=86400,
        allow_inf_nan=False,
        description="Longest one model or embedding request may take in all (judge, synth, ingest), in seconds; "
        "a reply trickling in never trips the per-read timeouts.",
    )
    stream_deadline_s: float = Field(
        default=600.0,
        gt=0,
        le=86400,
        allow_inf_nan=False,
        description="Longest a streamed answer may take, from the question to its last word, in seconds.",
    )
    local_model: str = Field(
        default="SmolLM2-135M-Instruct", description="Packaged model name, a model folder or a PEFT adapter folder."
    )
    local_runtime: Literal["auto", "onnx", "transformers"] = Field(
        default="auto", description="Runtime of the local model: ONNX Runtime GenAI, else transformers (auto)."
    )
    local_precision: Literal["int8", "fp32", "int4"] | None = Field(
        default=None,
        description="Weights of the local model's ONNX export; unset: the measured default (bench/RESULTS.md).",
    )
    max_new_tokens: int = Field(default=256, ge=1, le=4096, description="Longest answer, in tokens.")
    temperature: float = Field(default=0.0, ge=0.0, le=2.0, description="0 is greedy decoding.")
    regenerate_temperature: float = Field(
        default=0.7, ge=0.0, le=2.0, description="Sampling temperature of a regenerated answer (0: greedy again)."
    )
    regenerate_top_p: float = Field(
        default=0.9, gt=0.0, le=1.0, description="Nucleus (top-p) share a regenerated answer samples from."
    )
    min_similarity: float = Field(
        default=0.22,
        description="Below this best-passage cosine similarity, answer 'not found' without asking the model.",
    )
    history_turns: int = Field(default=3, ge=0, description="Earlier turns of a conversation given to the model.")
    verified_answers: bool = Field(
        default=True, description="Serve an SME-verified answer first to a question that asks the same thing."
    )
    verified_threshold: float = Field(
        default=0.7,
        ge=0.0,
        le=1.0,
        allow_inf_nan=False,
        description="Least cosine similarity of a question to a verified one for its answer to be served.",
    )
    passage_feedback: bool = Field(
        default=True, description="Boost passages that ratings and reviews endorsed, for questions close to theirs."
    )
    passage_feedback_boost: float = Field(
        default=0.1, ge=0.0, le=1.0, allow_inf_nan=False, description="The most a passage gains or loses by feedback."
    )
    passage_feedback_similarity: float = Field(
        default=0.75,
        ge=0.0,
        lt=1.0,
        allow_inf_nan=False,
        description="Least cosine similarity to a rated question for its feedback to count.",
    )
    passage_feedback_half_life_days: float = Field(
        default=180.0, gt=0.0, allow_inf_nan=False, description="Days after which a rating counts half."
    )
    verified_disputes: int = Field(
        default=3, ge=1, description="Ratings of 1-2 on a served verified answer that send it back to review."
    )
    # AI judge: any generator backend; each unset RAGBOT_JUDGE_* falls back to the answer model's setting.
    judge_backend: Literal["local", "sagemaker", "bedrock", "openai"] | None = Field(
        default=None, description="Judge model backend (default: RAGBOT_GENERATOR)."
    )
    judge_openai_base_url: str | None = Field(
        default=None, description="OpenAI-compatible server of the judge (default: RAGBOT_OPENAI_BASE_URL)."
    )
    judge_openai_model: str | None = Field(
        default=None, description="Judge model name on that server (default: RAGBOT_OPENAI_MODEL)."
    )
    judge_openai_api_key: SecretStr | None = Field(
        default=None, description="API key for the judge's server (default: RAGBOT_OPENAI_API_KEY)."
    )
    judge_bedrock_model: str | None = Field(
        default=None, description="Bedrock model id of the judge, e.g. a Claude model (default: RAGBOT_BEDROCK_MODEL)."
    )
    judge_sagemaker_endpoint: str | None = Field(
        default=None, description="SageMaker endpoint of the judge (default: RAGBOT_SAGEMAKER_ENDPOINT)."
    )
    judge_sagemaker_container: Literal["tgi", "lmi"] | None = Field(
        default=None, description="Container of the judge's endpoint (default: RAGBOT_SAGEMAKER_CONTAINER)."
    )
    judge_sagemaker_inference_component: str | None = Field(
        default=None,
        description="Inference component of the judge's endpoint (default: RAGBOT_SAGEMAKER_INFERENCE_COMPONENT).",
    )
    judge_local_model: str | None = Field(
        default=None, description="Local judge model: packaged name or folder (default: RAGBOT_LOCAL_MODEL)."
    )
    judge_max_new_tokens: int = Field(
        default=1024, ge=64, le=8192, description="Longest judge reply (thinking, score and reason), in tokens."
    )
    judge_concurrency: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Judge requests in flight to a remote model (a local model takes 8 at a time, batched on transformers).",
    )
    judge_auto: bool = Field(default=False, description="Judge each new answer in the background of the app.")
    judge_max_reply_chars: int = Field(
        default=32_000,
        ge=1_000,
        le=10_000_000,
        description="Characters stored of one judge reply (raw, thinking and reason each); a longer one is cut and marked reply_cut.",
    )
    # Synthetic question-answer pairs (ragbot synth): each unset RAGBOT_SYNTH_* falls back to the judge's setting.
    synth_backend: Literal["local", "sagemaker", "bedrock", "openai"] | None = Field(
        default=None, description="Model backend that writes synthetic pairs (default: RAGBOT_JUDGE_BACKEND)."
    )
    synth_openai_base_url: str | None = Field(
        default=None, description="OpenAI-compatible server of the synth model (default: RAGBOT_JUDGE_OPENAI_BASE_URL)."
    )
    synth_openai_model: str | None = Field(
        default=None, description="Synth model name on that server (default: RAGBOT_JUDGE_OPENAI_MODEL)."
    )
    synth_openai_api_key: SecretStr | None = Field(
        default=None, description="API key for the synth model's server (default: RAGBOT_JUDGE_OPENAI_API_KEY)."
    )
    synth_bedrock_model: str | None = Field(
        default=None, description="Bedrock model id of the synth model (default: RAGBOT_JUDGE_BEDROCK_MODEL)."
    )
    synth_sagemaker_endpoint: str | None = Field(
        default=None, description="SageMaker endpoint of the synth model (default: RAGBOT_JUDGE_SAGEMAKER_ENDPOINT)."
    )
    synth_sagemaker_container: Literal["tgi", "lmi"] | None = Field(
        default=None, description="Container of the synth model's endpoint (default: RAGBOT_JUDGE_SAGEMAKER_CONTAINER)."
    )
    synth_sagemaker_inference_component: str | None = Field(
        default=None,
        description="Inference component of the synth model's endpoint (default: RAGBOT_JUDGE_SAGEMAKER_INFERENCE_COMPONENT).",
    )
    synth_local_model: str | None = Field(
        default=None, description="Local synth model: packaged name or folder (default: RAGBOT_JUDGE_LOCAL_MODEL)."
    )
    synth_max_new_tokens: int | None = Field(
        default=None,
        ge=64,
        le=8192,
        description="Longest synth reply, in tokens (default: RAGBOT_JUDGE_MAX_NEW_TOKENS).",
    )
    synth_concurrency: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="Synth requests in flight to a remote model (default: RAGBOT_JUDGE_CONCURRENCY).",
    )
    synth_temperature: float = Field(
        default=0.3,
        ge=0.0,
        le=2.0,
        description="Sampling temperature of the synth model (a little gives varied questions).",
    )
    # Feedback
    feedback_store: Literal["sqlite", "dynamodb"] = Field(
        default="sqlite", description="Where interactions and feedback live."
    )
    phone_region: str = Field(
        default="US",
        min_length=2,
        max_length=2,
        description="Country whose national phone formats `feedback export --redact` recognises (international numbers always).",
    )
    dynamodb_table: str = Field(
        default="ragbot-feedback",
        description="DynamoDB table (region, endpoint, credentials: the AWS SDK's own variables).",
    )
    # Identity and sign-in
    auth: Literal["none", "oidc", "proxy"] = Field(
        default="none",
        description="Sign-in: none (one user, from RAGBOT_USER/RAGBOT_ROLE), oidc (Streamlit's st.login) or proxy (a reverse proxy that authenticates).",
    )
    user: str = Field(
        default_factory=_default_user, description="Who is using this app (auth=none) and the command line."
    )
    role: Literal["engineer", "sme", "admin"] = Field(
        default="admin", description="Their role (auth=none) and the command line's."
    )
    oidc_metadata_url: str | None = Field(
        default=None, description="OpenID Connect discovery URL (…/.well-known/openid-configuration)."
    )
    oidc_client_id: str | None = Field(default=None, description="OIDC client id.")
    oidc_client_secret: SecretStr | None = Field(default=None, description="OIDC client secret.")
    oidc_redirect_uri: str | None = Field(
        default=None,
        description="This app's callback URL, ending in /oauth2callback (default http://HOST:PORT/oauth2callback).",
    )
    oidc_scopes: str = Field(
        default="openid profile email",
        description="Scopes asked of the provider (add one that releases the groups claim if yours needs it).",
    )
    oidc_prompt: str = Field(
        default="select_account",
        description="The prompt parameter sent to the provider (select_account: Google, Entra, Okta; login: Keycloak, oidc-provider).",
    )
    oidc_cookie_secret: SecretStr | None = Field(
        default=None, description="Signs the sign-in cookie (default: a random secret kept in RAGBOT_HOME)."
    )
    proxy_mode: Literal["alb", "header"] = Field(
        default="alb",
        description="proxy: alb (verify the ALB's signed x-amzn-oidc-data JWT) or header (trust a header set by oauth2-proxy or similar).",
    )
    proxy_header: str = Field(
        default="X-Forwarded-Email", description="proxy_mode=header: the header that names the user."
    )
    proxy_groups_header: str | None = Field(
        default="X-Forwarded-Groups",
        description="proxy_mode=header: the header with the user's groups, comma-separated.",
    )
    alb_arn: str | None = Field(
        default=None, description="proxy_mode=alb: the load balancer's ARN; tokens signed by any other are refused."
    )
    alb_region: str | None = Field(
        default=None, description="proxy_mode=alb: its region (default: from RAGBOT_ALB_ARN)."
    )
    alb_key_url: str = Field(
        default="https://public-keys.auth.elb.{region}.amazonaws.com/{kid}",
        description="Where the ALB's public signing keys are published.",
    )
    roles_claim: str = Field(
        default="groups",
        description="The ID-token claim (or proxy groups) that holds the user's groups, e.g. cognito:groups.",
    )
    role_map: dict[str, Literal["engineer", "sme", "admin"]] = Field(
        default_factory=dict, description='Groups to roles, as JSON: {"ragbot-admins": "admin", "ragbot-smes": "sme"}.'
    )
    roles_file: Path | None = Field(
        default=None, description="A TOML file of e-mail = role lines; it wins over groups."
    )
    unknown_users: Literal["engineer", "refuse"] = Field(
        default="engineer",
        description="Signed-in users with no role from groups or the roles file: engineer, or refused.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        named = os.environ.get("RAGBOT_CONFIG")
        toml_file = Path(named or DEFAULT_CONFIG).expanduser()
        # The default file may be absent; a file someone named must be there (a typo would
        # otherwise run with the defaults, silently).
        if named and not toml_file.is_file():
            what = "is a folder" if toml_file.is_dir() else "does not exist"
            raise SettingsError(f"RAGBOT_CONFIG={named!r} names a settings file that {what}")
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_file))

    @field_validator("home")
    @classmethod
    def _usable_home(cls, value: Path) -> Path:
        """RAGBOT_HOME is a folder, or can be made one, that this user can write."""
        path = value.expanduser()
        existing = path
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            where = "it" if existing == path else str(existing)
            raise ValueError(f"{where} is a file, not a folder; point RAGBOT_HOME at a folder")
        if not os.access(existing, os.W_OK | os.X_OK):
            where = "it" if existing == path else f"{existing}, where it would be created,"
            raise ValueError(f"{where} cannot be written by this user; point RAGBOT_HOME at a folder you can write")
        return value

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"RAGBOT_CHUNK_OVERLAP={self.chunk_overlap} must be less than RAGBOT_CHUNK_SIZE={self.chunk_size}"
            )
        return self

    @property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def index_dir(self) -> Path:
        return self.home_dir / "index"

    @property
    def models_dir(self) -> Path:
        return self.home_dir / "models"
