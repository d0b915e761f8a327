"""Tool calls as Ray tasks: a pure function of (tool, arguments, workspace), in a scrubbed environment."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import ray

from penguin_actors.config import Settings, ToolSettings
from penguin_actors.edge.calls import call_blocking, get_actor
from penguin_actors.edge.names import STORE
from penguin_actors.metrics import metrics
from penguin_actors.store.memory.notes import MemoryResult
from penguin_actors.store.records import NoteRecord
from penguin_actors.store.rows import TextQuery
from penguin_actors.tools import ToolResult
from penguin_actors.types import ToolCall, ToolSpec
from penguin_actors.workspace import Workspace


class StoreMemory:
    """The ``checkpoints`` actor's memory as a tool's blocking ``MemoryPort``."""

    def __init__(self, namespace: str) -> None:
        self._namespace = namespace

    def add_note(self, text: str, conversation_id: str | None) -> NoteRecord:
        note: NoteRecord = call_blocking(self._store().add_note, text, conversation_id)
        return note

    def search(self, query: TextQuery) -> MemoryResult:
        result: MemoryResult = call_blocking(self._store().search_memory, query)
        return result

    def _store(self) -> Any:
        return get_actor(STORE, self._namespace)


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
