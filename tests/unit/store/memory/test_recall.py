"""Memory search by meaning: vectors kept in the background, fused with full-text hits, and a search that
falls back to words when the embedding provider fails. A real LanceDB, the real openai SDK, the loopback fake."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import lancedb
import pytest

from penguin_actors.config import Settings
from penguin_actors.store.memory.recall import RRF_K, fuse
from penguin_actors.store.rows import TextHit, TextQuery
from penguin_actors.testing.fake_llm import FakeLLM
from tests.support import FAKE_KEY, FAKE_KEY_ENV, make_settings
from tests.unit.store.helpers import StoreKit, indexed, msg

MEANT = "The deploy key lives in the ops vault"
QUESTION = "where are credentials kept"  # shares no word with MEANT


def with_embeddings(kit: StoreKit, llm: FakeLLM, **overrides: object) -> Settings:
    """The kit's settings with embeddings on (for ``kit.new_store``)."""
    return make_settings(kit.root / "workspace", **embeddings(llm, **overrides))


def embeddings(llm: FakeLLM, **overrides: object) -> dict[str, object]:
    """Settings overrides that turn on embeddings with the fake as the provider."""
    section = {
        "model": "fake-embed",
        "base_url": f"{llm.base_url}/v1",
        "api_key_env": FAKE_KEY_ENV,
        "dimensions": 256,
        "retry_interval_s": 0.05,
    }
    return {"memory.embeddings": section | overrides}


async def embedded_refs(kit: StoreKit) -> list[str]:
    """The refs in the embeddings table, read through a connection of the test's own."""
    db = await lancedb.connect_async(str(kit.root / "lance"))
    table = await db.open_table("embeddings")
    refs: list[str] = (await table.query().select(["ref"]).to_arrow()).column("ref").to_pylist()
    return sorted(refs)


def embedding_inputs(llm: FakeLLM) -> list[list[str]]:
    return [r.body["input"] for r in llm.requests if r.path == "/v1/embeddings"]


def hit(source: str, ref: str) -> TextHit:
    return TextHit(source, ref, None, None, 0.0, ref, 1.0)  # type: ignore[arg-type]


# --- fusion --------------------------------------------------------------------------------------------------------


def test_fusion_sums_reciprocal_ranks_per_source_and_keeps_the_limit() -> None:
    """A hit both rankings hold beats hits only one holds; notes come before messages; ``limit`` per source."""
    words = [hit("note", "a"), hit("note", "b"), hit("message", "m1"), hit("message", "m2")]
    meaning = [hit("message", "m3"), hit("note", "c"), hit("note", "b"), hit("message", "m2")]
    fused = fuse([words, meaning], limit=2)
    assert [(h.source, h.ref) for h in fused] == [("note", "b"), ("note", "a"), ("message", "m2"), ("message", "m1")]
    assert fused[0].score == pytest.approx(1 / (RRF_K + 2) + 1 / (RRF_K + 2))
    assert fused[1].score == pytest.approx(1 / (RRF_K + 1))


def test_fusion_breaks_ties_by_the_better_rank_then_the_earlier_ranking() -> None:
    """Equal sums go to the hit with the best single rank, then to the one of the earlier ranking."""
    fused = fuse([[hit("note", "w1"), hit("note", "w2")], [hit("note", "v1"), hit("note", "v2")]], limit=4)
    assert [h.ref for h in fused] == ["w1", "v1", "w2", "v2"]


def test_fusion_of_one_ranking_keeps_its_order_and_fields() -> None:
    ranking = [hit("message", "x"), hit("note", "n"), hit("message", "y")]
    assert [(h.ref, h.text) for h in fuse([ranking], limit=5)] == [("n", "n"), ("x", "x"), ("y", "y")]
    assert fuse([[], []], limit=3) == []


# --- the store -----------------------------------------------------------------------------------------------------


async def test_without_embeddings_nothing_is_embedded(kit: StoreKit, llm: FakeLLM) -> None:
    """The default: no embeddings table, no provider call, full-text hits and no warning, as before."""
    a = await kit.store.create_conversation()
    await kit.store.append_messages(a.id, [msg("puffin colony")])
    await kit.store.add_note("puffin note")
    result = await kit.store.search_memory(TextQuery("puffin"))
    assert sorted(h.text for h in result.hits) == ["puffin colony", "puffin note"] and result.warning is None
    assert llm.requests == [] and kit.backend.calls["open_embeddings"] == 0
    assert "embeddings" not in (await (await lancedb.connect_async(str(kit.root / "lance"))).list_tables()).tables


