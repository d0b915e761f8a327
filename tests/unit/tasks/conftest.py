"""Fixtures of the task engine tests: real Conversations (no Ray) on an in-memory store and the fake LLM."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from penguin_actors.config import Settings
from penguin_actors.conversation.conversation import Conversation
from penguin_actors.conversation.turn import Frame
from penguin_actors.tasks.engine import TaskEngine
from penguin_actors.testing.fake_llm import FakeLLM
from penguin_actors.tools import ToolResult
from penguin_actors.types import ToolCall, ToolSpec, TurnRequest
from tests.support import FAKE_KEY, FAKE_KEY_ENV, make_settings
from tests.unit.conversation.fakes import AsyncModels, MemoryStore


class Documents:
    """The store's document calls, in memory; shared by engines that stand for one before and after a restart."""

    def __init__(self) -> None:
        self.kinds: dict[str, dict[str, str]] = {}
        self.writes = 0

    async def put_documents(self, kind: str, documents: dict[str, str]) -> None:
        self.writes += 1
        self.kinds.setdefault(kind, {}).update(documents)

    async def load_documents(self, kind: str) -> dict[str, str]:
        return dict(self.kinds.get(kind, {}))


class Probe:
    """A tool runner with one tool, ``probe``, that takes ``delay_s`` seconds."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.calls = 0

    def specs(self) -> list[ToolSpec]:
        return [ToolSpec(name="probe", description="probe")]

    async def run(self, call: ToolCall) -> ToolResult:
        self.calls += 1
        await asyncio.sleep(self.delay_s)
        return ToolResult(status="completed", output="probed", duration_s=self.delay_s)


class LocalConversations:
    """TaskConversations over plain Conversation objects; ``forget_turns`` stands for a conversation restart."""

    def __init__(self, settings: Settings, models: AsyncModels, tools: Probe) -> None:
        self.settings = settings
        self.models = models
        self.tools = tools
        self.store = MemoryStore()
        self.conversations: dict[str, Conversation] = {}

    async def create(self, title: str) -> str:
        conversation_id = f"c{len(self.conversations) + 1}"
        self.store.add(conversation_id, model_id="fake")
        conversation = Conversation(
            conversation_id, self.settings, self.store, self.models, env={FAKE_KEY_ENV: FAKE_KEY}, tools=self.tools
        )
        await conversation.activate()
        self.conversations[conversation_id] = conversation
        return conversation_id

    async def start_turn(self, conversation_id: str, request: TurnRequest) -> str:
        started = await self.conversations[conversation_id].start_turn(request)
        return str(started["turn_id"])

    async def events(self, conversation_id: str, turn_id: str, after_seq: int = -1) -> AsyncIterator[list[Frame]]:
        async for batch in self.conversations[conversation_id].events(turn_id, after_seq):
            yield batch

    async def cancel(self, conversation_id: str, turn_id: str | None, reason: str) -> bool:
        return await self.conversations[conversation_id].cancel(turn_id, reason)

    async def restart(self, conversation_id: str) -> None:
        """The conversation's actor was replaced: its turns are gone, its messages kept."""
        old = self.conversations[conversation_id]
        for turn_id in list(old._turns):
            await old.cancel(turn_id)
        await old.prepare_passivate()
        fresh = Conversation(
            conversation_id, self.settings, self.store, self.models, env={FAKE_KEY_ENV: FAKE_KEY}, tools=self.tools
        )
        await fresh.activate()
        self.conversations[conversation_id] = fresh


class Kit:
    def __init__(self, tmp_path: Path, llm: FakeLLM, **overrides: Any) -> None:
        catalog = [
            {"id": "sim", "name": "sim/fast", "provider": "sim"},
            {
                "id": "fake",
                "name": "openai/fake",
                "provider": "openai",
                "base_url": f"{llm.base_url}/v1",
                "api_key_env": FAKE_KEY_ENV,
            },
        ]
        self.settings = make_settings(tmp_path, **{"models.catalog": catalog, "models.default": "fake", **overrides})
        self.llm = llm
        self.tools = Probe()
        self.documents = Documents()
        self.conversations = LocalConversations(self.settings, AsyncModels(tmp_path, catalog), self.tools)
        self.engines: list[TaskEngine] = []

    def engine(self) -> TaskEngine:
        """A task engine on the shared documents (a second call stands for a restarted engine)."""
        engine = TaskEngine(self.settings, self.documents, self.conversations)
        self.engines.append(engine)
        return engine


@pytest_asyncio.fixture
async def make_kit(tmp_path: Path, llm: FakeLLM) -> AsyncIterator[Callable[..., Kit]]:
    kits: list[Kit] = []

    def make(**overrides: Any) -> Kit:
        kit = Kit(tmp_path, llm, **overrides)
        kits.append(kit)
        return kit

    yield make
    for kit in kits:
        for engine in kit.engines:
            await engine.close()
        for conversation in kit.conversations.conversations.values():
            await conversation.cancel()
            await conversation.prepare_passivate()


@pytest.fixture
def kit(make_kit: Callable[..., Kit]) -> Kit:
    return make_kit()
