"""Gateway: how a caller outside the actors (the Serve ingress, the task engine, the CLI) reaches the runtime.

``Gateway`` holds typed proxies of the system actors (``store``, ``models``, ``tasks``,
``directory``) and ``conversations``, which reaches conversations on their hosts.
``send`` and ``delete`` are whole operations, so a route handler validates, makes one
call and shapes the answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import ray

from penguin_actors.config import Settings
from penguin_actors.conversation import ConversationDirectory, Frame
from penguin_actors.edge.calls import ActorGone, call, stream
from penguin_actors.edge.cluster import cluster_nodes
from penguin_actors.edge.health import ActorState, system_actor_states
from penguin_actors.edge.names import DIRECTORY, MODELS, STORE, TASKS
from penguin_actors.edge.proxy import proxy
from penguin_actors.errors import NotFound, TooLarge, Unavailable
from penguin_actors.models import ModelRegistry, catalog_of, require_model
from penguin_actors.store import CheckpointRecord, CheckpointStore, ConversationRecord
from penguin_actors.tasks import TaskEngine
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


@dataclass(frozen=True)
class SentTurn:
    """A message sent: the conversation it went to (perhaps new) and its turn."""

    conversation_id: str
    turn_id: str
    repeated: bool = False  # the same send again (its client_message_id): the first send's turn


class Conversations:
    """Conversations by id, on the hosts that hold them, activated on demand.

    The host of each conversation is cached; the directory is asked only on a miss. A call
    that reaches a host which no longer holds the conversation (passivated, or the host is
    gone) activates it again, once. A call that follows a turn (``wait``, ``events``) is
    ``ConversationLost`` if the host dies under it: the turn died with it.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.namespace = settings.ray.namespace
        self.store = proxy(CheckpointStore, STORE, self.namespace)
        self.directory = proxy(ConversationDirectory, DIRECTORY, self.namespace)
        self._solo = settings.activation.conversations_per_actor == 1
        self._catalog = catalog_of(settings)
        self._placed: OrderedDict[str, str] = OrderedDict()  # conversation id -> the host that holds it
        self._hosts: dict[str, Any] = {}  # host name -> handle

    # --- operations ---------------------------------------------------------------------

    async def send(self, conversation_id: str | None, request: TurnRequest) -> SentTurn:
        """Check the message, create a conversation if none is named (its first message titles it), queue the turn."""
        limit = self.settings.limits.max_text_chars
        if len(request.text) > limit:
            raise TooLarge(f"text has {len(request.text)} characters, over the limit of {limit}")
        if request.model_id is not None:
            require_model(self._catalog, request.model_id)
        if conversation_id is None:
            conversation_id = await self.create()
        started = await self.call(conversation_id, "start_turn", request)
        return SentTurn(conversation_id, str(started["turn_id"]), bool(started.get("repeated")))

    async def create(self, title: str | None = None, model_id: str | None = None) -> str:
        """A new conversation (its model, if named, must be in the catalog); its id."""
        if model_id is not None:
            require_model(self._catalog, model_id)
        record = await self.store.create_conversation(title, model_id)
        return record.id

    async def update(
        self, conversation_id: str, *, title: str | None = None, model_id: str | None = None, clear_model: bool = False
    ) -> ConversationRecord:
        """Rename it or set (or clear) its model override, through its host (the model must be in the catalog)."""
        if model_id is not None:
            require_model(self._catalog, model_id)
        record: ConversationRecord = await self.call(
            conversation_id, "update", title=title, model_id=model_id, clear_model=clear_model
        )
        return record

    async def delete(self, conversation_id: str) -> None:
        """Stop the conversation whatever it is doing, then delete it from the store."""
        await self.store.get_conversation(conversation_id)  # NotFound first
        await self.directory.forget(conversation_id)
        self.forget(conversation_id)
        await self.store.delete_conversation(conversation_id)

    async def current(self, conversation_id: str | None = None) -> str:
        """The named conversation, or the most recently active one (the original's "current session")."""
        if conversation_id is not None:
            return conversation_id
        recent = await self.store.most_recent_conversation()
        if recent is None:
            raise NotFound("there is no conversation yet: create one, or pass conversation_id")
        return recent

    async def start_turn(self, conversation_id: str, request: TurnRequest) -> str:
        started = await self.call(conversation_id, "start_turn", request)
        return str(started["turn_id"])

    async def cancel(self, conversation_id: str, turn_id: str | None = None, reason: str = "cancelled") -> bool:
        """Cancel the given turn, or the running one; True if there was one to cancel."""
        return bool(await self.call(conversation_id, "cancel", turn_id, reason))

    async def wait(self, conversation_id: str, turn_id: str) -> dict[str, Any]:
        """Wait for a turn's end: its terminal frame's data with ``event``; ConversationLost if its host stops."""
        result: dict[str, Any] = await self.call(conversation_id, "wait", turn_id, in_turn=True)
        return result

    async def events(self, conversation_id: str, turn_id: str, after_seq: int = -1) -> AsyncIterator[list[Frame]]:
        """A turn's frames in batches; ConversationLost if its host stops before the turn ends."""
        for attempt in (1, 2):
            handle = await self._host(conversation_id)
            yielded = False
            try:
                async for batch in stream(handle.events, conversation_id, turn_id, after_seq):
                    yielded = True
                    yield batch
                return
            except Unavailable as exc:
                self._lost(conversation_id, exc, 2 if yielded else attempt, in_turn=True)

    async def rollback(self, conversation_id: str, checkpoint_id: str) -> CheckpointRecord:
        """Roll back through the conversation's host, so no turn appends while its lineage moves."""
        marker: CheckpointRecord = await self.call(conversation_id, "rollback", checkpoint_id)
        return marker

    async def add_context_file(self, conversation_id: str, user_path: str) -> dict[str, Any]:
        loaded: dict[str, Any] = await self.call(conversation_id, "add_context_file", user_path)
        return loaded

    # --- hosts ----------------------------------------------------------------------------

    async def call(self, conversation_id: str, method: str, *args: Any, in_turn: bool = False, **kwargs: Any) -> Any:
        """Call a method of the conversation's host (the id goes first); re-activate once if it is not held there.

        ``in_turn``: the call follows a running turn, so a host that died under it is ConversationLost.
        """
        for attempt in (1, 2):
            handle = await self._host(conversation_id)
            try:
                return await call(getattr(handle, method), conversation_id, *args, **kwargs)
            except Unavailable as exc:
                self._lost(conversation_id, exc, attempt, in_turn=in_turn)
        raise AssertionError("unreachable")

    def _lost(self, conversation_id: str, exc: Unavailable, attempt: int, *, in_turn: bool) -> None:
        """After a call failed as Unavailable: forget the host, and raise unless the call is to be tried again."""
        self.forget(conversation_id)
        if in_turn and isinstance(exc, ActorGone):
            raise ConversationLost.of(conversation_id) from None
        if attempt == 2:
            raise exc

    async def _host(self, conversation_id: str) -> Any:
        """The handle of the host that holds the conversation, activating it if need be."""
        name = self._placed.get(conversation_id)
        if name is not None:
            self._placed.move_to_end(conversation_id)
        else:
            if self._solo:  # an unknown id is a cheap NotFound, never a process started for nothing
                await self.store.get_conversation(conversation_id)
            name = await self.directory.activate(conversation_id)
            self._placed[conversation_id] = name
            if len(self._placed) > HANDLE_CACHE_SIZE:
                self._placed.popitem(last=False)
        handle = self._hosts.get(name)
        if handle is None:
            try:
                handle = self._hosts[name] = ray.get_actor(name, namespace=self.namespace)
            except ValueError:
                self.forget(conversation_id)
                raise ActorGone(f"conversation host {name} is not running: try again") from None
        return handle

    def forget(self, conversation_id: str) -> None:
        name = self._placed.pop(conversation_id, None)
        if name is not None and self._solo:
            self._hosts.pop(name, None)  # a host of one is gone with its conversation


class Gateway:
    """The runtime as the ingress sees it: typed proxies of the system actors, and the conversations."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        namespace = settings.ray.namespace
        self.conversations = Conversations(settings)
        self.store = self.conversations.store
        self.directory = self.conversations.directory
        self.models = proxy(ModelRegistry, MODELS, namespace)
        self.tasks = proxy(TaskEngine, TASKS, namespace)

    async def actor_states(self) -> dict[str, ActorState]:
        """Each system actor's state, asked of Ray."""
        return await system_actor_states(self.settings.ray.namespace)

    async def nodes(self) -> list[dict[str, Any]]:
        """The cluster's nodes as Ray reports them."""
        return await asyncio.to_thread(cluster_nodes)
