"""Group commit: concurrent appends share backend writes; a failed write fails every caller of its batch."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from penguin_actors.errors import NotFound
from tests.unit.store.helpers import StoreKit, msg, skip_if_journaled, texts

CONVERSATIONS = 20
APPENDS_EACH = 5


async def test_concurrent_appends_are_intact_and_batched(kit: StoreKit) -> None:
    """Many concurrent appends to different conversations keep each history in order, in fewer backend writes."""
    store = kit.store
    ids = [(await store.create_conversation()).id for _ in range(CONVERSATIONS)]
    kit.backend.reset()

    async def talk(conversation_id: str) -> list[int]:
        counts = []
        for i in range(APPENDS_EACH):
            counts.append(await store.append_messages(conversation_id, [msg(f"{conversation_id}:{i}")]))
        return counts

    results = await asyncio.gather(*(talk(c) for c in ids))
    assert all(counts == list(range(1, APPENDS_EACH + 1)) for counts in results)
    for conversation_id in ids:
        assert texts(await store.load_messages(conversation_id)) == [f"{conversation_id}:{i}" for i in range(5)]
        assert (await store.get_conversation(conversation_id)).message_count == APPENDS_EACH
    await store.apply_journal()  # journaled, the rows are written when the journal is applied
    appends = CONVERSATIONS * APPENDS_EACH
    assert kit.backend.rows["append_messages"] == appends
    assert kit.backend.calls["append_messages"] <= appends // 4
    assert kit.backend.calls["upsert_conversations"] == kit.backend.calls["append_messages"]


async def test_appends_to_one_conversation_in_one_batch_keep_call_order(kit: StoreKit) -> None:
    """Concurrent appends to the same conversation land in the order they were made, numbered consecutively."""
    record = await kit.store.create_conversation()
    kit.backend.reset()
    counts = await asyncio.gather(
        *(kit.store.append_messages(record.id, [msg(f"{i}a"), msg(f"{i}b")]) for i in range(10))
    )
    assert counts == [2 * (i + 1) for i in range(10)]
    assert texts(await kit.store.load_messages(record.id)) == [f"{i}{s}" for i in range(10) for s in "ab"]
    await kit.store.apply_journal()  # journaled, the rows are written when the journal is applied
    assert kit.backend.calls["append_messages"] == 1


async def test_failed_batch_fails_every_caller(kit: StoreKit) -> None:
    """A backend error fails every caller of the batch with that error, and nothing of the batch is visible."""
    skip_if_journaled(kit)
    store = kit.store
    ids = [(await store.create_conversation()).id for _ in range(6)]
    await store.append_messages(ids[0], [msg("before")])
    kit.backend.fail["append_messages"] = OSError("disk on fire")
    results = await asyncio.gather(*(store.append_messages(c, [msg("doomed")]) for c in ids), return_exceptions=True)
    assert all(isinstance(r, OSError) and str(r) == "disk on fire" for r in results)
    assert kit.backend.calls["append_messages"] == 2  # the good append, then the whole failed batch once
    assert texts(await store.load_messages(ids[0])) == ["before"]
    assert [(await store.get_conversation(c)).message_count for c in ids] == [1, 0, 0, 0, 0, 0]

    del kit.backend.fail["append_messages"]
    assert await store.append_messages(ids[0], [msg("after")]) == 2
    assert texts(await store.load_messages(ids[0])) == ["before", "after"]


@pytest.mark.parametrize("failing", ["upsert_conversations", "add_checkpoints"])
async def test_a_later_table_failing_fails_the_batch_too(kit: StoreKit, failing: str) -> None:
    """If the messages are written but a later table's write fails, callers get the error and the count stays."""
    skip_if_journaled(kit)
    record = await kit.store.create_conversation()
    kit.backend.fail[failing] = RuntimeError("late failure")
    with pytest.raises(RuntimeError, match="late failure"):
        await kit.store.append_messages(record.id, [msg("x")], checkpoint=True)
    assert (await kit.store.get_conversation(record.id)).message_count == 0
    assert await kit.store.list_checkpoints(record.id) == []
    del kit.backend.fail[failing]
    assert await kit.store.append_messages(record.id, [msg("y")]) == 1
    assert texts(await kit.store.load_messages(record.id)) == ["y"]


async def test_a_deleted_conversation_fails_only_its_own_append(kit: StoreKit) -> None:
    """An append queued for a conversation deleted before the commit gets NotFound; the rest of the batch commits."""
    store = kit.store
    keep = await store.create_conversation()
    gone = await store.create_conversation()
    pending = [
        asyncio.ensure_future(store.append_messages(keep.id, [msg("k")])),
        asyncio.ensure_future(store.append_messages(gone.id, [msg("g")])),
    ]
    await asyncio.sleep(0)  # both are queued, the commit window has not passed
    await store.delete_conversation(gone.id)
    keep_result, gone_result = await asyncio.gather(*pending, return_exceptions=True)
    assert keep_result == 1 and isinstance(gone_result, NotFound)


async def test_append_with_checkpoint_records_an_auto_checkpoint(kit: StoreKit) -> None:
    """append_messages(checkpoint=True) records an auto checkpoint at the new end, in the same commit."""
    record = await kit.store.create_conversation()
    kit.backend.reset()
    assert await kit.store.append_messages(record.id, [msg("a"), msg("b")], checkpoint=True) == 2
    (checkpoint,) = await kit.store.list_checkpoints(record.id)
    assert (checkpoint.kind, checkpoint.seq) == ("auto", 2)
    await kit.store.apply_journal()
    assert kit.backend.calls["add_checkpoints"] == 1 and kit.backend.calls["append_messages"] == 1


async def test_auto_checkpoints_off_when_disabled(make_kit: Callable[..., StoreKit]) -> None:
    """With checkpoints.enabled false, checkpoint=True records nothing."""
    kit = make_kit({"checkpoints.enabled": False})
    record = await kit.store.create_conversation()
    await kit.store.append_messages(record.id, [msg("a")], checkpoint=True)
    assert await kit.store.list_checkpoints(record.id) == []


async def test_flush_waits_for_pending_commits(make_kit: Callable[..., StoreKit]) -> None:
    """flush returns only after every append made before it is committed."""
    kit = make_kit(commit_window_s=0.05)
    record = await kit.store.create_conversation()
    task = asyncio.ensure_future(kit.store.append_messages(record.id, [msg("a")]))
    await asyncio.sleep(0)
    await kit.store.flush()
    assert task.done() and task.result() == 1
