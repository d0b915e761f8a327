"""Cost: checkpoint, rollback and branch write a constant number of rows, whatever the conversation's length."""

from __future__ import annotations

from collections import Counter

from tests.unit.store.helpers import StoreKit, conversation_with

SHORT, LONG = 10, 2000


async def writes_of_each_operation(kit: StoreKit, length: int) -> dict[str, tuple[Counter[str], Counter[str]]]:
    """The backend calls and rows written by create_checkpoint, rollback and branch on a conversation of ``length``."""
    store, backend = kit.store, kit.backend
    record = await conversation_with(store, length)
    await store.apply_journal()  # what is measured is each operation's own writes
    seen: dict[str, tuple[Counter[str], Counter[str]]] = {}

    backend.reset()
    checkpoint = await store.create_checkpoint(record.id)
    seen["create_checkpoint"] = (Counter(backend.calls), Counter(backend.rows))

    backend.reset()
    await store.rollback(checkpoint.id)
    seen["rollback"] = (Counter(backend.calls), Counter(backend.rows))

    backend.reset()
    await store.branch(checkpoint.id)
    seen["branch"] = (Counter(backend.calls), Counter(backend.rows))
    return seen


async def test_checkpoint_rollback_branch_cost_does_not_grow(kit: StoreKit) -> None:
    """The rows written by create_checkpoint, rollback and branch are the same at 10 and at 2,000 messages."""
    short = await writes_of_each_operation(kit, SHORT)
    long = await writes_of_each_operation(kit, LONG)
    assert short == long
    for calls, rows in short.values():
        assert "read_messages" not in calls and "append_messages" not in calls
        assert sum(rows.values()) <= 3
    assert sum(short["create_checkpoint"][1].values()) == 1


async def test_append_cost_is_the_appended_rows_only(kit: StoreKit) -> None:
    """Appending to a long conversation writes only the new messages and one conversation row."""
    record = await conversation_with(kit.store, LONG)
    again = (await kit.store.load_messages(record.id))[:2]
    await kit.store.apply_journal()
    kit.backend.reset()
    await kit.store.append_messages(record.id, again)
    await kit.store.apply_journal()  # journaled, the rows are written when the journal is applied
    assert kit.backend.rows == Counter({"append_messages": 2, "upsert_conversations": 1})
