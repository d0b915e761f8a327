"""Compaction: the backend is optimized in the background, never twice at once, and nothing changes for readers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from tests.unit.store.helpers import RecordingBackend, StoreKit, conversation_with, msg, texts


async def wait_for_optimize_calls(backend: RecordingBackend, count: int) -> None:
    for _ in range(500):
        if backend.calls["optimize"] >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"optimize was called {backend.calls['optimize']} times, expected {count}")


async def test_compacts_after_every_n_batches(make_kit: Callable[..., StoreKit]) -> None:
    """After optimize_every committed batches the backend's optimize runs in the background."""
    kit = make_kit(optimize_every=3)
    record = await kit.store.create_conversation()
    for i in range(2):
        await kit.store.append_messages(record.id, [msg(f"m{i}")])
        await kit.store.apply_journal()  # journaled, a batch is a journal applied
    assert kit.backend.calls["optimize"] == 0
    await kit.store.append_messages(record.id, [msg("m2")])
    await kit.store.apply_journal()
    await wait_for_optimize_calls(kit.backend, 1)
    await kit.store.close()
    assert texts(await kit.store.load_messages(record.id)) == ["m0", "m1", "m2"]


async def test_never_runs_concurrently_with_itself(make_kit: Callable[..., StoreKit]) -> None:
    """However often it is due or asked for, at most one optimize runs at a time, and appends go on meanwhile."""
    kit = make_kit(optimize_every=1)
    kit.backend.optimize_delay_s = 0.1
    record = await kit.store.create_conversation()
    for i in range(5):
        await kit.store.append_messages(record.id, [msg(f"m{i}")])
    await asyncio.gather(kit.store.optimize(), kit.store.optimize())
    assert kit.backend.max_concurrent_optimize == 1
    assert kit.backend.calls["optimize"] < 5 + 2
    assert texts(await kit.store.load_messages(record.id)) == [f"m{i}" for i in range(5)]


async def test_background_failure_does_not_fail_appends(
    make_kit: Callable[..., StoreKit], caplog: pytest.LogCaptureFixture
) -> None:
    """A failing background compaction is logged; appends keep working."""
    kit = make_kit(optimize_every=1)
    kit.backend.fail["optimize"] = RuntimeError("compaction broke")
    record = await kit.store.create_conversation()
    with caplog.at_level(logging.WARNING, logger="penguin_actors.store.checkpoints"):
        for i in range(3):
            assert await kit.store.append_messages(record.id, [msg(f"m{i}")]) == i + 1
        await wait_for_optimize_calls(kit.backend, 1)
        await asyncio.sleep(0.05)
    assert "compaction failed" in caplog.text
    with pytest.raises(RuntimeError, match="compaction broke"):
        await kit.store.optimize()


async def test_data_is_unchanged_by_optimize(kit: StoreKit) -> None:
    """After many small writes and an optimize, a restarted store reads the same conversations and messages."""
    store = kit.store
    ids = [(await conversation_with(store, 0)).id for _ in range(3)]
    for round_ in range(10):
        for conversation_id in ids:
            await store.append_messages(conversation_id, [msg(f"{round_}")])
    await store.update_conversation(ids[0], title="renamed")
    checkpoint = await store.create_checkpoint(ids[1])
    await store.rollback(checkpoint.id)
    before = (await store.list_conversations())[0]
    await store.optimize()
    await store.optimize()  # a second pass finds nothing superseded
    again, _ = kit.new_store()
    assert (await again.list_conversations())[0] == before
    for conversation_id in ids:
        assert texts(await again.load_messages(conversation_id)) == [str(i) for i in range(10)]
