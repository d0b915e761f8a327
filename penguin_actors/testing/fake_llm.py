"""A fake LLM provider over real HTTP on loopback, speaking the OpenAI and Anthropic wire formats.

The official SDKs talk to it as they would to the real services, so tests exercise
the providers end to end without a network. Tests script what the "model" says with
protocol-neutral ``Reply`` values and inspect what the client sent in ``requests``::

    with FakeLLM() as fake:
        fake.script("Hello there", Reply.error(429, retry_after=1))
        ...  # point a client at fake.base_url (OpenAI clients: fake.base_url + "/v1")
        assert fake.requests[0].body["model"] == "claude-x"

It also runs on its own for load tests::

    python -m penguin_actors.testing.fake_llm --port 9100 --words 200 --chunk-delay 0.01

Routes: ``POST /v1/chat/completions`` (OpenAI), ``POST /v1/messages`` (Anthropic),
``GET /v1/models`` (either format, by the ``anthropic-version`` header), and
``POST /v1/embeddings`` (OpenAI), scripted through ``fake.embeddings`` (``fake_embeddings.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from penguin_actors.testing.fake_embeddings import FakeEmbeddings

WireFormat = Literal["anthropic", "openai"]
StopReason = Literal["end_turn", "tool_use", "max_tokens", "stop_sequence"]

_OPENAI_FINISH = {"end_turn": "stop", "tool_use": "tool_calls", "max_tokens": "length", "stop_sequence": "stop"}
_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_OPENAI_ERRORS = {  # status -> (type, code)
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", "service_unavailable"),
}
_DROP_LOG_MESSAGE = "ASGI callable returned without completing response."
_LOREM = [
    *("lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit"),
    *("sed", "do", "eiusmod", "tempor", "incididunt", "ut", "labore"),
]


@dataclass(frozen=True)
class FakeToolCall:
    """A tool call the fake model makes; ``raw_arguments`` sends that exact text instead (e.g. invalid JSON)."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    id: str | None = None
    raw_arguments: str | None = None

    def argument_text(self) -> str:
        return self.raw_arguments if self.raw_arguments is not None else json.dumps(dict(self.arguments))


@dataclass(frozen=True)
class Reply:
    """One scripted model reply, rendered in whichever wire format the request used.

    Text is streamed in chunks of ``words_per_chunk`` words (or exactly ``chunks``);
    each tool call's argument JSON is split into ``arg_chunks`` fragments. Usage
    defaults to word counts. ``status`` makes the reply an HTTP error with a
    provider-shaped body (plus ``Retry-After`` if ``retry_after``); with
    ``error_after`` the stream instead starts normally and carries an error event
    after that many content chunks. ``drop_after`` ends a stream after that many
    content chunks without its terminating events: ``abort`` cuts the connection
    mid-body, ``eof`` ends the HTTP body cleanly.
    """

    text: str = ""
    tool_calls: Sequence[FakeToolCall] = ()
    chunks: Sequence[str] | None = None
    words_per_chunk: int = 1
    arg_chunks: int = 3
    first_token_delay_s: float = 0.0
    chunk_delay_s: float = 0.0
    input_tokens: int | None = None
    output_tokens: int | None = None
    stop_reason: StopReason | None = None
    status: int | None = None
    error_message: str | None = None
    error_type: str | None = None
    retry_after: float | None = None
    error_after: int | None = None
    drop_after: int | None = None
    drop_mode: Literal["abort", "eof"] = "abort"
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def error(cls, status: int, message: str | None = None, *, retry_after: float | None = None) -> Reply:
        """An HTTP error reply, e.g. ``Reply.error(429, retry_after=2)``."""
        return cls(status=status, error_message=message, retry_after=retry_after)

    @classmethod
    def tool(cls, name: str, arguments: Mapping[str, Any] | None = None, *, text: str = "") -> Reply:
        """A reply that calls one tool, optionally after some text."""
        return cls(text=text, tool_calls=(FakeToolCall(name, dict(arguments or {})),))

    @classmethod
    def dropped(cls, after: int, text: str = "one two three four five six", **kwargs: Any) -> Reply:
        """A streamed reply whose connection is cut after ``after`` content chunks."""
        return cls(text=text, drop_after=after, **kwargs)

    def text_chunks(self) -> list[str]:
        if self.chunks is not None:
            return [c for c in self.chunks if c]
        return _split_words(self.text, max(1, self.words_per_chunk))

    def full_text(self) -> str:
        return "".join(self.chunks) if self.chunks is not None else self.text

    def resolved_stop_reason(self) -> StopReason:
        return self.stop_reason or ("tool_use" if self.tool_calls else "end_turn")

    def resolved_output_tokens(self) -> int:
        if self.output_tokens is not None:
            return self.output_tokens
        return len(self.full_text().split()) + sum(len(c.argument_text().split()) + 1 for c in self.tool_calls)


