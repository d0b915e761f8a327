"""Turn: numbered frames, coalesced tokens, and subscribers that can join or resume at any point."""

from __future__ import annotations

import asyncio

import pytest

from penguin_actors.turn import Turn


async def test_frames_are_numbered_from_start() -> None:
    """Each frame carries the conversation, the turn and seq 0, 1, 2…"""
    turn = Turn("c1")
    turn.emit("start", {})
    turn.emit("complete", {"response": ""})
    assert [(f["event"], f["seq"], f["conversation_id"], f["turn_id"]) for f in turn.frames] == [
        ("start", 0, "c1", turn.id),
        ("complete", 1, "c1", turn.id),
    ]
    assert turn.done


async def test_nothing_follows_a_terminal_frame() -> None:
    """Emitting after complete or error is a bug and is refused."""
    turn = Turn("c1")
    turn.emit("error", {"message": "x", "code": "internal"})
    with pytest.raises(RuntimeError, match="already ended"):
        turn.emit("token", {"token": "late"})


async def test_tokens_are_coalesced_but_the_first_goes_at_once() -> None:
    """A burst of 100 tokens becomes a handful of frames; the first token is not held back."""
    turn = Turn("c1", window_s=0.05, max_tokens=1000)
    turn.emit("start", {})
    turn.add_token("a")
    assert turn.frames[-1]["data"] == {"token": "a"}
    for _ in range(99):
        turn.add_token("b")
    await asyncio.sleep(0.08)
    tokens = [f["data"]["token"] for f in turn.frames if f["event"] == "token"]
    assert "".join(tokens) == "a" + "b" * 99
    assert len(tokens) == 2


async def test_max_tokens_forces_a_flush() -> None:
    """Within the window, every max_tokens tokens still make a frame."""
    turn = Turn("c1", window_s=10, max_tokens=4)
    turn.add_token("x")
    for _ in range(8):
        turn.add_token("y")
    assert [f["data"]["token"] for f in turn.frames] == ["x", "yyyy", "yyyy"]


async def test_pending_tokens_flush_before_the_next_event() -> None:
    """Tokens waiting for the window go out before complete, in order."""
    turn = Turn("c1", window_s=10)
    turn.add_token("a")
    turn.add_token("b")
    turn.emit("complete", {"response": "ab"})
    assert [f["event"] for f in turn.frames] == ["token", "token", "complete"]
    assert [f["seq"] for f in turn.frames] == [0, 1, 2]


async def test_subscribers_resume_after_any_seq_and_follow_live() -> None:
    """A late subscriber gets the frames after after_seq, then new ones live, then the end."""
    turn = Turn("c1")
    turn.emit("start", {})
    turn.emit("token", {"token": "a"})

    async def collect(after: int) -> list[int]:
        return [f["seq"] async for batch in turn.subscribe(after) for f in batch]

    early, late = asyncio.create_task(collect(-1)), asyncio.create_task(collect(0))
    await asyncio.sleep(0.01)
    turn.emit("token", {"token": "b"})
    turn.emit("complete", {"response": "ab"})
    assert await early == [0, 1, 2, 3]
    assert await late == [1, 2, 3]
    assert await collect(3) == []
