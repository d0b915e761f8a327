"""Conversation: durable turns, one at a time, with enqueue / reject / interrupt and cancel."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from penguin_actors.conversation.conversation import Conversation, Passivating
from penguin_actors.errors import Conflict, NotFound
from penguin_actors.types import Message, TurnRequest
from tests.support import make_settings
from tests.unit.conversation.fakes import AsyncModels, MemoryStore

CATALOG = [
    {"id": "sim", "name": "sim/fast", "provider": "sim", "reply_tokens": 12},
    {"id": "slow", "name": "sim/slow", "provider": "sim", "reply_tokens": 200, "tokens_per_s": 100},
    {"id": "claude", "name": "anthropic/claude-x", "provider": "anthropic"},
]


class Directory:
    def __init__(self) -> None:
        self.requests: list[str] = []
        self.touched: list[str] = []

    async def request_passivation(self, conversation_id: str) -> None:
        self.requests.append(conversation_id)

    async def touch(self, conversation_id: str) -> None:
        self.touched.append(conversation_id)


async def conversation(
    tmp_path: Path, store: MemoryStore | None = None, directory: Directory | None = None, **overrides: Any
) -> Conversation:
    store = store or MemoryStore()
    if "c1" not in store.records:
        store.add("c1")
    settings = make_settings(tmp_path, **overrides)
    conv = Conversation("c1", settings, store, AsyncModels(tmp_path, CATALOG), env={}, directory=directory)
    await conv.activate()
    return conv


async def started(conv: Conversation, turn_id: str) -> None:
    """Wait for the turn's start frame (its user message is stored by then)."""
    async for _ in conv.events(turn_id):
        return


async def frames(conv: Conversation, turn_id: str) -> list[dict[str, Any]]:
    return [frame async for batch in conv.events(turn_id) for frame in batch]


async def test_a_turn_streams_and_commits_both_messages(tmp_path: Path) -> None:
    """A turn emits start, tokens and complete (response = the tokens joined); both messages are stored."""
    store = MemoryStore()
    conv = await conversation(tmp_path, store)
    started = await conv.start_turn(TurnRequest(text="hello there"))
    seen = await frames(conv, started["turn_id"])
    assert seen[0]["event"] == "start" and seen[0]["data"]["model"] == "sim"
    assert seen[-1]["event"] == "complete"
    tokens = "".join(f["data"]["token"] for f in seen if f["event"] == "token")
    assert tokens == seen[-1]["data"]["response"] and "hello there" in tokens
    assert [f["seq"] for f in seen] == list(range(len(seen)))
    assert [m.role for m in store.messages["c1"]] == ["user", "assistant"]
    assert store.messages["c1"][1].text() == tokens
    assert seen[-1]["data"]["usage"]["output"] == 12


async def test_enqueued_turns_run_one_after_another(tmp_path: Path) -> None:
    """A second message while a turn runs waits, then runs; the history alternates user/assistant."""
    store = MemoryStore()
    conv = await conversation(tmp_path, store)
    first = await conv.start_turn(TurnRequest(text="one", model_id="slow"))
    second = await conv.start_turn(TurnRequest(text="two"))
    assert second["queued"] == 1
    result = await conv.wait(second["turn_id"])
    assert result["event"] == "complete"
    assert (await conv.wait(first["turn_id"]))["event"] == "complete"
    assert [m.text().split()[-1] if m.role == "user" else m.role for m in store.messages["c1"]] == [
        "one",
        "assistant",
        "two",
        "assistant",
    ]


async def test_reject_refuses_while_busy(tmp_path: Path) -> None:
    """multitask_strategy reject answers Conflict while a turn runs, and stores nothing for it."""
    store = MemoryStore()
    conv = await conversation(tmp_path, store)
    first = await conv.start_turn(TurnRequest(text="one", model_id="slow"))
    await started(conv, first["turn_id"])
    with pytest.raises(Conflict, match="running a turn"):
        await conv.start_turn(TurnRequest(text="two", multitask_strategy="reject"))
    await conv.cancel(first["turn_id"])
    await conv.wait(first["turn_id"])
    assert [m.text() for m in store.messages["c1"] if m.role == "user"] == ["one"]


async def test_interrupt_cancels_the_running_turn_and_keeps_what_was_said(tmp_path: Path) -> None:
    """interrupt ends the running turn as cancelled (its streamed text stored), then runs the new one."""
    store = MemoryStore()
    conv = await conversation(tmp_path, store)
    first = await conv.start_turn(TurnRequest(text="one", model_id="slow"))
    await asyncio.sleep(0.2)
    second = await conv.start_turn(TurnRequest(text="two", multitask_strategy="interrupt"))
    cut = await conv.wait(first["turn_id"])
    assert cut["event"] == "complete" and cut["cancelled"] and cut["stop_reason"] == "interrupted"
    assert cut["response"]
    assert (await conv.wait(second["turn_id"]))["event"] == "complete"
    roles = [m.role for m in store.messages["c1"]]
    assert roles == ["user", "assistant", "user", "assistant"]
    assert store.messages["c1"][1].text() == cut["response"]


