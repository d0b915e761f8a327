"""Checkpoints: create, list, roll back, branch, statistics, cleanup."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from serve_app.schemas.base import ConversationId, Schema

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
