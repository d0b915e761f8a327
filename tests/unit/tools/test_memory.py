"""add_note and memory_search: what they ask the store, and what the model reads back."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from penguin_actors.errors import Invalid
from penguin_actors.store.checkpoints import CheckpointStore
from penguin_actors.store.memory.notes import MemoryResult
from penguin_actors.store.records import NoteRecord
from penguin_actors.store.rows import TextHit, TextQuery
from penguin_actors.testing.fake_llm import FakeLLM
from penguin_actors.tools import ToolContext, run_tool
from penguin_actors.tools.memory import snippet
from tests.support import FAKE_KEY_ENV, make_settings
from tests.unit.store.helpers import indexed
from tests.unit.tools.helpers import context

T = TypeVar("T")

WHEN = 1_767_225_600.0  # 2026-01-01 00:00 UTC


class Memory:
    """A MemoryPort that records what it was asked and answers with ``hits``."""

    def __init__(self, hits: list[TextHit] | None = None, warning: str | None = None) -> None:
        self.hits = hits or []
        self.warning = warning
        self.notes: list[tuple[str, str | None]] = []
        self.queries: list[TextQuery] = []

    def add_note(self, text: str, conversation_id: str | None) -> NoteRecord:
        if not text.strip():
            raise Invalid("a note may not be blank: give the text to remember")
        self.notes.append((text, conversation_id))
        return NoteRecord(id=f"note_{len(self.notes)}", conversation_id=conversation_id, text=text, created_at=WHEN)

    def search(self, query: TextQuery) -> MemoryResult:
        self.queries.append(query)
        return MemoryResult(self.hits, self.warning)


class ThreadedStore:
    """A real ``CheckpointStore`` on an event loop of its own thread, as a tool's blocking ``MemoryPort``."""

    def __init__(self, store: CheckpointStore) -> None:
        self.store = store
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def call(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=30)

    def add_note(self, text: str, conversation_id: str | None) -> NoteRecord:
        return self.call(self.store.add_note(text, conversation_id))

    def search(self, query: TextQuery) -> MemoryResult:
        return self.call(self.store.search_memory(query))

    def close(self) -> None:
        self.call(self.store.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@pytest.fixture
def memory_by_meaning(root: Path, llm: FakeLLM) -> Iterator[ThreadedStore]:
    """A real store in the workspace with embeddings from the fake LLM."""
    section = {
        "base_url": f"{llm.base_url}/v1",
        "api_key_env": FAKE_KEY_ENV,
        "dimensions": 256,
        "retry_interval_s": 0.05,
    }
    store = ThreadedStore(CheckpointStore(make_settings(root, **{"memory.embeddings": section})))
    yield store
    store.close()


def with_memory(root: Path, memory: Memory) -> ToolContext:
    return dataclasses.replace(context(root), memory=memory, conversation_id="conv_a")


def test_add_note_stores_the_text_with_the_calling_conversation(root: Path) -> None:
    memory = Memory()
    result = run_tool("add_note", {"text": "the build uses uv"}, with_memory(root, memory))
    assert (result.status, result.output) == ("completed", "Saved note note_1.")
    assert memory.notes == [("the build uses uv", "conv_a")]


def test_memory_search_leaves_out_this_conversation_unless_asked(root: Path) -> None:
    """By default the calling conversation is excluded; include_this_conversation searches it too."""
    memory = Memory()
    ctx = with_memory(root, memory)
    run_tool("memory_search", {"query": "uv"}, ctx)
    run_tool("memory_search", {"query": "uv", "include_this_conversation": True, "source": "notes", "limit": 2}, ctx)
    assert memory.queries == [
        TextQuery("uv", ("note", "message"), 5, None, "conv_a"),
        TextQuery("uv", ("note",), 2, None, None),
    ]


def test_memory_search_shows_each_hit_with_where_and_when_it_came_from(root: Path) -> None:
    hits = [
        TextHit("note", "note_1", "conv_b", None, WHEN, "the build uses uv", 1.2),
        TextHit("message", "lin_1:4", "conv_c", "assistant", WHEN, "Run uv sync first.", 0.7),
    ]
    result = run_tool("memory_search", {"query": "uv"}, with_memory(root, Memory(hits)))
    assert result.status == "completed"
    assert result.output == (
        "[note note_1, 2026-01-01 00:00 UTC]\nthe build uses uv\n\n"
        "[assistant message in conversation conv_c, 2026-01-01 00:00 UTC]\nRun uv sync first."
    )


def test_memory_search_passes_on_what_the_search_could_not_do(root: Path) -> None:
    hits = [TextHit("note", "note_1", None, None, WHEN, "the build uses uv", 0.1)]
    result = run_tool("memory_search", {"query": "uv"}, with_memory(root, Memory(hits, "Found by words only: x.")))
    assert result.output == "[note note_1, 2026-01-01 00:00 UTC]\nthe build uses uv\n\n(Found by words only: x.)"
    result = run_tool("memory_search", {"query": "uv"}, with_memory(root, Memory([], "Found by words only: x.")))
    assert result.output == "Nothing in memory matches 'uv'.\n\n(Found by words only: x.)"


def test_a_note_is_found_by_meaning_once_embedded(root: Path, llm: FakeLLM, memory_by_meaning: ThreadedStore) -> None:
    """add_note in one conversation, memory_search from another with no word in common: while the embedding
    provider fails the words alone find nothing and the result says so; once it works the note is found."""
    note_text = "The staging database is called marmoset-db."
    question = "which server holds test data"
    llm.embeddings.alias(question, like=note_text)
    llm.embeddings.fail(503)
    writer = dataclasses.replace(context(root), memory=memory_by_meaning, conversation_id="conv_a")
    reader = dataclasses.replace(writer, conversation_id="conv_b")
    saved = run_tool("add_note", {"text": note_text}, writer)
    assert saved.status == "completed" and saved.output.startswith("Saved note note_")

    by_words = run_tool("memory_search", {"query": question}, reader)
    assert by_words.status == "completed"
    assert by_words.output.startswith(f"Nothing in memory matches {question!r}.")
    assert "(Found by words only: search by meaning is unavailable now (openai embeddings: HTTP 503" in by_words.output

    llm.embeddings.recover()
    memory_by_meaning.call(indexed(memory_by_meaning.store))
    by_meaning = run_tool("memory_search", {"query": question}, reader)
    assert by_meaning.output.startswith("[note note_") and by_meaning.output.endswith(note_text)
    assert "words only" not in by_meaning.output


def test_memory_search_says_when_nothing_matches(root: Path) -> None:
    result = run_tool("memory_search", {"query": "quokka"}, with_memory(root, Memory()))
    assert (result.status, result.output) == ("completed", "Nothing in memory matches 'quokka'.")


def test_without_a_store_the_memory_tools_say_so(root: Path) -> None:
    for name, arguments in (("add_note", {"text": "x"}), ("memory_search", {"query": "x"})):
        result = run_tool(name, arguments, context(root))
        assert result.status == "error"
        assert "needs the conversation store" in result.output


@pytest.mark.parametrize(
    ("name", "arguments", "problem"),
    [
        ("add_note", {}, "text: required but missing"),
        ("add_note", {"text": ""}, "at least 1 character"),
        ("add_note", {"text": "   "}, "may not be blank"),
        ("memory_search", {"query": "x", "limit": 0}, "limit"),
        ("memory_search", {"query": "x", "source": "files"}, "source"),
        ("memory_search", {"query": "x" * 501}, "at most 500 characters"),
    ],
)
def test_bad_arguments_are_an_error_result_the_model_can_act_on(
    root: Path, name: str, arguments: dict[str, object], problem: str
) -> None:
    memory = Memory()
    result = run_tool(name, arguments, with_memory(root, memory))
    assert result.status == "error"
    assert problem in result.output
    assert memory.notes == [] and memory.queries == []


def test_snippet_keeps_short_text_and_centres_long_text_on_the_first_query_word() -> None:
    assert snippet("short  text\nhere", "x") == "short text here"
    text = "a" * 1000 + " needle " + "b" * 1000
    cut = snippet(text, "the NEEDLE", width=100)
    assert "needle" in cut and cut.startswith("…") and cut.endswith("…")
    assert len(cut) == 102
    assert snippet("z" * 500, "absent", width=100) == "z" * 100 + "…"
