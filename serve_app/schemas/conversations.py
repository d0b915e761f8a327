"""Conversations and their messages."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from penguin_actors.types import ContentPart, Role, ToolCall
from serve_app.schemas.base import ModelId, Schema


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
