"""Branches: a new conversation from a checkpoint, with a history of its own."""

from __future__ import annotations

import pytest

from penguin_actors.errors import Conflict
from penguin_actors.store.checkpoints import CheckpointStore
from penguin_actors.store.records import BranchOrigin, CheckpointRecord
from tests.unit.store.helpers import StoreKit, conversation_with, msg, texts


async def test_branch_starts_from_the_checkpoint(store: CheckpointStore) -> None:
    """A branch is a listed conversation holding the checkpoint's messages, and a branch checkpoint marks the source."""
    source = await conversation_with(store, 2)
    await store.update_conversation(source.id, title="Source", model_id="gpt")
    checkpoint = await store.create_checkpoint(source.id)
    await store.append_messages(source.id, [msg("later")])
    branch, marker = await store.branch(checkpoint.id, description="try another way")
    assert (branch.title, branch.model_id, branch.message_count) == ("Branch of Source", "gpt", 2)
    assert branch.branch_of == BranchOrigin(conversation_id=source.id, checkpoint_id=checkpoint.id)
    assert texts(await store.load_messages(branch.id)) == ["m0", "m1"]
    assert (marker.kind, marker.conversation_id, marker.seq) == ("branch", source.id, 2)
    assert (marker.lineage_id, marker.description) == (checkpoint.lineage_id, "try another way")
    assert branch.id in [c.id for c in (await store.list_conversations())[0]]
    assert marker in await store.list_checkpoints(source.id)


async def test_branch_name_is_its_title(store: CheckpointStore) -> None:
    """A branch's name becomes its title and the branch checkpoint's name."""
    source = await conversation_with(store, 1)
    branch, marker = await store.branch((await store.create_checkpoint(source.id)).id, name="Alternative approach")
    assert branch.title == marker.name == "Alternative approach"


async def test_histories_are_independent_both_ways(store: CheckpointStore) -> None:
    """Appends to the branch do not show in the source, nor the source's in the branch."""
    source = await conversation_with(store, 2)
    branch, _ = await store.branch((await store.create_checkpoint(source.id)).id)
    await store.append_messages(branch.id, [msg("b2")])
    await store.append_messages(source.id, [msg("s2"), msg("s3")])
    await store.append_messages(branch.id, [msg("b3")])
    assert texts(await store.load_messages(source.id)) == ["m0", "m1", "s2", "s3"]
    assert texts(await store.load_messages(branch.id)) == ["m0", "m1", "b2", "b3"]


async def test_branch_of_a_branch(store: CheckpointStore) -> None:
    """A branch can be branched again; each of the three keeps its own history."""
    source = await conversation_with(store, 1)
    first, _ = await store.branch((await store.create_checkpoint(source.id)).id)
    await store.append_messages(first.id, [msg("f1"), msg("f2")])
    at_f1 = await store.create_checkpoint(first.id)
    await store.append_messages(first.id, [msg("f3")])
    await store.rollback(at_f1.id)  # the first branch itself forks again
    second, _ = await store.branch(at_f1.id)
    await store.append_messages(second.id, [msg("s3")])
    await store.append_messages(first.id, [msg("f3'")])
    assert texts(await store.load_messages(source.id)) == ["m0"]
    assert texts(await store.load_messages(first.id)) == ["m0", "f1", "f2", "f3'"]
    assert texts(await store.load_messages(second.id)) == ["m0", "f1", "f2", "s3"]


async def test_deleting_the_source_keeps_the_branch(kit: StoreKit) -> None:
    """Deleting the source conversation keeps every message its branch shares with it, also after a restart."""
    source = await conversation_with(kit.store, 3)
    branch, _ = await kit.store.branch((await kit.store.create_checkpoint(source.id)).id)
    await kit.store.append_messages(branch.id, [msg("b3")])
    await kit.store.delete_conversation(source.id)
    assert texts(await kit.store.load_messages(branch.id)) == ["m0", "m1", "m2", "b3"]
    again, _ = kit.new_store()
    assert texts(await again.load_messages(branch.id)) == ["m0", "m1", "m2", "b3"]


async def test_branch_from_a_checkpoint_that_outlived_its_conversation(kit: StoreKit) -> None:
    """A checkpoint left by an interrupted delete can still be branched from while its messages are stored."""
    source = await conversation_with(kit.store, 2)
    checkpoint = await kit.store.create_checkpoint(source.id)
    kit.backend.fail["delete_checkpoints"] = RuntimeError("interrupted")
    with pytest.raises(RuntimeError):
        await kit.store.delete_conversation(source.id)
    del kit.backend.fail["delete_checkpoints"]
    branch, marker = await kit.store.branch(checkpoint.id)
    assert texts(await kit.store.load_messages(branch.id)) == ["m0", "m1"]
    assert branch.branch_of == BranchOrigin(conversation_id=source.id, checkpoint_id=checkpoint.id)
    assert (marker.kind, marker.conversation_id, marker.seq) == ("branch", branch.id, 2)


async def test_branch_whose_messages_are_gone_is_a_conflict(kit: StoreKit) -> None:
    """Branching from a checkpoint whose messages are no longer stored raises Conflict."""
    await kit.store.create_conversation()
    stray = CheckpointRecord(
        id="ckpt_0123456789ab",
        conversation_id="conv_0123456789ab",
        lineage_id="lin_0123456789ab",
        seq=2,
        kind="manual",
        created_at=kit.clock(),
        message_count=2,
    )
    await kit.backend.add_checkpoints([stray])
    again, _ = kit.new_store()
    with pytest.raises(Conflict, match="no longer stored"):
        await again.branch(stray.id)
