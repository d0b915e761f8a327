"""Gateway: how a caller outside the actors (the Serve ingress, the task engine, the CLI) reaches the runtime.

``Gateway`` holds typed proxies of the system actors (``store``, ``models``, ``tasks``,
``directory``) and ``conversations``. ``Conversations`` reaches conversation actors:
handles are cached per process; the directory is asked only to activate on a cache
miss, and a call that reaches an actor which is passivating or gone activates the
conversation again, once. ``send`` and ``delete`` are its whole operations, so a route
handler validates, makes one call and shapes the answer.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, cast

import ray

from penguin_actors.config import Settings
from penguin_actors.conversation import Conversation, ConversationDirectory, Frame
from penguin_actors.edge.calls import call, stream
from penguin_actors.edge.cluster import cluster_nodes
from penguin_actors.edge.health import ActorState, system_actor_states
from penguin_actors.edge.names import DIRECTORY, MODELS, STORE, TASKS, conversation_actor_name
from penguin_actors.edge.proxy import proxy
from penguin_actors.errors import NotFound, TooLarge, Unavailable
from penguin_actors.models import ModelRegistry, catalog_of, require_model
from penguin_actors.store import CheckpointStore, ConversationRecord
from penguin_actors.tasks import TaskEngine
from penguin_actors.types import TurnRequest

log = logging.getLogger(__name__)

HANDLE_CACHE_SIZE = 4096
TITLE_CHARS = 60


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


def title_of(text: str) -> str:
    """A conversation's title from its first message: the words of its start."""
    return " ".join(text.split())[:TITLE_CHARS]


class Conversations:
    """Conversation actors by id, activated on demand; typed as the ``Conversation`` each one runs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.namespace = settings.ray.namespace
        self.store = proxy(CheckpointStore, STORE, self.namespace)
        self.directory = proxy(ConversationDirectory, DIRECTORY, self.namespace)
        self._catalog = catalog_of(settings)
        self._handles: OrderedDict[str, Any] = OrderedDict()

    def get(self, conversation_id: str) -> Conversation:
        """The conversation, typed as the plain class its actor runs; each call activates it if needed."""
        return cast(Conversation, _ConversationProxy(self, conversation_id))

    async def send(self, conversation_id: str | None, request: TurnRequest) -> SentTurn:
        """Check the message, create a conversation if none is named (titled by the text), queue the turn."""
        limit = self.settings.limits.max_text_chars
        if len(request.text) > limit:
            raise TooLarge(f"text has {len(request.text)} characters, over the limit of {limit}")
        if request.model_id is not None:
            require_model(self._catalog, request.model_id)
        if conversation_id is None:
            conversation_id = await self.create(title_of(request.text))
        return SentTurn(conversation_id, await self.start_turn(conversation_id, request))

    async def create(self, title: str | None = None, model_id: str | None = None) -> str:
        """A new conversation (its model, if named, must be in the catalog); its id."""
        if model_id is not None:
            require_model(self._catalog, model_id)
        record = await self.store.create_conversation(title, model_id)
        return record.id

    async def update(
        self, conversation_id: str, *, title: str | None = None, model_id: str | None = None, clear_model: bool = False
    ) -> ConversationRecord:
        """Rename it or set (or clear) its model override, through its actor (the model must be in the catalog)."""
        if model_id is not None:
            require_model(self._catalog, model_id)
        return await self.get(conversation_id).update(title=title, model_id=model_id, clear_model=clear_model)

    async def delete(self, conversation_id: str) -> None:
        """Stop the conversation's actor whatever it is doing, then delete it from the store."""
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
        started = await self.get(conversation_id).start_turn(request)
        return str(started["turn_id"])

    async def cancel(self, conversation_id: str, turn_id: str | None = None, reason: str = "cancelled") -> bool:
        """Cancel the given turn, or the running one; True if there was one to cancel."""
        return await self.get(conversation_id).cancel(turn_id, reason)

    async def wait(self, conversation_id: str, turn_id: str) -> dict[str, Any]:
        """Wait for a turn's end: its terminal frame's data with ``event``; ConversationLost if the actor stops."""
        return await self.get(conversation_id).wait(turn_id)

    def events(self, conversation_id: str, turn_id: str, after_seq: int = -1) -> AsyncIterator[list[Frame]]:
        """A turn's frames in batches; ConversationLost if its actor stops before the turn ends."""
        return self.get(conversation_id).events(turn_id, after_seq)

    # --- handles ----------------------------------------------------------------------

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
            await self.store.get_conversation(conversation_id)
            await self.directory.activate(conversation_id)
            handle = ray.get_actor(conversation_actor_name(conversation_id), namespace=self.namespace)
        self._handles[conversation_id] = handle
        if len(self._handles) > HANDLE_CACHE_SIZE:
            self._handles.popitem(last=False)
        return handle

    def forget(self, conversation_id: str) -> None:
        self._handles.pop(conversation_id, None)

    async def call(self, conversation_id: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call a conversation's method; re-activate once if its actor is passivating or gone."""
        for attempt in (1, 2):
            handle = await self.handle(conversation_id)
            try:
                return await call(getattr(handle, method), *args, **kwargs)
            except Unavailable:
                self.forget(conversation_id)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def call_in_turn(self, conversation_id: str, method: str, *args: Any) -> Any:
        """Call a method that follows a running turn: no retry, a stopped actor is ConversationLost."""
        handle = await self.handle(conversation_id)
        try:
            return await call(getattr(handle, method), *args)
        except Unavailable:
            self.forget(conversation_id)
            raise ConversationLost.of(conversation_id) from None

    async def stream_in_turn(self, conversation_id: str, method: str, *args: Any) -> AsyncIterator[Any]:
        """``call_in_turn`` for a generator method: its items, then ConversationLost if the actor stops."""
        handle = await self.handle(conversation_id)
        try:
            async for item in stream(getattr(handle, method), *args):
                yield item
        except Unavailable:
            self.forget(conversation_id)
            raise ConversationLost.of(conversation_id) from None


# The methods that follow a turn: a retry would follow a turn the new actor never ran.
TURN_FOLLOWERS = frozenset({"wait", "events"})


class _ConversationProxy:
    """One conversation's methods, through ``Conversations``; see ``Conversations.get``."""

    def __init__(self, conversations: Conversations, conversation_id: str) -> None:
        self._conversations = conversations
        self._id = conversation_id

    def __getattr__(self, method: str) -> Callable[..., Any]:
        attribute = getattr(Conversation, method, None)
        conversations, conversation_id = self._conversations, self._id
        if inspect.isasyncgenfunction(attribute):
            return lambda *args: conversations.stream_in_turn(conversation_id, method, *args)
        if not inspect.iscoroutinefunction(attribute):
            raise AttributeError(
                f"Conversation.{method} is not an async method: a conversation's actor has no such call"
            )
        if method in TURN_FOLLOWERS:
            return lambda *args: conversations.call_in_turn(conversation_id, method, *args)
        return lambda *args, **kwargs: conversations.call(conversation_id, method, *args, **kwargs)


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
