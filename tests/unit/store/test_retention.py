"""Retention: cleanup thins and expires auto checkpoints and keeps everything else reachable."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from penguin_actors.store.checkpoints import CheckpointStore
from penguin_actors.store.records import CheckpointRecord
from tests.unit.store.helpers import Clock, StoreKit, conversation_with, msg, texts

HOUR = 3600.0
DAY = 86400.0


def on_the_hour(clock: Clock) -> float:
    """Move the clock to the start of the next clock hour; that time."""
    clock.now = (clock.now // HOUR + 1) * HOUR
    return clock.now


async def auto_at(store: CheckpointStore, clock: Clock, conversation_id: str, at: float) -> CheckpointRecord:
    clock.now = at
    return await store.create_checkpoint(conversation_id, kind="auto")


async def test_young_auto_checkpoints_are_all_kept(store: CheckpointStore, clock: Clock) -> None:
    """Auto checkpoints younger than retention_hours are all kept, however many."""
    record = await conversation_with(store, 1)
    start = on_the_hour(clock)
    for minute in range(6):
        await auto_at(store, clock, record.id, start + minute * 60)
    assert await store.cleanup(now=start + 23 * HOUR) == 0
    assert (await store.stats()).auto == 6


async def test_older_auto_checkpoints_are_thinned_to_one_per_hour(store: CheckpointStore, clock: Clock) -> None:
    """Past retention_hours, each conversation keeps only its newest auto checkpoint of each clock hour."""
    a = await conversation_with(store, 1)
    b = await conversation_with(store, 1)
    start = on_the_hour(clock)
    a_first = [await auto_at(store, clock, a.id, start + m * 60) for m in (0, 10, 59)]
    a_second = [await auto_at(store, clock, a.id, start + HOUR + m * 60) for m in (5, 6)]
    b_first = [await auto_at(store, clock, b.id, start + m * 60) for m in (1, 2)]
    manual = await store.create_checkpoint(a.id)
    assert await store.cleanup(now=start + 48 * HOUR) == 4
    kept = {c.id for c in await store.list_checkpoints()}
    assert kept == {a_first[-1].id, a_second[-1].id, b_first[-1].id, manual.id}
    assert await store.cleanup(now=start + 49 * HOUR) == 0  # thinning is stable


async def test_auto_checkpoints_past_max_age_are_deleted(store: CheckpointStore, clock: Clock) -> None:
    """No auto checkpoint older than max_age_days survives; manual, branch and rollback ones always do."""
    record = await conversation_with(store, 2)
    start = on_the_hour(clock)
    autos = [await auto_at(store, clock, record.id, start + h * HOUR) for h in range(3)]
    manual = await store.create_checkpoint(record.id)
    await store.append_messages(record.id, [msg("m2")])
    rollback = await store.rollback(manual.id)
    _, branch = await store.branch(manual.id)
    fresh = await auto_at(store, clock, record.id, start + 30 * DAY)
    before = await store.stats()
    deleted = await store.cleanup(now=start + 30 * DAY + 3 * HOUR)
    assert deleted == len(autos) == before.total - (await store.stats()).total
    kept = {c.id for c in await store.list_checkpoints()}
    assert kept == {manual.id, rollback.id, branch.id, fresh.id}


async def test_cleanup_uses_the_clock_by_default(make_kit: Callable[..., StoreKit]) -> None:
    """cleanup() without now uses the store's clock and the configured ages."""
    kit = make_kit({"checkpoints.retention_hours": 1, "checkpoints.max_age_days": 1})
    record = await conversation_with(kit.store, 1)
    await kit.store.create_checkpoint(record.id, kind="auto")
    kit.clock.advance(hours=2)
    assert await kit.store.cleanup() == 0  # thinned, but it is alone in its hour
    kit.clock.advance(days=1)
    assert await kit.store.cleanup() == 1
    assert await kit.store.list_checkpoints() == []


async def test_cleanup_never_loses_a_reachable_message(make_kit: Callable[..., StoreKit]) -> None:
    """After cleanup of every auto checkpoint, every conversation and kept checkpoint still has all its messages."""
    kit = make_kit({"checkpoints.retention_hours": 0, "checkpoints.max_age_days": 0})
    store = kit.store
    a = await conversation_with(store, 3, prefix="a")
    await store.create_checkpoint(a.id, kind="auto")
    manual = await store.create_checkpoint(a.id)
    await store.append_messages(a.id, [msg("a3")], checkpoint=True)
    await store.rollback(manual.id)
    await store.append_messages(a.id, [msg("x3")], checkpoint=True)
    branch, _ = await store.branch(manual.id)
    await store.append_messages(branch.id, [msg("b3")], checkpoint=True)
    gone = await conversation_with(store, 2, prefix="g")
    await store.create_checkpoint(gone.id, kind="auto")
    await store.delete_conversation(gone.id)

    expected = {a.id: ["a0", "a1", "a2", "x3"], branch.id: ["a0", "a1", "a2", "b3"]}
    kit.clock.advance(seconds=1)
    assert await store.cleanup() == 4
    assert (await store.stats()).auto == 0
    for conversation_id, history in expected.items():
        assert texts(await store.load_messages(conversation_id)) == history
    for checkpoint in await store.list_checkpoints():  # every kept checkpoint can still be branched from
        copy, _ = await store.branch(checkpoint.id)
        assert len(await store.load_messages(copy.id)) == checkpoint.seq
    again, _ = kit.new_store()
    for conversation_id, history in expected.items():
        assert texts(await again.load_messages(conversation_id)) == history


async def test_cleanup_also_runs_on_a_schedule(make_kit: Callable[..., StoreKit]) -> None:
    """Every checkpoints.cleanup_interval_s the store applies the retention policy by itself."""
    kit = make_kit(
        {"checkpoints.retention_hours": 1, "checkpoints.max_age_days": 1, "checkpoints.cleanup_interval_s": 0.05}
    )
    record = await conversation_with(kit.store, 1)
    await kit.store.create_checkpoint(record.id, kind="auto")
    kit.clock.advance(days=2)
    for _ in range(100):
        if not await kit.store.list_checkpoints():
            break
        await asyncio.sleep(0.02)
    assert await kit.store.list_checkpoints() == []
