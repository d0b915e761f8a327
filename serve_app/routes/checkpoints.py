"""Checkpoints: create, list, roll back, branch, statistics and retention cleanup."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from penguin_actors.store import CheckpointRecord
from serve_app.deps import ConversationsDep, SettingsDep, StoreDep
from serve_app.errors import documented
from serve_app.schemas import (
    BranchCreate,
    BranchCreated,
    CheckpointConfig,
    CheckpointCreate,
    CheckpointCreated,
    CheckpointList,
    CheckpointPublic,
    CheckpointStatsResponse,
    CleanupResult,
    RollbackResult,
)

router = APIRouter(tags=["checkpoints"])
CheckpointPath = Annotated[str, Path(min_length=1, max_length=64)]


def public(checkpoint: CheckpointRecord) -> CheckpointPublic:
    return CheckpointPublic(
        id=checkpoint.id,
        name=checkpoint.name,
        description=checkpoint.description,
        created_at=checkpoint.created_at,
        type=checkpoint.kind,
        session_id=checkpoint.conversation_id,
        message_count=checkpoint.message_count,
    )


@router.post("/checkpoints/create", response_model=CheckpointCreated, status_code=201, responses=documented(404))
async def create_checkpoint(
    body: CheckpointCreate, store: StoreDep, conversations: ConversationsDep
) -> CheckpointCreated:
    conversation_id = await conversations.current(body.conversation_id)
    checkpoint = await store.create_checkpoint(conversation_id, "manual", body.name, body.description)
    return CheckpointCreated(
        checkpoint_id=checkpoint.id,
        name=checkpoint.name,
        description=checkpoint.description,
        conversation_id=conversation_id,
        message_count=checkpoint.message_count,
    )


@router.get("/checkpoints", response_model=CheckpointList, responses=documented(404))
async def list_checkpoints(
    store: StoreDep,
    session_id: Annotated[str | None, Query(max_length=128, description="only this conversation's")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> CheckpointList:
    checkpoints = await store.list_checkpoints(session_id, limit)
    return CheckpointList(checkpoints=[public(c) for c in checkpoints])


@router.get("/checkpoints/stats", response_model=CheckpointStatsResponse)
async def checkpoint_stats(store: StoreDep, settings: SettingsDep) -> CheckpointStatsResponse:
    stats = await store.stats()
    policy = settings.checkpoints
    return CheckpointStatsResponse(
        enabled=policy.enabled,
        total_checkpoints=stats.total,
        auto_checkpoints=stats.auto,
        manual_checkpoints=stats.manual,
        branch_checkpoints=stats.branch,
        rollback_checkpoints=stats.rollback,
        config=CheckpointConfig(
            frequency=policy.frequency, retention_hours=policy.retention_hours, max_age_days=policy.max_age_days
        ),
    )


@router.post("/checkpoints/cleanup", response_model=CleanupResult)
async def cleanup_checkpoints(store: StoreDep) -> CleanupResult:
    cleaned = await store.cleanup()
    return CleanupResult(cleaned_count=cleaned, message=f"Cleaned up {cleaned} old checkpoints")


@router.get("/checkpoints/{checkpoint_id}", response_model=CheckpointPublic, responses=documented(404))
async def get_checkpoint(checkpoint_id: CheckpointPath, store: StoreDep) -> CheckpointPublic:
    return public(await store.get_checkpoint(checkpoint_id))


@router.post("/checkpoints/{checkpoint_id}/rollback", response_model=RollbackResult, responses=documented(404))
async def rollback(checkpoint_id: CheckpointPath, store: StoreDep, conversations: ConversationsDep) -> RollbackResult:
    checkpoint = await store.get_checkpoint(checkpoint_id)
    # Through the conversation's actor, so no turn appends while the lineage moves and its history follows.
    marker = await conversations.rollback(checkpoint.conversation_id, checkpoint_id)
    return RollbackResult(
        checkpoint_id=checkpoint_id,
        message=f"Successfully rolled back to checkpoint {checkpoint_id}",
        conversation_id=checkpoint.conversation_id,
        message_count=checkpoint.message_count,
        rollback_checkpoint_id=marker.id,
    )


@router.post(
    "/checkpoints/{checkpoint_id}/branch", response_model=BranchCreated, status_code=201, responses=documented(404)
)
async def branch(checkpoint_id: CheckpointPath, store: StoreDep, body: BranchCreate | None = None) -> BranchCreated:
    body = body or BranchCreate()
    conversation, _ = await store.branch(checkpoint_id, body.name, body.description)
    return BranchCreated(
        branch_id=conversation.id,
        source_checkpoint_id=checkpoint_id,
        name=body.name or conversation.display_title,
        description=body.description,
        message_count=conversation.message_count,
    )
