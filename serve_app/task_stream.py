"""TaskSession: one task WebSocket, as a class with an explicit state.

Client messages: a task (the ``POST /tasks/execute`` body) to start one and follow
it; ``{"task_id", "after_seq"}`` to follow a task already running (or see how a
finished one ended); ``{"type": "cancel"}`` to cancel the task followed. Events:
``start``, ``progress``, ``action``, ``complete`` and ``error``, each frame
``{"event", "data", "task_id", "seq"}``. The socket stays open after a task ends,
for the next one. A message that is not a valid task (a missing name, say) gets an
``error`` event and closes the socket with 1008; a task keeps running when its
socket closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect, status
from pydantic import BaseModel, Field, ValidationError

from penguin_actors.config import Settings
from penguin_actors.errors import PenguinError
from penguin_actors.runtime import call, stream
from serve_app.schemas import RecordId, TaskRequest
from serve_app.task_views import checked_spec

log = logging.getLogger(__name__)


class TaskSessionState(enum.Enum):
    CONNECTING = "connecting"
    OPEN = "open"
    CLOSED = "closed"


class FollowMessage(BaseModel):
    task_id: RecordId
    after_seq: int = Field(-1, ge=-1)


class TaskSession:
    """Starts or follows one task at a time and relays its frames; tasks outlive the socket."""

    def __init__(self, websocket: WebSocket, tasks: Any, models: Any, settings: Settings) -> None:
        self.websocket = websocket
        self.tasks = tasks
        self.models = models
        self.settings = settings
        self.state = TaskSessionState.CONNECTING
        self.task_id: str | None = None
        self._relay: asyncio.Task[None] | None = None
        self._send_lock = asyncio.Lock()

    async def run(self) -> None:
        await self.websocket.accept()
        self.state = TaskSessionState.OPEN
        try:
            while self.state is TaskSessionState.OPEN:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                await self._handle(message.get("text"), message.get("bytes"))
        except WebSocketDisconnect:
            pass
        finally:
            self.state = TaskSessionState.CLOSED
            if self._relay is not None:
                self._relay.cancel()  # the task goes on; only this socket stops listening

    async def _handle(self, text: str | None, data: bytes | None) -> None:
        size = len(text.encode()) if text is not None else len(data or b"")
        limit = self.settings.limits.ws_max_frame_bytes
        if size > limit:
            message = f"frame of {size} bytes is over limits.ws_max_frame_bytes ({limit}): send smaller messages"
            await self._close(status.WS_1009_MESSAGE_TOO_BIG, "too_large", message)
            return
        try:
            body = json.loads(text) if text is not None else None
        except json.JSONDecodeError as exc:
            await self._refuse("invalid_json", f"frame is not JSON ({exc.msg}): send a task as a JSON object")
            return
        if not isinstance(body, dict):
            await self._refuse("invalid", "send a JSON object: a task, {'task_id': ...} or {'type': 'cancel'}")
            return
        try:
            if body.get("type") == "cancel":
                await self._cancel()
            elif "task_id" in body:
                await self._follow(FollowMessage.model_validate(body))
            else:
                await self._start(TaskRequest.model_validate(body))
        except ValidationError as exc:
            problems = [{"loc": [str(p) for p in e["loc"]], "msg": e["msg"]} for e in exc.errors()]
            where = ".".join(problems[0]["loc"]) or "message"
            await self._refuse("validation_error", f"{where}: {problems[0]['msg']}", details=problems)
        except PenguinError as exc:
            await self._error(exc.code, exc.message)

    async def _start(self, request: TaskRequest) -> None:
        if self._busy():
            await self._error("conflict", f"task {self.task_id} is streaming on this socket: wait for it or cancel it")
            return
        record = await call(self.tasks.execute, await checked_spec(request, self.models))
        self._begin_relay(record.id, -1)

    async def _follow(self, message: FollowMessage) -> None:
        if self._busy():
            await self._error("conflict", f"task {self.task_id} is streaming on this socket: wait for it or cancel it")
            return
        await call(self.tasks.get_task, message.task_id)  # NotFound now, not in the relay
        self._begin_relay(message.task_id, message.after_seq)

    async def _cancel(self) -> None:
        if self.task_id is None or not self._busy():
            await self._error("not_found", "nothing to cancel: no task is streaming on this socket")
            return
        asyncio.create_task(self._cancel_task(self.task_id))  # noqa: RUF006  # its end reaches the relay

    async def _cancel_task(self, task_id: str) -> None:
        try:
            await call(self.tasks.cancel, task_id)
        except PenguinError as exc:
            await self._error(exc.code, exc.message)

    def _busy(self) -> bool:
        return self._relay is not None and not self._relay.done()

    def _begin_relay(self, task_id: str, after_seq: int) -> None:
        self.task_id = task_id
        self._relay = asyncio.create_task(self._forward(task_id, after_seq))

    async def _forward(self, task_id: str, after_seq: int) -> None:
        try:
            async for batch in stream(self.tasks.events, task_id, after_seq):
                for frame in batch:
                    await self._send(frame)
        except PenguinError as exc:
            await self._error(exc.code, exc.message, task_id=task_id)

    async def _send(self, frame: dict[str, Any]) -> None:
        if self.state is not TaskSessionState.OPEN:
            return
        async with self._send_lock:
            try:
                await self.websocket.send_json(frame)
            except (WebSocketDisconnect, RuntimeError):
                self.state = TaskSessionState.CLOSED

    async def _error(self, code: str, message: str, **keys: Any) -> None:
        """An ``error`` event; ``keys`` go beside ``event`` and ``data`` (e.g. the task_id)."""
        await self._send({"event": "error", "data": {"message": message, "code": code}, **keys})

    async def _refuse(self, code: str, message: str, details: Any = None) -> None:
        """An error event for a message that is not a task, then close with 1008 (policy violation)."""
        data = {"message": message, "code": code} | ({"details": details} if details is not None else {})
        await self._send({"event": "error", "data": data})
        await self._close(status.WS_1008_POLICY_VIOLATION, None, None)

    async def _close(self, code: int, error_code: str | None, message: str | None) -> None:
        if error_code is not None and message is not None:
            await self._send({"event": "error", "data": {"message": message, "code": error_code}})
        if self.state is TaskSessionState.OPEN:
            self.state = TaskSessionState.CLOSED
            with contextlib.suppress(RuntimeError):  # the client went first
                await self.websocket.close(code)
