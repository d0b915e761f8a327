"""Health, system information, status and capabilities."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from serve_app.schemas.base import ActorStateName, Schema, TokenCounts


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
    active_conversations: int | None = Field(None, description="conversations a host holds now")
    max_active_conversations: int | None = None
    conversations_per_actor: int | None = Field(None, description="conversations one host holds at most")
    max_hosts: int | None = Field(None, description="conversation hosts at most")


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
    active_conversations: int = Field(0, description="conversations held by the hosts on this node")
    metrics_port: int | None = Field(None, description="the node's Prometheus endpoint (http://address:port)")


class HostInfo(Schema):
    name: str = Field(description="the host's Ray actor: host:<n>, or conv:<id> for an actor of one conversation")
    node_id: str | None
    conversations: int
    capacity: int


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
    hosts: list[HostInfo] = Field(default_factory=list, description="the conversation hosts and what they hold")


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
    # The original server's flat shape, which its clients read (data.vision_enabled).
    vision_enabled: bool
    streaming_enabled: bool
    model: str | None = Field(description="the current model's name")
    version: str = Field(description="the same as penguin_version")
    reasoning_supported: bool = Field(description="the current model's provider may stream its reasoning")
    reasoning_enabled: bool = Field(description="false: a chat message asks for it with include_reasoning")
