"""TaskSession: one task WebSocket.

Client messages: a task (the ``POST /tasks/execute`` body) to start one and follow
it; ``{"task_id", "after_seq"}`` to follow a task already running (or see how a
finished one ended); ``{"type": "cancel"}`` to cancel the task followed. Events:
``start``, ``progress``, ``action``, ``complete`` and ``error``, each frame
``{"event", "data", "task_id", "seq"}``. The socket stays open after a task ends,
for the next one. A message that is not a valid task (a missing name, say) gets an
``error`` event and closes the socket with 1008; a task keeps running when its
socket closes. The limits every API WebSocket has are in ``socket_session.py``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect, status
from pydantic import BaseModel, Field

from penguin_actors.config import Settings
from penguin_actors.errors import PenguinError
from penguin_actors.tasks import TaskEngine
from serve_app.limits import Clock, ConnectionCounter
from serve_app.schemas import RecordId, TaskRequest
from serve_app.socket_session import SocketSession, streaming
from serve_app.task_views import task_spec

log = logging.getLogger(__name__)


class FollowMessage(BaseModel):
    task_id: RecordId
    after_seq: int = Field(-1, ge=-1)


class TaskSession(SocketSession):
    """Starts or follows one task at a time and relays its frames; tasks outlive the socket."""

    ROUTE = "tasks"
    EXPECTED = "a JSON object: a task, {'task_id': ...} or {'type': 'cancel'}"

    def __init__(
        self,
        websocket: WebSocket,
        tasks: TaskEngine,
        settings: Settings,
        *,
        client: str = "",
        sockets: ConnectionCounter | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(websocket, settings, client=client, sockets=sockets, clock=clock)
        self.tasks = tasks
        self.task_id: str | None = None
        self._current: Any = None  # the relay of the task followed

    async def dispatch(self, body: dict[str, Any]) -> None:
        if body.get("type") == "cancel":
            await self._cancel()
        elif "task_id" in body:
            await self._follow(FollowMessage.model_validate(body))
        else:
            await self._start(TaskRequest.model_validate(body))

    async def refuse(self, code: str, message: str, *, details: Any = None) -> None:
        """Not a task: say why, then close with 1008 (policy violation)."""
        await self.close(status.WS_1008_POLICY_VIOLATION, code, message, reason="not a task", details=details)

    async def _start(self, request: TaskRequest) -> None:
        if await self._refuse_if_busy():
            return
        record = await self.tasks.execute(task_spec(request))
        self._follow_task(record.id, -1)

    async def _follow(self, message: FollowMessage) -> None:
        if await self._refuse_if_busy():
            return
        await self.tasks.get_task(message.task_id)  # NotFound now, not in the relay
        self._follow_task(message.task_id, message.after_seq)

    async def _cancel(self) -> None:
        if self.task_id is None or not self._busy():
            await self.error("not_found", "nothing to cancel: no task is streaming on this socket")
            return
        self.relay(self._cancel_task(self.task_id))  # the task's end reaches the client through its relay

    async def _cancel_task(self, task_id: str) -> None:
        try:
            await self.tasks.cancel(task_id)
        except PenguinError as exc:
            await self.error(exc.code, exc.message, task_id=task_id)

    async def _refuse_if_busy(self) -> bool:
        """One task at a time per socket: True (and the client told) while one is streaming."""
        if not self._busy():
            return False
        await self.error("conflict", f"task {self.task_id} is streaming on this socket: wait for it or cancel it")
        return True

    def _busy(self) -> bool:
        return self._current is not None and not self._current.done()

    def _follow_task(self, task_id: str, after_seq: int) -> None:
        self.task_id = task_id
        self._current = self.relay(self._forward(task_id, after_seq))

    async def _forward(self, task_id: str, after_seq: int) -> None:
        try:
            with streaming(self.websocket.app.state):
                async for batch in self.tasks.events(task_id, after_seq):
                    for frame in batch:
                        await self.send(frame)
        except PenguinError as exc:
            await self.error(exc.code, exc.message, task_id=task_id)
        except (WebSocketDisconnect, RuntimeError):
            pass  # the socket closed while sending; the task goes on
        except Exception:  # a session boundary: log it and tell the client, never drop the socket silently
            log.exception("relaying task %s failed", task_id)
            await self.error("internal", "relaying the task failed: follow it again", task_id=task_id)
