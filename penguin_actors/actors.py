"""The actors' Ray-facing shapes: plain classes given Ray-backed collaborators.

``Conversation`` and ``ConversationDirectory`` take their collaborators (store, model
registry, directory, spawner) as arguments so tests can pass plain objects; here
they get proxies to the named actors instead.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import ray

from penguin_actors import runtime
from penguin_actors.config import Settings, ToolSettings
from penguin_actors.conversation import Conversation, ConversationStorePort, DirectoryPort
from penguin_actors.directory import ConversationDirectory
from penguin_actors.engine import ModelsPort
from penguin_actors.errors import Unavailable
from penguin_actors.memory import MemoryResult
from penguin_actors.metrics import metrics
from penguin_actors.records import NoteRecord
from penguin_actors.storage import TextQuery
from penguin_actors.tools import ToolResult
from penguin_actors.turn import Frame
from penguin_actors.types import ToolCall, ToolSpec
from penguin_actors.workspace import Workspace

CONVERSATION_PREFIX = "conv:"
STREAM_AHEAD = 1  # batches of a turn's stream sent to a reader and not yet taken by it


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


class StoreMemory:
    """The ``checkpoints`` actor's memory as a tool's blocking ``MemoryPort``."""

    def __init__(self, namespace: str) -> None:
        self._namespace = namespace

    def add_note(self, text: str, conversation_id: str | None) -> NoteRecord:
        note: NoteRecord = runtime.call_blocking(self._store().add_note, text, conversation_id)
        return note

    def search(self, query: TextQuery) -> MemoryResult:
        result: MemoryResult = runtime.call_blocking(self._store().search_memory, query)
        return result

    def _store(self) -> Any:
        return runtime.get_actor("checkpoints", self._namespace)


def run_tool_task(
    name: str, arguments: dict[str, Any], workspace_root: str, settings: ToolSettings, scope: tuple[str, str | None]
) -> ToolResult:
    """A tool run as a Ray task: a function of (tool, arguments, workspace), in a scrubbed environment.

    ``scope`` is the Ray namespace of the store (for the memory tools) and the calling conversation.
    """
    from penguin_actors.tools import ToolContext, run_tool, safe_env

    namespace, conversation_id = scope
    context = ToolContext(
        workspace=Workspace(Path(workspace_root)),
        settings=settings,
        env=safe_env(os.environ),
        memory=StoreMemory(namespace),
        conversation_id=conversation_id,
    )
    return run_tool(name, arguments, context)


class RayToolRunner:
    """Runs each tool call as a Ray task (never retried: tools are not idempotent); cancelling stops it."""

    # The tool bounds its own run (timeout_s); this bounds a task that is stuck, e.g. waiting for a CPU.
    GRACE_S = 30.0

    def __init__(self, settings: Settings, conversation_id: str | None = None) -> None:
        self.settings = settings
        self._scope = (settings.ray.namespace, conversation_id)
        self._task = ray.remote(num_cpus=1, max_retries=0)(run_tool_task)
        self._tool_names = {spec.name for spec in self.specs()}

    def specs(self) -> list[ToolSpec]:
        from penguin_actors.tools import tool_specs

        return tool_specs(self.settings.tools)

    async def run(self, call: ToolCall) -> ToolResult:
        started = time.monotonic()
        tool = call.name if call.name in self._tool_names else "unknown"  # a model's made-up names stay one series
        try:
            result = await self._run(call)
        except asyncio.CancelledError:
            metrics().tool_finished(tool, "cancelled", time.monotonic() - started)
            raise
        metrics().tool_finished(tool, result.status, time.monotonic() - started)
        return result

    async def _run(self, call: ToolCall) -> ToolResult:
        workspace, tools = str(self.settings.workspace), self.settings.tools
        ref = self._task.remote(call.name, call.arguments, workspace, tools, self._scope)
        limit = self.settings.tools.timeout_s + self.GRACE_S
        try:
            result: ToolResult = await asyncio.wait_for(ref, limit)
        except asyncio.CancelledError:
            ray.cancel(ref, force=False)  # interrupts the task, whose tool then kills its process group
            raise
        except TimeoutError:
            ray.cancel(ref, force=False)  # interrupts the task, whose tool then kills its process group
            return ToolResult(status="error", output=f"{call.name} did not finish within {limit:g} s", duration_s=limit)
        except ray.exceptions.RayError as exc:
            return ToolResult(
                status="error", output=f"{call.name} failed in its worker: {type(exc).__name__}", duration_s=0
            )
        return result


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
            tools=RayToolRunner(settings, conversation_id),
        )

    def node_id(self) -> str:
        """The Ray node this actor runs on."""
        return str(ray.get_runtime_context().get_node_id())

    # The stream waits for its reader: a batch is taken from the turn only once the reader has
    # taken the last one, so a slow relay gets fewer, larger frames rather than a backlog.
    @ray.method(_generator_backpressure_num_objects=STREAM_AHEAD)  # type: ignore[untyped-decorator]
    async def events(self, turn_id: str, after_seq: int = -1) -> AsyncIterator[list[Frame]]:
        async for batch in super().events(turn_id, after_seq):
            yield batch


class RaySpawner:
    """Starts conversation actors as named, detached Ray actors that need no CPU of their own."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.namespace = settings.ray.namespace
        self._actor_class = ray.remote(ConversationActor)

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
            await runtime.call(handle.activate)
            return str(await runtime.call(handle.node_id))
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
