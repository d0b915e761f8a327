"""OpenAI Chat Completions, and any server speaking it (``openai-compatible``), with the official ``openai`` SDK.

Tool call fragments are gathered by index and each call is emitted whole when the
choice's ``finish_reason`` arrives; arguments that are not a JSON object come back as
``{"_raw": text}`` (see ``parse_tool_arguments``). A stream that ends without a
``finish_reason`` was cut off: a retryable ``ProviderError``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import httpx2
import openai

from penguin_actors.errors import ProviderError
from penguin_actors.models.base import DEFAULT_KEY_ENV as PROVIDER_KEY_ENV
from penguin_actors.models.base import ModelProvider
from penguin_actors.models.retry import is_retryable_status, parse_retry_after
from penguin_actors.types import (
    RAW_ARGUMENTS_KEY,
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

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_KEY_ENV = PROVIDER_KEY_ENV["openai"]
PLACEHOLDER_KEY = "not-needed"
MaxTokensParam = Literal["max_tokens", "max_completion_tokens"]
_STOP_REASONS = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
    "content_filter": "refusal",
}
# An error object inside a 200 stream has no status of its own: take the one its type goes with.
_STATUS_BY_ERROR_TYPE = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "requests": 429,
    "tokens": 429,
    "rate_limit_error": 429,
    "rate_limit_exceeded": 429,
    "insufficient_quota": 429,
    "server_error": 500,
    "service_unavailable": 503,
}
_MAX_MESSAGE_CHARS = 1000


class OpenAIProvider(ModelProvider):
    """A ``ModelProvider`` for OpenAI and OpenAI-compatible servers (Ollama, vLLM, llama.cpp, …).

    ``require_key=False`` (compatible servers) sends a placeholder key when none is set;
    otherwise a missing key makes each call raise a ``ProviderError`` naming ``key_env``.
    ``max_tokens_param`` picks the request field for the token limit: OpenAI's current
    models want ``max_completion_tokens``, most compatible servers only know ``max_tokens``.
    """

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None = None,
        name: str = "openai",
        require_key: bool = True,
        key_env: str = DEFAULT_KEY_ENV,
        max_tokens_param: MaxTokensParam = "max_completion_tokens",
        timeout_s: float = 300.0,
        connect_timeout_s: float = 10.0,
    ) -> None:
        self.name = name
        self._api_key = api_key or (None if require_key else PLACEHOLDER_KEY)
        self._key_env = key_env
        self._max_tokens_param = max_tokens_param
        self._client: openai.AsyncOpenAI | None = None
        if self._api_key is not None:
            self._client = openai.AsyncOpenAI(
                api_key=self._api_key,
                # Explicit, so OPENAI_BASE_URL never redirects our calls.
                base_url=base_url or DEFAULT_BASE_URL,
                max_retries=0,
                timeout=httpx2.Timeout(timeout_s, connect=connect_timeout_s),
            )

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        client = self._require_client()
        messages = to_openai_messages(request)
        calls: dict[int, _CallParts] = {}
        finish: str | None = None
        usage: Usage | None = None
        emitted_calls = False
        opened = False
        try:
            chunks = await client.chat.completions.create(
                **self._limit(request),
                model=request.model,
                messages=cast(Any, messages),
                tools=cast(Any, [to_openai_tool(t) for t in request.tools]) if request.tools else openai.omit,
                temperature=request.temperature if request.temperature is not None else openai.omit,
                stream=True,
                stream_options={"include_usage": True},
            )
            opened = True
            async with chunks:
                async for chunk in chunks:
                    if chunk.usage is not None:
                        usage = Usage(
                            input_tokens=chunk.usage.prompt_tokens, output_tokens=chunk.usage.completion_tokens
                        )
                    for choice in chunk.choices:
                        if choice.index != 0:
                            continue
                        delta = choice.delta
                        if delta.content:
                            yield TextDelta(text=delta.content)
                        reasoning = _reasoning_of(delta)
                        if reasoning:
                            yield ReasoningDelta(text=reasoning)
                        for fragment in delta.tool_calls or []:
                            parts = calls.setdefault(fragment.index, _CallParts())
                            parts.id = fragment.id or parts.id
                            if fragment.function is not None:
                                parts.name = fragment.function.name or parts.name
                                parts.arguments.append(fragment.function.arguments or "")
                        if choice.finish_reason is not None:
                            finish = choice.finish_reason
                            for index in sorted(calls):
                                yield ToolCallEvent(call=calls[index].call())
                            emitted_calls = emitted_calls or bool(calls)
                            calls.clear()
        except (openai.OpenAIError, httpx2.HTTPError, json.JSONDecodeError) as exc:
            raise map_error(exc, self._api_key, provider=self.name, mid_stream=opened) from None
        if finish is None:
            raise ProviderError(
                f"{self.name}: the stream ended without a finish_reason (connection dropped)",
                retryable=True,
                provider=self.name,
                dropped=True,
            )
        if usage is not None:
            yield UsageEvent(usage=usage)
        yield StopEvent(reason=_stop_reason(finish, emitted_calls))

    async def complete(self, request: ModelRequest) -> ModelReply:
        client = self._require_client()
        messages = to_openai_messages(request)
        try:
            completion = await client.chat.completions.create(
                **self._limit(request),
                model=request.model,
                messages=cast(Any, messages),
                tools=cast(Any, [to_openai_tool(t) for t in request.tools]) if request.tools else openai.omit,
                temperature=request.temperature if request.temperature is not None else openai.omit,
            )
        except (openai.OpenAIError, httpx2.HTTPError) as exc:
            raise map_error(exc, self._api_key, provider=self.name) from None
        if not completion.choices:
            raise ProviderError(f"{self.name}: the reply has no choices", retryable=True, provider=self.name)
        choice = completion.choices[0]
        calls = [
            ToolCall(id=c.id, name=c.function.name, arguments=parse_tool_arguments(c.function.arguments))
            for c in choice.message.tool_calls or []
            if c.type == "function"
        ]
        reported = completion.usage
        usage = (
            Usage(input_tokens=reported.prompt_tokens, output_tokens=reported.completion_tokens)
            if reported
            else Usage()
        )
        return ModelReply(
            text=choice.message.content or "",
            tool_calls=calls,
            usage=usage,
            stop_reason=_stop_reason(choice.finish_reason, bool(calls)),
        )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()

    def _require_client(self) -> openai.AsyncOpenAI:
        if self._client is None:
            raise ProviderError(
                f"{self.name}: no API key: set the {self._key_env} environment variable",
                retryable=False,
                provider=self.name,
            )
        return self._client

    def _limit(self, request: ModelRequest) -> dict[str, Any]:
        return {self._max_tokens_param: request.max_tokens}


@dataclass
class _CallParts:
    id: str | None = None
    name: str = ""
    arguments: list[str] = field(default_factory=list)

    def call(self) -> ToolCall:
        call_id = self.id or f"call_{uuid.uuid4().hex[:24]}"  # some compatible servers send none
        return ToolCall(id=call_id, name=self.name, arguments=parse_tool_arguments("".join(self.arguments)))


def to_openai_messages(request: ModelRequest) -> list[dict[str, Any]]:
    """The Chat Completions ``messages`` for ``request``, system prompt first.

    Tool results become ``tool`` messages (text only: an error result is prefixed
    ``Error:``); images in tool results follow the run of tool messages as one user message.
    """
    out: list[dict[str, Any]] = []
    if request.system:
        out.append({"role": "system", "content": request.system})
    pending_images: list[dict[str, Any]] = []
    for message in request.messages:
        if message.role != "tool" and pending_images:
            out.append({"role": "user", "content": pending_images})
            pending_images = []
        if message.role == "tool":
            out.append(_tool_message(message))
            if isinstance(message.content, list):
                pending_images += [_part(p) for p in message.content if isinstance(p, ImagePart)]
        elif message.role == "assistant":
            out.append(_assistant_message(message))
        elif message.role == "user":
            out.append({"role": "user", "content": _content(message.content)})
        else:
            out.append({"role": "system", "content": message.text()})
    if pending_images:
        out.append({"role": "user", "content": pending_images})
    return out


def to_openai_tool(spec: ToolSpec) -> dict[str, Any]:
    function = {"name": spec.name, "description": spec.description, "parameters": spec.parameters}
    return {"type": "function", "function": function}


def _assistant_message(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": "assistant", "content": message.text() or (None if message.tool_calls else "")}
    if message.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": _arguments_text(c)}}
            for c in message.tool_calls
        ]
    return out


def _tool_message(message: Message) -> dict[str, Any]:
    if not message.tool_call_id:
        raise ProviderError("openai: a tool message has no tool_call_id", retryable=False, provider="openai")
    text = message.text()
    return {
        "role": "tool",
        "tool_call_id": message.tool_call_id,
        "content": f"Error: {text}" if message.is_error else text,
    }


def _arguments_text(call: ToolCall) -> str:
    """The arguments as the model wrote them: unusable JSON goes back verbatim."""
    raw = call.arguments.get(RAW_ARGUMENTS_KEY)
    if isinstance(raw, str) and len(call.arguments) == 1:
        return raw
    return json.dumps(call.arguments)


def _content(content: str | list[ContentPart]) -> str | list[dict[str, Any]]:
    return content if isinstance(content, str) else [_part(p) for p in content]


def _part(part: ContentPart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    return {"type": "image_url", "image_url": {"url": f"data:{part.media_type};base64,{part.data}"}}


def _stop_reason(finish: str | None, called_tools: bool) -> str:
    reason = _STOP_REASONS.get(finish or "stop", finish or "end_turn")
    # Some compatible servers say "stop" even when the reply calls tools.
    return "tool_use" if called_tools and reason == "end_turn" else reason


def map_error(
    exc: BaseException, api_key: str | None, *, provider: str = "openai", mid_stream: bool = False
) -> ProviderError:
    """A ``ProviderError`` for an SDK or transport failure; its message never holds ``api_key``."""
    details: dict[str, Any] = {"provider": provider, "cause": type(exc).__name__}
    status: int | None = None
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        said, error_type = _said(exc.body, exc.message)
        retryable = is_retryable_status(status, exc.response.headers.get("x-should-retry"))
        retry_after = parse_retry_after(exc.response.headers)
        if retry_after is not None:
            details["retry_after"] = retry_after
        if exc.request_id:
            details["request_id"] = exc.request_id
        if error_type:
            details["error_type"] = error_type
        text = f"{provider}: HTTP {status}{f' {error_type}' if error_type else ''}: {said}"
    elif isinstance(exc, openai.APITimeoutError | httpx2.TimeoutException):
        retryable, text = True, f"{provider}: the request timed out"
    elif isinstance(exc, openai.APIConnectionError | httpx2.TransportError | json.JSONDecodeError):
        cause = exc.__cause__ or exc
        if mid_stream:
            details["dropped"] = True
            text = f"{provider}: the connection dropped mid-stream: {cause}"
        else:
            text = f"{provider}: cannot connect: {cause}"
        retryable = True
    elif isinstance(exc, openai.APIError):  # an error object inside a stream that started with 200
        said, error_type = _said(exc.body, exc.message)
        status = _STATUS_BY_ERROR_TYPE.get(error_type or "", _STATUS_BY_ERROR_TYPE.get(exc.code or "", 500))
        retryable = is_retryable_status(status)
        details["in_stream"] = True
        if error_type:
            details["error_type"] = error_type
        text = f"{provider}: error in stream{f' {error_type}' if error_type else ''}: {said}"
    else:
        retryable, text = False, f"{provider}: {type(exc).__name__}: {exc}"
    return ProviderError(_scrub(text, api_key), retryable=retryable, status=status, **details)


def _said(body: object, fallback: str) -> tuple[str, str | None]:
    """The provider's own error message and type, from an error body (OpenAI's or a compatible server's)."""
    if isinstance(body, dict):
        message = body.get("message") or body.get("error")
        kind = body.get("type")
        return (message if isinstance(message, str) and message else fallback), (
            kind if isinstance(kind, str) else None
        )
    if isinstance(body, str) and body:
        return body, None
    return fallback, None


def _scrub(text: str, secret: str | None) -> str:
    if secret and secret != PLACEHOLDER_KEY:
        text = text.replace(secret, "[redacted]")
    return text if len(text) <= _MAX_MESSAGE_CHARS else text[:_MAX_MESSAGE_CHARS] + "…"


def _reasoning_of(delta: Any) -> str | None:
    """Reasoning text an OpenAI-compatible server streams beside the answer (``reasoning_content``, as DeepSeek,
    vLLM and Ollama name it, or ``reasoning``); the official API sends none."""
    extra = getattr(delta, "model_extra", None) or {}
    for name in ("reasoning_content", "reasoning"):
        value = extra.get(name)
        if isinstance(value, str) and value:
            return value
    return None
