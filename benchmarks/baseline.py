"""The baseline: the same conversations and models in this one process, with no Ray, no Serve and no HTTP.

``LocalRuntime`` holds plain ``Conversation`` objects (the class a conversation host runs for
each conversation it holds) with the same settings file as the server, the ``ModelRegistry``
called directly, and a store that is either in memory (``memory``, the default: what Ray,
Serve and storage add together is the difference) or a real ``CheckpointStore`` on LanceDB in
the run's temporary directory (``lance``: storage is then in the baseline too). Tools are
offered to the model as the server offers them; the benchmark models never call one.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from benchmarks.clients import FrameCheck, TurnResult
from penguin_actors.config import Settings, load_settings
from penguin_actors.conversation.conversation import Conversation
from penguin_actors.errors import NotFound
from penguin_actors.models.registry import ModelRegistry
from penguin_actors.store.checkpoints import CheckpointStore
from penguin_actors.store.records import CheckpointRecord, ConversationRecord
from penguin_actors.tools import ToolResult, tool_specs
from penguin_actors.types import Message, ToolCall, ToolSpec, TurnRequest, Usage

StoreKind = Literal["memory", "lance"]


class MemoryStore:
    """The store calls a Conversation makes, in memory."""

    def __init__(self) -> None:
        self.records: dict[str, ConversationRecord] = {}
        self.messages: dict[str, list[Message]] = {}

    async def create_conversation(self, title: str | None = None, model_id: str | None = None) -> ConversationRecord:
        now = time.time()
        conversation_id = f"conv_{uuid.uuid4().hex[:12]}"
        record = ConversationRecord(
            id=conversation_id,
            title=title or "baseline",
            created_at=now,
            last_active=now,
            message_count=0,
            lineage_id=f"lin_{conversation_id}",
            model_id=model_id,
        )
        self.records[conversation_id], self.messages[conversation_id] = record, []
        return record

    async def get_conversation(self, conversation_id: str) -> ConversationRecord:
        if conversation_id not in self.records:
            raise NotFound(f"no conversation {conversation_id}")
        return self.records[conversation_id]

    async def open_conversation(self, conversation_id: str) -> tuple[ConversationRecord, list[Message]]:
        return await self.get_conversation(conversation_id), await self.load_messages(conversation_id)

    async def load_messages(self, conversation_id: str) -> list[Message]:
        return list(self.messages[conversation_id])

    async def append_messages(
        self,
        conversation_id: str,
        messages: list[Message],
        *,
        checkpoint: bool = False,
        usage: tuple[str, Usage] | None = None,
    ) -> int:
        stored = self.messages[conversation_id]
        stored.extend(messages)
        return len(stored)

    async def update_conversation(
        self, conversation_id: str, *, title: str | None = None, model_id: str | None = None, clear_model: bool = False
    ) -> ConversationRecord:
        raise NotImplementedError("the baseline never changes a conversation")

    async def rollback(self, checkpoint_id: str) -> CheckpointRecord:
        raise NotImplementedError("the baseline never rolls back")

    async def close(self) -> None:
        return None


class OfferedTools:
    """The server's tool specs, so each model request is the same; no benchmark model calls a tool."""

    def __init__(self, settings: Settings) -> None:
        self._specs = tool_specs(settings.tools)

    def specs(self) -> list[ToolSpec]:
        return self._specs

    async def run(self, call: ToolCall) -> ToolResult:
        return ToolResult(status="error", output="the baseline runs no tools", duration_s=0.0)


class LocalRuntime:
    """Conversations in this process, from the same settings file (``config_path``) the server reads."""

    def __init__(self, config_path: Path, workdir: Path, env: Mapping[str, str], store: StoreKind = "memory") -> None:
        workspace = workdir / "workspace"
        workspace.mkdir(parents=True, exist_ok=True)
        self.settings = load_settings(config_path, env={}, overrides={"workspace": str(workspace)})
        self.env = dict(env)
        self.store: MemoryStore | CheckpointStore = (
            MemoryStore() if store == "memory" else CheckpointStore(self.settings)
        )
        self.models = ModelRegistry(self.settings, env=self.env)
        self.tools = OfferedTools(self.settings)
        self.conversations: dict[str, Conversation] = {}

    async def create(self, title: str = "baseline") -> str:
        record = await self.store.create_conversation(title, None)
        return record.id

    async def activate(self, conversation_id: str) -> Conversation:
        """A Conversation for a stored conversation, activated (its history loaded)."""
        conversation = Conversation(
            conversation_id, self.settings, self.store, self.models, env=self.env, tools=self.tools
        )
        await conversation.activate()
        self.conversations[conversation_id] = conversation
        return conversation

    async def passivate(self, conversation_id: str) -> bool:
        """Stop the conversation taking turns and drop it, as passivation does; False if it was busy."""
        conversation = self.conversations.pop(conversation_id)
        stopped = await conversation.prepare_passivate()
        for _ in range(3):  # let its cancelled tasks end while it is still referenced (the loop holds tasks weakly)
            await asyncio.sleep(0)
        return stopped

    async def client(self, title: str = "baseline") -> LocalClient:
        conversation = await self.activate(await self.create(title))
        return LocalClient(conversation)

    async def close(self) -> None:
        for conversation_id in list(self.conversations):
            await self.conversations[conversation_id].cancel()
            await self.passivate(conversation_id)  # busy or not, it is dropped
        await self.store.close()


class LocalClient:
    """A turn on an in-process Conversation, timed and checked as a WebSocket client does."""

    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation
        self.conversation_id = conversation.id

    async def turn(self, text: str, model_id: str) -> TurnResult:
        result = TurnResult(sent=time.perf_counter())
        check = FrameCheck(result, self.conversation_id)
        try:
            started: dict[str, Any] = await self.conversation.start_turn(TurnRequest(text=text, model_id=model_id))
            async for batch in self.conversation.events(started["turn_id"]):
                at = time.perf_counter()
                if any(check.feed(frame, at) for frame in batch):
                    break
        except Exception as exc:  # the turn's error, reported with the others
            result.done, result.error = time.perf_counter(), f"{type(exc).__name__}: {exc}"
        return result
