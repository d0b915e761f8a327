"""Storage of the checkpoint store: the ``StoreBackend`` interface and its row types.

A backend is low level: it reads and writes typed rows and knows nothing of
rollback, branches or retention; ``CheckpointStore`` (the one writer) decides what
to write and when. The LanceDB backend lives in ``lance_backend.py``, the only
module that imports lancedb, so that importing this interface (as every process
that holds a handle to the store does) never pays lancedb's 1.5 s import.

"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from penguin_actors.records import CheckpointRecord, ConversationRecord, LineageRecord, NoteRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MessageRow:
    """One stored message: ``data`` is msgpack of ``Message.model_dump(mode="json")``."""

    lineage_id: str
    seq: int
    conversation_id: str
    role: str
    created_at: float
    data: bytes
    text: str


# (lineage_id, start_seq, end_seq or None for "to the end")
MessageRange = tuple[str, int, int | None]

TextSource = Literal["note", "message"]


@dataclass(frozen=True, slots=True)
class TextQuery:
    """A full-text search: ``text`` in the notes and/or the user and assistant messages.

    ``conversation_id`` keeps only hits of that conversation; ``exclude_conversation``
    drops the hits of that one (a conversation's own messages are already in its context).
    """

    text: str
    sources: tuple[TextSource, ...] = ("note", "message")
    limit: int = 5
    conversation_id: str | None = None
    exclude_conversation: str | None = None


@dataclass(frozen=True, slots=True)
class TextHit:
    """One full-text match; ``ref`` is the note id or ``<lineage_id>:<seq>`` of the message."""

    source: TextSource
    ref: str
    conversation_id: str | None
    role: str | None
    created_at: float
    text: str
    score: float


@dataclass(frozen=True, slots=True)
class MemoryItem:
    """A note or a user/assistant message as memory search sees it; ``ref`` as in ``TextHit``.

    ``lineage_id`` is the message's lineage (None for a note): deleting a lineage's
    messages deletes their embeddings too. An empty ``text`` is one not read yet
    (``StoreBackend.memory_texts`` reads it): items without text are never embedded.
    """

    source: TextSource
    ref: str
    conversation_id: str | None
    role: str | None
    created_at: float
    text: str
    lineage_id: str | None = None


@dataclass(frozen=True, slots=True)
class Embedding:
    """The vector of a ``MemoryItem`` (its text is not stored again)."""

    item: MemoryItem
    vector: Sequence[float]


class StoreBackend(Protocol):
    """What ``CheckpointStore`` needs from a storage engine. Every write is durable when it returns."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...
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

    async def put_documents(self, kind: str, documents: Sequence[tuple[str, str]]) -> None:
        """Store ``(id, json)`` documents of ``kind``; a document with the same id replaces the old one."""
        ...

    async def load_documents(self, kind: str) -> list[tuple[str, str]]:
        """The newest ``(id, json)`` of each document of ``kind``."""
        ...

    async def delete_documents(self, kind: str, ids: Sequence[str]) -> int: ...
    async def optimize(self) -> None:
        """Compact storage; safe to run while other writes go on."""
        ...
