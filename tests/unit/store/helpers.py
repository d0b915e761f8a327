"""Helpers of the store conformance suite: the backends under test, a movable clock, a recording backend.

To add a backend, add a factory to ``BACKENDS``: it gets a directory of its own
and returns a fresh, unopened ``StoreBackend``; calling it again with the same
directory must give a backend that sees what the first one stored.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from penguin_actors.config import Settings
from penguin_actors.store.backend import StoreBackend
from penguin_actors.store.checkpoints import CheckpointStore
from penguin_actors.store.journal import CommitJournal
from penguin_actors.store.lance.backend import LanceBackend
from penguin_actors.store.records import CheckpointRecord, ConversationRecord, LineageRecord, NoteRecord
from penguin_actors.store.rows import Embedding, MemoryItem, MessageRange, MessageRow, TextHit, TextQuery
from penguin_actors.types import Message

BACKENDS: dict[str, Callable[[Path], StoreBackend]] = {
    "lance": lambda root: LanceBackend(str(root / "lance")),
    "lance+journal": lambda root: LanceBackend(str(root / "lance")),  # appends acknowledged once journaled
}


def store_options(kind: str, root: Path, options: dict[str, Any]) -> dict[str, Any]:
    """``CheckpointStore`` options for a backend kind: a ``+journal`` kind journals under ``root``."""
    if kind.endswith("+journal"):
        return {"journal": CommitJournal(root / "journal")} | options
    return options


START = 1_700_000_000.0  # 2023-11-14T22:13:20Z, the fake clock's first reading


class Clock:
    """A clock the test moves: each reading is a millisecond after the last, so order is never a tie."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        self.now += 0.001
        return self.now

    def advance(self, *, seconds: float = 0, hours: float = 0, days: float = 0) -> None:
        self.now += seconds + hours * 3600 + days * 86400


class RecordingBackend:
    """A thin wrapper of a real backend: counts calls and rows written, and can fail a method on demand."""

    def __init__(self, inner: StoreBackend) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()
        self.rows: Counter[str] = Counter()
        self.fail: dict[str, BaseException] = {}
        self.optimize_delay_s = 0.0
        self.optimizing = 0
        self.max_concurrent_optimize = 0

    def reset(self) -> None:
        self.calls.clear()
        self.rows.clear()

    @property
    def rows_written(self) -> int:
        return sum(self.rows.values())

    async def _call(self, name: str, rows: int = 0) -> None:
        self.calls[name] += 1
        self.rows[name] += rows
        if name in self.fail:
            raise self.fail[name]

    async def open(self) -> None:
        await self._call("open")
        await self.inner.open()

    async def close(self) -> None:
        await self._call("close")
        await self.inner.close()

    async def load_conversations(self) -> list[ConversationRecord]:
        await self._call("load_conversations")
        return await self.inner.load_conversations()

    async def upsert_conversations(self, records: Sequence[ConversationRecord]) -> None:
        await self._call("upsert_conversations", len(records))
        await self.inner.upsert_conversations(records)

    async def delete_conversation(self, conversation_id: str) -> None:
        await self._call("delete_conversation", 1)
        await self.inner.delete_conversation(conversation_id)

    async def load_lineages(self) -> list[LineageRecord]:
        await self._call("load_lineages")
        return await self.inner.load_lineages()

    async def add_lineages(self, records: Sequence[LineageRecord]) -> None:
        await self._call("add_lineages", len(records))
        await self.inner.add_lineages(records)

    async def delete_lineages(self, lineage_ids: Sequence[str]) -> int:
        await self._call("delete_lineages", len(lineage_ids))
        return await self.inner.delete_lineages(lineage_ids)

    async def append_messages(self, rows: Sequence[MessageRow]) -> None:
        await self._call("append_messages", len(rows))
        await self.inner.append_messages(rows)

    async def read_messages(self, ranges: Sequence[MessageRange]) -> list[tuple[str, int, bytes]]:
        await self._call("read_messages")
        return await self.inner.read_messages(ranges)

    async def delete_messages(self, lineage_ids: Sequence[str]) -> int:
        await self._call("delete_messages", len(lineage_ids))
        return await self.inner.delete_messages(lineage_ids)

    async def load_checkpoints(self) -> list[CheckpointRecord]:
        await self._call("load_checkpoints")
        return await self.inner.load_checkpoints()

    async def add_checkpoints(self, records: Sequence[CheckpointRecord]) -> None:
        await self._call("add_checkpoints", len(records))
        await self.inner.add_checkpoints(records)

    async def delete_checkpoints(self, checkpoint_ids: Sequence[str]) -> int:
        await self._call("delete_checkpoints", len(checkpoint_ids))
        return await self.inner.delete_checkpoints(checkpoint_ids)

    async def add_notes(self, records: Sequence[NoteRecord]) -> None:
        await self._call("add_notes", len(records))
        await self.inner.add_notes(records)

    async def search_text(self, query: TextQuery) -> list[TextHit]:
        await self._call("search_text")
        return await self.inner.search_text(query)

    async def open_embeddings(self, model: str, dimensions: int) -> None:
        await self._call("open_embeddings")
        await self.inner.open_embeddings(model, dimensions)

    async def add_embeddings(self, embeddings: Sequence[Embedding]) -> None:
        await self._call("add_embeddings", len(embeddings))
        await self.inner.add_embeddings(embeddings)

    async def embedding_backlog(self, limit: int) -> tuple[list[MemoryItem], list[str]]:
        await self._call("embedding_backlog")
        return await self.inner.embedding_backlog(limit)

    async def memory_texts(self, items: Sequence[MemoryItem]) -> list[MemoryItem]:
        await self._call("memory_texts")
        return await self.inner.memory_texts(items)

    async def delete_embeddings(self, refs: Sequence[str]) -> int:
        await self._call("delete_embeddings", len(refs))
        return await self.inner.delete_embeddings(refs)

    async def search_vectors(self, vector: Sequence[float], query: TextQuery, min_similarity: float) -> list[TextHit]:
        await self._call("search_vectors")
        return await self.inner.search_vectors(vector, query, min_similarity)

    async def put_documents(self, kind: str, documents: Sequence[tuple[str, str]]) -> None:
        await self._call("put_documents", len(documents))
        await self.inner.put_documents(kind, documents)

    async def load_documents(self, kind: str) -> list[tuple[str, str]]:
        await self._call("load_documents")
        return await self.inner.load_documents(kind)

    async def delete_documents(self, kind: str, ids: Sequence[str]) -> int:
        await self._call("delete_documents", len(ids))
        return await self.inner.delete_documents(kind, ids)

    async def optimize(self) -> None:
        await self._call("optimize")
        self.optimizing += 1
        self.max_concurrent_optimize = max(self.max_concurrent_optimize, self.optimizing)
        try:
            await asyncio.sleep(self.optimize_delay_s)
            await self.inner.optimize()
        finally:
            self.optimizing -= 1


