"""The fake LLM server: scripting and recording, the uvicorn server in its thread, and request routing.

Each route records the request, refuses it as the real service would (a wrong key, a
malformed conversation) or hands the next scripted reply to its wire protocol's module.
"""

from __future__ import annotations

import itertools
import json
import logging
import socket
import threading
import time
from collections import deque
from types import TracebackType

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from penguin_actors.testing.fake_llm import anthropic, openai
from penguin_actors.testing.fake_llm.embeddings import FakeEmbeddings
from penguin_actors.testing.fake_llm.prompts import last_user_text
from penguin_actors.testing.fake_llm.script import DefaultReply, RecordedRequest, Reply, WireFormat

_DROP_LOG_MESSAGE = "ASGI callable returned without completing response."


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
        return Reply(text=f"echo: {last_user_text(recorded.body)}".strip())

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
        return await anthropic.respond(recorded, self._next_reply(recorded), self._new_id)

    async def _openai_chat(self, request: Request) -> Response:
        recorded = await self._record(request, "openai")
        refusal = self._refusal(recorded)
        if refusal is not None:
            return refusal
        return await openai.respond(recorded, self._next_reply(recorded), self._new_id)

    async def _embeddings(self, request: Request) -> Response:
        recorded = await self._record(request, "openai")
        if self.api_key is not None and recorded.api_key() != self.api_key:
            return openai.error_response(Reply.error(401, "invalid api key"), self._new_id("req_"))
        return self.embeddings.respond(recorded.body, self._new_id("req_"))

    async def _models(self, request: Request) -> Response:
        await self._record(request, None)
        ids = ["fake-model", "fake-model-large"]
        if "anthropic-version" in request.headers:
            return anthropic.models_response(ids)
        return openai.models_response(ids)


def _error_response(protocol: WireFormat, reply: Reply, request_id: str) -> Response:
    if protocol == "anthropic":
        return anthropic.error_response(reply, request_id)
    return openai.error_response(reply, request_id)


def _validate(recorded: RecordedRequest) -> str | None:
    """The first problem a real service would reject this request for, or None."""
    if recorded.protocol == "anthropic":
        return anthropic.validate(recorded)
    return openai.validate(recorded)


class _DropFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _DROP_LOG_MESSAGE


def _install_log_filter() -> None:
    """Keep uvicorn quiet about the connections the fake cuts on purpose."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropFilter) for f in logger.filters):
        logger.addFilter(_DropFilter())
