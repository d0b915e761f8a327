"""The commit journal: appends are acknowledged once journaled, applied in batches, and replayed after a crash."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from penguin_actors.errors import Unavailable
from penguin_actors.store.checkpoints import CheckpointStore
from penguin_actors.store.journal import CommitJournal, JournalEntry, merge
from penguin_actors.store.rows import MessageRow
from tests.support import make_settings
from tests.unit.store.helpers import StoreKit, msg, texts

SLOW = {"storage.journal_flush_s": 60}  # nothing is applied in the background during a test


@pytest.fixture
def backend_kind() -> str:
    return "lance+journal"


def journal_files(kit: StoreKit) -> list[str]:
    return sorted(p.name for p in (kit.root / "journal").iterdir())


async def test_an_acknowledged_append_survives_a_crash_before_it_is_applied(make_kit: Callable[..., StoreKit]) -> None:
    """The backend has not seen the commits when the store stops; the next store replays them, checkpoints too."""
    kit = make_kit(SLOW)
    a, b = await kit.store.create_conversation("a"), await kit.store.create_conversation("b")
    assert await kit.store.append_messages(a.id, [msg("a0"), msg("a1", role="assistant")], checkpoint=True) == 2
    assert await kit.store.append_messages(b.id, [msg("b0")]) == 1
    assert await kit.store.append_messages(a.id, [msg("a2")]) == 3
    assert kit.backend.calls["append_messages"] == 0
    (auto,) = await kit.store.list_checkpoints(a.id)

    again, backend = kit.new_store()  # the first store never applied its journal: as after a crash
    assert texts(await again.load_messages(a.id)) == ["a0", "a1", "a2"]
    assert texts(await again.load_messages(b.id)) == ["b0"]
    assert (await again.get_conversation(a.id)).message_count == 3
    assert await again.get_checkpoint(auto.id) == auto
    assert backend.rows["append_messages"] == 4  # replayed in one batch
    assert backend.calls["append_messages"] == 1


async def test_a_replay_writes_nothing_twice(make_kit: Callable[..., StoreKit]) -> None:
    """Stopped after applying the journal but before dropping it, the next store writes none of it again."""
    kit = make_kit(SLOW)
    record = await kit.store.create_conversation()
    await kit.store.append_messages(record.id, [msg("once")], checkpoint=True)
    assert kit.store._pipeline.applier is not None
    journal = kit.store._pipeline.applier.journal
    journal.drop = lambda through: None  # type: ignore[method-assign]  # the crash comes just before the drop
    await kit.store.apply_journal()
    assert kit.backend.rows["append_messages"] == 1

    again, backend = kit.new_store()
    assert texts(await again.load_messages(record.id)) == ["once"]
    assert len(await again.list_checkpoints(record.id)) == 1
    assert backend.rows["append_messages"] == 0 and backend.rows["add_checkpoints"] == 0
    assert not any(name.startswith("commits.0.") for name in journal_files(kit))


async def test_commits_are_applied_in_the_background_in_one_batch(make_kit: Callable[..., StoreKit]) -> None:
    """Appends in quick succession reach the backend together, after journal_flush_s, and the journal is dropped."""
    kit = make_kit({"storage.journal_flush_s": 0.05})
    record = await kit.store.create_conversation()
    for i in range(5):
        await kit.store.append_messages(record.id, [msg(f"m{i}")])
    assert kit.backend.calls["append_messages"] == 0
    assert kit.store._pipeline.applier is not None
    flusher = kit.store._pipeline.applier.flusher
    assert flusher is not None
    await flusher
    assert kit.backend.calls["append_messages"] == 1 and kit.backend.rows["append_messages"] == 5
    assert journal_files(kit) == []


async def test_a_torn_last_record_is_skipped(make_kit: Callable[..., StoreKit]) -> None:
    """A record cut short by a crash during its write (never acknowledged) is dropped; those before it are kept."""
    kit = make_kit(SLOW)
    record = await kit.store.create_conversation()
    await kit.store.append_messages(record.id, [msg("kept")])
    await kit.store.append_messages(record.id, [msg("torn")])
    (name,) = journal_files(kit)
    path = kit.root / "journal" / name
    path.write_bytes(path.read_bytes()[:-7])

    again, _ = kit.new_store()
    assert texts(await again.load_messages(record.id)) == ["kept"]
    assert await again.append_messages(record.id, [msg("next")]) == 2
    third, _ = kit.new_store()
    assert texts(await third.load_messages(record.id)) == ["kept", "next"]


async def test_a_backend_failure_keeps_the_commits_until_they_are_applied(make_kit: Callable[..., StoreKit]) -> None:
    """Applying fails, the appends stay acknowledged and journaled; applied later, each is written once."""
    kit = make_kit(SLOW)
    record = await kit.store.create_conversation()
    await kit.store.append_messages(record.id, [msg("m0")])
    kit.backend.fail["upsert_conversations"] = OSError("disk on fire")
    with pytest.raises(OSError, match="disk on fire"):
        await kit.store.apply_journal()
    assert await kit.store.append_messages(record.id, [msg("m1")]) == 2  # appends go on meanwhile
    assert texts(await kit.store.load_messages(record.id)) == ["m0", "m1"]  # reads too: from the journal
    with pytest.raises(OSError, match="disk on fire"):
        await kit.store.create_checkpoint(record.id)  # a write that must follow the journal says why it cannot

    del kit.backend.fail["upsert_conversations"]
    await kit.store.apply_journal()
    assert texts(await kit.store.load_messages(record.id)) == ["m0", "m1"]
    assert journal_files(kit) == []
    again, _ = kit.new_store()
    assert texts(await again.load_messages(record.id)) == ["m0", "m1"]


async def test_a_write_after_journaled_commits_is_ordered_after_them(make_kit: Callable[..., StoreKit]) -> None:
    """A rename or rollback applies the journal first, so a replay never undoes it."""
    kit = make_kit(SLOW)
    record = await kit.store.create_conversation("old title")
    await kit.store.append_messages(record.id, [msg("m0")], checkpoint=True)
    (checkpoint,) = await kit.store.list_checkpoints(record.id)
    await kit.store.append_messages(record.id, [msg("m1")])
    await kit.store.update_conversation(record.id, title="new title")
    await kit.store.rollback(checkpoint.id)
    await kit.store.append_messages(record.id, [msg("after rollback")])

    again, _ = kit.new_store()
    moved = await again.get_conversation(record.id)
    assert moved.title == "new title" and moved.message_count == 2
    assert texts(await again.load_messages(record.id)) == ["m0", "after rollback"]


async def test_a_journal_that_cannot_be_written_fails_the_commit(make_kit: Callable[..., StoreKit]) -> None:
    """The caller gets Unavailable, the count stays, and the next append goes to a fresh file."""
    kit = make_kit(SLOW)
    record = await kit.store.create_conversation()
    await kit.store.append_messages(record.id, [msg("m0")])
    assert kit.store._pipeline.applier is not None
    journal = kit.store._pipeline.applier.journal
    append = journal.append

    def full(entry: JournalEntry) -> None:
        raise OSError(28, "No space left on device")

    journal.append = full  # type: ignore[method-assign]
    with pytest.raises(Unavailable, match="free disk space"):
        await kit.store.append_messages(record.id, [msg("lost")])
    assert (await kit.store.get_conversation(record.id)).message_count == 1
    journal.append = append  # type: ignore[method-assign]
    assert await kit.store.append_messages(record.id, [msg("m1")]) == 2
    assert len(journal_files(kit)) == 2

    again, _ = kit.new_store()
    assert texts(await again.load_messages(record.id)) == ["m0", "m1"]


async def test_close_applies_the_journal(make_kit: Callable[..., StoreKit]) -> None:
    kit = make_kit(SLOW)
    record = await kit.store.create_conversation()
    await kit.store.append_messages(record.id, [msg("m0")])
    await kit.store.close()
    assert kit.backend.rows["append_messages"] == 1
    assert journal_files(kit) == []


def test_a_store_journals_only_a_local_database(tmp_path: Path) -> None:
    local = CheckpointStore(make_settings(tmp_path / "a"))._pipeline.applier
    assert local is not None
    assert local.journal.directory == tmp_path / "a" / ".penguin" / "db" / "_journal"
    assert CheckpointStore(make_settings(tmp_path / "b", **{"storage.journal": False}))._pipeline.applier is None
    assert CheckpointStore(make_settings(tmp_path / "c", storage_uri="s3://bucket/penguin"))._pipeline.applier is None
    uri = f"file://{tmp_path / 'd'}"
    journaled = CheckpointStore(make_settings(tmp_path / "e", storage_uri=uri))._pipeline.applier
    assert journaled is not None and journaled.journal.directory == tmp_path / "d" / "_journal"


def test_merge_keeps_every_row_and_each_conversations_last_record() -> None:
    row = MessageRow("lin", 0, "c", "user", 1.0, b"\x80", "hi")
    first, second = JournalEntry([row]), JournalEntry([row])
    assert merge([first, second]).messages == [row, row]
    assert merge([]).conversations == []


def test_entries_round_trip_and_generations_continue(tmp_path: Path) -> None:
    journal = CommitJournal(tmp_path)
    assert journal.recover() == []
    entry = JournalEntry([MessageRow("lin", 3, "c", "assistant", 2.5, b"\x01\x02", "text")])
    journal.append(entry)
    sealed = journal.seal()
    journal.append(entry)
    journal.close()
    again = CommitJournal(tmp_path)
    assert again.recover() == [entry, entry]
    again.drop(sealed)
    assert [p.name for p in tmp_path.iterdir()] == [f"commits.{sealed + 1}.log"]


async def test_a_read_while_the_journal_is_applied_misses_nothing(make_kit: Callable[..., StoreKit]) -> None:
    """Reads take what the backend does not hold yet from the journal, also the commits being applied meanwhile:
    no read waits for a LanceDB write, and none misses an acknowledged message."""
    kit = make_kit(SLOW)
    record = await kit.store.create_conversation()
    await kit.store.append_messages(record.id, [msg("m0"), msg("m1")])
    gate = asyncio.Event()
    write = kit.backend.inner.append_messages

    async def slow_write(rows: Any) -> None:
        await gate.wait()
        await write(rows)

    kit.backend.inner.append_messages = slow_write  # type: ignore[method-assign]
    applying = asyncio.create_task(kit.store.apply_journal())
    await asyncio.sleep(0.05)
    await kit.store.append_messages(record.id, [msg("m2")])
    assert texts(await kit.store.load_messages(record.id)) == ["m0", "m1", "m2"]
    gate.set()
    await applying
    assert texts(await kit.store.load_messages(record.id)) == ["m0", "m1", "m2"]
