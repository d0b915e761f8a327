"""Health, system information, status and capabilities."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request

from penguin_actors import __version__
from penguin_actors.edge.gateway import Gateway
from penguin_actors.edge.health import ActorState
from penguin_actors.tools import tool_specs
from serve_app.deps import GatewayDep, SettingsDep
from serve_app.routes import api_routes
from serve_app.schemas import (
    CapabilitiesResponse,
    CapabilityFlags,
    ConversationManagerInfo,
    CurrentModelInfo,
    HealthResponse,
    HostInfo,
    InitializationInfo,
    MemoryProviderInfo,
    NodeInfo,
    RayInfo,
    SystemInfo,
    SystemStatus,
    TokenUsageSummary,
    ToolManagerInfo,
)

router = APIRouter(tags=["system"])

# Providers whose streams may carry reasoning: Anthropic's thinking, OpenAI-compatible reasoning_content.
REASONING_PROVIDERS = frozenset({"anthropic", "openai-compatible"})

# A capability is on when the route that provides it is part of this build.
CAPABILITY_ROUTES = {
    "streaming_enabled": "/api/v1/chat/stream",
    "websocket_support": "/api/v1/chat/stream",
    "checkpoint_management": "/api/v1/checkpoints/create",
    "model_switching": "/api/v1/models/load",
    "file_upload": "/api/v1/upload",
    "task_execution": "/api/v1/tasks/execute",
    "run_mode": "/api/v1/tasks/execute",
    "context_files": "/api/v1/context-files",
}


def _built(states: dict[str, ActorState]) -> bool:
    return all(state == "alive" for state in states.values() if state != "absent")


async def _current_model(gateway: Gateway, states: dict[str, ActorState]) -> CurrentModelInfo | None:
    if states["models"] != "alive":
        return None
    entry = await gateway.models.current()
    return CurrentModelInfo(model=entry.name, provider=entry.provider, vision_enabled=entry.vision_enabled)


@router.get("/health", response_model=HealthResponse)
async def health(settings: SettingsDep, gateway: GatewayDep) -> HealthResponse:
    states, nodes = await asyncio.gather(gateway.actor_states(), gateway.nodes())
    return HealthResponse(
        status="healthy" if _built(states) else "degraded",
        actors=states,
        ray=RayInfo(connected=True, namespace=settings.ray.namespace, nodes_alive=sum(n["alive"] for n in nodes)),
    )


@router.get("/system/info", response_model=SystemInfo)
async def system_info(settings: SettingsDep, gateway: GatewayDep) -> SystemInfo:
    states, nodes = await asyncio.gather(gateway.actor_states(), gateway.nodes())
    store_alive = states["checkpoints"] == "alive"
    tools = tool_specs(settings.tools)
    directory = await gateway.directory.stats() if states["directory"] == "alive" else None
    placed: dict[str, int] = directory["by_node"] if directory else {}
    return SystemInfo(
        penguin_version=__version__,
        engine_available=states["directory"] == "alive" and store_alive,
        checkpoints_enabled=settings.checkpoints.enabled and store_alive,
        current_model=await _current_model(gateway, states),
        conversation_manager=await _conversation_manager(gateway, states, directory),
        tool_manager=ToolManagerInfo(active=bool(tools), total_tools=len(tools)),
        memory_provider=MemoryProviderInfo(initialized=store_alive, provider_type="LanceDB" if store_alive else None),
        actors=states,
        nodes=[NodeInfo(**n, active_conversations=placed.get(n["node_id"], 0)) for n in nodes],
        hosts=[HostInfo(**host) for host in directory["hosts"]] if directory else [],
    )


async def _conversation_manager(
    gateway: Gateway, states: dict[str, ActorState], directory: dict[str, Any] | None
) -> ConversationManagerInfo:
    """The current session (the most recently active conversation) and ``directory``'s counts (its stats)."""
    if states["checkpoints"] != "alive" or directory is None:
        return ConversationManagerInfo(active=False)
    current = await gateway.store.most_recent_conversation()
    total = (await gateway.store.get_conversation(current)).message_count if current else None
    return ConversationManagerInfo(
        active=True,
        current_session_id=current,
        total_messages=total,
        active_conversations=directory["active"],
        max_active_conversations=directory["max_active"],
        conversations_per_actor=directory["conversations_per_actor"],
        max_hosts=directory["max_hosts"],
    )


@router.get("/system/status", response_model=SystemStatus)
async def system_status(request: Request, gateway: GatewayDep) -> SystemStatus:
    states = await gateway.actor_states()
    core = _built(states)
    usage = None
    if states["checkpoints"] == "alive":
        summary = await gateway.store.token_usage(None)
        usage = TokenUsageSummary(total=summary["total"], session=summary["session"])
    run_mode = await gateway.tasks.status() if states["tasks"] == "alive" else None
    return SystemStatus(
        status="active" if core else "degraded",
        runmode_status=run_mode["runmode_status"] if run_mode else None,
        continuous_mode=bool(run_mode and run_mode["continuous_mode"]),
        streaming_active=request.app.state.open_streams > 0,
        token_usage=usage,
        timestamp=datetime.now(UTC),
        initialization=InitializationInfo(core_initialized=core, fast_startup_enabled=True),
    )


@router.get("/capabilities", response_model=CapabilitiesResponse)
async def capabilities(request: Request, gateway: GatewayDep) -> CapabilitiesResponse:
    paths = {route.path for route in api_routes(request.app)}
    flags = {name: path in paths for name, path in CAPABILITY_ROUTES.items()}
    model = await _current_model(gateway, await gateway.actor_states())
    vision = model is not None and model.vision_enabled
    return CapabilitiesResponse(
        capabilities=CapabilityFlags(**flags, vision_enabled=vision, multi_modal=vision and flags["file_upload"]),
        current_model=model,
        api_version="v1",
        penguin_version=__version__,
        vision_enabled=vision,
        streaming_enabled=flags["streaming_enabled"],
        model=model.model if model is not None else None,
        version=__version__,
        reasoning_supported=model is not None and model.provider in REASONING_PROVIDERS,
        reasoning_enabled=False,
    )
