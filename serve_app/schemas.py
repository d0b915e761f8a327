"""Request and response models: the API contract, in one module."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from penguin_actors.models.registry import ModelEntry
from penguin_actors.types import ContentPart, MultitaskStrategy, Role, ToolCall, TurnRequest

ActorStateName = Literal["alive", "unresponsive", "not_running", "absent"]


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- errors -----------------------------------------------------------------


class ErrorDetail(Schema):
    code: str = Field(description="stable machine-readable kind, e.g. not_found, validation_error")
    message: str = Field(description="what went wrong and what to do")
    details: Any | None = None


class ErrorResponse(Schema):
    error: ErrorDetail


# --- system -----------------------------------------------------------------


class RayInfo(Schema):
    connected: bool
    namespace: str
    nodes_alive: int
    dashboard_url: str | None = None


class HealthResponse(Schema):
    status: Literal["healthy", "degraded"]
    actors: dict[str, ActorStateName] = Field(description="state of each system actor; absent = not part of this build")
    ray: RayInfo


class CurrentModelInfo(Schema):
    model: str
    provider: str
    streaming_enabled: bool = True
    vision_enabled: bool = False


class ConversationManagerInfo(Schema):
    active: bool
    current_session_id: str | None = Field(None, description="the most recently active conversation")
    total_messages: int | None = Field(None, description="messages in the current session")
    active_conversations: int | None = Field(None, description="conversations with a live actor")
    max_active_conversations: int | None = None


class ToolManagerInfo(Schema):
    active: bool
    total_tools: int | None = None


class MemoryProviderInfo(Schema):
    initialized: bool
    provider_type: str | None = None


class NodeInfo(Schema):
    node_id: str
    address: str
    alive: bool
    is_head: bool
    resources: dict[str, float]
    active_conversations: int = Field(0, description="conversation actors running on this node")
    metrics_port: int | None = Field(None, description="the node's Prometheus endpoint (http://address:port)")


class SystemInfo(Schema):
    penguin_version: str
    engine_available: bool
    checkpoints_enabled: bool
    current_model: CurrentModelInfo | None
    conversation_manager: ConversationManagerInfo
    tool_manager: ToolManagerInfo
    memory_provider: MemoryProviderInfo
    actors: dict[str, ActorStateName]
    nodes: list[NodeInfo]


class TokenCounts(Schema):
    input: int = 0
    output: int = 0


class TokenUsageSummary(Schema):
    total: TokenCounts
    session: TokenCounts


class InitializationInfo(Schema):
    core_initialized: bool = Field(description="every system actor of this build is alive")
    fast_startup_enabled: bool = Field(description="conversation actors activate on first use, not at start")


class SystemStatus(Schema):
    status: Literal["active", "degraded"]
    runmode_status: str | None
    continuous_mode: bool
    streaming_active: bool = Field(description="this ingress replica is streaming a turn to a client now")
    token_usage: TokenUsageSummary | None
    timestamp: datetime
    initialization: InitializationInfo


class CapabilityFlags(Schema):
    vision_enabled: bool
    streaming_enabled: bool
    checkpoint_management: bool
    model_switching: bool
    file_upload: bool
    websocket_support: bool
    task_execution: bool
    run_mode: bool
    multi_modal: bool
    context_files: bool


class CapabilitiesResponse(Schema):
    capabilities: CapabilityFlags
    current_model: CurrentModelInfo | None
    api_version: str
    penguin_version: str


# --- models -----------------------------------------------------------------


class ModelPublic(ModelEntry):
    """A configured model; ``current`` is true for exactly one."""

    model_config = ConfigDict(extra="forbid")


class ModelsResponse(Schema):
    models: list[ModelPublic]


class ModelLoadRequest(Schema):
    model_id: str = Field(min_length=1, max_length=128, examples=["claude-sonnet"])


class ModelLoadResponse(Schema):
    status: Literal["success"] = "success"
    model_id: str
    current_model: str
    message: str
    available: bool = Field(description="false when the model's provider key is not set")
    warning: str | None = None


class CurrentModelResponse(Schema):
    id: str
    model: str = Field(description="provider/model name")
    provider: str
    client_preference: Literal["native"] = Field("native", description="the provider's official SDK is used")
    max_tokens: int
    temperature: float
    context_window: int
    streaming_enabled: bool = True
    vision_enabled: bool
    available: bool
    simulated: bool


# --- token usage ------------------------------------------------------------


class ModelUsage(TokenCounts):
    cost_usd: float | None = Field(None, description="null when the model has no configured prices")


class TokenUsageResponse(Schema):
    total: TokenCounts
    session: TokenCounts
    session_id: str | None = Field(description="the conversation counted as the session")
    by_model: dict[str, ModelUsage]
    total_cost_usd: float | None


# --- conversations ----------------------------------------------------------

RecordId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]
ConversationId = RecordId
ModelId = Annotated[str, Field(min_length=1, max_length=128)]


class ConversationCreate(Schema):
    title: str | None = Field(None, min_length=1, max_length=200)
    model_id: ModelId | None = Field(None, description="this conversation's model; default: the current model")


class ConversationUpdate(Schema):
    """Rename, set the conversation's own model, or (``"model_id": null``) go back to the default model."""

    title: str | None = Field(None, min_length=1, max_length=200)
    model_id: ModelId | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> ConversationUpdate:
        if not self.model_fields_set:
            raise ValueError("give title, model_id, or both")
        if "title" in self.model_fields_set and self.title is None:
            raise ValueError("title may not be null")
        return self


