"""Restart: a new store on the same data sees everything that was acknowledged."""

from __future__ import annotations

from pathlib import Path

import pytest

from penguin_actors.errors import NotFound
from penguin_actors.store.checkpoints import CheckpointStore
from tests.support import make_settings
from tests.unit.store.helpers import StoreKit, msg, skip_if_journaled, texts


async def test_reopen_after_close_sees_everything(kit: StoreKit) -> None:
    """After close, a new store on the same data has the conversations, messages, lineages and checkpoints."""
    store = kit.store
    a = await store.create_conversation("a", model_id="gpt")
    await store.append_messages(a.id, [msg("a0"), msg("a1")])
    checkpoint = await store.create_checkpoint(a.id, name="two")
    await store.append_messages(a.id, [msg("a2")])
    await store.rollback(checkpoint.id)
    await store.append_messages(a.id, [msg("a2'")])
    branch, _ = await store.branch(checkpoint.id, name="b")
    await store.append_messages(branch.id, [msg("b2")])
    renamed = await store.update_conversation(a.id, title="renamed")
    before = {c.id: c for c in (await store.list_conversations())[0]}
    checkpoints = await store.list_checkpoints()
    await store.close()

    again, _ = kit.new_store()
    assert {c.id: c for c in (await again.list_conversations())[0]} == before
    assert await again.get_conversation(a.id) == renamed
    assert texts(await again.load_messages(a.id)) == ["a0", "a1", "a2'"]
    assert texts(await again.load_messages(branch.id)) == ["a0", "a1", "b2"]
    assert await again.list_checkpoints() == checkpoints
    assert await again.stats() == await store.stats()


async def test_reopen_without_close_sees_acknowledged_writes(kit: StoreKit) -> None:
    """A store dropped without close (as in a crash) loses nothing it acknowledged."""
    record = await kit.store.create_conversation()
    for i in range(5):
        await kit.store.append_messages(record.id, [msg(f"m{i}")])
    checkpoint = await kit.store.create_checkpoint(record.id)
    again, _ = kit.new_store()
    assert texts(await again.load_messages(record.id)) == [f"m{i}" for i in range(5)]
    assert await again.get_checkpoint(checkpoint.id) == checkpoint


async def test_a_write_lost_half_way_is_overwritten(kit: StoreKit) -> None:
    """Messages stored by a failed commit (its count not) are replaced by the next append, also after a restart."""
    skip_if_journaled(kit)
    record = await kit.store.create_conversation()
    await kit.store.append_messages(record.id, [msg("kept")])
    kit.backend.fail["upsert_conversations"] = RuntimeError("disk full")
    with pytest.raises(RuntimeError, match="disk full"):
        await kit.store.append_messages(record.id, [msg("lost"), msg("lost too")])
    assert texts(await kit.store.load_messages(record.id)) == ["kept"]

    again, _ = kit.new_store()  # restart: the failed batch's rows are on disk beyond the count
    assert texts(await again.load_messages(record.id)) == ["kept"]
    assert await again.append_messages(record.id, [msg("retried")]) == 2
    assert texts(await again.load_messages(record.id)) == ["kept", "retried"]
    third, _ = kit.new_store()
    assert texts(await third.load_messages(record.id)) == ["kept", "retried"]


async def test_deletes_survive_a_restart(kit: StoreKit) -> None:
    """A deleted conversation stays deleted after a restart."""
    record = await kit.store.create_conversation()
    await kit.store.append_messages(record.id, [msg("x")])
    await kit.store.delete_conversation(record.id)
    again, _ = kit.new_store()
    with pytest.raises(NotFound):
        await again.get_conversation(record.id)
    assert await again.stats() == await kit.store.stats()


async def test_default_backend_is_lancedb_at_the_storage_uri(tmp_path: Path) -> None:
    """Without a backend, the store keeps its data at settings.resolved_storage_uri."""
    settings = make_settings(tmp_path / "ws")
    store = CheckpointStore(settings)
    record = await store.create_conversation()
    await store.append_messages(record.id, [msg("hello")])
    await store.close()
    assert Path(settings.resolved_storage_uri).is_dir()
    again = CheckpointStore(settings)
    assert texts(await again.load_messages(record.id)) == ["hello"]
    await again.close()
