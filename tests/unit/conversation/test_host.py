"""ConversationHost: many conversations in one process, each still with its own state, mailbox and turns."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from penguin_actors.conversation.host import ConversationHost, NotHosted
from penguin_actors.errors import NotFound, Unavailable
from penguin_actors.models.base import collect
from penguin_actors.types import ModelEvent, ModelReply, ModelRequest, TextDelta, TurnRequest
from tests.support import make_settings
from tests.unit.conversation.fakes import AsyncModels, MemoryStore

CATALOG = [
    {"id": "sim", "name": "sim/fast", "provider": "sim", "reply_tokens": 12},
    {"id": "slow", "name": "sim/slow", "provider": "sim", "reply_tokens": 40, "tokens_per_s": 200},
    {"id": "boom", "name": "sim/boom", "provider": "sim"},
]


class Boom:
    """A provider whose stream fails with a bug (not a provider error) after one token."""

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        yield TextDelta(text="about to ")
        await asyncio.sleep(0.01)
        raise RuntimeError("a bug in one conversation's turn")

    async def complete(self, request: ModelRequest) -> ModelReply:
        return await collect(self.stream(request))

    async def aclose(self) -> None:
        return None


async def host_of(tmp_path: Path, ids: list[str], capacity: int = 16) -> tuple[ConversationHost, MemoryStore]:
    store = MemoryStore()
    for conversation_id in ids:
        store.add(conversation_id)
    models = AsyncModels(tmp_path, CATALOG)
    host = ConversationHost("host:1", make_settings(tmp_path), store, models, env={}, capacity=capacity)
    return host, store


async def frames(host: ConversationHost, conversation_id: str, turn_id: str) -> list[dict[str, Any]]:
    return [frame async for batch in host.events(conversation_id, turn_id) for frame in batch]


async def test_eight_conversations_stream_at_once_without_cross_talk(tmp_path: Path) -> None:
    """Eight turns on one host at once: each stream carries only its own conversation's frames and text."""
    ids = [f"c{i}" for i in range(8)]
    host, store = await host_of(tmp_path, ids)
    for conversation_id in ids:
        await host.activate(conversation_id)
    started = {
        c: (await host.start_turn(c, TurnRequest(text=f"words of {c}", model_id="slow")))["turn_id"] for c in ids
    }
    seen = await asyncio.gather(*(frames(host, c, started[c]) for c in ids))
    for conversation_id, turn_frames in zip(ids, seen, strict=True):
        assert {f["conversation_id"] for f in turn_frames} == {conversation_id}
        assert {f["turn_id"] for f in turn_frames} == {started[conversation_id]}
        assert [f["seq"] for f in turn_frames] == list(range(len(turn_frames)))
        assert turn_frames[-1]["event"] == "complete"
        assert store.messages[conversation_id][0].text() == f"words of {conversation_id}"
    assert (await host.stats())["conversations"] == 8
    assert (await host.status("c0"))["message_count"] == 2 and not (await host.status("c0"))["busy"]


async def test_a_turn_that_raises_in_one_conversation_leaves_the_others_streaming(tmp_path: Path) -> None:
    host, _ = await host_of(tmp_path, ["broken", "fine"])
    await host.activate("broken")
    await host.activate("fine")
    boom = await host._models.get("boom")
    host.providers.put(boom, Boom())
    fine = (await host.start_turn("fine", TurnRequest(text="go on", model_id="slow")))["turn_id"]
    broken = (await host.start_turn("broken", TurnRequest(text="break", model_id="boom")))["turn_id"]
    broken_frames, fine_frames = await asyncio.gather(frames(host, "broken", broken), frames(host, "fine", fine))
    assert broken_frames[-1]["event"] == "error" and broken_frames[-1]["data"]["code"] == "internal"
    assert fine_frames[-1]["event"] == "complete" and not fine_frames[-1]["data"]["cancelled"]
    again = (await host.start_turn("broken", TurnRequest(text="and now?")))["turn_id"]  # its mailbox still works
    assert (await frames(host, "broken", again))[-1]["event"] == "complete"


async def test_a_cancel_or_a_timeout_in_one_conversation_touches_no_other(tmp_path: Path) -> None:
    host, _ = await host_of(tmp_path, ["a", "b"])
    await host.activate("a")
    await host.activate("b")
    a = (await host.start_turn("a", TurnRequest(text="long", model_id="slow")))["turn_id"]
    b = (await host.start_turn("b", TurnRequest(text="long", model_id="slow")))["turn_id"]
    await asyncio.sleep(0.05)
    assert await host.cancel("a", a)
    a_frames, b_frames = await asyncio.gather(frames(host, "a", a), frames(host, "b", b))
    assert a_frames[-1]["data"]["cancelled"] is True and b_frames[-1]["data"]["cancelled"] is False


async def test_activation_is_once_per_id_and_unknown_ids_are_not_held(tmp_path: Path) -> None:
    host, _ = await host_of(tmp_path, ["a"])
    counts = await asyncio.gather(*(host.activate("a") for _ in range(5)))
    assert counts == [0] * 5 and await host.held() == ["a"]
    with pytest.raises(NotFound):
        await host.activate("ghost")
    assert await host.held() == ["a"]
    with pytest.raises(NotHosted, match="not on host host:1"):
        await host.start_turn("ghost", TurnRequest(text="hi"))


async def test_a_full_host_refuses_another_conversation(tmp_path: Path) -> None:
    host, _ = await host_of(tmp_path, ["a", "b"], capacity=1)
    await host.activate("a")
    with pytest.raises(Unavailable, match="holds 1 conversations"):
        await host.activate("b")


async def test_passivation_waits_for_idle_and_release_ends_a_running_turn(tmp_path: Path) -> None:
    host, store = await host_of(tmp_path, ["a", "b"])
    await host.activate("a")
    await host.activate("b")
    running = (await host.start_turn("a", TurnRequest(text="long", model_id="slow")))["turn_id"]
    await asyncio.sleep(0.02)
    assert not await host.passivate("a")  # busy: nothing changes
    assert await host.passivate("b") and await host.held() == ["a"]
    assert await host.passivate("b")  # not held: not here afterwards either
    listening = asyncio.create_task(frames(host, "a", running))
    await asyncio.sleep(0.02)
    await host.release("a")
    seen = await asyncio.wait_for(listening, 5)
    assert seen[-1]["event"] == "complete" and seen[-1]["data"]["cancelled"] is True
    assert await host.held() == []
    assert store.messages["a"][0].text() == "long"  # what was acknowledged stays


async def test_the_pace_widens_under_load(tmp_path: Path) -> None:
    """With many turns running on the host, its turns' frame window is wider than a lone turn's."""
    host, _ = await host_of(tmp_path, [])
    lone = host.pace.window()
    host.pace.running = 64
    assert lone == pytest.approx(0.02) and host.pace.window() == pytest.approx(0.1)
    host.pace.running, host.pace.lag_s = 0, 0.05
    assert host.pace.window() == pytest.approx(0.05)
