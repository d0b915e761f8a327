"""Memory: notes and message texts found by full-text search, with the limits every caller meets.

These run without ``memory.embeddings`` (the default): search by meaning is ``test_recall.py``'s.
"""

from __future__ import annotations

import pytest

from penguin_actors.errors import Invalid
from penguin_actors.store.checkpoints import CheckpointStore
from penguin_actors.store.memory.notes import MAX_HITS, MAX_NOTE_CHARS, MAX_QUERY_CHARS
from penguin_actors.store.rows import TextQuery
from tests.unit.store.helpers import StoreKit, msg


async def test_a_note_is_found_by_a_word_in_another_form(store: CheckpointStore) -> None:
    """add_note then search_memory with a stemmed form of one of its words finds it, with its provenance."""
    a = await store.create_conversation()
    note = await store.add_note("  The deploy key lives in vault/ops/penguins  ", a.id)
    assert note.text == "The deploy key lives in vault/ops/penguins"
    hits = (await store.search_memory(TextQuery("penguin deploying"))).hits
    assert [(h.source, h.ref, h.conversation_id, h.text) for h in hits] == [("note", note.id, a.id, note.text)]
    assert hits[0].created_at == note.created_at and hits[0].score > 0


async def test_messages_are_searched_user_and_assistant_only(store: CheckpointStore) -> None:
    """A user or assistant message matches; a tool result with the same word does not."""
    a = await store.create_conversation()
    await store.append_messages(
        a.id,
        [
            msg("what colour is the kayak?"),
            msg("The kayak is orange.", role="assistant"),
            msg("kayak kayak kayak", role="tool", tool_call_id="t1"),
        ],
    )
    hits = (await store.search_memory(TextQuery("kayak", sources=("message",)))).hits
    assert sorted((h.role, h.ref) for h in hits) == [
        ("assistant", f"{(await store.get_conversation(a.id)).lineage_id}:1"),
        ("user", f"{(await store.get_conversation(a.id)).lineage_id}:0"),
    ]
    assert {h.conversation_id for h in hits} == {a.id}


async def test_search_scopes_to_or_excludes_a_conversation(store: CheckpointStore) -> None:
    """conversation_id keeps only that conversation's hits; exclude_conversation drops them, notes included."""
    a, b = await store.create_conversation(), await store.create_conversation()
    await store.append_messages(a.id, [msg("zebra in a")])
    await store.append_messages(b.id, [msg("zebra in b")])
    await store.add_note("zebra note of a", a.id)
    await store.add_note("zebra note of nobody")
    only_a = (await store.search_memory(TextQuery("zebra", conversation_id=a.id))).hits
    assert sorted(h.text for h in only_a) == ["zebra in a", "zebra note of a"]
    not_a = (await store.search_memory(TextQuery("zebra", exclude_conversation=a.id))).hits
    assert sorted(h.text for h in not_a) == ["zebra in b", "zebra note of nobody"]


async def test_notes_come_first_and_the_limit_is_per_source(store: CheckpointStore) -> None:
    """Hits are notes then messages, best first within each, at most ``limit`` of each."""
    a = await store.create_conversation()
    await store.append_messages(a.id, [msg(f"otter {'otter ' * i}{i}") for i in range(6)])
    for i in range(4):
        await store.add_note(f"otter note {i}")
    hits = (await store.search_memory(TextQuery("otter", limit=3))).hits
    assert [h.source for h in hits] == ["note"] * 3 + ["message"] * 3
    for source in ("note", "message"):
        scores = [h.score for h in hits if h.source == source]
        assert scores == sorted(scores, reverse=True)


async def test_nothing_matches_and_query_syntax_is_plain_text(store: CheckpointStore) -> None:
    """Words nowhere stored, stop words only and query-language characters all give no hits, never an error."""
    await store.add_note("walrus facts")
    for text in ("nonexistentword", "the", '"unterminated', "walrus AND (", "*", "a'b; DROP TABLE notes"):
        hits = (await store.search_memory(TextQuery(text))).hits
        assert all("walrus" in h.text for h in hits), text
    assert [h.text for h in (await store.search_memory(TextQuery("walrus AND ("))).hits] == ["walrus facts"]


async def test_search_sees_writes_before_and_after_compaction(store: CheckpointStore) -> None:
    """A note written after the last compaction is found, and still found after the next one."""
    first = await store.add_note("heron one")
    await store.optimize()
    second = await store.add_note("heron two")
    assert {h.ref for h in (await store.search_memory(TextQuery("heron"))).hits} == {first.id, second.id}
    await store.optimize()
    assert {h.ref for h in (await store.search_memory(TextQuery("heron"))).hits} == {first.id, second.id}


async def test_notes_and_the_index_survive_a_restart(kit: StoreKit) -> None:
    """A new store on the same data finds the notes and messages the old one stored."""
    a = await kit.store.create_conversation()
    await kit.store.append_messages(a.id, [msg("badger sett")])
    note = await kit.store.add_note("badger note")
    await kit.store.close()
    again, _ = kit.new_store()
    hits = (await again.search_memory(TextQuery("badger"))).hits
    assert [(h.source, h.text) for h in hits] == [("note", note.text), ("message", "badger sett")]


async def test_a_deleted_conversations_messages_are_not_found_but_its_notes_are(store: CheckpointStore) -> None:
    """Deleting a conversation deletes its messages from memory; notes it wrote outlive it."""
    a = await store.create_conversation()
    await store.append_messages(a.id, [msg("lynx message")])
    await store.add_note("lynx note", a.id)
    await store.delete_conversation(a.id)
    assert [h.text for h in (await store.search_memory(TextQuery("lynx"))).hits] == ["lynx note"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", "blank"), ("   \n", "blank"), ("x" * (MAX_NOTE_CHARS + 1), "at most")],
)
async def test_a_bad_note_is_refused_and_nothing_is_written(kit: StoreKit, text: str, problem: str) -> None:
    """A blank or too long note is Invalid, saying why, and writes no row."""
    with pytest.raises(Invalid, match=problem):
        await kit.store.add_note(text)
    assert kit.backend.rows["add_notes"] == 0


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        (TextQuery(""), "needs some words"),
        (TextQuery("  "), "needs some words"),
        (TextQuery("x" * (MAX_QUERY_CHARS + 1)), "at most"),
        (TextQuery("x", limit=0), "1 to"),
        (TextQuery("x", limit=MAX_HITS + 1), "1 to"),
        (TextQuery("x", sources=()), "sources"),
        (TextQuery("x", sources=("files",)), "sources"),  # type: ignore[arg-type]
    ],
)
async def test_a_bad_query_is_refused(store: CheckpointStore, query: TextQuery, problem: str) -> None:
    """An empty or too long query, a limit out of range or an unknown source is Invalid."""
    with pytest.raises(Invalid, match=problem):
        await store.search_memory(query)
