"""Provider-neutral records shared by the runtime: messages, tool calls, usage, model events."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant", "tool"]


class Record(BaseModel):
    """Base of every runtime record: unknown fields are refused, values are validated."""

    model_config = ConfigDict(extra="forbid")


class TextPart(Record):
    type: Literal["text"] = "text"
    text: str


class ImagePart(Record):
    """An image inlined as base64, as both provider wire formats accept it."""

    type: Literal["image"] = "image"
    media_type: str
    data: str = Field(description="base64-encoded image bytes")


ContentPart = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class ToolCall(Record):
    """A model's call of a tool; ``arguments`` holds ``{RAW_ARGUMENTS_KEY: text}`` if the model's JSON was unusable."""

    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


RAW_ARGUMENTS_KEY = "_raw"


def parse_tool_arguments(raw: str) -> dict[str, Any]:
    """A tool call's JSON arguments as a dict; ``{}`` if blank.

    Text that is not a JSON object comes back as ``{"_raw": text}`` rather than failing
    the model call: the tool layer refuses such arguments with an error result the model
    can read and correct, and nothing the model produced is lost.
    """
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return {RAW_ARGUMENTS_KEY: raw}
    return value if isinstance(value, dict) else {RAW_ARGUMENTS_KEY: raw}


class ToolSpec(Record):
    """A tool as offered to a model: name, description and a JSON schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class Usage(Record):
    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
        )


class Message(Record):
    """One message of a conversation.

    ``content`` is plain text or a list of parts (text, images). An assistant
    message may carry ``tool_calls``; a ``tool`` message answers one call and
    names it with ``tool_call_id``.
    """

    role: Role
    content: str | list[ContentPart] = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None
    is_error: bool = False
    pinned: bool = Field(False, description="kept when a long history is trimmed to fit a model (context files)")
    created_at: float = Field(default_factory=time.time)
    turn_id: str | None = Field(None, description="the turn that added it (None: added outside a turn)")
    client_message_id: str | None = Field(
        None, description="a user message's id given by its client: a send repeated with it starts nothing new"
    )

    def text(self) -> str:
        """The message's text parts joined; images are left out."""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content if isinstance(p, TextPart))


class TextDelta(Record):
    type: Literal["text"] = "text"
    text: str


class ReasoningDelta(Record):
    """Reasoning text a model streams apart from its answer (thinking blocks, ``reasoning_content``)."""

    type: Literal["reasoning"] = "reasoning"
    text: str


class ToolCallEvent(Record):
    """A complete tool call, emitted once its arguments have fully arrived."""

    type: Literal["tool_call"] = "tool_call"
    call: ToolCall


class UsageEvent(Record):
    type: Literal["usage"] = "usage"
    usage: Usage


class StopEvent(Record):
    """The end of a model reply: ``end_turn``, ``tool_use``, ``max_tokens`` or ``stop_sequence``."""

    type: Literal["stop"] = "stop"
    reason: str


ModelEvent = Annotated[TextDelta | ReasoningDelta | ToolCallEvent | UsageEvent | StopEvent, Field(discriminator="type")]


class ModelRequest(Record):
    """Everything a provider needs for one model call."""

    model: str = Field(description="the provider's own model name, e.g. claude-sonnet-4-5")
    messages: list[Message]
    system: str | None = None
    tools: list[ToolSpec] = Field(default_factory=list)
    max_tokens: int = 4096
    temperature: float | None = None


class ModelReply(Record):
    """A whole model reply, as the non-streaming call returns it."""

    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    stop_reason: str = "end_turn"


MultitaskStrategy = Literal["enqueue", "reject", "interrupt"]


class TurnRequest(Record):
    """What a chat message asks of a conversation (validated at the edge; limits live there)."""

    text: str
    context: dict[str, Any] | None = None
    context_files: list[str] = Field(default_factory=list)
    image_path: str | None = None
    image_paths: list[str] = Field(default_factory=list, description="more images, after image_path")
    include_reasoning: bool = Field(False, description="stream the model's reasoning too, when it gives any")
    max_iterations: int = 5
    model_id: str | None = None
    multitask_strategy: MultitaskStrategy = "enqueue"
    report_progress: bool = Field(False, description="emit a `progress` frame before each model call (tasks)")
    client_message_id: str | None = Field(None, description="the client's id of this message (idempotent sends)")
