"""The actors' Ray-facing shapes: plain classes given Ray-backed collaborators.

``Conversation`` and ``ConversationDirectory`` take their collaborators (store, model
registry, directory, spawner) as arguments so tests can pass plain objects; here
they get proxies to the named actors instead.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, cast

import ray

from penguin_actors import runtime
from penguin_actors.config import Settings
from penguin_actors.conversation import Conversation, ConversationStorePort, DirectoryPort
from penguin_actors.directory import ConversationDirectory
from penguin_actors.engine import ModelsPort
from penguin_actors.errors import NotFound, Unavailable

CONVERSATION_PREFIX = "conv:"


def conversation_actor_name(conversation_id: str) -> str:
    return f"{CONVERSATION_PREFIX}{conversation_id}"


class ActorProxy:
    """Calls a named actor's methods as ``await proxy.method(...)``; the handle is looked up once."""

    def __init__(self, name: str, namespace: str) -> None:
        self._name = name
        self._namespace = namespace
        self._handle: Any = None

    def __getattr__(self, method: str) -> Any:
        async def invoke(*args: Any, **kwargs: Any) -> Any:
            if self._handle is None:
                self._handle = runtime.get_actor(self._name, self._namespace)
            return await runtime.call(getattr(self._handle, method), *args, **kwargs)

        return invoke


class ConversationActor(Conversation):
    """``conv:<id>``: a Conversation whose store, models and directory are the system actors."""

    def __init__(self, conversation_id: str, settings: Settings) -> None:
        namespace = settings.ray.namespace
        super().__init__(
            conversation_id,
            settings,
            store=cast(ConversationStorePort, ActorProxy("checkpoints", namespace)),
            models=cast(ModelsPort, ActorProxy("models", namespace)),
            env=os.environ,
            directory=cast(DirectoryPort, ActorProxy("directory", namespace)),
        )


class RaySpawner:
    """Starts conversation actors as named, detached Ray actors that need no CPU of their own."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.namespace = settings.ray.namespace
        self._actor_class = ray.remote(ConversationActor)

    def _handle(self, conversation_id: str) -> Any:
        return ray.get_actor(conversation_actor_name(conversation_id), namespace=self.namespace)

    async def spawn(self, conversation_id: str) -> None:
        handle = self._actor_class.options(
            name=conversation_actor_name(conversation_id),
            namespace=self.namespace,
            lifetime="detached",
            get_if_exists=True,
            num_cpus=0,
            max_restarts=0,  # a crashed conversation is activated again from storage by its next caller
            max_task_retries=0,
        ).remote(conversation_id, self.settings)
        try:
            await runtime.call(handle.activate)
        except NotFound:
            ray.kill(handle, no_restart=True)
            raise

    async def alive(self, conversation_id: str) -> bool:
        try:
            self._handle(conversation_id)
        except ValueError:
            return False
        return True

    async def prepare_passivate(self, conversation_id: str) -> bool:
        try:
            handle = self._handle(conversation_id)
        except ValueError:
            raise Unavailable(f"conversation {conversation_id} has no actor") from None
        return bool(await runtime.call(handle.prepare_passivate))

    async def kill(self, conversation_id: str) -> None:
        try:
            ray.kill(self._handle(conversation_id), no_restart=True)
        except ValueError:
            return
        for _ in range(200):  # the name is released once Ray has recorded the death
            if not await self.alive(conversation_id):
                return
            await asyncio.sleep(0.05)
        raise Unavailable(f"conversation {conversation_id}'s actor did not stop within 10 s")


class DirectoryActor(ConversationDirectory):
    """``directory``: the ConversationDirectory with a Ray spawner."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, RaySpawner(settings))