async def test_a_note_is_found_by_meaning_that_full_text_misses(
    make_kit: Callable[..., StoreKit], llm: FakeLLM
) -> None:
    """A query sharing no word with a note finds it once the provider says they mean the same."""
    llm.embeddings.alias(QUESTION, like=MEANT)
    store = make_kit(embeddings(llm)).store
    note = await store.add_note(MEANT)
    await store.add_note("Lunch is at noon on Fridays")
    await indexed(store)
    result = await store.search_memory(TextQuery(QUESTION))
    assert [(h.source, h.ref, h.text) for h in result.hits] == [("note", note.id, MEANT)]
    assert result.warning is None
    llm.embeddings.reset()  # the same query, now meaning something else: words alone find nothing
    assert (await store.search_memory(TextQuery(QUESTION))).hits == []


async def test_user_and_assistant_messages_are_embedded_after_commit(
    make_kit: Callable[..., StoreKit], llm: FakeLLM
) -> None:
    """One batch per commit, user and assistant texts only; a word match and a meaning match both count."""
    kit = make_kit(embeddings(llm))
    a = await kit.store.create_conversation()
    lineage = a.lineage_id
    call = {"id": "t1", "name": "read_file", "arguments": {}}
    await kit.store.append_messages(
        a.id,
        [
            msg("tell me about my boat"),
            msg("", role="assistant", tool_calls=[call]),
            msg("kayak.txt: orange", role="tool", tool_call_id="t1"),
            msg("The kayak is orange.", role="assistant"),
        ],
    )
    await indexed(kit.store)
    assert embedding_inputs(llm) == [["tell me about my boat", "The kayak is orange."]]
    assert await embedded_refs(kit) == [f"{lineage}:0", f"{lineage}:3"]
    llm.embeddings.alias("canoe hue", like="The kayak is orange.")
    hits = (await kit.store.search_memory(TextQuery("canoe hue", sources=("message",)))).hits
    assert [h.ref for h in hits] == [f"{lineage}:3"]
    assert (hits[0].role, hits[0].conversation_id) == ("assistant", a.id)


async def test_matches_by_meaning_keep_the_searchs_scope(make_kit: Callable[..., StoreKit], llm: FakeLLM) -> None:
    """Sources, conversation_id and exclude_conversation apply to vector hits as to word hits."""
    store = make_kit(embeddings(llm)).store
    a, b = await store.create_conversation(), await store.create_conversation()
    for text in ("ferry timetable of a", "ferry timetable of b", "ferry note of a"):
        llm.embeddings.define(text, [1.0] + [0.0] * 255)
    llm.embeddings.define("boat schedule", [1.0] + [0.0] * 255)
    await store.append_messages(a.id, [msg("ferry timetable of a")])
    await store.append_messages(b.id, [msg("ferry timetable of b")])
    await store.add_note("ferry note of a", a.id)
    await indexed(store)

    async def texts(**scope: Any) -> list[str]:
        return sorted(h.text for h in (await store.search_memory(TextQuery("boat schedule", **scope))).hits)

    assert await texts() == ["ferry note of a", "ferry timetable of a", "ferry timetable of b"]
    assert await texts(exclude_conversation=a.id) == ["ferry timetable of b"]
    assert await texts(conversation_id=a.id, sources=("message",)) == ["ferry timetable of a"]
    assert await texts(sources=("note",), limit=1) == ["ferry note of a"]