class ConversationSummary(Schema):
    id: str
    title: str
    created_at: datetime
    last_active: datetime
    message_count: int
    model_id: str | None = None


class ConversationCreated(ConversationSummary):
    conversation_id: str = Field(description="the same as id, as the original API named it")


class ConversationList(Schema):
    conversations: list[ConversationSummary]
    total: int
    limit: int
    offset: int


class MessagePublic(Schema):
    role: Role
    content: str | list[ContentPart]
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None
    is_error: bool = False
    pinned: bool = False
    created_at: datetime


class ConversationDetail(ConversationSummary):
    messages: list[MessagePublic]


class Deleted(Schema):
    status: Literal["deleted"] = "deleted"
    id: str


# --- chat -------------------------------------------------------------------


class ChatRequest(Schema):
    text: str = Field(min_length=1, description="the message; over limits.max_text_chars answers 413")
    conversation_id: ConversationId | None = Field(None, description="absent: a new conversation")
    context: dict[str, Any] | None = None
    context_files: list[Annotated[str, Field(min_length=1, max_length=1024)]] = Field(
        default_factory=list, max_length=32
    )
    streaming: bool = Field(False, description="over HTTP: answer Server-Sent Events")
    max_iterations: int = Field(5, ge=1, le=50)
    image_path: str | None = Field(None, min_length=1, max_length=1024)
    model_id: ModelId | None = None
    multitask_strategy: MultitaskStrategy = "enqueue"

    @field_validator("text")
    @classmethod
    def _not_blank(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("text is blank: send some words")
        return text

    def turn_request(self) -> TurnRequest:
        """What the message asks of its conversation."""
        return TurnRequest(**self.model_dump(exclude={"conversation_id", "streaming"}))


class ActionResultPublic(Schema):
    action: str = Field(description="the tool's name")
    result: str
    status: Literal["completed", "error"]
    arguments: dict[str, Any] = Field(default_factory=dict)
    id: str | None = Field(None, description="the model's id for the call")
    duration_s: float | None = None


class ChatResponse(Schema):
    response: str
    action_results: list[ActionResultPublic]
    conversation_id: str
    turn_id: str
    usage: TokenCounts
    model: str | None
    iterations: int
    stop_reason: str
    cancelled: bool


# --- checkpoints ------------------------------------------------------------

CheckpointType = Literal["auto", "manual", "branch", "rollback"]


class CheckpointCreate(Schema):
    name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=2000)
    conversation_id: ConversationId | None = Field(None, description="default: the most recently active conversation")


class CheckpointCreated(Schema):
    checkpoint_id: str
    status: Literal["created"] = "created"
    name: str | None
    description: str | None
    conversation_id: str
    message_count: int


class CheckpointPublic(Schema):
    id: str
    name: str | None
    description: str | None
    created_at: datetime
    type: CheckpointType
    session_id: str = Field(description="the conversation the checkpoint belongs to")
    message_count: int


class CheckpointList(Schema):
    checkpoints: list[CheckpointPublic]


class RollbackResult(Schema):
    status: Literal["success"] = "success"
    checkpoint_id: str
    message: str
    conversation_id: str
    message_count: int
    rollback_checkpoint_id: str = Field(description="marks where the conversation was: roll back to it to undo")


