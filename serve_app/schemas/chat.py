"""A chat message and its answer."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from penguin_actors.types import MultitaskStrategy, TurnRequest
from serve_app.schemas.base import ConversationId, ModelId, Schema, TokenCounts

DEFAULT_AGENT = "default"
MAX_IMAGES = 10  # images one message may carry, as the original allows


class ChatRequest(Schema):
    """A chat message; the original Penguin server's field names are accepted beside ours."""

    text: str = Field(min_length=1, description="the message; over limits.max_text_chars answers 413")
    conversation_id: ConversationId | None = Field(None, description="absent: a new conversation")
    session_id: ConversationId | None = Field(None, description="the original's name for conversation_id")
    context: dict[str, Any] | None = None
    context_files: list[Annotated[str, Field(min_length=1, max_length=1024)]] = Field(
        default_factory=list, max_length=32
    )
    streaming: bool = Field(False, description="over HTTP: answer Server-Sent Events")
    max_iterations: int = Field(5, ge=1, le=50)
    image_path: str | None = Field(None, min_length=1, max_length=1024)
    image_paths: list[Annotated[str, Field(min_length=1, max_length=1024)]] = Field(
        default_factory=list, max_length=MAX_IMAGES, description="more images (the original's field)"
    )
    model_id: ModelId | None = None
    model: ModelId | None = Field(None, description="the original's name for model_id")
    multitask_strategy: MultitaskStrategy = "enqueue"
    include_reasoning: bool = Field(
        False, description="stream the model's reasoning as `reasoning` events and in complete.reasoning, if any"
    )
    agent_id: str | None = Field(None, max_length=128, description=f"accepted; the one agent is {DEFAULT_AGENT!r}")
    client_message_id: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        description="the client's id of this message: sent again within 24 h, it starts nothing new and answers "
        "the first send's turn (also as the Idempotency-Key header)",
    )

    @field_validator("text")
    @classmethod
    def _not_blank(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("text is blank: send some words")
        return text

    @model_validator(mode="after")
    def _one_name_each(self) -> ChatRequest:
        for ours, theirs in (("conversation_id", "session_id"), ("model_id", "model")):
            mine, other = getattr(self, ours), getattr(self, theirs)
            if mine is not None and other is not None and mine != other:
                raise ValueError(f"{ours} and {theirs} name the same thing: give one, or the same value in both")
        if self.agent_id not in (None, DEFAULT_AGENT):
            raise ValueError(f"agent_id {self.agent_id!r}: only the {DEFAULT_AGENT!r} agent exists")
        return self

    @property
    def conversation(self) -> str | None:
        return self.conversation_id or self.session_id

    def turn_request(self, idempotency_key: str | None = None) -> TurnRequest:
        """What the message asks of its conversation; ``idempotency_key`` (a header) stands in for client_message_id."""
        fields = self.model_dump(exclude={"conversation_id", "session_id", "streaming", "model", "agent_id"})
        fields["model_id"] = self.model_id or self.model
        fields["client_message_id"] = self.client_message_id or idempotency_key
        return TurnRequest(**fields)


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
    aborted: bool = Field(False, description="the original's name for cancelled")
    session_id: str = Field(description="the original's name for conversation_id")
    reasoning: str | None = Field(None, description="the model's reasoning, when include_reasoning asked for it")
    restored: bool = Field(False, description="an earlier turn's answer, rebuilt from the store (a repeated send)")