async def test_a_failing_provider_holds_up_nothing_and_search_falls_back_to_words(
    make_kit: Callable[..., StoreKit], llm: FakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    """While the provider fails, appends and notes are stored and searches answer by words, saying so;
    once it works again the background indexer catches up and the same search finds by meaning."""
    llm.embeddings.fail(503, f"overloaded, key {FAKE_KEY}")
    llm.embeddings.alias(QUESTION, like=MEANT)
    store = make_kit(embeddings(llm)).store
    a = await store.create_conversation()
    assert await asyncio.wait_for(store.append_messages(a.id, [msg("credentials rotate monthly")]), 5) == 1
    note = await asyncio.wait_for(store.add_note(MEANT), 5)
    with caplog.at_level(logging.WARNING):
        result = await store.search_memory(TextQuery(QUESTION))
    assert [h.text for h in result.hits] == ["credentials rotate monthly"]
    assert result.warning is not None and "words only" in result.warning and "503" in result.warning
    assert FAKE_KEY not in result.warning and FAKE_KEY not in caplog.text and "[redacted]" in result.warning

    llm.embeddings.recover()
    await indexed(store)
    result = await store.search_memory(TextQuery(QUESTION))
    assert result.warning is None
    assert [h.ref for h in result.hits] == [note.id, f"{a.lineage_id}:0"]


async def test_a_batch_the_provider_refuses_is_sent_one_by_one(make_kit: Callable[..., StoreKit], llm: FakeLLM) -> None:
    """A 400 for a batch does not block the others behind it: its items are tried alone."""
    llm.embeddings.fail(400, "input too long", times=1)
    kit = make_kit(embeddings(llm))
    a = await kit.store.create_conversation()
    await kit.store.append_messages(a.id, [msg("first text"), msg("second text")])
    await indexed(kit.store)
    assert embedding_inputs(llm) == [["first text", "second text"], ["first text"], ["second text"]]
    assert len(await embedded_refs(kit)) == 2


async def test_deleting_a_conversation_deletes_its_embeddings(make_kit: Callable[..., StoreKit], llm: FakeLLM) -> None:
    """Its messages' vectors go with them (its notes stay), so a search by meaning no longer finds them."""
    llm.embeddings.alias("secret plan", like="launch on tuesday")
    kit = make_kit(embeddings(llm))
    a, b = await kit.store.create_conversation(), await kit.store.create_conversation()
    await kit.store.append_messages(a.id, [msg("launch on tuesday")])
    await kit.store.append_messages(b.id, [msg("unrelated")])
    note = await kit.store.add_note("a note of a", a.id)
    await indexed(kit.store)
    assert len(await embedded_refs(kit)) == 3
    await kit.store.delete_conversation(a.id)
    assert await embedded_refs(kit) == sorted([note.id, f"{b.lineage_id}:0"])
    assert (await kit.store.search_memory(TextQuery("secret plan", sources=("message",)))).hits == []


async def test_a_message_deleted_before_its_vector_is_written_gets_none(
    make_kit: Callable[..., StoreKit], llm: FakeLLM
) -> None:
    """Queued while the provider fails, then deleted: when the provider is back its vector is left out."""
    llm.embeddings.fail(503)
    kit = make_kit(embeddings(llm))
    a, b = await kit.store.create_conversation(), await kit.store.create_conversation()
    await kit.store.append_messages(a.id, [msg("doomed text")])
    await kit.store.append_messages(b.id, [msg("kept text")])
    await kit.store.delete_conversation(a.id)
    llm.embeddings.recover()
    await indexed(kit.store)
    assert await embedded_refs(kit) == [f"{b.lineage_id}:0"]


async def test_a_restart_embeds_what_was_stored_without_embeddings(kit: StoreKit, llm: FakeLLM) -> None:
    """Turning embeddings on later: the backlog (older notes and messages) is embedded in the background."""
    a = await kit.store.create_conversation()
    await kit.store.append_messages(a.id, [msg(f"old message {i}") for i in range(5)])
    note = await kit.store.add_note(MEANT)
    await kit.store.close()
    llm.embeddings.alias(QUESTION, like=MEANT)
    store, _ = kit.new_store(with_embeddings(kit, llm))
    await store.search_memory(TextQuery("old"))  # opens the store
    await indexed(store)
    assert len(await embedded_refs(kit)) == 6
    assert [h.ref for h in (await store.search_memory(TextQuery(QUESTION, sources=("note",)))).hits] == [note.id]


async def test_vectors_of_deleted_sources_and_of_another_model_are_dropped(kit: StoreKit, llm: FakeLLM) -> None:
    """At open, vectors of a size or model other than the configured one are dropped and made again; in the
    background, vectors whose note or message is no longer stored (a crash between the deletes) are deleted."""
    store, _ = kit.new_store(with_embeddings(kit, llm))
    note = await store.add_note("heron facts")
    a = await store.create_conversation()
    await store.append_messages(a.id, [msg("heron message")])
    await indexed(store)
    await store.close()
    db = await lancedb.connect_async(str(kit.root / "lance"))
    await (await db.open_table("messages")).delete("seq = 0")  # the message goes, its vector stays

    store, _ = kit.new_store(with_embeddings(kit, llm))
    await store.search_memory(TextQuery("heron"))
    await indexed(store)
    assert await embedded_refs(kit) == [note.id]
    await store.close()

    llm.reset()
    store, _ = kit.new_store(with_embeddings(kit, llm, dimensions=32))
    await store.search_memory(TextQuery("heron"))
    await indexed(store)
    assert await embedded_refs(kit) == [note.id]
    assert {r.body["dimensions"] for r in llm.requests} == {32}
    store, _ = kit.new_store(with_embeddings(kit, llm, dimensions=32, model="other-embed"))
    await store.search_memory(TextQuery("heron"))
    await indexed(store)
    assert await embedded_refs(kit) == [note.id]
    assert llm.requests[-1].body["model"] == "other-embed"
