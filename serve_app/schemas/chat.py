"""A chat message and its answer."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from penguin_actors.types import MultitaskStrategy, TurnRequest
from serve_app.schemas.base import ConversationId, ModelId, Schema, TokenCounts


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
