"""SocketSession: what every API WebSocket shares, as a class with an explicit state.

It accepts the socket, counts it for its client, reads frames, enforces the limits and
hands each JSON object to ``dispatch``, which a subclass implements (chat, tasks).
Relays (the frames of a turn or task sent to the client) run as background tasks and
stop with the socket; what they relay goes on.

Limits (``settings.limits``), each told to the client by an ``error`` event first:

- a frame over ``ws_max_frame_bytes`` closes the socket with 1009 (message too big);
- a frame over ``ws_messages_per_minute`` (bursts of ``ws_messages_burst``) is dropped with
  an error of code ``rate_limited`` and ``retry_after_s``; the socket stays open, unless the
  client sends ``REFUSALS_BEFORE_CLOSE`` more frames in a row while limited: then 1013;
- a client's socket over ``max_websockets_per_client`` is accepted, told why, and closed with
  1013 (try again later). Never 1008 for a limit: 1008 says the API key is missing or wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import time
from collections.abc import Coroutine, Iterator
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect, status
from pydantic import ValidationError

from penguin_actors.config import Settings
from penguin_actors.errors import PenguinError
from penguin_actors.metrics import metrics
from serve_app.limits import Clock, ConnectionCounter, TokenBucket, retry_after_s

log = logging.getLogger(__name__)

# Frames refused in a row for their rate before the socket is closed (1013: try again later).
REFUSALS_BEFORE_CLOSE = 10
WS_TRY_AGAIN_LATER = 1013  # RFC 6455 registry: the server is overloaded, reconnect later


@contextlib.contextmanager
def streaming(state: Any) -> Iterator[None]:
    """Count a turn or task being streamed to a client, for ``/system/status``'s ``streaming_active``."""
    state.open_streams += 1
    try:
        yield
    finally:
        state.open_streams -= 1


class SessionState(enum.Enum):
    CONNECTING = "connecting"
    OPEN = "open"
    CLOSED = "closed"


class SocketSession:
    """One API WebSocket; subclasses implement ``dispatch`` for each JSON object the client sends."""

    # What a frame that is not a JSON object is told to send instead.
    EXPECTED = "a JSON object"
    # The route's name in the WebSocket metrics.
    ROUTE = "websocket"

    def __init__(
        self,
        websocket: WebSocket,
        settings: Settings,
        *,
        client: str = "",
        sockets: ConnectionCounter | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        """``client`` names who the socket counts for in ``sockets`` (the open sockets of each client)."""
        self.websocket = websocket
        self.settings = settings
        self.client = client
        self.sockets = sockets if sockets is not None else ConnectionCounter(0)
        self.clock = clock
        limits = settings.limits
        self.rate = (
            TokenBucket(limits.ws_messages_per_minute, limits.ws_messages_burst, clock())
            if limits.ws_messages_per_minute
            else None
        )
        self.refused_in_a_row = 0
        self.state = SessionState.CONNECTING
        self._relays: set[asyncio.Task[None]] = set()
        self._send_lock = asyncio.Lock()

    async def dispatch(self, body: dict[str, Any]) -> None:
        """Act on one client message; ValidationError and PenguinError become ``error`` events."""
        raise NotImplementedError

    async def run(self) -> None:
        await self.websocket.accept()
        self.state = SessionState.OPEN
        if not self.sockets.open(self.client):
            refusal = f"too many open WebSockets for this client (limit {self.sockets.limit}): close one, then retry"
            await self.close(WS_TRY_AGAIN_LATER, "too_many_websockets", refusal, reason="too many open WebSockets")
            return
        metrics().websocket_opened(self.ROUTE)
        try:
            while self.state is SessionState.OPEN:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                await self._handle(message.get("text"), message.get("bytes"))
        except WebSocketDisconnect:
            pass
        finally:
            metrics().websocket_closed(self.ROUTE)
            self.sockets.close(self.client)
            self.state = SessionState.CLOSED
            for relay in self._relays:
                relay.cancel()  # what it relays goes on; only this socket stops listening

    async def _handle(self, text: str | None, data: bytes | None) -> None:
        size = len(text.encode()) if text is not None else len(data or b"")
        limit = self.settings.limits.ws_max_frame_bytes
        if size > limit:
            message = f"frame of {size} bytes is over limits.ws_max_frame_bytes ({limit}): send smaller messages"
            await self.close(status.WS_1009_MESSAGE_TOO_BIG, "too_large", message, reason="frame too large")
            return
        if not await self._within_rate():
            return
        if text is None:
            await self.error("invalid", "send JSON text frames, not binary")
            return
        try:
            body = json.loads(text)
        except json.JSONDecodeError as exc:
            await self.refuse("invalid_json", f"frame is not JSON ({exc.msg}): send {self.EXPECTED}")
            return
        if not isinstance(body, dict):
            await self.refuse("invalid", f"send {self.EXPECTED}")
            return
        try:
            await self.dispatch(body)
        except ValidationError as exc:
            problems = [{"loc": [str(p) for p in e["loc"]], "msg": e["msg"]} for e in exc.errors()]
            where = ".".join(problems[0]["loc"]) if problems else "message"
            await self.refuse("validation_error", f"{where or 'message'}: {problems[0]['msg']}", details=problems)
        except PenguinError as exc:
            await self.error(exc.code, exc.message)

    async def refuse(self, code: str, message: str, *, details: Any = None) -> None:
        """A message the session cannot act on: an ``error`` event, and the socket stays open."""
        await self.error(code, message, details=details)

    def relay(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run a relay in the background until it ends or the socket closes."""
        task = asyncio.create_task(work)
        self._relays.add(task)
        task.add_done_callback(self._relays.discard)
        return task

    async def send(self, frame: dict[str, Any]) -> None:
        if self.state is not SessionState.OPEN:
            return
        async with self._send_lock:
            await self.websocket.send_json(frame)

    async def _within_rate(self) -> bool:
        """Count a frame against the message rate; False (and the client told) when it is over."""
        if self.rate is None:
            return True
        wait = self.rate.take(self.clock())
        if not wait:
            self.refused_in_a_row = 0
            return True
        self.refused_in_a_row += 1
        limits = self.settings.limits
        if self.refused_in_a_row > REFUSALS_BEFORE_CLOSE:
            message = "kept sending while rate limited: after a rate_limited error, wait retry_after_s seconds"
            await self.close(WS_TRY_AGAIN_LATER, "rate_limited", message, reason="message rate exceeded")
            return False
        seconds = retry_after_s(wait)
        message = (
            f"too many messages on this socket: at most {limits.ws_messages_per_minute} a minute "
            f"(bursts of {limits.ws_messages_burst}); this one was dropped: send it again in {seconds} s"
        )
        await self.error("rate_limited", message, retry_after_s=seconds)
        return False

    async def close(self, close_code: int, code: str, message: str, *, reason: str, details: Any = None) -> None:
        """Tell the client why with an ``error`` event, then close the socket with ``close_code``."""
        await self.error(code, message, details=details)
        self.state = SessionState.CLOSED
        async with self._send_lock:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                await self.websocket.close(code=close_code, reason=reason)

    async def error(
        self, code: str, message: str, *, details: Any = None, retry_after_s: int | None = None, **keys: Any
    ) -> None:
        """An ``error`` event; ``keys`` go beside ``event`` and ``data`` (e.g. a conversation or task id)."""
        data: dict[str, Any] = {"message": message, "code": code}
        if details is not None:
            data["details"] = details
        if retry_after_s is not None:
            data["retry_after_s"] = retry_after_s
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await self.send({"event": "error", "data": data, **keys})
