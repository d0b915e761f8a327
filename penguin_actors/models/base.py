"""The one small interface every model provider implements."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from penguin_actors.types import ModelEvent, ModelReply, ModelRequest, StopEvent, TextDelta, ToolCallEvent, UsageEvent

# Where a provider's key is read from when a model names no api_key_env.
DEFAULT_KEY_ENV = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}


class ModelProvider(Protocol):
    """Streams a model's reply to a request.

    ``stream`` yields text deltas as they arrive, each tool call once complete,
    the usage the provider reported, and last a stop event. Failures raise
    ``ProviderError`` (``retryable`` for 429, 5xx and dropped connections) and
    never carry key material.
    """

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        """An async generator of the reply's events."""
        ...

    async def complete(self, request: ModelRequest) -> ModelReply: ...

    async def aclose(self) -> None: ...


async def collect(events: AsyncIterator[ModelEvent]) -> ModelReply:
    """Fold a stream of events into one reply."""
    reply = ModelReply()
    parts: list[str] = []
    async for event in events:
        if isinstance(event, TextDelta):
            parts.append(event.text)
        elif isinstance(event, ToolCallEvent):
            reply.tool_calls.append(event.call)
        elif isinstance(event, UsageEvent):
            reply.usage = reply.usage + event.usage
        elif isinstance(event, StopEvent):
            reply.stop_reason = event.reason
    reply.text = "".join(parts)
    return reply
