"""Conversations and their messages."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from penguin_actors.types import ContentPart, Role, ToolCall
from serve_app.schemas.base import ModelId, Schema


class ConversationCreate(Schema):
    title: str | None = Field(None, min_length=1, max_length=200, description="absent: its first message names it")
    name: str | None = Field(None, min_length=1, max_length=200, description="the original's name for title")
    model_id: ModelId | None = Field(None, description="this conversation's model; default: the current model")

    @model_validator(mode="after")
    def _one_title(self) -> ConversationCreate:
        if self.title is not None and self.name is not None and self.title != self.name:
            raise ValueError("title and name are the same thing: give one, or the same value in both")
        return self

    @property
    def given_title(self) -> str | None:
        return self.title or self.name


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
    timestamp: datetime | None = Field(None, description="the original's name for created_at (the same time)")
    turn_id: str | None = Field(None, description="the turn that added it")
    client_message_id: str | None = Field(None, description="the id its client sent it with")

    @model_validator(mode="after")
    def _timestamp_is_created_at(self) -> MessagePublic:
        self.timestamp = self.created_at
        return self


class ConversationDetail(ConversationSummary):
    messages: list[MessagePublic]


class Deleted(Schema):
    status: Literal["deleted"] = "deleted"
    id: str
