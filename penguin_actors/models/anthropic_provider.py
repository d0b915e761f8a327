"""Claude through the Anthropic Messages API, with the official ``anthropic`` SDK.

Notes on the SDK (2.x) this relies on: it sends the key as ``Authorization: Bearer``
and pins ``anthropic-version: 2026-10-21``, under which the API no longer accepts
``temperature``/``top_p``/``top_k`` (the SDK dropped them), so ``request.temperature``
is not sent. Streaming reads the raw event stream (``create(stream=True)``) rather
than the ``stream()`` helper, so tool arguments are parsed once per block, by us,
and invalid JSON does not abort the stream (see ``parse_tool_arguments``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast

import anthropic
import httpx2

from penguin_actors.errors import ProviderError
from penguin_actors.models.base import DEFAULT_KEY_ENV as PROVIDER_KEY_ENV
from penguin_actors.models.base import ModelProvider
from penguin_actors.models.retry import is_retryable_status, parse_retry_after
from penguin_actors.types import (
    ContentPart,
    ImagePart,
    Message,
    ModelEvent,
    ModelReply,
    ModelRequest,
    ReasoningDelta,
    StopEvent,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallEvent,
    ToolSpec,
    Usage,
    UsageEvent,
    parse_tool_arguments,
)

NAME = "anthropic"
DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_KEY_ENV = PROVIDER_KEY_ENV["anthropic"]
# An error event inside a 200 stream has no status of its own: take the one its type goes with.
_STATUS_BY_ERROR_TYPE = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
_STOP_REASONS = {"model_context_window_exceeded": "max_tokens"}
_MAX_MESSAGE_CHARS = 1000


class AnthropicProvider(ModelProvider):
    """A ``ModelProvider`` for Claude. Without a key it still builds, and each call raises a ``ProviderError``."""

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None = None,
        timeout_s: float = 300.0,
        connect_timeout_s: float = 10.0,
        key_env: str = DEFAULT_KEY_ENV,
    ) -> None:
        self._api_key = api_key or None
        self._key_env = key_env
        self._client: anthropic.AsyncAnthropic | None = None
        if self._api_key is not None:
            self._client = anthropic.AsyncAnthropic(
                api_key=self._api_key,
                # Explicit, so ANTHROPIC_BASE_URL or a credentials profile never redirects our calls.
                base_url=base_url or DEFAULT_BASE_URL,
                max_retries=0,
                timeout=httpx2.Timeout(timeout_s, connect=connect_timeout_s),
            )

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        client = self._require_client()
        system, messages = to_anthropic_messages(request)
        usage = Usage()
        stop_reason: str | None = None
        finished = False
        tools: dict[int, _ToolBlock] = {}
        try:
            events = await client.messages.create(
                model=request.model,
                max_tokens=request.max_tokens,
                messages=cast(Any, messages),
                system=system if system is not None else anthropic.omit,
                tools=cast(Any, [to_anthropic_tool(t) for t in request.tools]) if request.tools else anthropic.omit,
                stream=True,
            )
            async with events:
                async for event in events:
                    if event.type == "message_start":
                        reported = event.message.usage
                        usage = Usage(input_tokens=reported.input_tokens, output_tokens=reported.output_tokens)
                    elif event.type == "content_block_start":
                        block = event.content_block
                        if block.type == "tool_use":
                            tools[event.index] = _ToolBlock(block.id, block.name)
                    elif event.type == "content_block_delta":
                        delta = event.delta
                        if delta.type == "text_delta" and delta.text:
                            yield TextDelta(text=delta.text)
                        elif delta.type == "thinking_delta" and delta.thinking:
                            yield ReasoningDelta(text=delta.thinking)
                        elif delta.type == "input_json_delta" and event.index in tools:
                            tools[event.index].parts.append(delta.partial_json)
                    elif event.type == "content_block_stop":
                        tool = tools.pop(event.index, None)
                        if tool is not None:
                            yield ToolCallEvent(call=tool.call())
                    elif event.type == "message_delta":
                        stop_reason = event.delta.stop_reason or stop_reason
                        input_tokens = event.usage.input_tokens
                        usage = Usage(
                            input_tokens=usage.input_tokens if input_tokens is None else input_tokens,
                            output_tokens=event.usage.output_tokens,
                        )
                    elif event.type == "message_stop":
                        finished = True
        except (anthropic.AnthropicError, httpx2.HTTPError, json.JSONDecodeError) as exc:
            raise map_error(exc, self._api_key) from None
        if not finished:
            raise ProviderError(
                f"{NAME}: the stream ended before message_stop (connection dropped)",
                retryable=True,
                provider=NAME,
                dropped=True,
            )
        yield UsageEvent(usage=usage)
        yield StopEvent(reason=_stop_reason(stop_reason))

    async def complete(self, request: ModelRequest) -> ModelReply:
        client = self._require_client()
        system, messages = to_anthropic_messages(request)
        try:
            message = await client.messages.create(
                model=request.model,
                max_tokens=request.max_tokens,
                messages=cast(Any, messages),
                system=system if system is not None else anthropic.omit,
                tools=cast(Any, [to_anthropic_tool(t) for t in request.tools]) if request.tools else anthropic.omit,
            )
        except (anthropic.AnthropicError, httpx2.HTTPError) as exc:
            raise map_error(exc, self._api_key) from None
        text = "".join(block.text for block in message.content if block.type == "text")
        calls = [
            ToolCall(id=block.id, name=block.name, arguments=dict(block.input))
            for block in message.content
            if block.type == "tool_use"
        ]
        return ModelReply(
            text=text,
            tool_calls=calls,
            usage=Usage(input_tokens=message.usage.input_tokens, output_tokens=message.usage.output_tokens),
            stop_reason=_stop_reason(message.stop_reason),
        )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()

    def _require_client(self) -> anthropic.AsyncAnthropic:
        if self._client is None:
            raise ProviderError(
                f"{NAME}: no API key: set the {self._key_env} environment variable", retryable=False, provider=NAME
            )
        return self._client


@dataclass
class _ToolBlock:
    id: str
    name: str
    parts: list[str] = field(default_factory=list)

    def call(self) -> ToolCall:
        return ToolCall(id=self.id, name=self.name, arguments=parse_tool_arguments("".join(self.parts)))


def to_anthropic_messages(request: ModelRequest) -> tuple[str | None, list[dict[str, Any]]]:
    """The ``system`` text and the ``messages`` list of the Messages API for ``request``.

    System messages join ``request.system``; tool results become ``tool_result`` blocks in a
    user turn; consecutive turns of one role are merged into one, as the API requires.
    """
    system = [request.system] if request.system else []
    turns: list[dict[str, Any]] = []
    for message in request.messages:
        if message.role == "system":
            if message.text():
                system.append(message.text())
            continue
        role, blocks = _turn(message)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return ("\n\n".join(system) or None), turns


def to_anthropic_tool(spec: ToolSpec) -> dict[str, Any]:
    return {"name": spec.name, "description": spec.description, "input_schema": spec.parameters}


def _turn(message: Message) -> tuple[str, list[dict[str, Any]]]:
    if message.role == "tool":
        if not message.tool_call_id:
            raise ProviderError(f"{NAME}: a tool message has no tool_call_id", retryable=False, provider=NAME)
        result: dict[str, Any] = {"type": "tool_result", "tool_use_id": message.tool_call_id}
        parts = [message.content] if isinstance(message.content, str) else message.content
        if any(isinstance(p, ImagePart) for p in parts):
            result["content"] = _blocks(message.content)
        elif message.text():
            result["content"] = message.text()
        result["is_error"] = message.is_error
        return "user", [result]
    blocks = _blocks(message.content)
    if message.role == "assistant":
        blocks += [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments} for c in message.tool_calls]
    return message.role, blocks


def _blocks(content: str | list[ContentPart]) -> list[dict[str, Any]]:
    """Content blocks, leaving out empty text (the API rejects empty text blocks)."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, TextPart):
            if part.text:
                blocks.append({"type": "text", "text": part.text})
        else:
            source = {"type": "base64", "media_type": part.media_type, "data": part.data}
            blocks.append({"type": "image", "source": source})
    return blocks


