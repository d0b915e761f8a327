"""A turn's commits: the user's message is committed while the model is already asked, nothing is told early,
and a cancelled turn commits what it said once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from penguin_actors.errors import Unavailable
from penguin_actors.models.base import collect
from penguin_actors.types import (
    Message,
    ModelEvent,
    ModelReply,
    ModelRequest,
    StopEvent,
    TextDelta,
    TurnRequest,
    Usage,
    UsageEvent,
)
from tests.unit.conversation.fakes import MemoryStore
from tests.unit.conversation.test_conversation import conversation, frames


class GatedStore(MemoryStore):
    """Appends wait for ``release``; ``fail`` makes the next append raise Unavailable."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.fail = False

    async def append_messages(
        self,
        conversation_id: str,
        messages: list[Message],
        *,
        checkpoint: bool = False,
        usage: tuple[str, Usage] | None = None,
    ) -> int:
        await self.release.wait()
        if self.fail:
            raise Unavailable("the store is restarting: try again")
        return await super().append_messages(conversation_id, messages, checkpoint=checkpoint, usage=usage)


class RecordingProvider:
    """Says "hi there" at once and records each request; ``called`` is set when a stream starts."""

    def __init__(self) -> None:
        self.requests: list[ModelRequest] = []
        self.called = asyncio.Event()
        self.closed = False

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        self.requests.append(request)
        self.called.set()
        try:
            for text in ("hi ", "there"):
                yield TextDelta(text=text)
            yield UsageEvent(usage=Usage(input_tokens=3, output_tokens=2))
            yield StopEvent(reason="end_turn")
        finally:
            self.closed = True

    async def complete(self, request: ModelRequest) -> ModelReply:
        return await collect(self.stream(request))

    async def aclose(self) -> None:
        return None


async def _gated(tmp_path: Path) -> tuple[Any, GatedStore, RecordingProvider]:
    store = GatedStore()
    store.add("c1")
    store.release.set()  # activation reads, it does not append
    conv = await conversation(tmp_path, store)
    store.release.clear()
    provider = RecordingProvider()
    model = await conv.engine.models.get("sim")
    conv.engine.providers.put(model, provider)
    return conv, store, provider


async def test_the_model_is_asked_while_the_user_message_is_committed(tmp_path: Path) -> None:
    conv, store, provider = await _gated(tmp_path)
    turn_id = (await conv.start_turn(TurnRequest(text="hello")))["turn_id"]
    await asyncio.wait_for(provider.called.wait(), timeout=5)
    assert store.messages["c1"] == []  # not committed yet, and so nothing told
    assert conv._turns[turn_id].frames == []
    assert [(m.role, m.text()) for m in provider.requests[0].messages] == [("user", "hello")]
    store.release.set()
    seen = await frames(conv, turn_id)
    events = [f["event"] for f in seen]
    assert events[0] == "start" and events[-1] == "complete" and set(events[1:-1]) == {"token"}
    assert seen[-1]["data"]["response"] == "hi there"
    assert [(m.role, m.text()) for m in store.messages["c1"]] == [("user", "hello"), ("assistant", "hi there")]
    assert [m.text() for m in conv.history] == ["hello", "hi there"]


async def test_a_failed_commit_ends_the_turn_with_an_error_and_nothing_else(tmp_path: Path) -> None:
    conv, store, provider = await _gated(tmp_path)
    store.fail = True
    turn_id = (await conv.start_turn(TurnRequest(text="hello")))["turn_id"]
    await asyncio.wait_for(provider.called.wait(), timeout=5)
    store.release.set()
    seen = await frames(conv, turn_id)
    assert [(f["event"], f["data"].get("code")) for f in seen] == [("error", "unavailable")]
    assert provider.closed and store.messages["c1"] == [] and conv.history == []


async def test_a_turn_cancelled_during_its_opening_commit_keeps_the_message_and_ends_once(tmp_path: Path) -> None:
    conv, store, provider = await _gated(tmp_path)
    turn_id = (await conv.start_turn(TurnRequest(text="hello")))["turn_id"]
    await asyncio.wait_for(provider.called.wait(), timeout=5)
    assert await conv.cancel(turn_id)
    await asyncio.sleep(0.01)
    store.release.set()
    seen = await frames(conv, turn_id)
    assert [f["event"] for f in seen] == ["start", "complete"]
    assert seen[-1]["data"]["cancelled"] is True and seen[-1]["data"]["response"] == ""
    assert [m.text() for m in store.messages["c1"]] == ["hello"] == [m.text() for m in conv.history]


async def test_a_turn_cancelled_while_its_reply_is_committed_commits_it_and_its_usage_once(tmp_path: Path) -> None:
    conv, store, _ = await _gated(tmp_path)
    store.release.set()
    replying, release_reply = asyncio.Event(), asyncio.Event()
    append = store.append_messages

    async def slow_reply(conversation_id: str, messages: list[Message], **options: Any) -> int:
        if options.get("usage") is not None:  # the reply, with its model call's usage
            replying.set()
            await release_reply.wait()
        return await append(conversation_id, messages, **options)

    store.append_messages = slow_reply  # type: ignore[method-assign]
    turn_id = (await conv.start_turn(TurnRequest(text="hello")))["turn_id"]
    await asyncio.wait_for(replying.wait(), timeout=5)
    assert await conv.cancel(turn_id)
    await asyncio.sleep(0.01)
    release_reply.set()
    seen = await frames(conv, turn_id)
    assert seen[-1]["event"] == "complete" and seen[-1]["data"]["response"] == "hi there"
    assert [m.text() for m in store.messages["c1"]] == ["hello", "hi there"] == [m.text() for m in conv.history]
    assert store.usage == [("c1", "sim", Usage(input_tokens=3, output_tokens=2))]
