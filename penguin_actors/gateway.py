"""Gateway: how a caller outside the actors (the Serve ingress, the CLI) reaches conversations.

Handles are cached per process; the directory is asked only to activate on a cache
miss, and a call that reaches an actor which is passivating or gone activates the
conversation again, once.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

import ray

from penguin_actors import runtime
from penguin_actors.actors import conversation_actor_name
from penguin_actors.config import Settings
from penguin_actors.errors import NotFound, Unavailable
from penguin_actors.turn import Frame
from penguin_actors.types import TurnRequest

log = logging.getLogger(__name__)

HANDLE_CACHE_SIZE = 4096


class ConversationLost(Unavailable):
    """The conversation's actor stopped during a turn; acknowledged messages are kept."""

    code = "conversation_lost"

    @classmethod
    def of(cls, conversation_id: str) -> ConversationLost:
        return cls(
            f"conversation {conversation_id} stopped during the turn; its acknowledged messages are kept: "
            "send the message again"
        )


class Gateway:
    def __init__(self, settings: Settings) -> None:
        self.namespace = settings.ray.namespace
        self._handles: OrderedDict[str, Any] = OrderedDict()
        self._system: dict[str, Any] = {}

    def system(self, name: str) -> Any:
        """A system actor's handle (``checkpoints``, ``models``, ``directory``...)."""
        if name not in self._system:
            self._system[name] = runtime.get_actor(name, self.namespace)
        return self._system[name]

    async def current_conversation(self, conversation_id: str | None = None) -> str:
        """The named conversation, or the most recently active one (the original's "current session")."""
        if conversation_id is not None:
            return conversation_id
        recent = await runtime.call(self.system("checkpoints").most_recent_conversation)
        if recent is None:
            raise NotFound("there is no conversation yet: create one, or pass conversation_id")
        return str(recent)

    async def handle(self, conversation_id: str) -> Any:
        """The conversation's actor, activated if needed (NotFound for an unknown conversation)."""
        cached = self._handles.get(conversation_id)
        if cached is not None:
            self._handles.move_to_end(conversation_id)
            return cached
        try:
            handle = ray.get_actor(conversation_actor_name(conversation_id), namespace=self.namespace)
        except ValueError:
            # Ask the store first: an unknown id is a cheap NotFound, never an actor started for nothing.
            await runtime.call(self.system("checkpoints").get_conversation, conversation_id)
            await runtime.call(self.system("directory").activate, conversation_id)
            handle = ray.get_actor(conversation_actor_name(conversation_id), namespace=self.namespace)
        self._handles[conversation_id] = handle
        if len(self._handles) > HANDLE_CACHE_SIZE:
            self._handles.popitem(last=False)
        return handle

    def forget(self, conversation_id: str) -> None:
        self._handles.pop(conversation_id, None)

    async def call(self, conversation_id: str, method: str, *args: Any) -> Any:
        """Call a conversation's method; re-activate once if its actor is passivating or gone."""
        for attempt in (1, 2):
            handle = await self.handle(conversation_id)
            try:
                return await runtime.call(getattr(handle, method), *args)
            except Unavailable:
                self.forget(conversation_id)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def start_turn(self, conversation_id: str, request: TurnRequest) -> str:
        started = await self.call(conversation_id, "start_turn", request)
        return str(started["turn_id"])

    async def cancel(self, conversation_id: str, turn_id: str | None = None, reason: str = "cancelled") -> bool:
        """Cancel the given turn, or the running one; True if there was one to cancel."""
        return bool(await self.call(conversation_id, "cancel", turn_id, reason))

    async def wait(self, conversation_id: str, turn_id: str) -> dict[str, Any]:
        """Wait for a turn's end: its terminal frame's data with ``event``; ConversationLost if the actor stops."""
        handle = await self.handle(conversation_id)
        try:
            result: dict[str, Any] = await runtime.call(handle.wait, turn_id)
        except Unavailable:
            self.forget(conversation_id)
            raise ConversationLost.of(conversation_id) from None
        return result

    async def events(self, conversation_id: str, turn_id: str, after_seq: int = -1) -> AsyncIterator[list[Frame]]:
        """A turn's frames in batches; ConversationLost if its actor stops before the turn ends."""
        handle = await self.handle(conversation_id)
        try:
            async for batch in runtime.stream(handle.events, turn_id, after_seq):
                yield batch
        except Unavailable:
            self.forget(conversation_id)
            raise ConversationLost.of(conversation_id) from None