def _stop_reason(reason: str | None) -> str:
    return _STOP_REASONS.get(reason or "end_turn", reason or "end_turn")


def map_error(exc: BaseException, api_key: str | None) -> ProviderError:
    """A ``ProviderError`` for an SDK or transport failure; its message never holds ``api_key``."""
    details: dict[str, Any] = {"provider": NAME, "cause": type(exc).__name__}
    status: int | None = None
    if isinstance(exc, anthropic.APIStatusError):
        error_type = exc.type if isinstance(exc.type, str) else None
        status = exc.status_code
        headers = exc.response.headers
        if status < 400:  # an error event inside a stream that started with 200
            status = _STATUS_BY_ERROR_TYPE.get(error_type or "", 500)
            details["in_stream"] = True
            retryable = is_retryable_status(status)
        else:
            retryable = is_retryable_status(status, headers.get("x-should-retry"))
            retry_after = parse_retry_after(headers)
            if retry_after is not None:
                details["retry_after"] = retry_after
        if exc.request_id:
            details["request_id"] = exc.request_id
        if error_type:
            details["error_type"] = error_type
        said = exc.api_message or exc.message
        text = f"{NAME}: HTTP {status}{f' {error_type}' if error_type else ''}: {said}"
    elif isinstance(exc, anthropic.APITimeoutError | httpx2.TimeoutException):
        retryable, text = True, f"{NAME}: the request timed out"
    elif isinstance(exc, anthropic.APIConnectionError):
        cause = exc.__cause__
        retryable, text = True, f"{NAME}: cannot connect: {cause or exc.message}"
    elif isinstance(exc, httpx2.TransportError | json.JSONDecodeError):
        details["dropped"] = True
        retryable, text = True, f"{NAME}: the connection dropped mid-stream: {exc}"
    else:
        retryable, text = False, f"{NAME}: {type(exc).__name__}: {exc}"
    return ProviderError(_scrub(text, api_key), retryable=retryable, status=status, **details)


def _scrub(text: str, secret: str | None) -> str:
    if secret:
        text = text.replace(secret, "[redacted]")
    return text if len(text) <= _MAX_MESSAGE_CHARS else text[:_MAX_MESSAGE_CHARS] + "…"
