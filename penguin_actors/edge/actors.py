"""The actors' Ray-facing shapes: the plain classes given Ray-backed collaborators.

``ConversationHost``, ``ConversationDirectory`` and ``TaskEngine`` take their collaborators
(store, model registry, directory, hosts, conversations) as arguments so tests can
pass plain objects; here they get typed proxies of the named actors instead. The store
and the model registry need none: Ray runs their plain classes as they are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator

import ray

from penguin_actors.config import Settings
from penguin_actors.conversation import ConversationDirectory, ConversationHost, Frame
from penguin_actors.edge.gateway import Conversations
from penguin_actors.edge.hosts import RayHosts
from penguin_actors.edge.names import DIRECTORY, MODELS, STORE
from penguin_actors.edge.proxy import proxy
from penguin_actors.edge.tool_runner import RayToolRunner
from penguin_actors.models import ModelRegistry
from penguin_actors.store import CheckpointStore
from penguin_actors.tasks import TaskEngine

log = logging.getLogger(__name__)

STREAM_AHEAD = 1  # batches of a turn's stream sent to a reader and not yet taken by it


class ConversationHostActor(ConversationHost):
    """``host:<n>`` (or ``conv:<id>``, a host of one): conversations whose store, models and directory are the
    system actors, and whose tools run as Ray tasks."""

    def __init__(self, name: str, settings: Settings, capacity: int) -> None:
        namespace = settings.ray.namespace
        super().__init__(
            name,
            settings,
            proxy(CheckpointStore, STORE, namespace),
            proxy(ModelRegistry, MODELS, namespace),
            env=os.environ,
            directory=proxy(ConversationDirectory, DIRECTORY, namespace),
            tools=lambda conversation_id: RayToolRunner(settings, conversation_id),
            capacity=capacity,
        )

    def node_id(self) -> str:
        """The Ray node this host runs on."""
        return str(ray.get_runtime_context().get_node_id())

    # The stream waits for its reader: a batch is taken from the turn only once the reader has
    # taken the last one, so a slow relay gets fewer, larger frames rather than a backlog.
    @ray.method(_generator_backpressure_num_objects=STREAM_AHEAD)  # type: ignore[untyped-decorator]
    async def events(self, conversation_id: str, turn_id: str, after_seq: int = -1) -> AsyncIterator[list[Frame]]:
        async for batch in super().events(conversation_id, turn_id, after_seq):
            yield batch


class DirectoryActor(ConversationDirectory):
    """``directory``: the ConversationDirectory with a Ray spawner."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, RayHosts(settings, ConversationHostActor))


class TaskEngineActor(TaskEngine):
    """``tasks``: the TaskEngine, reaching conversations as the ingress does.

    The engine opens itself when the actor starts (also after Ray restarts it), so the
    tasks that were running are followed again, or failed with the reason, without
    waiting for a request.
    """

    def __init__(self, settings: Settings) -> None:
        namespace = settings.ray.namespace
        super().__init__(settings, proxy(CheckpointStore, STORE, namespace), Conversations(settings))
        with contextlib.suppress(RuntimeError):  # an async actor's __init__ runs in its event loop
            self._opening = asyncio.get_running_loop().create_task(self._open_at_start())

    async def _open_at_start(self) -> None:
        try:
            await self.open()
        except Exception:  # the next call tries again
            log.exception("the task engine could not load its records at start")
