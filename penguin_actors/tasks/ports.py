"""What the task engine needs: a store for its records and a way to reach conversations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from penguin_actors.conversation.frames import Frame
from penguin_actors.errors import PenguinError
from penguin_actors.types import TurnRequest


class TaskStore(Protocol):
    async def put_documents(self, kind: str, documents: dict[str, str]) -> None: ...
    async def load_documents(self, kind: str) -> dict[str, str]: ...


class TaskConversations(Protocol):
    """How the engine reaches conversations: create one, start a turn, follow it, cancel it."""

    async def create(self, title: str) -> str: ...
    async def start_turn(self, conversation_id: str, request: TurnRequest) -> str: ...
    def events(self, conversation_id: str, turn_id: str, after_seq: int = -1) -> AsyncIterator[list[Frame]]: ...
    async def cancel(self, conversation_id: str, turn_id: str | None, reason: str) -> bool:
        """Cancel the turn (None: the running one, if any); True if there was one to cancel."""
        ...


class Interrupted(PenguinError):
    """A running task lost its step to a restart."""

    code = "interrupted"
