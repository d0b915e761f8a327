"""Token usage: committed with the reply on the conversation's record, priced, kept across restarts and deletes,
and migrated once from an earlier version's usage.json."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from penguin_actors.store.checkpoints import CheckpointStore
from penguin_actors.types import Usage
from tests.unit.store.helpers import StoreKit, msg

CATALOG = [
    {"id": "gpt", "name": "openai/gpt-x", "provider": "openai", "price_input_per_mtok": 2, "price_output_per_mtok": 8},
    {"id": "sim", "name": "sim/penguin-sim", "provider": "sim"},
]
PRICED = {"models.catalog": CATALOG}


async def spend(store: CheckpointStore, conversation_id: str, model: str, tokens_in: int, tokens_out: int) -> None:
    """One model call's reply, committed with its usage."""
    usage = Usage(input_tokens=tokens_in, output_tokens=tokens_out)
    await store.append_messages(conversation_id, [msg("reply", "assistant")], usage=(model, usage))


async def test_usage_adds_up_per_conversation_and_model_and_survives_a_restart(
    make_kit: Callable[..., StoreKit],
) -> None:
    """Usage adds up per conversation and model, is priced, and is the same after the store opens again."""
    kit = make_kit(PRICED)
    c1, c2 = await kit.store.create_conversation(), await kit.store.create_conversation()
    await spend(kit.store, c1.id, "gpt", 1000, 500)
    await spend(kit.store, c1.id, "gpt", 1000, 500)
    await spend(kit.store, c2.id, "sim", 10, 5)
    again, _ = kit.new_store()
    summary = await again.token_usage(c1.id)
    assert summary["total"] == {"input": 2010, "output": 1005}
    assert summary["session"] == {"input": 2000, "output": 1000} and summary["session_id"] == c1.id
    assert summary["by_model"]["gpt"] == {"input": 2000, "output": 1000, "cost_usd": pytest.approx(0.012)}
    assert summary["by_model"]["sim"]["cost_usd"] is None
    assert summary["total_cost_usd"] == pytest.approx(0.012)
    assert summary == await kit.store.token_usage(c1.id)


async def test_the_session_is_the_most_recently_active_conversation(store: CheckpointStore) -> None:
    """Without a conversation id, the session is the conversation that was active last."""
    assert (await store.token_usage())["session"] == {"input": 0, "output": 0}
    a, b = await store.create_conversation(), await store.create_conversation()
    await spend(store, a.id, "sim", 1, 1)
    await spend(store, b.id, "sim", 2, 2)
    assert (await store.token_usage())["session_id"] == b.id
    assert (await store.token_usage())["session"] == {"input": 2, "output": 2}
    unknown = await store.token_usage("conv_never_made")
    assert unknown["session_id"] == "conv_never_made" and unknown["session"] == {"input": 0, "output": 0}


async def test_usage_alone_is_committed_without_messages(store: CheckpointStore) -> None:
    """A model call that added no message still counts its tokens."""
    record = await store.create_conversation()
    await store.append_messages(record.id, [], usage=("sim", Usage(input_tokens=4, output_tokens=0)))
    assert (await store.token_usage(record.id))["session"] == {"input": 4, "output": 0}
    assert (await store.get_conversation(record.id)).message_count == 0


async def test_a_deleted_conversations_usage_stays_in_the_totals(make_kit: Callable[..., StoreKit]) -> None:
    """Deleting a conversation takes it out of the sessions, not out of the totals, also after a restart."""
    kit = make_kit()
    gone, kept = await kit.store.create_conversation(), await kit.store.create_conversation()
    await spend(kit.store, gone.id, "sim", 7, 3)
    await spend(kit.store, kept.id, "sim", 1, 1)
    await kit.store.delete_conversation(gone.id)
    again, _ = kit.new_store()
    for store in (kit.store, again):
        assert (await store.token_usage())["total"] == {"input": 8, "output": 4}


async def test_an_old_usage_file_is_migrated_once(make_kit: Callable[..., StoreKit]) -> None:
    """usage.json and its journal become the records' usage at the first open, and are never counted again."""
    kit = make_kit()
    record = await kit.store.create_conversation()
    state_dir = kit.settings.workspace / ".penguin"
    state_dir.mkdir(parents=True, exist_ok=True)
    snapshot = {
        "generation": 1,
        "by_conversation": {
            record.id: {"sim": {"input_tokens": 10, "output_tokens": 5}},
            "conv_deleted_long_ago": {"sim": {"input_tokens": 100, "output_tokens": 50}},
        },
        "last_active": {record.id: 1.0},
    }
    (state_dir / "usage.json").write_text(json.dumps(snapshot))
    lines = [{"c": record.id, "m": "sim", "i": 1, "o": 1, "at": 2.0}, {"forget": "x"}]
    journal = "\n".join(json.dumps(line) for line in lines) + '\n{"c": "torn'
    (state_dir / "usage.journal.1.jsonl").write_text(journal)
    # An older generation's journal is already in the snapshot: it is not counted.
    (state_dir / "usage.journal.0.jsonl").write_text(json.dumps(lines[0]) + "\n")
    first, _ = kit.new_store()
    expected = {"total": {"input": 111, "output": 56}, "session": {"input": 11, "output": 6}}
    summary = await first.token_usage(record.id)
    assert {k: summary[k] for k in expected} == expected
    assert not (state_dir / "usage.json").exists() and (state_dir / "usage.json.migrated").exists()
    await first.close()
    again, _ = kit.new_store()
    summary = await again.token_usage(record.id)
    assert {k: summary[k] for k in expected} == expected
