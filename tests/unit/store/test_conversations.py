"""Conversations: create, get, list (paging, order), update and delete."""

from __future__ import annotations

import re

import pytest

from penguin_actors.errors import Invalid, NotFound
from penguin_actors.store.checkpoints import CheckpointStore
from penguin_actors.store.records import DEFAULT_TITLE
from tests.unit.store.helpers import Clock, StoreKit, conversation_with, msg


async def test_create_then_get(store: CheckpointStore) -> None:
    """A created conversation is returned by get with its title, model and no messages."""
    record = await store.create_conversation("Plans", model_id="claude")
    assert re.fullmatch(r"conv_[0-9a-f]{12}", record.id)
    assert (record.title, record.model_id, record.message_count, record.branch_of) == ("Plans", "claude", 0, None)
    assert record.created_at == record.last_active
    assert await store.get_conversation(record.id) == record


async def test_default_title(store: CheckpointStore) -> None:
    """Without a title a conversation is called "New conversation" and has no model override."""
    record = await store.create_conversation()
    assert (record.title, record.display_title, record.model_id) == (None, DEFAULT_TITLE, None)


async def test_blank_title_is_invalid(store: CheckpointStore) -> None:
    """A blank title is refused with Invalid."""
    with pytest.raises(Invalid):
        await store.create_conversation("   ")


async def test_get_unknown_is_not_found(store: CheckpointStore) -> None:
    """Getting an unknown conversation raises NotFound naming it."""
    with pytest.raises(NotFound, match="conv_nope"):
        await store.get_conversation("conv_nope")


async def test_list_newest_activity_first_with_paging(store: CheckpointStore, clock: Clock) -> None:
    """list_conversations orders by last_active, newest first, pages with limit/offset and reports the total."""
    ids = [(await store.create_conversation(f"c{i}")).id for i in range(5)]
    clock.advance(seconds=10)
    await store.append_messages(ids[1], [msg("bump")])
    expected = [ids[1], ids[4], ids[3], ids[2], ids[0]]
    page, total = await store.list_conversations(limit=2)
    assert total == 5 and [c.id for c in page] == expected[:2]
    page, total = await store.list_conversations(limit=2, offset=2)
    assert [c.id for c in page] == expected[2:4]
    page, _ = await store.list_conversations(limit=50, offset=4)
    assert [c.id for c in page] == expected[4:]
    assert await store.list_conversations(offset=10) == ([], 5)
    assert await store.most_recent_conversation() == ids[1]


async def test_list_rejects_bad_paging(store: CheckpointStore) -> None:
    """A limit below 1 or a negative offset is Invalid."""
    with pytest.raises(Invalid):
        await store.list_conversations(limit=0)
    with pytest.raises(Invalid):
        await store.list_conversations(offset=-1)


async def test_most_recent_of_none_is_none(store: CheckpointStore) -> None:
    """With no conversations, most_recent_conversation is None."""
    assert await store.most_recent_conversation() is None


async def test_update_title_and_model(store: CheckpointStore) -> None:
    """update_conversation renames, sets and clears the model override, and keeps the rest."""
    record = await store.create_conversation("old")
    renamed = await store.update_conversation(record.id, title="new", model_id="gpt")
    assert (renamed.title, renamed.model_id, renamed.created_at) == ("new", "gpt", record.created_at)
    kept = await store.update_conversation(record.id, title="newer")
    assert (kept.title, kept.model_id) == ("newer", "gpt")
    cleared = await store.update_conversation(record.id, clear_model=True)
    assert cleared.model_id is None
    assert await store.get_conversation(record.id) == cleared


async def test_update_model_and_clear_together_is_invalid(store: CheckpointStore) -> None:
    """Setting a model and clearing it in one call is Invalid."""
    record = await store.create_conversation()
    with pytest.raises(Invalid):
        await store.update_conversation(record.id, model_id="gpt", clear_model=True)


async def test_update_unknown_is_not_found(store: CheckpointStore) -> None:
    """Updating an unknown conversation raises NotFound."""
    with pytest.raises(NotFound):
        await store.update_conversation("conv_000000000000", title="x")


async def test_delete(store: CheckpointStore) -> None:
    """A deleted conversation is gone from get, list, and its checkpoints are gone too."""
    keep = await store.create_conversation("keep")
    gone = await store.create_conversation("gone")
    await store.append_messages(gone.id, [msg("a")])
    checkpoint = await store.create_checkpoint(gone.id)
    await store.delete_conversation(gone.id)
    with pytest.raises(NotFound):
        await store.get_conversation(gone.id)
    with pytest.raises(NotFound):
        await store.get_checkpoint(checkpoint.id)
    with pytest.raises(NotFound):
        await store.load_messages(gone.id)
    assert [c.id for c in (await store.list_conversations())[0]] == [keep.id]
    with pytest.raises(NotFound):
        await store.delete_conversation(gone.id)


async def test_append_to_deleted_is_not_found(store: CheckpointStore) -> None:
    """Appending to a deleted conversation raises NotFound."""
    record = await store.create_conversation()
    await store.delete_conversation(record.id)
    with pytest.raises(NotFound):
        await store.append_messages(record.id, [msg("late")])


async def test_delete_removes_unreachable_messages(kit: StoreKit) -> None:
    """Deleting a conversation deletes the stored messages no other conversation or checkpoint reaches."""
    store = kit.store
    gone = await conversation_with(store, 3)
    checkpoint = await store.create_checkpoint(gone.id)
    await store.append_messages(gone.id, [msg("x")])
    await store.rollback(checkpoint.id)
    await store.append_messages(gone.id, [msg("y")])
    lineages = {gone.lineage_id, (await store.get_conversation(gone.id)).lineage_id}
    other = await conversation_with(store, 2)
    await store.delete_conversation(gone.id)
    assert await kit.backend.read_messages([(lineage, 0, None) for lineage in lineages]) == []
    assert len(await kit.backend.read_messages([(other.lineage_id, 0, None)])) == 2