@dataclass
class StoreKit:
    """A store under test, the recording backend under it, and a way to open the same data again."""

    kind: str
    root: Path
    clock: Clock
    settings: Settings
    store: CheckpointStore
    backend: RecordingBackend
    opened: list[CheckpointStore] = field(default_factory=list)

    def new_store(self, settings: Settings | None = None, **options: Any) -> tuple[CheckpointStore, RecordingBackend]:
        """Another store on the same data (as after a restart), with its own backend instance and maybe settings."""
        backend = RecordingBackend(BACKENDS[self.kind](self.root))
        options = store_options(self.kind, self.root, options)
        store = CheckpointStore(settings or self.settings, backend=backend, clock=self.clock, **options)
        self.opened.append(store)
        return store, backend


def skip_if_journaled(kit: StoreKit) -> None:
    """For tests of a commit that writes the backend itself: a journaled commit writes only the journal."""
    if kit.kind.endswith("+journal"):
        pytest.skip("a journaled commit does not write the backend (test_commit_journal.py covers its failures)")


def msg(text: str, role: str = "user", **fields: Any) -> Message:
    return Message.model_validate({"role": role, "content": text, **fields})


def texts(messages: list[Message]) -> list[str]:
    return [m.text() for m in messages]


async def conversation_with(store: CheckpointStore, count: int, prefix: str = "m") -> ConversationRecord:
    """A new conversation holding ``count`` user messages ``<prefix>0 …``, appended in one call."""
    record = await store.create_conversation()
    if count:
        await store.append_messages(record.id, [msg(f"{prefix}{i}") for i in range(count)])
    return await store.get_conversation(record.id)


async def indexed(store: CheckpointStore, timeout_s: float = 20.0) -> None:
    """Wait until the store's embedding indexer has embedded everything stored (embeddings must be on)."""
    indexer = store._recall.indexer
    assert indexer is not None, "memory.embeddings is not configured"
    await store.apply_journal()  # journaled messages are embedded once they are in the backend
    async with asyncio.timeout(timeout_s):
        while not indexer.idle:
            await asyncio.sleep(0.02)
