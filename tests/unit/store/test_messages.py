"""Messages: what is appended is read back exactly, in order."""

from __future__ import annotations

import base64

import pytest

from penguin_actors.errors import NotFound
from penguin_actors.store.checkpoints import CheckpointStore
from penguin_actors.types import ImagePart, Message, TextPart, ToolCall
from tests.unit.store.helpers import StoreKit, msg, texts

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256))).decode()


def rich_history() -> list[Message]:
    return [
        Message(role="system", content="You are Penguin.", pinned=True, created_at=1.5),
        Message(
            role="user",
            content=[TextPart(text="What is in this picture? ünïcødé ✓"), ImagePart(media_type="image/png", data=PNG)],
            created_at=1_700_000_000.123456,
        ),
        Message(
            role="assistant",
            content="Let me look.",
            tool_calls=[
                ToolCall(
                    id="call_1", name="read_file", arguments={"path": "a.txt", "lines": [1, 2], "opts": {"x": None}}
                ),
                ToolCall(id="call_2", name="shell", arguments={"_raw": "not json"}),
            ],
            created_at=1_700_000_001.0,
        ),
        Message(role="tool", content="file text", tool_call_id="call_1", created_at=1_700_000_002.25),
        Message(role="tool", content="boom", tool_call_id="call_2", is_error=True, created_at=1_700_000_003.0),
        Message(role="assistant", content="", created_at=1_700_000_004.0),
    ]


async def test_append_then_load_returns_the_same_messages(store: CheckpointStore) -> None:
    """append then load returns the same messages in order: roles, parts, images, tool calls, timestamps."""
    record = await store.create_conversation()
    history = rich_history()
    assert await store.append_messages(record.id, history) == len(history)
    assert await store.load_messages(record.id) == history


async def test_appends_accumulate_in_order(store: CheckpointStore) -> None:
    """Successive appends continue the history; the count and last_active follow."""
    record = await store.create_conversation()
    assert await store.append_messages(record.id, [msg("a"), msg("b", role="assistant")]) == 2
    assert await store.append_messages(record.id, [msg("c")]) == 3
    assert texts(await store.load_messages(record.id)) == ["a", "b", "c"]
    after = await store.get_conversation(record.id)
    assert after.message_count == 3 and after.last_active > record.last_active


async def test_empty_append_is_a_no_op(kit: StoreKit) -> None:
    """Appending no messages returns the current count and writes nothing."""
    record = await kit.store.create_conversation()
    kit.backend.reset()
    assert await kit.store.append_messages(record.id, []) == 0
    assert kit.backend.rows_written == 0


async def test_new_conversation_loads_empty(store: CheckpointStore) -> None:
    """A new conversation has no messages."""
    record = await store.create_conversation()
    assert await store.load_messages(record.id) == []


async def test_conversations_do_not_mix(store: CheckpointStore) -> None:
    """Messages of one conversation never show up in another."""
    a = await store.create_conversation()
    b = await store.create_conversation()
    await store.append_messages(a.id, [msg("a1")])
    await store.append_messages(b.id, [msg("b1"), msg("b2")])
    await store.append_messages(a.id, [msg("a2")])
    assert texts(await store.load_messages(a.id)) == ["a1", "a2"]
    assert texts(await store.load_messages(b.id)) == ["b1", "b2"]


async def test_load_unknown_is_not_found(store: CheckpointStore) -> None:
    """Loading the messages of an unknown conversation raises NotFound."""
    with pytest.raises(NotFound):
        await store.load_messages("conv_unknown")


async def test_append_unknown_is_not_found(store: CheckpointStore) -> None:
    """Appending to an unknown conversation raises NotFound."""
    with pytest.raises(NotFound):
        await store.append_messages("conv_unknown", [msg("x")])
