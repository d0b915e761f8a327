"""The rows the checkpoint store and its backends exchange: messages, ranges of them, memory items and hits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal


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
