"""Checkpoints: create, list, get, rollback (and undoing it), stats."""

from __future__ import annotations

import re

import pytest

from penguin_actors.errors import Invalid, NotFound
from penguin_actors.store.checkpoints import CheckpointStore
from penguin_actors.store.records import CheckpointStats
from tests.unit.store.helpers import Clock, conversation_with, msg, texts


async def test_create_points_at_the_current_end(store: CheckpointStore) -> None:
    """A checkpoint covers the conversation's messages at the time it is created."""
    record = await conversation_with(store, 3)
    checkpoint = await store.create_checkpoint(record.id, name=" Before refactoring ", description="why")
    assert re.fullmatch(r"ckpt_[0-9a-f]{12}", checkpoint.id)
    assert (checkpoint.conversation_id, checkpoint.lineage_id) == (record.id, record.lineage_id)
    assert (checkpoint.seq, checkpoint.message_count, checkpoint.kind) == (3, 3, "manual")
    assert (checkpoint.name, checkpoint.description) == ("Before refactoring", "why")
    assert await store.get_checkpoint(checkpoint.id) == checkpoint


async def test_list_newest_first_and_filtered(store: CheckpointStore, clock: Clock) -> None:
    """list_checkpoints returns newest first, for one conversation or all, at most limit."""
    a = await conversation_with(store, 1)
    b = await conversation_with(store, 1)
    first = await store.create_checkpoint(a.id, name="1")
    second = await store.create_checkpoint(b.id, name="2", kind="auto")
    third = await store.create_checkpoint(a.id, name="3")
    assert await store.list_checkpoints() == [third, second, first]
    assert await store.list_checkpoints(a.id) == [third, first]
    assert await store.list_checkpoints(limit=1) == [third]


async def test_list_of_unknown_conversation_is_not_found(store: CheckpointStore) -> None:
    """Listing the checkpoints of an unknown conversation raises NotFound."""
    with pytest.raises(NotFound):
        await store.list_checkpoints("conv_unknown")


async def test_only_auto_and_manual_are_created_directly(store: CheckpointStore) -> None:
    """create_checkpoint refuses the kinds that branch and rollback record."""
    record = await store.create_conversation()
    for kind in ("branch", "rollback"):
        with pytest.raises(Invalid):
            await store.create_checkpoint(record.id, kind=kind)


async def test_unknown_checkpoint_is_not_found(store: CheckpointStore) -> None:
    """get, rollback and branch of an unknown checkpoint raise NotFound."""
    with pytest.raises(NotFound):
        await store.get_checkpoint("ckpt_000000000000")
    with pytest.raises(NotFound):
        await store.rollback("ckpt_000000000000")
    with pytest.raises(NotFound):
        await store.branch("ckpt_000000000000")


async def test_rollback_restores_the_checkpoint_messages(store: CheckpointStore) -> None:
    """After rollback the conversation's messages are exactly those at the checkpoint."""
    record = await conversation_with(store, 3)
    checkpoint = await store.create_checkpoint(record.id)
    await store.append_messages(record.id, [msg("m3"), msg("m4")])
    marker = await store.rollback(checkpoint.id)
    assert texts(await store.load_messages(record.id)) == ["m0", "m1", "m2"]
    after = await store.get_conversation(record.id)
    assert after.message_count == 3 and after.lineage_id != record.lineage_id
    assert (marker.kind, marker.seq, marker.lineage_id, marker.conversation_id) == (
        "rollback",
        5,
        record.lineage_id,
        record.id,
    )


async def test_appends_after_rollback_leave_the_old_lineage_alone(store: CheckpointStore) -> None:
    """New messages after a rollback do not disturb what the old lineage's checkpoints point at."""
    record = await conversation_with(store, 2)
    early = await store.create_checkpoint(record.id)
    await store.append_messages(record.id, [msg("old2"), msg("old3")])
    late = await store.create_checkpoint(record.id)
    await store.rollback(early.id)
    await store.append_messages(record.id, [msg("new2"), msg("new3"), msg("new4")])
    assert texts(await store.load_messages(record.id)) == ["m0", "m1", "new2", "new3", "new4"]
    await store.rollback(late.id)
    assert texts(await store.load_messages(record.id)) == ["m0", "m1", "old2", "old3"]


async def test_rollback_of_the_rollback_checkpoint_undoes_it(store: CheckpointStore) -> None:
    """Rolling back to the rollback checkpoint restores the pre-rollback messages."""
    record = await conversation_with(store, 2)
    checkpoint = await store.create_checkpoint(record.id)
    await store.append_messages(record.id, [msg("m2"), msg("m3")])
    marker = await store.rollback(checkpoint.id)
    await store.append_messages(record.id, [msg("other")])
    await store.rollback(marker.id)
    assert texts(await store.load_messages(record.id)) == ["m0", "m1", "m2", "m3"]
    await store.append_messages(record.id, [msg("m4")])
    assert texts(await store.load_messages(record.id)) == ["m0", "m1", "m2", "m3", "m4"]


async def test_rollback_to_empty_start(store: CheckpointStore) -> None:
    """A checkpoint of an empty conversation rolls it back to no messages."""
    record = await store.create_conversation()
    empty = await store.create_checkpoint(record.id)
    await store.append_messages(record.id, [msg("a")])
    await store.rollback(empty.id)
    assert await store.load_messages(record.id) == []
    assert await store.append_messages(record.id, [msg("b")]) == 1
    assert texts(await store.load_messages(record.id)) == ["b"]


async def test_checkpoint_of_deleted_conversation_cannot_be_rolled_back(store: CheckpointStore) -> None:
    """Rollback to a checkpoint whose conversation was deleted raises NotFound."""
    record = await conversation_with(store, 1)
    checkpoint = await store.create_checkpoint(record.id)
    await store.delete_conversation(record.id)
    with pytest.raises(NotFound):
        await store.rollback(checkpoint.id)


async def test_stats_count_each_kind(store: CheckpointStore) -> None:
    """stats counts checkpoints in total and by kind."""
    record = await conversation_with(store, 1)
    assert await store.stats() == CheckpointStats()
    await store.create_checkpoint(record.id, kind="auto")
    await store.append_messages(record.id, [msg("x")], checkpoint=True)
    manual = await store.create_checkpoint(record.id)
    await store.rollback(manual.id)
    await store.branch(manual.id)
    assert await store.stats() == CheckpointStats(total=5, auto=2, manual=1, branch=1, rollback=1)
