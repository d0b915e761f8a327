"""Long-term memory: notes and past messages found by their words (and meaning), with the limits every caller meets.

The store keeps notes and indexes message texts (``CheckpointStore.add_note`` and
``search_memory``); the ``add_note`` and ``memory_search`` tools are its users.
Search is LanceDB's own full-text search (BM25, stemmed, no model to download),
joined by vector search when an embedding provider is configured (``recall.py``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from penguin_actors.errors import Invalid
from penguin_actors.store.rows import TextHit, TextQuery

MAX_NOTE_CHARS = 8_000
MAX_QUERY_CHARS = 500
MAX_HITS = 20


@dataclass(frozen=True, slots=True)
class MemoryResult:
    """What a memory search found, best first per source (notes, then messages).

    ``warning`` says what the search could not do, e.g. search by meaning while the
    embedding provider fails; the hits are then what the words alone found.
    """

    hits: list[TextHit] = field(default_factory=list)
    warning: str | None = None


def note_text(text: str) -> str:
    """``text`` stripped, or Invalid if it is blank or longer than ``MAX_NOTE_CHARS``."""
    cleaned = text.strip()
    if not cleaned:
        raise Invalid("a note may not be blank: give the text to remember")
    if len(cleaned) > MAX_NOTE_CHARS:
        raise Invalid(f"a note is at most {MAX_NOTE_CHARS} characters, not {len(cleaned)}: keep the essentials")
    return cleaned


def checked_query(query: TextQuery) -> TextQuery:
    """``query`` with its text stripped, or Invalid if the text, sources or limit are out of range."""
    text = query.text.strip()
    if not text:
        raise Invalid("a memory search needs some words to look for")
    if len(text) > MAX_QUERY_CHARS:
        raise Invalid(f"a memory search is at most {MAX_QUERY_CHARS} characters, not {len(text)}")
    if not 1 <= query.limit <= MAX_HITS:
        raise Invalid(f"a memory search returns 1 to {MAX_HITS} hits per source, not {query.limit}")
    unknown = set(query.sources) - {"note", "message"}
    if unknown or not query.sources:
        raise Invalid(f"memory sources are 'note' and 'message', not {sorted(unknown) or 'none'}")
    return dataclasses.replace(query, text=text)
