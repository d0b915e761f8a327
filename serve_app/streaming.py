"""ChatSession: one chat WebSocket.

Client messages: a chat request (the ``POST /chat/message`` body), ``{"type": "cancel"}``
to stop the running turn, and ``{"type": "resume", "conversation_id", "turn_id",
"after_seq"}`` to receive what was missed and the rest live. The socket stays open
after ``complete`` and after a recoverable ``error``; a bad frame gets an ``error``
event and changes nothing else. The limits every API WebSocket has are in
``socket_session.py``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field

from penguin_actors.config import Settings
from penguin_actors.edge.gateway import Conversations
from penguin_actors.errors import PenguinError
from serve_app.limits import Clock, ConnectionCounter
from serve_app.schemas import ChatRequest, ConversationId
from serve_app.socket_session import REFUSALS_BEFORE_CLOSE, SocketSession, streaming

__all__ = ["REFUSALS_BEFORE_CLOSE", "ChatSession", "streaming"]

log = logging.getLogger(__name__)


class CancelMessage(BaseModel):
    type: str = "cancel"
    conversation_id: ConversationId | None = None
    turn_id: str | None = Field(None, max_length=64)


class ResumeMessage(BaseModel):
    type: str = "resume"
    conversation_id: ConversationId
    turn_id: str = Field(min_length=1, max_length=64)
    after_seq: int = Field(-1, ge=-1)


class ChatSession(SocketSession):
    """Reads client messages and relays each turn's frames; turns outlive the socket."""

    ROUTE = "chat"
    EXPECTED = "a JSON object: a chat request, or {'type': 'cancel'|'resume'}"

    def __init__(
        self,
        websocket: WebSocket,
        conversations: Conversations,
        settings: Settings,
        *,
        client: str = "",
        sockets: ConnectionCounter | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(websocket, settings, client=client, sockets=sockets, clock=clock)
        self.conversations = conversations
        self.conversation_id: str | None = None
        self.turn_id: str | None = None

    async def dispatch(self, body: dict[str, Any]) -> None:
        kind = body.pop("type", None)
        handlers = {None: self._chat, "chat": self._chat, "cancel": self._cancel, "resume": self._resume}
        handler = handlers.get(kind)
        if handler is None:
            await self.error("invalid", f"unknown message type {kind!r}: use cancel or resume, or send a chat request")
            return
        await handler(body)

    async def _chat(self, body: dict[str, Any]) -> None:
        request = ChatRequest.model_validate(body)
        sent = await self.conversations.send(request.conversation, request.turn_request())
        self.conversation_id, self.turn_id = sent.conversation_id, sent.turn_id
        self.relay(self._forward(sent.conversation_id, sent.turn_id, -1))

    async def _cancel(self, body: dict[str, Any]) -> None:
        message = CancelMessage.model_validate(body | {"type": "cancel"})
        conversation_id = message.conversation_id or self.conversation_id
        if conversation_id is None:
            await self.error("not_found", "nothing to cancel: no conversation on this socket yet")
            return
        if not await self.conversations.cancel(conversation_id, message.turn_id):
            await self.error("not_found", "nothing to cancel: no turn is running")

    async def _resume(self, body: dict[str, Any]) -> None:
        message = ResumeMessage.model_validate(body | {"type": "resume"})
        self.conversation_id, self.turn_id = message.conversation_id, message.turn_id
        self.relay(self._forward(message.conversation_id, message.turn_id, message.after_seq))

    async def _forward(self, conversation_id: str, turn_id: str, after_seq: int) -> None:
        try:
            with streaming(self.websocket.app.state):
                async for batch in self.conversations.events(conversation_id, turn_id, after_seq):
                    for frame in batch:
                        await self.send(frame)
        except PenguinError as exc:
            await self.error(exc.code, exc.message, conversation_id=conversation_id, turn_id=turn_id)
        except (WebSocketDisconnect, RuntimeError):
            pass  # the socket closed while sending; the turn goes on
        except Exception:  # a session boundary: log it and tell the client, never drop the socket silently
            log.exception("relaying turn %s of %s failed", turn_id, conversation_id)
            await self.error("internal", "relaying the turn failed: resume it", conversation_id=conversation_id)
