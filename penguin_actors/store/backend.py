"""The checkpoint store's storage interface, split by capability.

A backend is low level: it reads and writes typed rows and knows nothing of
rollback, branches or retention; ``CheckpointStore`` (the one writer) decides what
to write and when. ``ConversationBackend`` holds conversations, lineages, messages
and checkpoints; ``DocumentBackend`` other actors' JSON records (tasks, projects);
``MemoryBackend`` notes, full-text search and embeddings. ``StoreBackend`` is all
three plus the lifecycle, and ``store/lance`` its LanceDB implementation, the only
code that imports lancedb, so that importing this interface (as every process that
holds a handle to the store does) never pays lancedb's 1.5 s import. Every write is
durable when it returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from penguin_actors.store.records import CheckpointRecord, ConversationRecord, LineageRecord, NoteRecord
from penguin_actors.store.rows import Embedding, MemoryItem, MessageRange, MessageRow, TextHit, TextQuery


class ConversationBackend(Protocol):
    """Conversations, their lineages of messages, and checkpoints into them."""

    async def load_conversations(self) -> list[ConversationRecord]: ...
    async def upsert_conversations(self, records: Sequence[ConversationRecord]) -> None: ...
    async def delete_conversation(self, conversation_id: str) -> None: ...
    async def load_lineages(self) -> list[LineageRecord]: ...
    async def add_lineages(self, records: Sequence[LineageRecord]) -> None: ...
    async def delete_lineages(self, lineage_ids: Sequence[str]) -> int: ...
    async def append_messages(self, rows: Sequence[MessageRow]) -> None: ...
    async def read_messages(self, ranges: Sequence[MessageRange]) -> list[tuple[str, int, bytes]]:
        """The rows of each range in turn, in seq order within a range."""
        ...

    async def delete_messages(self, lineage_ids: Sequence[str]) -> int:
        """Delete these lineages' messages and their embeddings; the number of message rows deleted."""
        ...

    async def load_checkpoints(self) -> list[CheckpointRecord]: ...
    async def add_checkpoints(self, records: Sequence[CheckpointRecord]) -> None: ...
    async def delete_checkpoints(self, checkpoint_ids: Sequence[str]) -> int:
        """Delete these checkpoints; the number of rows actually deleted."""
        ...


class DocumentBackend(Protocol):
    """Small JSON records of other actors, by kind and id."""

    async def put_documents(self, kind: str, documents: Sequence[tuple[str, str]]) -> None:
        """Store ``(id, json)`` documents of ``kind``; a document with the same id replaces the old one."""
        ...

    async def load_documents(self, kind: str) -> list[tuple[str, str]]:
        """The newest ``(id, json)`` of each document of ``kind``."""
        ...

    async def delete_documents(self, kind: str, ids: Sequence[str]) -> int: ...


class MemoryBackend(Protocol):
    """Notes, full-text search over notes and messages, and their embeddings."""

    async def add_notes(self, records: Sequence[NoteRecord]) -> None: ...
    async def search_text(self, query: TextQuery) -> list[TextHit]:
        """The best matches first, at most ``query.limit`` per source; one hit per stored message."""
        ...

    async def open_embeddings(self, model: str, dimensions: int) -> None:
        """Hold embeddings of ``model`` with ``dimensions``: create the table, or empty it if it holds others."""
        ...

    async def add_embeddings(self, embeddings: Sequence[Embedding]) -> None: ...
    async def embedding_backlog(self, limit: int) -> tuple[list[MemoryItem], list[str]]:
        """At most ``limit`` notes and user/assistant messages with text but no embedding, oldest first and
        without their texts; and the refs of embeddings whose note or message is gone."""
        ...

    async def memory_texts(self, items: Sequence[MemoryItem]) -> list[MemoryItem]:
        """``items`` with their texts, in order; an item whose note or message is gone is left out."""
        ...

    async def delete_embeddings(self, refs: Sequence[str]) -> int: ...
    async def search_vectors(self, vector: Sequence[float], query: TextQuery, min_similarity: float) -> list[TextHit]:
        """The nearest notes and messages by cosine similarity (at least ``min_similarity``), nearest first,
        at most ``query.limit`` per source, with ``query``'s scope; ``score`` is the similarity."""
        ...


class StoreBackend(ConversationBackend, DocumentBackend, MemoryBackend, Protocol):
    """Everything ``CheckpointStore`` needs from a storage engine."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def optimize(self) -> None:
        """Compact storage; safe to run while other writes go on."""
        ...
