"""LanceBackend specifics: versions that survive a clock stepping back, pruning, and ids checked before SQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from penguin_actors import lance_backend
from penguin_actors.lance_backend import LanceBackend
from penguin_actors.records import ConversationRecord
from penguin_actors.storage import MessageRow


def row(seq: int, data: bytes) -> MessageRow:
    return MessageRow("lin_000000000001", seq, "conv_000000000001", "user", 1.0, data, data.decode())


def conversation(count: int) -> ConversationRecord:
    return ConversationRecord(
        id="conv_000000000001", title="t", created_at=1, last_active=1, message_count=count, lineage_id="lin_1"
    )


async def test_newest_write_wins_even_if_the_clock_steps_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A (lineage, seq) written again after a restart with the clock set back still reads as the newer write."""
    first = LanceBackend(str(tmp_path))
    await first.open()
    await first.append_messages([row(0, b"orphan")])
    await first.close()
    monkeypatch.setattr(lance_backend, "_wall_ns", lambda: 1)
    second = LanceBackend(str(tmp_path))
    await second.open()
    await second.append_messages([row(0, b"newer")])
    assert await second.read_messages([("lin_000000000001", 0, None)]) == [("lin_000000000001", 0, b"newer")]
    await second.close()


async def test_optimize_prunes_superseded_conversation_versions(tmp_path: Path) -> None:
    """Each upsert appends a version; optimize leaves only the newest, which is what loads."""
    backend = LanceBackend(str(tmp_path))
    await backend.open()
    for count in range(5):
        await backend.upsert_conversations([conversation(count)])
    assert await backend.load_conversations() == [conversation(4)]
    await backend.optimize()
    assert await backend._table(lance_backend.CONVERSATIONS).count_rows() == 1
    assert await backend.load_conversations() == [conversation(4)]
    await backend.close()


async def test_ids_are_checked_before_they_reach_a_predicate(tmp_path: Path) -> None:
    """An id that is not id-shaped is refused instead of being spliced into SQL."""
    backend = LanceBackend(str(tmp_path))
    await backend.open()
    with pytest.raises(ValueError, match="not a valid id"):
        await backend.delete_messages(["x' OR '1'='1"])
    with pytest.raises(ValueError, match="not a valid id"):
        await backend.read_messages([("x' OR 1=1 --", 0, None)])
    await backend.close()


async def test_read_ranges_come_back_in_range_order(tmp_path: Path) -> None:
    """read_messages returns each range's rows in seq order, ranges in the order asked, bounds respected."""
    backend = LanceBackend(str(tmp_path))
    await backend.open()
    other = [MessageRow("lin_b", s, "c", "user", 1.0, f"b{s}".encode(), "") for s in range(3, 6)]
    await backend.append_messages([row(s, f"a{s}".encode()) for s in (2, 0, 1, 3)] + other)
    got = await backend.read_messages([("lin_000000000001", 0, 3), ("lin_b", 3, None), ("lin_b", 4, 4)])
    assert [data for _, _, data in got] == [b"a0", b"a1", b"a2", b"b3", b"b4", b"b5"]
    await backend.close()