async def test_cancel_stops_a_streaming_turn(tmp_path: Path) -> None:
    """cancel ends the running turn promptly with cancelled=true; the conversation takes the next turn."""
    conv = await conversation(tmp_path)
    turn = await conv.start_turn(TurnRequest(text="long", model_id="slow"))
    await asyncio.sleep(0.1)
    assert await conv.cancel()
    result = await asyncio.wait_for(conv.wait(turn["turn_id"]), 1.0)
    assert result["cancelled"] and result["stop_reason"] == "cancelled"
    assert not await conv.cancel()
    nxt = await conv.start_turn(TurnRequest(text="again"))
    assert (await conv.wait(nxt["turn_id"]))["event"] == "complete"


async def test_provider_failure_is_an_error_frame_and_keeps_the_message(tmp_path: Path) -> None:
    """A model that cannot be called ends the turn with an error event; the user message stays stored."""
    store = MemoryStore()
    conv = await conversation(tmp_path, store)
    turn = await conv.start_turn(TurnRequest(text="hi", model_id="claude"))
    result = await conv.wait(turn["turn_id"])
    assert result["event"] == "error" and result["code"] == "provider_error"
    assert "ANTHROPIC_API_KEY" in result["message"]
    assert [m.role for m in store.messages["c1"]] == ["user"]
    ok = await conv.start_turn(TurnRequest(text="hi again"))
    assert (await conv.wait(ok["turn_id"]))["event"] == "complete"


async def test_unknown_model_is_an_error_frame(tmp_path: Path) -> None:
    """A turn naming an unknown model ends with not_found before anything is stored."""
    store = MemoryStore()
    conv = await conversation(tmp_path, store)
    turn = await conv.start_turn(TurnRequest(text="hi", model_id="gpt-17"))
    result = await conv.wait(turn["turn_id"])
    assert result["event"] == "error" and result["code"] == "not_found"
    assert store.messages["c1"] == []


async def test_activation_of_an_unknown_conversation_fails(tmp_path: Path) -> None:
    """Activating an id the store does not know is NotFound, never a new conversation."""
    conv = Conversation("nope", make_settings(tmp_path), MemoryStore(), AsyncModels(tmp_path, CATALOG), env={})
    with pytest.raises(NotFound):
        await conv.activate()


async def test_passivation_waits_for_idle(tmp_path: Path) -> None:
    """prepare_passivate refuses while a turn runs; once idle it succeeds and new turns are refused."""
    conv = await conversation(tmp_path)
    turn = await conv.start_turn(TurnRequest(text="one", model_id="slow"))
    assert not await conv.prepare_passivate()
    await conv.cancel()
    await conv.wait(turn["turn_id"])
    assert await conv.prepare_passivate()
    with pytest.raises(Passivating):
        await conv.start_turn(TurnRequest(text="late"))


async def test_idle_conversation_asks_to_be_passivated(tmp_path: Path) -> None:
    """After idle_timeout_s without a turn, the conversation asks the directory to passivate it."""
    directory = Directory()
    conv = await conversation(tmp_path, directory=directory, **{"activation.idle_timeout_s": 0.2})
    turn = await conv.start_turn(TurnRequest(text="hi"))
    await conv.wait(turn["turn_id"])
    assert directory.touched == ["c1"]
    await asyncio.sleep(0.5)
    assert directory.requests == ["c1"]


async def test_resume_replays_a_finished_turn(tmp_path: Path) -> None:
    """events() after a seq replays the rest of a finished turn; an unknown turn is NotFound."""
    conv = await conversation(tmp_path)
    turn = await conv.start_turn(TurnRequest(text="hi"))
    everything = await frames(conv, turn["turn_id"])
    rest = [f async for batch in conv.events(turn["turn_id"], 1) for f in batch]
    assert rest == everything[2:]
    with pytest.raises(NotFound):
        async for _ in conv.events("turn_nope"):
            pass


async def test_a_turn_sent_while_the_actor_is_activating_waits_for_it(tmp_path: Path) -> None:
    """A caller can find the actor by name before its activation ends: the turn waits for it, not fails."""
    loading, release = asyncio.Event(), asyncio.Event()

    class SlowStore(MemoryStore):
        async def load_messages(self, conversation_id: str) -> list[Message]:
            loading.set()
            await release.wait()
            return await super().load_messages(conversation_id)

    store = SlowStore()
    store.add("c1")
    conv = Conversation("c1", make_settings(tmp_path), store, AsyncModels(tmp_path, CATALOG), env={})
    activation = asyncio.ensure_future(conv.activate())
    await loading.wait()
    turn = asyncio.ensure_future(conv.start_turn(TurnRequest(text="early")))
    await asyncio.sleep(0.05)
    assert not turn.done()
    release.set()
    await activation
    started_turn = await turn
    assert (await conv.wait(started_turn["turn_id"]))["event"] == "complete"
    await conv.prepare_passivate()
