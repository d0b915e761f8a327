"""Turn: numbered frames, coalesced tokens, and subscribers that can join or resume at any point."""

from __future__ import annotations

import asyncio

import pytest

from penguin_actors.conversation.turn import Turn


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


async def _reader(turn: Turn, seen: list[list[str]], pause_s: float = 0.0) -> None:
    """A subscriber that records the token texts of each batch, taking ``pause_s`` to relay each one."""
    async for batch in turn.subscribe():
        seen.append([f["data"]["token"] for f in batch if f["event"] == "token"])
        await asyncio.sleep(pause_s)


async def test_a_waiting_reader_gets_the_first_token_at_once_then_one_frame_per_window() -> None:
    """A burst of 100 tokens becomes a handful of frames; the first token is not held back."""
    turn = Turn("c1", window_s=0.05, max_tokens=1000)
    turn.emit("start", {})
    seen: list[list[str]] = []
    reader = asyncio.create_task(_reader(turn, seen))
    await asyncio.sleep(0.01)
    turn.add_token("a")
    assert turn.frames[-1]["data"] == {"token": "a"}
    for _ in range(99):
        turn.add_token("b")
    await asyncio.sleep(0.08)
    tokens = [f["data"]["token"] for f in turn.frames if f["event"] == "token"]
    assert tokens == ["a", "b" * 99]
    turn.emit("complete", {"response": ""})
    await reader


async def test_a_busy_reader_gets_fewer_larger_frames() -> None:
    """Tokens that come while the reader relays its last batch wait for it: one frame per batch it takes."""
    quick_turn, slow_turn = Turn("c1", window_s=0.001), Turn("c2", window_s=0.001)
    quick: list[list[str]] = []
    slow: list[list[str]] = []
    readers = [
        asyncio.create_task(_reader(quick_turn, quick)),
        asyncio.create_task(_reader(slow_turn, slow, pause_s=0.05)),
    ]
    await asyncio.sleep(0.01)
    for _ in range(40):
        quick_turn.add_token("q")
        slow_turn.add_token("s")
        await asyncio.sleep(0.005)
    for turn in (quick_turn, slow_turn):
        turn.emit("complete", {"response": ""})
    await asyncio.gather(*readers)
    quick_frames = [t for batch in quick for t in batch]
    slow_frames = [t for batch in slow for t in batch]
    assert "".join(quick_frames) == "q" * 40 and "".join(slow_frames) == "s" * 40
    assert len(slow_frames) <= 8 < 30 <= len(quick_frames)


async def test_without_a_reader_tokens_gather_up_to_max_tokens() -> None:
    """Nobody streams the turn (an HTTP call that waits for the end): frames of max_tokens, then the rest."""
    turn = Turn("c1", window_s=0, max_tokens=4)
    for _ in range(9):
        turn.add_token("y")
    assert [f["data"]["token"] for f in turn.frames] == ["yyyy", "yyyy"]
    turn.emit("complete", {"response": "y" * 9})
    assert [f["event"] for f in turn.frames] == ["token", "token", "token", "complete"]
    assert await turn.wait() == {"event": "complete", "response": "y" * 9}


async def test_a_reader_that_arrives_gets_the_gathered_tokens_at_once() -> None:
    """Tokens gathered while no reader waited go out as one frame when one comes."""
    turn = Turn("c1", window_s=0.01)
    turn.emit("start", {})
    for text in ("a", "b", "c"):
        turn.add_token(text)
    assert len(turn.frames) == 1
    stream = turn.subscribe(0)
    assert [f["data"] for f in await anext(stream)] == [{"token": "abc"}]
    await stream.aclose()


async def test_pending_tokens_flush_before_the_next_event() -> None:
    """Tokens waiting for the window go out before complete, in order."""
    turn = Turn("c1", window_s=10)
    turn.add_token("a")
    turn.add_token("b")
    turn.emit("complete", {"response": "ab"})
    assert [f["event"] for f in turn.frames] == ["token", "complete"]
    assert [f["seq"] for f in turn.frames] == [0, 1]
    assert turn.frames[0]["data"] == {"token": "ab"}


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
