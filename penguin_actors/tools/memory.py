"""Memory tools: ``add_note`` keeps a note; ``memory_search`` finds notes and past messages by their words,
and by their meaning when the server has an embedding provider (``memory.embeddings``).

Both reach the store through ``ToolContext.memory``. The conversation's own
messages are left out of a search by default: they are already in its context.
"""

from __future__ import annotations

import datetime
import re
from typing import Literal

from pydantic import Field

from penguin_actors.store.memory.notes import MAX_HITS, MAX_NOTE_CHARS, MAX_QUERY_CHARS
from penguin_actors.store.rows import TextHit, TextQuery, TextSource
from penguin_actors.tools.base import MemoryPort, Tool, ToolArgs, ToolContext, ToolError

SNIPPET_CHARS = 400


class NoteArgs(ToolArgs):
    text: str = Field(
        min_length=1,
        max_length=MAX_NOTE_CHARS,
        description="What to remember, self-contained: a fact, a decision, a preference, where something is.",
    )


class SearchArgs(ToolArgs):
    query: str = Field(
        min_length=1,
        max_length=MAX_QUERY_CHARS,
        description="Words to look for (any word form), or what you are looking for in a few words.",
    )
    source: Literal["all", "notes", "messages"] = Field(
        "all", description="Search notes, past messages of other conversations, or both."
    )
    include_this_conversation: bool = Field(
        False, description="Also search this conversation's messages (they are usually already in view)."
    )
    limit: int = Field(5, ge=1, le=MAX_HITS, description="At most this many hits per source.")


def _memory(ctx: ToolContext, tool: str) -> MemoryPort:
    if ctx.memory is None:
        raise ToolError(f"{tool} needs the conversation store, which this run has not got: answer without it")
    return ctx.memory


def add_note(args: NoteArgs, ctx: ToolContext) -> str:
    note = _memory(ctx, "add_note").add_note(args.text, ctx.conversation_id)
    return f"Saved note {note.id}."


SOURCES: dict[str, tuple[TextSource, ...]] = {"all": ("note", "message"), "notes": ("note",), "messages": ("message",)}


def memory_search(args: SearchArgs, ctx: ToolContext) -> str:
    sources = SOURCES[args.source]
    query = TextQuery(
        text=args.query,
        sources=sources,
        limit=args.limit,
        exclude_conversation=None if args.include_this_conversation else ctx.conversation_id,
    )
    result = _memory(ctx, "memory_search").search(query)
    found = "\n\n".join(_describe(hit, args.query) for hit in result.hits)
    found = found or f"Nothing in memory matches {args.query!r}."
    return f"{found}\n\n({result.warning})" if result.warning else found


def _describe(hit: TextHit, query: str) -> str:
    when = datetime.datetime.fromtimestamp(hit.created_at, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    if hit.source == "note":
        head = f"[note {hit.ref}, {when}]"
    else:
        head = f"[{hit.role} message in conversation {hit.conversation_id}, {when}]"
    return f"{head}\n{snippet(hit.text, query)}"


def snippet(text: str, query: str, width: int = SNIPPET_CHARS) -> str:
    """At most ``width`` characters of ``text``, around the first word of ``query`` it contains."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    lowered = text.lower()
    found = [lowered.find(w) for w in re.findall(r"\w+", query.lower()) if lowered.find(w) >= 0]
    start = max(0, min(found, default=0) - width // 4)
    end = min(len(text), start + width)
    start = max(0, end - width)
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")


ADD_NOTE = Tool(
    name="add_note",
    description="Keep a note in long-term memory, for this and later conversations to find with memory_search.",
    args=NoteArgs,
    run=add_note,
)
MEMORY_SEARCH = Tool(
    name="memory_search",
    description="Search long-term memory: notes kept with add_note and the messages of past conversations. "
    "It matches words in any form, and meaning too where the server has an embedding model: "
    "give the distinctive words.",
    args=SearchArgs,
    run=memory_search,
)