@dataclass
class RecordedRequest:
    """A request the fake received: method, path, headers (lower-case names, all kept) and JSON body."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    protocol: WireFormat | None

    def api_key(self) -> str | None:
        """The key the client sent, from ``x-api-key`` or a ``Bearer`` authorization header."""
        if "x-api-key" in self.headers:
            return self.headers["x-api-key"]
        auth = self.headers.get("authorization", "")
        return auth[len("Bearer ") :] if auth.startswith("Bearer ") else None


DefaultReply = Reply | Callable[[RecordedRequest], Reply] | None


class FakeLLM:
    """A loopback HTTP server that plays a scripted LLM; thread-safe, usable from sync and async tests."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        default: DefaultReply = None,
        api_key: str | None = None,
        record: bool = True,
        strict: bool = True,
    ) -> None:
        """``api_key`` set: requests without it get a 401. ``strict``: reject malformed conversations with a 400."""
        self.host = host
        self.default = default
        self.api_key = api_key
        self.record = record
        self.strict = strict
        self._requested_port = port
        self._port: int | None = None
        self._lock = threading.Lock()
        self._queue: deque[Reply] = deque()
        self._requests: list[RecordedRequest] = []
        self._ids = itertools.count(1)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.embeddings = FakeEmbeddings()
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._openai_chat, methods=["POST"]),
                Route("/v1/messages", self._anthropic_messages, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
                Route("/v1/embeddings", self._embeddings, methods=["POST"]),
            ]
        )

    # -- scripting and inspection (any thread) --------------------------------------------------

    def script(self, *replies: Reply | str) -> FakeLLM:
        """Queue replies in order; a string is a plain text reply."""
        for reply in replies:
            self.push(Reply(text=reply) if isinstance(reply, str) else reply)
        return self

    def push(self, reply: Reply) -> FakeLLM:
        with self._lock:
            self._queue.append(reply)
        return self

    def reset(self) -> None:
        """Forget queued replies, recorded requests and scripted embeddings."""
        with self._lock:
            self._queue.clear()
            self._requests.clear()
        self.embeddings.reset()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def last_request(self) -> RecordedRequest:
        with self._lock:
            if not self._requests:
                raise AssertionError("the fake LLM has received no request")
            return self._requests[-1]

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeLLM is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://host:port``: Anthropic clients use it as is, OpenAI clients append ``/v1``."""
        return f"http://{self.host}:{self.port}"

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self, timeout_s: float = 10.0) -> FakeLLM:
        """Serve in a background thread; returns once the port accepts connections."""
        if self._thread is not None:
            return self
        sock = self._bind()
        self._server = uvicorn.Server(self._config())
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"fake-llm-{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"fake LLM did not start on {self.host}:{self.port}")
            time.sleep(0.005)
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._server = None
        self._thread = None

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the standalone mode)."""
        sock = self._bind()
        print(f"fake LLM listening on {self.base_url}", flush=True)
        uvicorn.Server(self._config()).run(sockets=[sock])

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _bind(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        sock.listen(1024)
        self._port = sock.getsockname()[1]
        return sock

    def _config(self) -> uvicorn.Config:
        _install_log_filter()
        return uvicorn.Config(
            self.app,
            http="h11",
            lifespan="off",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=1,
        )

    # -- request handling (server thread) -------------------------------------------------------

    async def _record(self, request: Request, protocol: WireFormat | None) -> RecordedRequest:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = raw.decode("utf-8", "replace")
        recorded = RecordedRequest(
            method=request.method,
            path=request.url.path,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            protocol=protocol,
        )
        if self.record:
            with self._lock:
                self._requests.append(recorded)
        return recorded

    def _next_reply(self, recorded: RecordedRequest) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        if isinstance(self.default, Reply):
            return self.default
        if self.default is not None:
            return self.default(recorded)
        return Reply(text=f"echo: {_last_user_text(recorded.body)}".strip())

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}"

    def _refusal(self, recorded: RecordedRequest) -> Response | None:
        """A 401 or 400 the real service would give, or None when the request is acceptable."""
        protocol = recorded.protocol or "openai"
        if self.api_key is not None and recorded.api_key() != self.api_key:
            return _error_response(protocol, Reply.error(401, "invalid x-api-key"), self._new_id("req_"))
        problem = _validate(recorded) if self.strict else None
        if problem is not None:
            return _error_response(protocol, Reply.error(400, problem), self._new_id("req_"))
        return None

    async def _anthropic_messages(self, request: Request) -> Response:
        recorded = await self._record(request, "anthropic")
        refusal = self._refusal(recorded)
        if refusal is not None:
            return refusal
        reply = self._next_reply(recorded)
        request_id = self._new_id("req_")
        if reply.status is not None and reply.error_after is None:
            return _error_response("anthropic", reply, request_id)
        body: dict[str, Any] = recorded.body if isinstance(recorded.body, dict) else {}
        model = str(body.get("model", "fake-model"))
        input_tokens = reply.input_tokens if reply.input_tokens is not None else _count_words(body)
        headers = {"request-id": request_id, **reply.headers}
        if body.get("stream"):
            frames = self._anthropic_frames(reply, model, input_tokens)
            error = _sse("error", _anthropic_error_body(reply, request_id)) if reply.error_after is not None else None
            return _ScriptedStream(frames, reply, error, headers)
        message = {
            "id": self._new_id("msg_fake_"),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": self._anthropic_blocks(reply),
            "stop_reason": reply.resolved_stop_reason(),
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": reply.resolved_output_tokens()},
        }
        return await _json_reply(message, reply, headers)

    async def _openai_chat(self, request: Request) -> Response:
        recorded = await self._record(request, "openai")
        refusal = self._refusal(recorded)
        if refusal is not None:
            return refusal
        reply = self._next_reply(recorded)
        request_id = self._new_id("req_")
        if reply.status is not None and reply.error_after is None:
            return _error_response("openai", reply, request_id)
        body: dict[str, Any] = recorded.body if isinstance(recorded.body, dict) else {}
        model = str(body.get("model", "fake-model"))
        prompt_tokens = reply.input_tokens if reply.input_tokens is not None else _count_words(body)
        completion_tokens = reply.resolved_output_tokens()
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        headers = {"x-request-id": request_id, **reply.headers}
        completion_id = self._new_id("chatcmpl-fake")
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            frames = self._openai_frames(reply, model, completion_id, usage if include_usage else None)
            error = _data(_openai_error_body(reply)) if reply.error_after is not None else None
            return _ScriptedStream(frames, reply, error, headers)
        tool_calls = [
            {
                "id": self._tool_id(c, "call_"),
                "type": "function",
                "function": {"name": c.name, "arguments": c.argument_text()},
            }
            for c in reply.tool_calls
        ]
        message: dict[str, Any] = {"role": "assistant", "content": reply.full_text() or None, "refusal": None}
        if tool_calls:
            message["tool_calls"] = tool_calls
        completion = {
            "id": completion_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": _OPENAI_FINISH[reply.resolved_stop_reason()],
                }
            ],
            "usage": usage,
            "system_fingerprint": "fp_fake",
        }
        return await _json_reply(completion, reply, headers)

    async def _embeddings(self, request: Request) -> Response:
        recorded = await self._record(request, "openai")
        if self.api_key is not None and recorded.api_key() != self.api_key:
            return _error_response("openai", Reply.error(401, "invalid api key"), self._new_id("req_"))
        return self.embeddings.respond(recorded.body, self._new_id("req_"))

    async def _models(self, request: Request) -> Response:
        await self._record(request, None)
        ids = ["fake-model", "fake-model-large"]
        if "anthropic-version" in request.headers:
            data = [{"type": "model", "id": i, "display_name": i, "created_at": "2025-01-01T00:00:00Z"} for i in ids]
            return JSONResponse({"data": data, "has_more": False, "first_id": ids[0], "last_id": ids[-1]})
        return JSONResponse(
            {"object": "list", "data": [{"id": i, "object": "model", "created": 0, "owned_by": "fake"} for i in ids]}
        )

    def _tool_id(self, call: FakeToolCall, prefix: str) -> str:
        return call.id or self._new_id(f"{prefix}fake_")

    def _anthropic_blocks(self, reply: Reply) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        if reply.full_text() or not reply.tool_calls:
            blocks.append({"type": "text", "text": reply.full_text()})
        for call in reply.tool_calls:
            blocks.append(
                {
                    "type": "tool_use",
                    "id": self._tool_id(call, "toolu_"),
                    "name": call.name,
                    "input": dict(call.arguments),
                }
            )
        return blocks

    def _anthropic_frames(self, reply: Reply, model: str, input_tokens: int) -> list[_Frame]:
        start = {
            "type": "message_start",
            "message": {
                "id": self._new_id("msg_fake_"),
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": input_tokens, "output_tokens": 1},
            },
        }
        frames = [_Frame(_sse("message_start", start))]
        blocks: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
        text_chunks = reply.text_chunks()
        if text_chunks or not reply.tool_calls:
            deltas = [{"type": "text_delta", "text": c} for c in text_chunks]
            blocks.append(({"type": "text", "text": ""}, deltas))
        for call in reply.tool_calls:
            block = {"type": "tool_use", "id": self._tool_id(call, "toolu_"), "name": call.name, "input": {}}
            deltas = [
                {"type": "input_json_delta", "partial_json": p}
                for p in _split_n(call.argument_text(), reply.arg_chunks)
            ]
            blocks.append((block, deltas))
        for index, (block, deltas) in enumerate(blocks):
            opening = {"type": "content_block_start", "index": index, "content_block": block}
            frames.append(_Frame(_sse("content_block_start", opening)))
            if index == 0:
                frames.append(_Frame(_sse("ping", {"type": "ping"})))
            for delta in deltas:
                event = {"type": "content_block_delta", "index": index, "delta": delta}
                frames.append(_Frame(_sse("content_block_delta", event), content=True))
            frames.append(_Frame(_sse("content_block_stop", {"type": "content_block_stop", "index": index})))
        closing: dict[str, Any] = {
            "type": "message_delta",
            "delta": {"stop_reason": reply.resolved_stop_reason(), "stop_sequence": None},
            "usage": {"output_tokens": reply.resolved_output_tokens()},
        }
        frames.append(_Frame(_sse("message_delta", closing), terminal=True))
        frames.append(_Frame(_sse("message_stop", {"type": "message_stop"}), terminal=True))
        return frames

    def _openai_frames(
        self, reply: Reply, model: str, completion_id: str, usage: dict[str, int] | None
    ) -> list[_Frame]:
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            body: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [choice],
            }
            if usage is not None:
                body["usage"] = None
            return _data(body)

        frames = [_Frame(chunk({"role": "assistant", "content": "", "refusal": None}))]
        frames += [_Frame(chunk({"content": c}), content=True) for c in reply.text_chunks()]
        for index, call in enumerate(reply.tool_calls):
            head = {"index": index, "id": self._tool_id(call, "call_"), "type": "function"}
            head["function"] = {"name": call.name, "arguments": ""}
            frames.append(_Frame(chunk({"tool_calls": [head]}), content=True))
            for part in _split_n(call.argument_text(), reply.arg_chunks):
                fragment = {"index": index, "function": {"arguments": part}}
                frames.append(_Frame(chunk({"tool_calls": [fragment]}), content=True))
        frames.append(_Frame(chunk({}, _OPENAI_FINISH[reply.resolved_stop_reason()]), terminal=True))
        if usage is not None:
            tail = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [],
                "usage": usage,
            }
            frames.append(_Frame(_data(tail), terminal=True))
        frames.append(_Frame(b"data: [DONE]\n\n", terminal=True))
        return frames


# -- responses ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    data: bytes
    content: bool = False  # a content chunk: counts towards drop_after/error_after, delayed
    terminal: bool = False  # part of the terminating events a dropped stream never sends


class _ScriptedStream(Response):
    """An SSE response sent frame by frame with the reply's delays, drops and in-stream errors."""

    media_type = "text/event-stream"

    def __init__(self, frames: list[_Frame], reply: Reply, error: bytes | None, headers: Mapping[str, str]) -> None:
        self.status_code = 200
        self.background = None
        self.frames = frames
        self.reply = reply
        self.error = error
        self.raw_headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        reply = self.reply
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        sent = 0
        for frame in self.frames:
            if frame.content or frame.terminal:
                if reply.drop_after is not None and (frame.terminal or sent >= reply.drop_after):
                    if reply.drop_mode == "eof":
                        await send({"type": "http.response.body", "body": b"", "more_body": False})
                    return  # abort: uvicorn closes the connection mid-body
                if (
                    self.error is not None
                    and reply.error_after is not None
                    and (frame.terminal or sent >= reply.error_after)
                ):
                    await send({"type": "http.response.body", "body": self.error, "more_body": True})
                    break
            if frame.content:
                delay = reply.first_token_delay_s if sent == 0 else reply.chunk_delay_s
                if delay > 0:
                    await asyncio.sleep(delay)
                sent += 1
            await send({"type": "http.response.body", "body": frame.data, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


class _TruncatedResponse(Response):
    """A JSON response whose connection is cut halfway through the body."""

    def __init__(self, body: bytes, headers: Mapping[str, str]) -> None:
        self.status_code = 200
        self.background = None
        self.body = body
        self.raw_headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body[: len(self.body) // 2], "more_body": True})


async def _json_reply(payload: dict[str, Any], reply: Reply, headers: Mapping[str, str]) -> Response:
    pieces = max(1, len(reply.text_chunks()) + len(reply.tool_calls))
    delay = reply.first_token_delay_s + reply.chunk_delay_s * (pieces - 1)
    if delay > 0:
        await asyncio.sleep(delay)
    if reply.drop_after is not None:
        return _TruncatedResponse(json.dumps(payload).encode(), headers)
    return JSONResponse(payload, headers=dict(headers))


def _error_response(protocol: WireFormat, reply: Reply, request_id: str) -> Response:
    status = reply.status or 500
    headers = dict(reply.headers)
    if reply.retry_after is not None:
        headers["retry-after"] = f"{reply.retry_after:g}"
    if protocol == "anthropic":
        headers["request-id"] = request_id
        return JSONResponse(_anthropic_error_body(reply, request_id), status_code=status, headers=headers)
    headers["x-request-id"] = request_id
    return JSONResponse({"error": _openai_error_body(reply)["error"]}, status_code=status, headers=headers)


def _anthropic_error_body(reply: Reply, request_id: str) -> dict[str, Any]:
    status = reply.status or 500
    kind = reply.error_type or _ANTHROPIC_ERROR_TYPES.get(
        status, "api_error" if status >= 500 else "invalid_request_error"
    )
    message = reply.error_message or _default_error_message(status)
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id}


def _openai_error_body(reply: Reply) -> dict[str, Any]:
    status = reply.status or 500
    kind, code = _OPENAI_ERRORS.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
    message = reply.error_message or _default_error_message(status)
    return {"error": {"message": message, "type": reply.error_type or kind, "param": None, "code": code}}


def _default_error_message(status: int) -> str:
    return {
        400: "invalid request",
        401: "invalid api key",
        403: "permission denied",
        404: "model not found",
        429: "rate limit exceeded, please slow down",
        500: "internal server error",
        503: "service unavailable",
        529: "overloaded",
    }.get(status, f"error {status}")


# -- helpers --------------------------------------------------------------------------------------


def _sse(event: str, data: Mapping[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _data(data: Mapping[str, Any]) -> bytes:
    return f"data: {json.dumps(data)}\n\n".encode()


def _split_words(text: str, per_chunk: int) -> list[str]:
    """Split text into chunks of ``per_chunk`` words, each keeping its trailing whitespace."""
    words: list[str] = []
    current = ""
    count = 0
    for piece in _word_pieces(text):
        current += piece
        if piece.strip():
            count += 1
        if count == per_chunk:
            words.append(current)
            current, count = "", 0
    if current:
        words.append(current)
    return words


def _word_pieces(text: str) -> Iterable[str]:
    start = 0
    i = 0
    n = len(text)
    while i < n:
        while i < n and text[i].isspace():  # leading whitespace sticks to the first word
            i += 1
        while i < n and not text[i].isspace():
            i += 1
        while i < n and text[i].isspace():
            i += 1
        yield text[start:i]
        start = i


def _split_n(text: str, parts: int) -> list[str]:
    """Split text into up to ``parts`` non-empty pieces of near-equal length."""
    if not text:
        return []
    parts = max(1, min(parts, len(text)))
    size = -(-len(text) // parts)
    return [text[i : i + size] for i in range(0, len(text), size)]


def _texts(node: Any) -> Iterable[str]:
    """Every prompt string of a request body: system, message contents and text blocks."""
    if isinstance(node, list):
        for item in node:
            yield from _texts(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in ("text", "content", "system") and isinstance(value, str):
                yield value
            elif key in ("arguments", "input") and not isinstance(value, list):
                yield value if isinstance(value, str) else json.dumps(value)
            elif isinstance(value, (list, dict)) and key not in ("source", "image_url"):
                yield from _texts(value)


def _count_words(body: Mapping[str, Any]) -> int:
    return sum(len(t.split()) for t in _texts({"system": body.get("system"), "messages": body.get("messages")}))


def _last_user_text(body: Any) -> str:
    messages = body.get("messages") if isinstance(body, dict) else None
    for message in reversed(messages or []):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            text = " ".join(p["text"] for p in content if isinstance(p, dict) and p.get("type") == "text")
            if text:
                return text
    return ""


def _validate(recorded: RecordedRequest) -> str | None:
    """The first problem a real service would reject this request for, or None."""
    body = recorded.body
    if not isinstance(body, dict):
        return "body must be a JSON object"
    required = ("model", "messages", "max_tokens") if recorded.protocol == "anthropic" else ("model", "messages")
    missing = [k for k in required if k not in body]
    if missing:
        return f"{missing[0]}: Field required"
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    if recorded.protocol == "anthropic":
        # API version 2026-10-21 (anthropic SDK 2.x) refuses the sampling parameters outright.
        if recorded.headers.get("anthropic-version", "") >= "2026-10-21":
            for name in ("temperature", "top_p", "top_k"):
                if name in body:
                    return f"{name}: Extra inputs are not permitted"
        return _validate_anthropic(messages)
    return _validate_openai(messages)


def _validate_anthropic(messages: list[Any]) -> str | None:
    for i, message in enumerate(messages):
        role = message.get("role")
        if role not in ("user", "assistant"):
            return f"messages.{i}.role: Input should be 'user' or 'assistant'"
        content = message.get("content")
        blocks = content if isinstance(content, list) else []
        if isinstance(content, list) and not content:
            return f"messages.{i}: content must be non-empty"
        for block in blocks:
            if block.get("type") == "text" and not block.get("text"):
                return f"messages.{i}: text content blocks must be non-empty"
        uses = [b["id"] for b in blocks if b.get("type") == "tool_use"]
        if uses:
            following = messages[i + 1] if i + 1 < len(messages) else None
            results = following.get("content") if following and following.get("role") == "user" else None
            answered = [
                b.get("tool_use_id") for b in results or [] if isinstance(b, dict) and b.get("type") == "tool_result"
            ]
            if set(uses) - set(answered):
                return (
                    f"messages.{i + 1}: `tool_use` ids were found without `tool_result` blocks immediately after: "
                    + ", ".join(sorted(set(uses) - set(answered)))
                )
    return None


def _validate_openai(messages: list[Any]) -> str | None:
    open_calls: set[str] = set()
    for i, message in enumerate(messages):
        role = message.get("role")
        if role not in ("system", "developer", "user", "assistant", "tool"):
            return f"messages[{i}].role: invalid value {role!r}"
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in open_calls:
                return f"messages[{i}]: a 'tool' message must answer a preceding 'tool_calls' id, got {call_id!r}"
            open_calls.discard(call_id)
            continue
        if open_calls:
            return f"messages[{i}]: tool_call_ids did not have response messages: {', '.join(sorted(open_calls))}"
        if role == "assistant":
            open_calls = {c["id"] for c in message.get("tool_calls") or []}
    return None


class _DropFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _DROP_LOG_MESSAGE


def _install_log_filter() -> None:
    """Keep uvicorn quiet about the connections the fake cuts on purpose."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropFilter) for f in logger.filters):
        logger.addFilter(_DropFilter())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a fake OpenAI/Anthropic-compatible LLM for load tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--words", type=int, default=0, help="reply with this many words (0: echo the user)")
    parser.add_argument("--first-token-delay", type=float, default=0.0, help="seconds before the first chunk")
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between chunks")
    parser.add_argument("--record", action="store_true", help="keep every request in memory")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    def reply(recorded: RecordedRequest) -> Reply:
        text = " ".join(itertools.islice(itertools.cycle(_LOREM), args.words)) if args.words else None
        return Reply(
            text=text if text is not None else f"echo: {_last_user_text(recorded.body)}",
            first_token_delay_s=args.first_token_delay,
            chunk_delay_s=args.chunk_delay,
        )

    FakeLLM(args.host, args.port, default=reply, record=args.record).serve_forever()


if __name__ == "__main__":
    main()
