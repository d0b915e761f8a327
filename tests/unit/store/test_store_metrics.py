"""The store records group commits and checkpoint operations in the metrics."""

from __future__ import annotations

import pytest

from penguin_actors.store import checkpoints as checkpoints_module
from penguin_actors.store import log as log_module
from penguin_actors.store.checkpoints import CheckpointStore
from tests.unit.recording_metrics import record_metrics
from tests.unit.store.helpers import conversation_with, msg


async def test_commits_and_checkpoint_operations_are_recorded(
    store: CheckpointStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each group commit records its batch size and time; create, auto, rollback, branch, cleanup are counted."""
    recorded = record_metrics(monkeypatch, log_module, checkpoints_module)
    record = await conversation_with(store, 2)
    manual = await store.create_checkpoint(record.id)
    await store.append_messages(record.id, [msg("m2")], checkpoint=True)
    await store.rollback(manual.id)
    await store.branch(manual.id)
    await store.cleanup()
    assert recorded.observed("penguin_store_commit_batch_size") == [1, 1]
    assert len(recorded.observed("penguin_store_commit_seconds")) == 2
    assert all(s >= 0 for s in recorded.observed("penguin_store_commit_seconds"))
    counts = {
        op: recorded.total("penguin_checkpoint_operations_total", operation=op)
        for op in ("create", "auto", "rollback", "branch", "cleanup")
    }
    assert counts == {"create": 1, "auto": 1, "rollback": 1, "branch": 1, "cleanup": 1}
    assert not recorded.metrics.failed
