"""ConversationDirectory: which conversations have a live actor, and keeping their number bounded.

A plain class; ``runtime.py`` runs it as the named detached actor ``directory``. A
conversation exists in storage whether or not its actor runs (a virtual actor): any
call activates it, an idle one asks to be passivated, and when ``max_active`` actors
are live the least recently used idle one is passivated to make room. The number of
live conversation actors never exceeds ``max_active``; when all of them are busy, an
activation waits for one to become idle, up to ``wait_s``, then fails as Unavailable.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from penguin_actors.config import Settings
from penguin_actors.errors import Unavailable
from penguin_actors.metrics import PassivationReason, metrics

log = logging.getLogger(__name__)


class Spawner(Protocol):
    """How the directory starts and stops conversation actors (Ray in production, plain objects in tests)."""

    async def spawn(self, conversation_id: str) -> str | None:
        """Start the actor and load its state; the id of the node it runs on, if known.

        NotFound if the conversation does not exist.
        """

    async def alive(self, conversation_id: str) -> bool: ...

    async def prepare_passivate(self, conversation_id: str) -> bool:
        """Ask the actor to stop taking turns; False if it is busy. Raises if the actor is gone."""

    async def kill(self, conversation_id: str) -> None:
        """Stop the actor and return once its name is free."""


class ConversationDirectory:
    def __init__(
        self, settings: Settings, spawner: Spawner, *, wait_s: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_active = settings.activation.max_active
        self.spawner = spawner
        self.wait_s = wait_s
        self._clock = clock
        self._active: OrderedDict[str, float] = OrderedDict()  # least recently used first
        self._locks: dict[str, asyncio.Lock] = {}
        self._capacity = asyncio.Lock()
        self._reserved = 0
        self._passivating: dict[str, asyncio.Event] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self.counts = {"activations": 0, "passivations": 0, "evictions": 0}
        self._nodes: dict[str, str] = {}  # conversation id -> the node its actor runs on

    async def activate(self, conversation_id: str) -> bool:
        """Make sure the conversation's actor runs; True if it was started now."""
        while conversation_id in self._passivating:
            await self._passivating[conversation_id].wait()
        async with self._lock(conversation_id):
            if conversation_id in self._active:
                if await self.spawner.alive(conversation_id):
                    self._touch(conversation_id)
                    return False
                del self._active[conversation_id]
                self._nodes.pop(conversation_id, None)
                metrics().active_conversations(len(self._active))
            async with self._capacity:
                await self._make_room()
                self._reserved += 1
            try:
                node = await self.spawner.spawn(conversation_id)
            finally:
                self._reserved -= 1
            self._active[conversation_id] = self._clock()
            if node is not None:
                self._nodes[conversation_id] = node
            metrics().active_conversations(len(self._active))
            self.counts["activations"] += 1
            metrics().activated()
            return True

    async def touch(self, conversation_id: str) -> None:
        """Mark the conversation used now (its actor calls this when a turn starts)."""
        if conversation_id in self._active:
            self._touch(conversation_id)

    async def request_passivation(self, conversation_id: str) -> None:
        """An idle actor asks to stop; it happens in the background, and only if it is still idle."""
        if conversation_id in self._active and conversation_id not in self._passivating:
            task = asyncio.create_task(self.passivate(conversation_id, "idle"))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def passivate(self, conversation_id: str, reason: PassivationReason = "idle") -> bool:
        """Stop the conversation's actor if it is idle; True if it is not running afterwards.

        ``reason`` (``idle`` or ``evicted``) labels the passivation in the metrics.
        """
        if conversation_id in self._passivating or conversation_id not in self._active:
            return conversation_id not in self._active
        done = self._passivating[conversation_id] = asyncio.Event()
        try:
            try:
                if not await self.spawner.prepare_passivate(conversation_id):
                    return False
            except Exception as exc:  # the actor is already gone: its slot is free
                log.info("conversation %s was not running (%s)", conversation_id, type(exc).__name__)
            else:
                await self.spawner.kill(conversation_id)
            self._active.pop(conversation_id, None)
            self._nodes.pop(conversation_id, None)
            self.counts["passivations"] += 1
            metrics().passivated(reason)
            metrics().active_conversations(len(self._active))
            return True
        finally:
            del self._passivating[conversation_id]
            done.set()
            lock = self._locks.get(conversation_id)
            if lock is not None and not lock.locked():
                del self._locks[conversation_id]

    async def forget(self, conversation_id: str) -> None:
        """The conversation was deleted: stop its actor whatever it is doing."""
        async with self._lock(conversation_id):
            if await self.spawner.alive(conversation_id):
                await self.spawner.kill(conversation_id)
                metrics().passivated("deleted")
            self._active.pop(conversation_id, None)
            self._nodes.pop(conversation_id, None)
            metrics().active_conversations(len(self._active))

    async def stats(self) -> dict[str, Any]:
        return {
            "active": len(self._active),
            "max_active": self.max_active,
            "conversations": list(reversed(self._active)),  # most recently used first
            "by_node": dict(Counter(self._nodes[c] for c in self._active if c in self._nodes)),
            **self.counts,
        }

    def _lock(self, conversation_id: str) -> asyncio.Lock:
        return self._locks.setdefault(conversation_id, asyncio.Lock())

    def _touch(self, conversation_id: str) -> None:
        self._active[conversation_id] = self._clock()
        self._active.move_to_end(conversation_id)

    async def _make_room(self) -> None:
        """Passivate least recently used idle conversations until one more fits."""
        deadline = self._clock() + self.wait_s
        while len(self._active) + self._reserved >= self.max_active:
            for victim in list(self._active):
                if await self.passivate(victim, "evicted"):
                    self.counts["evictions"] += 1
                    break
            else:
                if self._clock() >= deadline:
                    raise Unavailable(
                        f"all {self.max_active} active conversations are busy: try again shortly, "
                        "or raise activation.max_active"
                    )
                await asyncio.sleep(0.05)
