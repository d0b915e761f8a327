"""The settings' sections: one validated pydantic model per part of ``penguin.yaml``, and ``Settings`` of them all."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

Provider = Literal["anthropic", "openai", "openai-compatible", "sim"]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    api_key: SecretStr | None = None
    cors_origins: list[str] = Field(default_factory=list)
    insecure: bool = False

    @model_validator(mode="after")
    def _no_wildcard_origin(self) -> ServerSettings:
        if "*" in self.cors_origins:
            raise ValueError("cors_origins may not contain '*': list the origins that may call the API")
        return self


class RaySettings(Section):
    address: str | None = Field(None, description="join this cluster; unset starts a local Ray")
    namespace: str = "penguin"
    dashboard: bool = True
    dashboard_host: str = "127.0.0.1"
    dashboard_port: int = Field(8265, ge=1, le=65535)
    num_cpus: int | None = Field(None, ge=1, description="CPUs of a local Ray; unset = all")
    auth_mode: Literal["token", "disabled"] = Field(
        "token",
        description="Ray's own token authentication (RAY_AUTH_MODE); 'disabled' only on a trusted host",
    )
    connect_timeout_s: float = Field(10.0, gt=0, le=300)
    system_actors_on_head: bool = Field(
        True,
        description="keep the system actors on the head node: the store's default storage is the head's disk; "
        "turn off only with a storage_uri every node reaches (s3://…, a shared file system)",
    )


class ServeSettings(Section):
    # An open WebSocket holds one slot of its replica for its whole life, and the
    # ingress does little work per request (it awaits actors), so a replica can
    # hold many: 64 streaming clients plus HTTP traffic fit in 256 with room left.
    max_ongoing_requests: int = Field(256, ge=1, le=10_000)
    num_replicas: int = Field(1, ge=1, le=64)
    # Serve's request timeout also ends WebSockets, so it stays off (None) and
    # each route bounds its own work instead (limits.turn_timeout_s).
    request_timeout_s: float | None = Field(None, gt=0)
    keep_alive_timeout_s: float = Field(30.0, gt=0)
    proxy_location: Literal["EveryNode", "HeadOnly"] = Field(
        "EveryNode", description="where Serve runs HTTP proxies: on every node (behind a load balancer) or the head"
    )
    replica_resources: dict[str, float] = Field(
        default_factory=dict, description="custom Ray resources each ingress replica needs (where replicas may run)"
    )


class ModelConfig(Section):
    id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:/-]+$")
    name: str = Field(description="provider/model, e.g. anthropic/claude-sonnet-4-5")
    provider: Provider
    model: str | None = Field(None, description="model name sent to the provider; default: name after '/'")
    base_url: str | None = None
    api_key_env: str | None = Field(None, description="environment variable holding the provider key")
    vision_enabled: bool = False
    max_tokens: int = Field(4096, ge=1, le=1_000_000)
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    context_window: int = Field(200_000, ge=256)
    price_input_per_mtok: float | None = Field(None, ge=0)
    price_output_per_mtok: float | None = Field(None, ge=0)
    # sim only
    first_token_delay_s: float = Field(0.0, ge=0, le=60)
    tokens_per_s: float = Field(0.0, ge=0, description="0 = as fast as possible")
    reply_tokens: int = Field(40, ge=1, le=100_000)

    @property
    def provider_model(self) -> str:
        return self.model or self.name.split("/", 1)[-1]


class ModelsSettings(Section):
    default: str | None = Field(None, description="id of the default model; unset = first usable")
    catalog: list[ModelConfig] | None = Field(None, description="unset = the built-in catalog")


class AgentSettings(Section):
    system_prompt: str | None = Field(None, description="unset = the built-in prompt (engine.DEFAULT_SYSTEM_PROMPT)")
    max_iterations: int = Field(5, ge=1, le=50, description="model calls per turn when a request names none")


class TaskSettings(Section):
    max_steps: int = Field(20, ge=1, le=1000, description="turns a continuous (run mode) task may take in all")
    max_time_limit_min: float = Field(1440, gt=0, description="the longest time_limit (minutes) a task may ask")
    default_time_limit_min: float | None = Field(None, gt=0, description="a task's limit if it names none (minutes)")


class CheckpointSettings(Section):
    enabled: bool = True
    frequency: int = Field(1, ge=1, le=10_000)
    retention_hours: float = Field(24, ge=0)
    max_age_days: float = Field(30, ge=0)
    cleanup_interval_s: float = Field(3600, gt=0)


class ActivationSettings(Section):
    max_active: int = Field(512, ge=1, le=100_000, description="conversations live (held by a host) at once")
    idle_timeout_s: float = Field(
        600, gt=0, description="an idle conversation is passivated after this; an empty host stops after it"
    )
    conversations_per_actor: int = Field(
        256,
        ge=1,
        le=100_000,
        description="conversations one host (a Ray actor process) holds; 1 = a Ray actor conv:<id> per conversation",
    )
    max_hosts: int | None = Field(
        None, ge=1, le=10_000, description="conversation hosts at most; unset = one per CPU of the cluster"
    )
    spare_hosts: int = Field(
        1, ge=0, le=64, description="hosts kept started ahead with room, so that no user waits for a process start"
    )
    placement: Literal["spread", "pack"] = Field(
        "spread", description="spread conversation hosts over the cluster's nodes, or pack them (Ray's default)"
    )
    resources: dict[str, float] = Field(
        default_factory=dict,
        description="custom Ray resources each conversation host needs, e.g. {penguin_conversations: 0.01} "
        "to keep them on nodes started with --resources",
    )


class ToolSettings(Section):
    enabled: bool = True
    allow_code_execution: bool = True
    timeout_s: float = Field(60, gt=0, le=3600)
    output_cap_bytes: int = Field(64 * 1024, ge=1024, le=16 * 1024 * 1024)


class LimitSettings(Section):
    max_text_chars: int = Field(200_000, ge=1)
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(20 * 1024 * 1024, ge=1024)
    max_context_file_bytes: int = Field(256 * 1024, ge=1024)
    allow_text_uploads: bool = Field(False, description="accept UTF-8 text uploads as well as images")
    ws_max_frame_bytes: int = Field(1024 * 1024, ge=1024)
    turn_timeout_s: float = Field(600, gt=0)
    # Rate limits, per ingress replica (each replica counts for itself: N replicas allow N times as much).
    requests_per_minute: int = Field(
        0, ge=0, description="/api/v1 HTTP requests per client (API key, else IP) and minute; 0 = no limit"
    )
    requests_burst: int = Field(60, ge=1, description="requests a client may make at once before the rate applies")
    ws_messages_per_minute: int = Field(120, ge=0, description="messages per chat WebSocket and minute; 0 = no limit")
    ws_messages_burst: int = Field(20, ge=1)
    # An open WebSocket holds one of its replica's serve.max_ongoing_requests slots for its whole life:
    # keep this well below that number, or one client can take every slot.
    max_websockets_per_client: int = Field(16, ge=0, description="open chat WebSockets per client; 0 = no limit")


class EmbeddingSettings(Section):
    """An embedding provider for memory search by meaning; the section absent (the default) = full text only."""

    provider: Literal["openai", "openai-compatible"] = Field(
        "openai", description="'openai', or any server speaking its embeddings API (needs base_url; key optional)"
    )
    model: str = Field("text-embedding-3-small", min_length=1, max_length=200)
    base_url: str | None = Field(None, description="the API's base URL, e.g. http://localhost:11434/v1")
    api_key_env: str | None = Field(
        None, description="environment variable holding the provider key; unset = OPENAI_API_KEY for 'openai'"
    )
    dimensions: int = Field(1536, ge=8, le=8192, description="the length of the model's vectors")
    send_dimensions: bool = Field(
        True, description="ask the provider for vectors of this length (text-embedding-3 models shorten theirs)"
    )
    batch_size: int = Field(64, ge=1, le=2048, description="texts per embedding request of the background indexer")
    max_input_chars: int = Field(8000, ge=100, le=100_000, description="longer texts are cut before embedding")
    min_similarity: float = Field(
        0.25, ge=-1.0, lt=1.0, description="cosine similarity below which a vector match does not count"
    )
    timeout_s: float = Field(30.0, gt=0, le=600, description="the time limit of a background embedding request")
    query_timeout_s: float = Field(
        5.0, gt=0, le=120, description="the time limit of embedding a search query; then the search uses words only"
    )
    retry_interval_s: float = Field(
        30.0, gt=0, le=3600, description="after a failed embedding request, wait this long before the next try"
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^\s/]+\S*", value):
            raise ValueError("must be an http:// or https:// URL, e.g. http://localhost:11434/v1")
        return value

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ValueError(
                "must name an environment variable (letters, digits, _), not hold the key: put the key in that variable"
            )
        return value

    @model_validator(mode="after")
    def _compatible_needs_base_url(self) -> EmbeddingSettings:
        if self.provider == "openai-compatible" and not self.base_url:
            raise ValueError(
                "provider 'openai-compatible' needs base_url: give the server's API URL, e.g. http://localhost:11434/v1"
            )
        return self


class StorageSettings(Section):
    index_cache_mb: int = Field(
        64, ge=1, le=1_048_576, description="LanceDB's cache of index pages, in MB (the store's memory grows to it)"
    )
    metadata_cache_mb: int = Field(
        64,
        ge=1,
        le=1_048_576,
        description="LanceDB's cache of table versions' metadata, in MB; unbounded, it grows with every write",
    )
    journal: bool = Field(
        True,
        description=(
            "acknowledge appended messages once written to a journal file beside the database, and apply them "
            "to LanceDB in batches in the background (a local storage_uri only; off = every commit writes LanceDB)"
        ),
    )
    journal_flush_s: float = Field(
        0.5, ge=0.01, le=60, description="how long journaled commits gather before they are applied to LanceDB"
    )


class MemorySettings(Section):
    embeddings: EmbeddingSettings | None = Field(
        None, description="search notes and messages by meaning too; unset = full-text search only"
    )


class Settings(Section):
    workspace: Path = Field(default_factory=lambda: Path.cwd() / "workspace")
    storage_uri: str | None = Field(None, description="LanceDB URI; unset = <workspace>/.penguin/db")
    storage: StorageSettings = Field(default_factory=StorageSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    ray: RaySettings = Field(default_factory=RaySettings)
    serve: ServeSettings = Field(default_factory=ServeSettings)
    models: ModelsSettings = Field(default_factory=ModelsSettings)
    agent: AgentSettings = Field(default_factory=AgentSettings)
    tasks: TaskSettings = Field(default_factory=TaskSettings)
    checkpoints: CheckpointSettings = Field(default_factory=CheckpointSettings)
    activation: ActivationSettings = Field(default_factory=ActivationSettings)
    tools: ToolSettings = Field(default_factory=ToolSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    memory: MemorySettings = Field(default_factory=MemorySettings)

    @property
    def resolved_storage_uri(self) -> str:
        return self.storage_uri or str(self.workspace / ".penguin" / "db")

    @property
    def local_storage_path(self) -> Path | None:
        """The database's directory when it is on a local (or mounted) file system; None for object stores."""
        uri = self.resolved_storage_uri
        if uri.startswith("file://"):
            return Path(uri.removeprefix("file://"))
        return None if "://" in uri else Path(uri)
