"""Documents: small JSON records of other actors (tasks, projects …), stored by kind and id."""

from __future__ import annotations

import pytest

from penguin_actors.store.checkpoints import CheckpointStore
from tests.unit.store.helpers import StoreKit


async def test_put_then_load_returns_the_newest_of_each_id(store: CheckpointStore) -> None:
    """A document put again replaces the old one; kinds do not mix."""
    await store.put_documents("task", {"t1": '{"v": 1}', "t2": '{"v": 2}'})
    await store.put_documents("task", {"t1": '{"v": 3}'})
    await store.put_documents("project", {"t1": '{"p": 1}'})
    assert await store.load_documents("task") == {"t1": '{"v": 3}', "t2": '{"v": 2}'}
    assert await store.load_documents("project") == {"t1": '{"p": 1}'}
    assert await store.load_documents("nothing") == {}


async def test_delete_removes_only_the_named_documents_of_the_kind(store: CheckpointStore) -> None:
    """delete_documents counts the rows it removed and leaves other ids and kinds alone."""
    await store.put_documents("task", {"t1": "1", "t2": "2"})
    await store.put_documents("project", {"t1": "p"})
    assert await store.delete_documents("task", ["t1", "missing"]) == 1
    assert await store.load_documents("task") == {"t2": "2"}
    assert await store.load_documents("project") == {"t1": "p"}


async def test_documents_survive_compaction_and_restart(kit: StoreKit) -> None:
    """After optimize drops superseded versions and the store reopens, the newest documents remain."""
    for version in range(5):
        await kit.store.put_documents("task", {"t1": str(version), f"x{version}": "x"})
    await kit.store.optimize()
    assert await kit.store.load_documents("task") == {"t1": "4"} | {f"x{v}": "x" for v in range(5)}
    await kit.store.put_documents("task", {"t1": "5"})
    await kit.store.close()
    again, _ = kit.new_store()
    assert (await again.load_documents("task"))["t1"] == "5"


async def test_an_id_that_is_not_id_shaped_is_refused(store: CheckpointStore) -> None:
    """Ids and kinds are id-shaped (letters, digits, ``_.:-``), so they can never change a query."""
    with pytest.raises(ValueError, match="not a valid id"):
        await store.put_documents("task", {"a' OR '1'='1": "{}"})
    with pytest.raises(ValueError, match="not a valid id"):
        await store.load_documents("task'")
