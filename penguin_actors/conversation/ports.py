"""What a conversation needs from the rest of the runtime, as protocols: plain objects in tests, actors live."""

from __future__ import annotations

from typing import Protocol

from penguin_actors.config import ModelConfig
from penguin_actors.store.records import CheckpointRecord, ConversationRecord
from penguin_actors.tools import ToolResult
from penguin_actors.types import Message, ToolCall, ToolSpec, Usage


class StorePort(Protocol):
    async def append_messages(
        self,
        conversation_id: str,
        messages: list[Message],
        *,
        checkpoint: bool = False,
        usage: tuple[str, Usage] | None = None,
    ) -> int:
        """Durable when it returns; ``checkpoint`` also records an automatic checkpoint after them, and
        ``usage`` is ``(model_id, usage)`` of the model call that made them, committed with them."""


class ConversationStorePort(StorePort, Protocol):
    async def open_conversation(self, conversation_id: str) -> tuple[ConversationRecord, list[Message]]:
        """Its record and messages; NotFound for an unknown conversation."""

    async def rollback(self, checkpoint_id: str) -> CheckpointRecord: ...

    async def update_conversation(
        self,
        conversation_id: str,
        *,
        title: str | None = None,
        model_id: str | None = None,
        clear_model: bool = False,
    ) -> ConversationRecord: ...


class ToolRunner(Protocol):
    """Runs one tool call to its end (a Ray task in production); cancelling the await stops it."""

    def specs(self) -> list[ToolSpec]: ...

    async def run(self, call: ToolCall) -> ToolResult: ...


class ModelsPort(Protocol):
    async def get(self, model_id: str | None = None) -> ModelConfig: ...


class DirectoryPort(Protocol):
    async def request_passivation(self, conversation_id: str) -> None: ...

    async def touch(self, conversation_id: str) -> None: ...
