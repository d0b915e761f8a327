"""``tasks``: the TaskEngine as a Ray actor, reaching conversations through the Gateway.

The engine opens itself when the actor starts (also after Ray restarts it), so the
tasks that were running are followed again, or failed with the reason, without
waiting for a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import cast

from penguin_actors import runtime
from penguin_actors.actors import ActorProxy
from penguin_actors.config import Settings
from penguin_actors.gateway import Gateway
from penguin_actors.tasks import TaskEngine, TaskStore
from penguin_actors.turn import Frame
from penguin_actors.types import TurnRequest

log = logging.getLogger(__name__)


class GatewayConversations:
    """The engine's ``TaskConversations``: conversation actors reached through a Gateway."""

    def __init__(self, settings: Settings) -> None:
        self.gateway = Gateway(settings)

    async def create(self, title: str) -> str:
        record = await runtime.call(self.gateway.system("checkpoints").create_conversation, title, None)
        return str(record.id)

    async def start_turn(self, conversation_id: str, request: TurnRequest) -> str:
        return await self.gateway.start_turn(conversation_id, request)

    async def events(self, conversation_id: str, turn_id: str, after_seq: int = -1) -> AsyncIterator[list[Frame]]:
        async for batch in self.gateway.events(conversation_id, turn_id, after_seq):
            yield batch

    async def cancel(self, conversation_id: str, turn_id: str | None, reason: str) -> bool:
        return await self.gateway.cancel(conversation_id, turn_id, reason)


class TaskEngineActor(TaskEngine):
    def __init__(self, settings: Settings) -> None:
        store = cast(TaskStore, ActorProxy("checkpoints", settings.ray.namespace))
        super().__init__(settings, store, GatewayConversations(settings))
        with contextlib.suppress(RuntimeError):  # an async actor's __init__ runs in its event loop
            self._opening = asyncio.get_running_loop().create_task(self._open_at_start())

    async def _open_at_start(self) -> None:
        try:
            await self.open()
        except Exception:  # the next call tries again
            log.exception("the task engine could not load its records at start")