class BranchCreate(Schema):
    name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=2000)


class BranchCreated(Schema):
    branch_id: str = Field(description="the new conversation")
    source_checkpoint_id: str
    status: Literal["created"] = "created"
    name: str | None
    description: str | None
    message_count: int


class CheckpointConfig(Schema):
    frequency: int
    retention_hours: float
    max_age_days: float


class CheckpointStatsResponse(Schema):
    enabled: bool
    total_checkpoints: int
    auto_checkpoints: int
    manual_checkpoints: int
    branch_checkpoints: int
    rollback_checkpoints: int
    config: CheckpointConfig


class CleanupResult(Schema):
    status: Literal["completed"] = "completed"
    cleaned_count: int
    message: str


# --- files ------------------------------------------------------------------


class UploadResponse(Schema):
    path: str = Field(description="where the file is stored; accepted as image_path")
    filename: str = Field(description="the client's file name, as a label")
    content_type: str = Field(description="told from the content, never from the name")


class ContextFile(Schema):
    path: str = Field(description="relative to the workspace's context/ folder")
    size: int
    modified: datetime
    type: str


class ContextFileList(Schema):
    files: list[ContextFile]


class ContextLoadRequest(Schema):
    file_path: str = Field(min_length=1, max_length=1024, description="relative to the workspace's context/ folder")
    conversation_id: ConversationId | None = Field(None, description="default: the most recently active conversation")


class ContextLoadResult(Schema):
    status: Literal["loaded"] = "loaded"
    file_path: str
    conversation_id: str
    message_count: int


# --- render -----------------------------------------------------------------

MAX_RENDER_TEXTS = 200


class RenderRequest(Schema):
    texts: list[str] = Field(
        max_length=MAX_RENDER_TEXTS,
        description=f"Markdown texts, at most {MAX_RENDER_TEXTS}; each at most limits.max_text_chars (else 413)",
    )


class RenderResponse(Schema):
    html: list[str] = Field(description="one safe HTML fragment per text, in order; raw HTML escaped, bad links inert")


# --- tasks and projects ----------------------------------------------------------

TaskStatusName = Literal[
    "queued", "running", "completed", "failed", "cancelled", "time_limit_reached", "iterations_exceeded"
]


class TaskRequest(Schema):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=20_000)
    continuous: bool = Field(False, description="run mode: keep taking steps, then the project's next queued task")
    time_limit: float | None = Field(None, gt=0, le=1440, description="minutes; absent = tasks.default_time_limit_min")
    project_id: RecordId | None = None
    max_iterations: int | None = Field(None, ge=1, le=50, description="model calls per step")
    model_id: ModelId | None = None

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, name: str) -> str:
        if not name.strip():
            raise ValueError("name is blank: give the task a name")
        return name


class TaskMetadata(Schema):
    name: str
    description: str
    continuous: bool
    time_limit: float | None
    project_id: str | None
    steps: int


class TaskPublic(Schema):
    task_id: str
    name: str
    description: str
    project_id: str | None
    status: TaskStatusName
    continuous: bool
    time_limit: float | None = Field(description="minutes")
    conversation_id: str | None = Field(description="the conversation holding the task's history")
    steps: int
    iterations: int
    created_at: float
    started_at: float | None
    finished_at: float | None
    execution_time: float = Field(description="seconds")
    response: str | None
    reason: str | None = Field(description="why it failed or stopped early")
    action_results: list[ActionResultPublic]
    usage: TokenCounts


class TaskList(Schema):
    tasks: list[TaskPublic]
    total: int


class TaskResult(Schema):
    """``POST /tasks/execute-sync``'s answer and the data of the task stream's ``complete``."""

    task_id: str
    status: TaskStatusName
    response: str
    iterations: int
    execution_time: float
    action_results: list[ActionResultPublic]
    usage: TokenCounts
    conversation_id: str | None
    reason: str | None
    task_metadata: TaskMetadata


class ProjectCreate(Schema):
    name: str = Field(min_length=1, max_length=200, description="unique, ignoring case")
    description: str = Field("", max_length=5000)


class ProjectPublic(Schema):
    id: str
    project_id: str
    name: str
    description: str
    created_at: float
    task_counts: dict[str, int] = Field(description="the project's tasks by status")


class ProjectDetail(ProjectPublic):
    tasks: list[TaskPublic]


class ProjectList(Schema):
    projects: list[ProjectPublic]
