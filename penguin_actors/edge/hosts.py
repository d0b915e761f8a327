"""RayHosts: the directory's conversation hosts as named, detached Ray actors that need no CPU of their own."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import ray

from penguin_actors.config import Settings
from penguin_actors.conversation.directory import SOLO_PREFIX
from penguin_actors.conversation.placement import HOST_PREFIX
from penguin_actors.edge.calls import call
from penguin_actors.errors import Unavailable

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 5.0  # a host stopping lets its turns end this long before it is killed
STREAMS_PER_CONVERSATION = 32  # concurrent calls a host takes per conversation it holds (streams, waits)


class RayHosts:
    """Starts, calls and stops conversation hosts; ``host_class`` is their Ray-facing class."""

    def __init__(self, settings: Settings, host_class: type) -> None:
        """``host_class`` is built with ``(name, settings, capacity)``."""
        self.settings = settings
        self.namespace = settings.ray.namespace
        self._host_class = ray.remote(host_class)
        self._handles: dict[str, Any] = {}

    def _handle(self, name: str) -> Any:
        handle = self._handles.get(name)
        if handle is None:
            try:
                handle = self._handles[name] = ray.get_actor(name, namespace=self.namespace)
            except ValueError:
                raise Unavailable(f"conversation host {name} is not running: activate the conversation again") from None
        return handle

    async def start(self, name: str, capacity: int) -> str | None:
        activation = self.settings.activation
        handle = self._host_class.options(
            name=name,
            namespace=self.namespace,
            lifetime="detached",
            get_if_exists=True,
            num_cpus=0,
            resources=dict(activation.resources),
            scheduling_strategy="SPREAD" if activation.placement == "spread" else "DEFAULT",
            max_restarts=0,  # a lost host's conversations are activated again from storage by their next callers
            max_task_retries=0,
            max_concurrency=max(1000, capacity * STREAMS_PER_CONVERSATION),
        ).remote(name, self.settings, capacity)
        try:
            node = str(await call(handle.node_id))
        except BaseException:
            await self.stop(name)
            raise
        self._handles[name] = handle
        return node

    async def alive(self, name: str) -> bool:
        try:
            ray.get_actor(name, namespace=self.namespace)
        except ValueError:
            self._handles.pop(name, None)
            return False
        return True

    async def activate(self, name: str, conversation_id: str) -> None:
        await call(self._handle(name).activate, conversation_id)

    async def passivate(self, name: str, conversation_id: str) -> bool:
        return bool(await call(self._handle(name).passivate, conversation_id))

    async def release(self, name: str, conversation_id: str) -> None:
        await call(self._handle(name).release, conversation_id)

    async def stop(self, name: str) -> None:
        try:
            handle = self._handles.pop(name, None) or ray.get_actor(name, namespace=self.namespace)
        except ValueError:
            return
        with contextlib.suppress(Exception):  # it may be dead already, or too busy to answer: it is killed anyway
            await asyncio.wait_for(call(handle.close), CLOSE_TIMEOUT_S)
        ray.kill(handle, no_restart=True)
        for _ in range(200):  # the name is released once Ray has recorded the death
            if not await self.alive(name):
                return
            await asyncio.sleep(0.05)
        raise Unavailable(f"conversation host {name} did not stop within 10 s")

    async def discover(self) -> dict[str, tuple[str | None, list[str]]]:
        names = [
            entry["name"]
            for entry in ray.util.list_named_actors(all_namespaces=True)
            if entry["namespace"] == self.namespace and entry["name"].startswith((HOST_PREFIX, SOLO_PREFIX))
        ]
        found: dict[str, tuple[str | None, list[str]]] = {}
        for name in names:
            try:
                handle = self._handle(name)
                held, node = await asyncio.wait_for(asyncio.gather(call(handle.held), call(handle.node_id)), 10)
            except Exception as exc:  # gone meanwhile, or not answering: not counted as a host
                log.warning("conversation host %s did not say what it holds (%r): it is stopped", name, exc)
                with contextlib.suppress(Exception):
                    await self.stop(name)
                continue
            found[name] = (str(node), list(held))
        return found

    async def cpus(self) -> int:
        return int(ray.cluster_resources().get("CPU", 1))
