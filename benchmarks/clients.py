"""Benchmark clients: one chat turn at a time over the WebSocket, over HTTP, or (baseline.py) in process.

Each ``turn`` returns a ``TurnResult`` timed with ``time.perf_counter`` on arrival. Turns
streamed over the WebSocket (and in process) are checked frame by frame as they arrive:
``seq`` counts from 0 without a gap, ``start`` comes first, the ids are the turn's, and
``complete.response`` equals the ``token`` texts joined. A turn that breaks any of that,
ends with ``error``, or fails in transport counts as an error, with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from websockets.asyncio.client import ClientConnection, connect

TURN_TIMEOUT_S = 300.0


@dataclass
class TurnResult:
    sent: float
    started: float | None = None  # the `start` frame arrived
    first_token: float | None = None  # the first `token` frame arrived
    done: float | None = None  # the turn ended: `complete`, `error`, an answer, or a failure
    tokens: int = 0  # output tokens, as the provider reported them (usage)
    token_frames: int = 0
    frames: int = 0
    response: str = ""
    error: str | None = None

    @property
    def ttft(self) -> float | None:
        return None if self.first_token is None else self.first_token - self.sent

    @property
    def latency(self) -> float | None:
        return None if self.done is None else self.done - self.sent


class Client(Protocol):
    conversation_id: str

    async def turn(self, text: str, model_id: str) -> TurnResult: ...


@dataclass
class FrameCheck:
    """Follows one turn's frames as they arrive: times them, and records the first protocol violation."""

    result: TurnResult
    conversation_id: str
    turn_id: str | None = None
    texts: list[str] = field(default_factory=list)

    def feed(self, frame: dict[str, Any], at: float) -> bool:
        """Take one frame that arrived at ``at``; True once the turn has ended."""
        result = self.result
        result.frames += 1
        event, data = frame.get("event"), frame.get("data") or {}
        if event == "error" and frame.get("turn_id") is None:  # refused before the turn began
            return self._end(at, f"error {data.get('code')}: {data.get('message')}")
        expected_seq = result.frames - 1
        if frame.get("seq") != expected_seq:
            return self._end(at, f"frame {event!r} has seq {frame.get('seq')!r}, expected {expected_seq}")
        if expected_seq == 0:
            if event != "start":
                return self._end(at, f"first frame is {event!r}, not 'start'")
            self.turn_id = frame.get("turn_id")
            result.started = at
        if frame.get("turn_id") != self.turn_id or frame.get("conversation_id") != self.conversation_id:
            return self._end(at, f"frame {expected_seq} names turn {frame.get('turn_id')!r} of another conversation")
        if event == "token":
            if result.first_token is None:
                result.first_token = at
            result.token_frames += 1
            self.texts.append(str(data.get("token", "")))
        elif event == "complete":
            result.response = str(data.get("response", ""))
            result.tokens = int((data.get("usage") or {}).get("output", 0))
            joined = "".join(self.texts)
            if joined != result.response:
                return self._end(
                    at,
                    f"complete.response ({len(result.response)} chars) is not the tokens joined ({len(joined)} chars)",
                )
            if data.get("cancelled"):
                return self._end(at, f"turn was cancelled ({data.get('stop_reason')})")
            return self._end(at, None)
        elif event == "error":
            return self._end(at, f"error {data.get('code')}: {data.get('message')}")
        return False

    def _end(self, at: float, error: str | None) -> bool:
        self.result.done = at
        self.result.error = error
        return True


class WsClient:
    """One chat WebSocket, kept open across turns, on one conversation."""

    def __init__(self, url: str, conversation_id: str) -> None:
        self.url = url
        self.conversation_id = conversation_id
        self._socket: ClientConnection | None = None

    async def open(self) -> None:
        # No keepalive pings: a browser sends none, and under load a late pong must not end the socket.
        self._socket = await connect(self.url, open_timeout=120, ping_interval=None, max_size=None)

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close()

    async def turn(self, text: str, model_id: str) -> TurnResult:
        if self._socket is None:
            await self.open()
        assert self._socket is not None
        result = TurnResult(sent=time.perf_counter())
        check = FrameCheck(result, self.conversation_id)
        try:
            await self._socket.send(
                json.dumps({"text": text, "conversation_id": self.conversation_id, "model_id": model_id})
            )
            async with asyncio.timeout(TURN_TIMEOUT_S):
                while not check.feed(json.loads(await self._socket.recv()), time.perf_counter()):
                    pass
        except Exception as exc:  # the turn's error, reported with the others
            result.done, result.error = time.perf_counter(), f"{type(exc).__name__}: {exc}"
        if result.error is not None:  # frames of a broken turn may still come: the next turn gets a new socket
            socket, self._socket = self._socket, None
            with contextlib.suppress(Exception):
                await socket.close()
        return result


class HttpClient:
    """``POST /api/v1/chat/message`` (JSON, not streamed) on one conversation."""

    def __init__(self, http: httpx.AsyncClient, conversation_id: str) -> None:
        self.http = http
        self.conversation_id = conversation_id

    async def turn(self, text: str, model_id: str) -> TurnResult:
        result = TurnResult(sent=time.perf_counter())
        body = {"text": text, "conversation_id": self.conversation_id, "model_id": model_id}
        try:
            answer = await self.http.post("/api/v1/chat/message", json=body, timeout=TURN_TIMEOUT_S)
        except httpx.HTTPError as exc:
            result.done, result.error = time.perf_counter(), f"{type(exc).__name__}: {exc}"
            return result
        result.done = time.perf_counter()
        if answer.status_code != 200:
            result.error = f"HTTP {answer.status_code}: {answer.text[:300]}"
            return result
        data = answer.json()
        result.response = data.get("response", "")
        result.tokens = int((data.get("usage") or {}).get("output", 0))
        if data.get("conversation_id") != self.conversation_id:
            result.error = f"answer names conversation {data.get('conversation_id')!r}"
        elif not result.response or data.get("cancelled"):
            result.error = f"empty or cancelled answer (stop_reason {data.get('stop_reason')!r})"
        return result


def http_client(base_url: str, connections: int) -> httpx.AsyncClient:
    """An HTTP client for ``connections`` concurrent turns; idle connections expire before the server's 30 s."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=20)
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=TURN_TIMEOUT_S)


async def create_conversation(http: httpx.AsyncClient, title: str) -> str:
    """A new conversation (``POST /api/v1/conversations/create``); its id."""
    answer = await http.post("/api/v1/conversations/create", json={"title": title})
    answer.raise_for_status()
    return str(answer.json()["conversation_id"])


async def create_conversations(http: httpx.AsyncClient, count: int, title: str) -> list[str]:
    """``count`` new conversations (through the API), created a few at a time."""
    ids: list[str] = []
    for start in range(0, count, 8):
        batch = range(start, min(count, start + 8))
        ids += await asyncio.gather(*(create_conversation(http, f"{title} {i}") for i in batch))
    return ids
