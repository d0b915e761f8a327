"""ConversationHost: many conversations in one process, each still an actor of its own.

A plain class; ``edge`` runs it as a Ray actor (``host:<n>``, or ``conv:<id>`` for a host of
one). Every hosted conversation is its own ``Conversation``: its own history, mailbox (one
turn at a time), turns and model override, its own asyncio tasks, so an exception, cancel
or timeout in one never reaches another. What the conversations of a host share holds no
conversation's state: the settings, the actors' proxies, the model providers (SDK clients
and their connection pools) and the ``Pace`` that widens the frame window under load.

Every method takes the conversation id. A conversation the host does not hold (never
placed here, passivated, or lost with an earlier process) is ``NotHosted``: the caller
asks the directory to activate it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from penguin_actors.config import Settings
from penguin_actors.conversation.conversation import Conversation
from penguin_actors.conversation.frames import Frame
from penguin_actors.conversation.pace import Pace
from penguin_actors.conversation.ports import ConversationStorePort, DirectoryPort, ModelsPort, ToolRunner
from penguin_actors.errors import Unavailable
from penguin_actors.metrics import metrics
from penguin_actors.models.providers import Providers
from penguin_actors.store.records import CheckpointRecord, ConversationRecord
from penguin_actors.types import TurnRequest

log = logging.getLogger(__name__)

WATCH_INTERVAL_S = 0.25  # how often the host measures its event loop's lag


class NotHosted(Unavailable):
    """The conversation is not on this host; the caller activates it again and retries once."""

    code = "not_hosted"


class ConversationHost:
    def __init__(
        self,
        name: str,
        settings: Settings,
        store: ConversationStorePort,
        models: ModelsPort,
        *,
        env: Mapping[str, str],
        directory: DirectoryPort | None = None,
        tools: Callable[[str], ToolRunner | None] | None = None,
        capacity: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``tools(conversation_id)`` makes a conversation's tool runner; ``capacity`` defaults to
        ``activation.conversations_per_actor``."""
        self.name = name
        self.settings = settings
        self.capacity = capacity or settings.activation.conversations_per_actor
        self._store = store
        self._models = models
        self._env = env
        self._directory = directory
        self._tools = tools
        self._clock = clock
        self.providers = Providers(env)
        self.pace = Pace()
        self._conversations: dict[str, Conversation] = {}
        self._activating: dict[str, asyncio.Task[int]] = {}
        self._watcher: asyncio.Task[None] | None = None

    # --- lifecycle --------------------------------------------------------------

    async def activate(self, conversation_id: str) -> int:
        """Hold the conversation (loading its state from the store); its message count. Once per id."""
        self._watch()
        held = self._conversations.get(conversation_id)
        if held is not None:
            return len(held.history)
        pending = self._activating.get(conversation_id)
        if pending is None:
            if len(self._conversations) + len(self._activating) >= self.capacity:
                raise Unavailable(f"host {self.name} holds {self.capacity} conversations: place it on another host")
            pending = self._activating[conversation_id] = asyncio.create_task(self._load(conversation_id))
        return await asyncio.shield(pending)

    async def _load(self, conversation_id: str) -> int:
        conversation = Conversation(
            conversation_id,
            self.settings,
            self._store,
            self._models,
            env=self._env,
            directory=self._directory,
            tools=self._tools(conversation_id) if self._tools is not None else None,
            providers=self.providers,
            pace=self.pace,
            clock=self._clock,
        )
        try:
            count = await conversation.activate()
            self._conversations[conversation_id] = conversation
            return count
        finally:
            del self._activating[conversation_id]

    async def passivate(self, conversation_id: str) -> bool:
        """Let the conversation go if it is idle; False (and nothing changes) while a turn runs or waits.

        True also when the host does not hold it: either way it is not here afterwards.
        """
        conversation = self._conversations.get(conversation_id)
        if conversation is None:
            return conversation_id not in self._activating
        if not await conversation.prepare_passivate():
            return False
        del self._conversations[conversation_id]
        return True

    async def release(self, conversation_id: str, reason: str = "cancelled") -> None:
        """Let the conversation go now, busy or not (it was deleted): its turns end first."""
        pending = self._activating.get(conversation_id)
        if pending is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(pending)
        conversation = self._conversations.pop(conversation_id, None)
        if conversation is not None:
            await conversation.close(reason)

    async def close(self) -> None:
        """Let every conversation go (their running turns end cancelled) and close the shared clients."""
        for conversation_id in list(self._conversations):
            await self.release(conversation_id, "interrupted")
        if self._watcher is not None:
            self._watcher.cancel()
        await self.providers.aclose()

    async def held(self) -> list[str]:
        """The conversations this host holds now."""
        return list(self._conversations)

    async def stats(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "capacity": self.capacity,
            "conversations": len(self._conversations),
            "turns_running": self.pace.running,
            "loop_lag_s": round(self.pace.lag_s, 4),
        }

    # --- a conversation's calls -----------------------------------------------------

    async def start_turn(self, conversation_id: str, request: TurnRequest) -> dict[str, Any]:
        return await (await self._get(conversation_id)).start_turn(request)

    async def events(self, conversation_id: str, turn_id: str, after_seq: int = -1) -> AsyncIterator[list[Frame]]:
        conversation = await self._get(conversation_id)
        async for batch in conversation.events(turn_id, after_seq):
            yield batch

    async def wait(self, conversation_id: str, turn_id: str) -> dict[str, Any]:
        return await (await self._get(conversation_id)).wait(turn_id)

    async def cancel(self, conversation_id: str, turn_id: str | None = None, reason: str = "cancelled") -> bool:
        return await (await self._get(conversation_id)).cancel(turn_id, reason)

    async def rollback(self, conversation_id: str, checkpoint_id: str) -> CheckpointRecord:
        return await (await self._get(conversation_id)).rollback(checkpoint_id)

    async def update(
        self, conversation_id: str, *, title: str | None = None, model_id: str | None = None, clear_model: bool = False
    ) -> ConversationRecord:
        conversation = await self._get(conversation_id)
        return await conversation.update(title=title, model_id=model_id, clear_model=clear_model)

    async def add_context_file(self, conversation_id: str, user_path: str) -> dict[str, Any]:
        return await (await self._get(conversation_id)).add_context_file(user_path)

    async def status(self, conversation_id: str) -> dict[str, Any]:
        """The conversation's state here: busy, queued turns, the running turn, the messages it holds."""
        return (await self._get(conversation_id)).status()

    # --- internals --------------------------------------------------------------

    async def _get(self, conversation_id: str) -> Conversation:
        conversation = self._conversations.get(conversation_id)
        if conversation is None and conversation_id in self._activating:
            with contextlib.suppress(Exception):  # its activation's caller sees its error
                await asyncio.shield(self._activating[conversation_id])
            conversation = self._conversations.get(conversation_id)
        if conversation is None:
            raise NotHosted(f"conversation {conversation_id} is not on host {self.name}: activate it again")
        return conversation

    def _watch(self) -> None:
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.create_task(self._watch_loop())

    async def _watch_loop(self) -> None:
        """Measure the event loop's lag for the pace, and report the host's load in the metrics."""
        while True:
            started = self._clock()
            await asyncio.sleep(WATCH_INTERVAL_S)
            self.pace.lag_s = max(self._clock() - started - WATCH_INTERVAL_S, 0.0)
            metrics().host_load(self.name, len(self._conversations), self.pace.running, self.pace.lag_s)
