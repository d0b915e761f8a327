"""RaySpawner: how the directory starts and stops conversation actors on Ray."""

from __future__ import annotations

import asyncio
from typing import Any

import ray

from penguin_actors.config import Settings
from penguin_actors.edge.calls import call
from penguin_actors.edge.names import conversation_actor_name
from penguin_actors.errors import Unavailable


class RaySpawner:
    """Starts conversation actors as named, detached Ray actors that need no CPU of their own."""

    def __init__(self, settings: Settings, actor_class: type) -> None:
        """``actor_class`` is the conversation's Ray-facing class, built with ``(conversation_id, settings)``."""
        self.settings = settings
        self.namespace = settings.ray.namespace
        self._actor_class = ray.remote(actor_class)

    def _handle(self, conversation_id: str) -> Any:
        return ray.get_actor(conversation_actor_name(conversation_id), namespace=self.namespace)

    async def spawn(self, conversation_id: str) -> str | None:
        activation = self.settings.activation
        handle = self._actor_class.options(
            name=conversation_actor_name(conversation_id),
            namespace=self.namespace,
            lifetime="detached",
            get_if_exists=True,
            num_cpus=0,
            resources=dict(activation.resources),
            scheduling_strategy="SPREAD" if activation.placement == "spread" else "DEFAULT",
            max_restarts=0,  # a crashed conversation is activated again from storage by its next caller
            max_task_retries=0,
        ).remote(conversation_id, self.settings)
        try:
            await call(handle.activate)
            return str(await call(handle.node_id))
        except BaseException:
            # An actor whose activation failed (an unknown conversation, the store restarting) runs no
            # turns: stop it, so that the next caller does not find it by name and wait forever.
            await self.kill(conversation_id)
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
        return bool(await call(handle.prepare_passivate))

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
