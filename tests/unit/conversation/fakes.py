"""Plain stand-ins for the system actors, so the runtime's classes run without Ray."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from penguin_actors.config import ModelConfig
from penguin_actors.errors import NotFound
from penguin_actors.models.registry import ModelRegistry
from penguin_actors.store.records import ConversationRecord
from penguin_actors.types import Message, Usage
from tests.support import make_settings

SIM = {"id": "sim", "name": "sim/fast", "provider": "sim", "reply_tokens": 12}
SLOW = {"id": "slow", "name": "sim/slow", "provider": "sim", "reply_tokens": 200, "tokens_per_s": 100}


class MemoryStore:
    """Conversations and their messages in memory; counts appends."""

    def __init__(self) -> None:
        self.records: dict[str, ConversationRecord] = {}
        self.messages: dict[str, list[Message]] = {}
        self.usage: list[tuple[str, str, Usage]] = []  # (conversation, model, usage) per model call
        self.appends = 0
        self.checkpoints = 0

    def add(self, conversation_id: str, model_id: str | None = None) -> None:
        now = time.time()
        self.records[conversation_id] = ConversationRecord(
            id=conversation_id,
            title="t",
            created_at=now,
            last_active=now,
            message_count=0,
            lineage_id="l",
            model_id=model_id,
        )
        self.messages[conversation_id] = []

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
        await asyncio.sleep(0)
        self.appends += 1
        self.checkpoints += checkpoint
        self.messages[conversation_id].extend(messages)
        if usage is not None:
            self.usage.append((conversation_id, *usage))
        return len(self.messages[conversation_id])

    async def update_conversation(
        self, conversation_id: str, *, title: str | None = None, model_id: str | None = None, clear_model: bool = False
    ) -> ConversationRecord:
        record = await self.get_conversation(conversation_id)
        changes: dict[str, Any] = {"title": title} if title is not None else {}
        if clear_model or model_id is not None:
            changes["model_id"] = model_id
        self.records[conversation_id] = record.model_copy(update=changes)
        return self.records[conversation_id]


class AsyncModels:
    """The ModelRegistry's methods, awaitable as they are through Ray."""

    def __init__(self, workspace: Path, catalog: list[dict[str, Any]] | None = None) -> None:
        settings = make_settings(workspace, **{"models.catalog": catalog or [SIM, SLOW], "models.default": "sim"})
        self.registry = ModelRegistry(settings, env={})

    async def get(self, model_id: str | None = None) -> ModelConfig:
        return await self.registry.get(model_id)
