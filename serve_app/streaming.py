"""ChatSession: one chat WebSocket, as a class with an explicit state.

Client messages: a chat request (the ``POST /chat/message`` body), ``{"type": "cancel"}``
to stop the running turn, and ``{"type": "resume", "conversation_id", "turn_id",
"after_seq"}`` to receive what was missed and the rest live. The socket stays open
after ``complete`` and after a recoverable ``error``; a bad frame gets an ``error``
event and changes nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field, ValidationError

from penguin_actors.config import Settings
from penguin_actors.errors import PenguinError
from penguin_actors.gateway import Gateway
from serve_app.schemas import ChatRequest, ConversationId

log = logging.getLogger(__name__)

BeginTurn = Callable[[Gateway, Settings, ChatRequest], Awaitable[tuple[str, str]]]


@contextlib.contextmanager
def streaming(state: Any) -> Iterator[None]:
    """Count a turn being streamed to a client, for ``/system/status``'s ``streaming_active``."""
    state.open_streams += 1
    try:
        yield
    finally:
        state.open_streams -= 1


class SessionState(enum.Enum):
    CONNECTING = "connecting"
    OPEN = "open"
    CLOSED = "closed"


class CancelMessage(BaseModel):
    type: str = "cancel"
    conversation_id: ConversationId | None = None
    turn_id: str | None = Field(None, max_length=64)


class ResumeMessage(BaseModel):
    type: str = "resume"
    conversation_id: ConversationId
    turn_id: str = Field(min_length=1, max_length=64)
    after_seq: int = Field(-1, ge=-1)


class ChatSession:
    """Reads client messages and relays each turn's frames; turns outlive the socket."""

    def __init__(self, websocket: WebSocket, gateway: Gateway, settings: Settings, begin_turn: BeginTurn) -> None:
        self.websocket = websocket
        self.gateway = gateway
        self.settings = settings
        self.begin_turn = begin_turn
        self.state = SessionState.CONNECTING
        self.conversation_id: str | None = None
        self.turn_id: str | None = None
        self._relays: set[asyncio.Task[None]] = set()
        self._send_lock = asyncio.Lock()

    async def run(self) -> None:
        await self.websocket.accept()
        self.state = SessionState.OPEN
        try:
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                await self._handle(message.get("text"), message.get("bytes"))
        except WebSocketDisconnect:
            pass
        finally:
            self.state = SessionState.CLOSED
            for relay in self._relays:
                relay.cancel()  # the turns go on; only this socket stops listening

    async def _handle(self, text: str | None, data: bytes | None) -> None:
        if text is None:
            await self._error("invalid", "send JSON text frames, not binary")
            return
        if len(text.encode()) > self.settings.limits.ws_max_frame_bytes:
            await self._error("too_large", f"frame over {self.settings.limits.ws_max_frame_bytes} bytes")
            return
        try:
            body = json.loads(text)
        except json.JSONDecodeError as exc:
            await self._error("invalid_json", f"frame is not JSON ({exc.msg}): send a JSON object")
            return
        if not isinstance(body, dict):
            await self._error("invalid", "send a JSON object: a chat request, or {'type': 'cancel'|'resume'}")
            return
        kind = body.pop("type", None)
        handlers = {None: self._chat, "chat": self._chat, "cancel": self._cancel, "resume": self._resume}
        handler = handlers.get(kind)
        if handler is None:
            await self._error("invalid", f"unknown message type {kind!r}: use cancel or resume, or send a chat request")
            return
        try:
            await handler(body)
        except ValidationError as exc:
            problems = [{"loc": [str(p) for p in e["loc"]], "msg": e["msg"]} for e in exc.errors()]
            where = ".".join(problems[0]["loc"]) if problems else "message"
            await self._error("validation_error", f"{where}: {problems[0]['msg']}", details=problems)
        except PenguinError as exc:
            await self._error(exc.code, exc.message)

    async def _chat(self, body: dict[str, Any]) -> None:
        request = ChatRequest.model_validate(body)
        conversation_id, turn_id = await self.begin_turn(self.gateway, self.settings, request)
        self.conversation_id, self.turn_id = conversation_id, turn_id
        self._relay(conversation_id, turn_id, -1)

    async def _cancel(self, body: dict[str, Any]) -> None:
        message = CancelMessage.model_validate(body | {"type": "cancel"})
        conversation_id = message.conversation_id or self.conversation_id
        if conversation_id is None:
            await self._error("not_found", "nothing to cancel: no conversation on this socket yet")
            return
        if not await self.gateway.call(conversation_id, "cancel", message.turn_id):
            await self._error("not_found", "nothing to cancel: no turn is running")

    async def _resume(self, body: dict[str, Any]) -> None:
        message = ResumeMessage.model_validate(body | {"type": "resume"})
        self.conversation_id, self.turn_id = message.conversation_id, message.turn_id
        self._relay(message.conversation_id, message.turn_id, message.after_seq)

    def _relay(self, conversation_id: str, turn_id: str, after_seq: int) -> None:
        task = asyncio.create_task(self._forward(conversation_id, turn_id, after_seq))
        self._relays.add(task)
        task.add_done_callback(self._relays.discard)

    async def _forward(self, conversation_id: str, turn_id: str, after_seq: int) -> None:
        try:
            with streaming(self.websocket.app.state):
                async for batch in self.gateway.events(conversation_id, turn_id, after_seq):
                    for frame in batch:
                        await self._send(frame)
        except PenguinError as exc:
            await self._error(exc.code, exc.message, conversation_id=conversation_id, turn_id=turn_id)
        except (WebSocketDisconnect, RuntimeError):
            pass  # the socket closed while sending; the turn goes on
        except Exception:  # a session boundary: log it and tell the client, never drop the socket silently
            log.exception("relaying turn %s of %s failed", turn_id, conversation_id)
            await self._error("internal", "relaying the turn failed: resume it", conversation_id=conversation_id)

    async def _send(self, frame: dict[str, Any]) -> None:
        if self.state is not SessionState.OPEN:
            return
        async with self._send_lock:
            await self.websocket.send_json(frame)

    async def _error(self, code: str, message: str, **extra: Any) -> None:
        details = extra.pop("details", None)
        data: dict[str, Any] = {"message": message, "code": code}
        if details is not None:
            data["details"] = details
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await self._send({"event": "error", "data": data, **extra})
