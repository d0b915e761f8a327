"""LanceBackend specifics: versions that survive a clock stepping back, pruning, ids checked before SQL,
and the embeddings table."""

from __future__ import annotations

from pathlib import Path

import pytest

from penguin_actors.store.lance import backend as lance_backend
from penguin_actors.store.lance.backend import LanceBackend
from penguin_actors.store.records import ConversationRecord, NoteRecord
from penguin_actors.store.rows import Embedding, MemoryItem, MessageRow, TextQuery


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


def item(seq: int, text: str) -> MemoryItem:
    return MemoryItem("message", f"lin_000000000001:{seq}", "conv_000000000001", "user", 1.0, text, "lin_000000000001")


async def test_vector_search_shows_a_message_once_with_its_newest_text_and_never_a_gone_one(tmp_path: Path) -> None:
    """A message written twice (two vectors) is one hit with the text read on; a vector without its source is no hit;
    the score is the cosine similarity, and vectors below ``min_similarity`` do not count."""
    backend = LanceBackend(str(tmp_path))
    await backend.open()
    await backend.open_embeddings("m", 8)
    await backend.append_messages([row(0, b"first"), row(0, b"again"), row(1, b"other")])
    east, north = [1.0] + [0.0] * 7, [0.0, 1.0] + [0.0] * 6
    await backend.add_embeddings(
        [Embedding(item(0, "x"), east), Embedding(item(0, "x"), east), Embedding(item(1, "x"), north)]
    )
    await backend.add_embeddings([Embedding(item(7, "gone"), east)])  # no message 7 is stored
    hits = await backend.search_vectors(east, TextQuery("q", limit=5), min_similarity=0.5)
    assert [(h.ref, h.text, round(h.score, 6)) for h in hits] == [("lin_000000000001:0", "again", 1.0)]
    _, orphans = await backend.embedding_backlog(10)
    assert orphans == ["lin_000000000001:7"]
    assert await backend.delete_embeddings(orphans) == 1
    await backend.close()


async def test_deleting_messages_deletes_their_vectors_even_with_embeddings_off_now(tmp_path: Path) -> None:
    """A store opened without embeddings configured still deletes the vectors of the messages it deletes."""
    first = LanceBackend(str(tmp_path))
    await first.open()
    await first.open_embeddings("m", 8)
    await first.append_messages([row(0, b"text")])
    await first.add_embeddings([Embedding(item(0, "text"), [1.0] * 8)])
    await first.close()
    second = LanceBackend(str(tmp_path))
    await second.open()
    assert await second.delete_messages(["lin_000000000001"]) == 1
    assert await second._table(lance_backend.EMBEDDINGS).count_rows() == 0
    await second.close()


async def test_the_backlog_is_oldest_first_and_skips_what_has_no_text(tmp_path: Path) -> None:
    """Unembedded user/assistant messages with text and notes, oldest first, at most ``limit``; texts on request."""
    backend = LanceBackend(str(tmp_path))
    await backend.open()
    await backend.open_embeddings("m", 8)
    rows = [
        MessageRow("lin_a", 0, "c", "user", 3.0, b"", "late"),
        MessageRow("lin_a", 1, "c", "assistant", 1.0, b"", ""),
        MessageRow("lin_a", 2, "c", "tool", 1.0, b"", "tool output"),
        MessageRow("lin_a", 3, "c", "assistant", 2.0, b"", "early"),
    ]
    await backend.append_messages(rows)
    await backend.add_notes([NoteRecord(id="note_1", text="a note", created_at=2.5)])
    items, orphans = await backend.embedding_backlog(10)
    assert [(i.ref, i.text) for i in items] == [("lin_a:3", ""), ("note_1", ""), ("lin_a:0", "")]
    assert orphans == []
    items = await backend.memory_texts(items)
    assert [(i.ref, i.text) for i in items] == [("lin_a:3", "early"), ("note_1", "a note"), ("lin_a:0", "late")]
    assert [i.ref for i in (await backend.embedding_backlog(2))[0]] == ["lin_a:3", "note_1"]
    await backend.add_embeddings([Embedding(items[0], [1.0] * 8)])
    assert [i.ref for i in (await backend.embedding_backlog(10))[0]] == ["note_1", "lin_a:0"]
    await backend.close()


async def test_a_conversations_table_made_before_usage_existed_gains_the_column(tmp_path: Path) -> None:
    """A table without the ``usage`` column opens, gets it (null in the old rows), and keeps usage from then on."""
    import lancedb
    import pyarrow as pa

    from penguin_actors.store.lance.schema import SCHEMAS
    from penguin_actors.types import Usage

    old = pa.schema([field for field in SCHEMAS[lance_backend.CONVERSATIONS] if field.name != "usage"])
    db = await lancedb.connect_async(str(tmp_path))
    table = await db.create_table(lance_backend.CONVERSATIONS, schema=old)
    record = conversation(2)
    await table.add(pa.table({name: [value] for name, value in _old_row(record).items()}, schema=old))
    table.close()
    db.close()
    backend = LanceBackend(str(tmp_path))
    await backend.open()
    assert await backend.load_conversations() == [record]
    spent = record.model_copy(update={"usage": {"sim": Usage(input_tokens=3, output_tokens=1)}})
    await backend.upsert_conversations([spent])
    assert await backend.load_conversations() == [spent]
    await backend.close()


def _old_row(record: ConversationRecord) -> dict[str, object]:
    return {
        "id": record.id,
        "version": 1,
        "title": record.title,
        "created_at": record.created_at,
        "last_active": record.last_active,
        "message_count": record.message_count,
        "lineage_id": record.lineage_id,
        "model_id": None,
        "branch_conversation_id": None,
        "branch_checkpoint_id": None,
    }
