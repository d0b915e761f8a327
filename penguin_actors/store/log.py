"""ConversationLog: conversations and their messages, the append-only log the checkpoint store points into.

``CheckpointStore`` (``checkpoints.py``) is this log with checkpoints, memory and
documents: together the one writer of the store, run by ``edge`` as the named
detached actor ``checkpoints``. It
opens its backend lazily on the first call (an actor's ``__init__`` cannot await)
and keeps conversations, lineages and checkpoints in memory (``StoreState``) as the
read path; messages are read from the backend. How writes reach the backend (one
lock, group commit, the commit journal, compaction) is ``WritePipeline``'s.

Storage is an append-only log with pointers (see ``DESIGN.md``): messages are
appended to a lineage, ``(lineage_id, seq) → message``; a conversation points at
its current lineage, and a checkpoint at a ``(lineage_id, seq)``. Message ``i``
of a conversation has seq ``i`` whichever lineage of its chain holds it. So
creating a checkpoint, rolling back and branching each write a constant number of
small rows, whatever the conversation's length.

``append_messages`` returns only once its messages are durable; a model call's
token usage is committed with them, on the conversation's record, and an untitled
conversation takes its title from its first user message in the same commit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgpack

from penguin_actors.config import Settings
from penguin_actors.errors import Invalid, Unavailable
from penguin_actors.metrics import metrics
from penguin_actors.models.catalog import catalog_of
from penguin_actors.store import usage as usage_tally
from penguin_actors.store.backend import StoreBackend
from penguin_actors.store.group_commit import Pending
from penguin_actors.store.journal import CommitJournal, JournalEntry
from penguin_actors.store.memory.recall import Recall
from penguin_actors.store.pipeline import WritePipeline
from penguin_actors.store.records import (
    ConversationRecord,
    title_of,
)
from penguin_actors.store.rows import MessageRow
from penguin_actors.store.state import StoreState, clean, not_found
from penguin_actors.types import Message, Usage

log = logging.getLogger(__name__)

MAX_PAGE = 1000
USAGE_KIND, RETIRED_USAGE = "usage", "retired"  # the document of deleted conversations' usage


@dataclass(frozen=True)
class _Append:
    """One caller's messages for the next group commit, already encoded, with the model call's usage."""

    conversation_id: str
    rows: Sequence[tuple[str, float, bytes, str]]  # role, created_at, msgpack data, text
    checkpoint: bool
    usage: tuple[str, Usage] | None
    title: str | None  # of its first user message: the conversation's, if it has none yet


def encode_message(message: Message) -> bytes:
    data: bytes = msgpack.packb(message.model_dump(mode="json"), use_bin_type=True)
    return data


def decode_message(data: bytes) -> Message:
    return Message.model_validate(msgpack.unpackb(data, raw=False))


class ConversationLog:
    """Conversations and their messages, on a ``StoreBackend`` (LanceDB by default).

    ``commit_window_s`` (default 0: batches form while a write is in flight) makes the
    first append of a batch wait that long for others to join it; ``optimize_every``
    is the number of committed batches after which the backend is compacted in the
    background. ``journal`` acknowledges appends once journaled; by default a store
    built from ``settings`` journals into ``<database>/_journal`` when the database is
    local and ``storage.journal`` is on.
    """

    def __init__(
        self,
        settings: Settings,
        backend: StoreBackend | None = None,
        clock: Callable[[], float] = time.time,
        *,
        commit_window_s: float = 0.0,
        optimize_every: int = 200,
        journal: CommitJournal | None = None,
    ) -> None:
        self._settings = settings
        local = settings.local_storage_path
        if backend is None and journal is None and settings.storage.journal and local is not None:
            journal = CommitJournal(local / "_journal")
        if backend is None:
            from penguin_actors.store.lance import LanceBackend  # lazily: a handle's holders never load lancedb

            storage = settings.storage
            backend = LanceBackend(
                settings.resolved_storage_uri,
                index_cache_mb=storage.index_cache_mb,
                metadata_cache_mb=storage.metadata_cache_mb,
            )
        self._backend: StoreBackend = backend
        self._clock = clock
        self._open_lock = asyncio.Lock()
        self._opened = False
        self._state = StoreState()
        self._retired: usage_tally.UsageByModel = {}
        self._pipeline: WritePipeline[_Append] = WritePipeline(
            backend,
            self._commit,
            applied=lambda entry: self._recall.messages_added(entry.messages),
            journal=journal,
            flush_s=settings.storage.journal_flush_s,
            window_s=commit_window_s,
            optimize_every=optimize_every,
        )
        self._background: list[asyncio.Task[None]] = []  # stopped at close
        self._recall = Recall(
            settings.memory,
            self._backend,
            lambda: self._pipeline.writing(applying_journal=False),
            lambda lineage_id: lineage_id in self._state.lineages,
        )

    # --- lifecycle ------------------------------------------------------------

    async def _ensure_open(self) -> None:
        if self._opened:
            return
        async with self._open_lock:
            if self._opened:
                return
            try:
                await self._backend.open()
                conversations = await self._backend.load_conversations()
                lineages = await self._backend.load_lineages()
                checkpoints = await self._backend.load_checkpoints()
                replayed, more = await self._pipeline.replay({c.id for c in checkpoints})
                self._state.load(conversations + replayed, lineages, checkpoints + more)
                retired = dict(await self._backend.load_documents(USAGE_KIND)).get(RETIRED_USAGE)
                self._retired = _usage_of(retired)
                await self._recall.open()
                await self._migrate_usage()
            except Exception as exc:
                raise Unavailable(f"the conversation store cannot be opened: {exc}") from exc
            self._opened = True
            self._opened_now()

    def _opened_now(self) -> None:
        """Called once the store is open: a subclass starts its background work here (into ``_background``)."""

    async def _migrate_usage(self) -> None:
        """Take the figures of an earlier version's ``usage.json`` into the records, once (see ``usage.py``)."""
        state_dir = self._settings.workspace / ".penguin"
        legacy = usage_tally.read_legacy(state_dir)
        if legacy is None:
            return
        records, retired = [], dict(self._retired)
        for conversation_id, by_model in legacy.items():
            record = self._state.conversations.get(conversation_id)
            if record is None:
                retired = usage_tally.merged(retired, by_model)
            elif record.usage != by_model:  # set, not added: running this again changes nothing
                records.append(record.model_copy(update={"usage": by_model}))
        await self._backend.upsert_conversations(records)
        self._state.conversations.update({r.id: r for r in records})
        await self._save_retired(retired)
        usage_tally.retire_legacy(state_dir)
        log.info("took the token usage of %d conversations from %s", len(legacy), state_dir / "usage.json")

    async def flush(self) -> None:
        """Wait until every append made so far is committed (or has failed)."""
        await self._pipeline.flush()

    async def apply_journal(self) -> None:
        """Write every journaled commit to the backend now (a failure leaves them journaled, and raises)."""
        await self._pipeline.apply_journal()

    async def close(self) -> None:
        """Commit what is pending, wait for a running compaction, and close the backend."""
        if not self._opened:
            return
        for task in self._background:
            task.cancel()
        await self._pipeline.close()
        await self._recall.close()
        async with self._pipeline.closing():
            await self._backend.close()
            self._opened = False

    async def optimize(self) -> None:
        """Compact the backend now (after any compaction already running); raises what it raises."""
        await self._ensure_open()
        await self._pipeline.optimize()

    # --- conversations ----------------------------------------------------------

    async def create_conversation(self, title: str | None = None, model_id: str | None = None) -> ConversationRecord:
        await self._ensure_open()
        title = clean(title, "title")  # None: its first user message names it
        model_id = clean(model_id, "model_id")
        async with self._pipeline.writing(applying_journal=False):
            now = self._clock()
            conversation_id = self._state.new_conversation_id()
            lineage = self._state.new_lineage(conversation_id, now)
            record = ConversationRecord(
                id=conversation_id,
                title=title,
                created_at=now,
                last_active=now,
                message_count=0,
                lineage_id=lineage.id,
                model_id=model_id,
            )
            await self._backend.add_lineages([lineage])
            self._state.lineages[lineage.id] = lineage
            await self._backend.upsert_conversations([record])
            self._state.conversations[record.id] = record
        return record

    async def get_conversation(self, conversation_id: str) -> ConversationRecord:
        await self._ensure_open()
        return self._state.require(conversation_id)

    async def list_conversations(self, limit: int = 50, offset: int = 0) -> tuple[list[ConversationRecord], int]:
        """A page of conversations, the most recently active first, and the total number."""
        await self._ensure_open()
        if not 1 <= limit <= MAX_PAGE or offset < 0:
            raise Invalid(f"limit must be 1..{MAX_PAGE} and offset at least 0 (got limit={limit}, offset={offset})")
        ordered = self._state.by_activity()
        return ordered[offset : offset + limit], len(ordered)

    async def most_recent_conversation(self) -> str | None:
        await self._ensure_open()
        recent = self._state.most_recent()
        return recent.id if recent is not None else None

    async def update_conversation(
        self,
        conversation_id: str,
        *,
        title: str | None = None,
        model_id: str | None = None,
        clear_model: bool = False,
    ) -> ConversationRecord:
        """Rename it, set its model override, or clear the override (``clear_model``)."""
        await self._ensure_open()
        if clear_model and model_id is not None:
            raise Invalid("give model_id or clear_model, not both")
        changes: dict[str, str | None] = {}
        if title is not None:
            changes["title"] = clean(title, "title")
        if clear_model:
            changes["model_id"] = None
        elif model_id is not None:
            changes["model_id"] = clean(model_id, "model_id")
        async with self._pipeline.writing():
            record = self._state.require(conversation_id)
            if not changes:
                return record
            record = record.model_copy(update=changes)
            await self._backend.upsert_conversations([record])
            self._state.conversations[record.id] = record
        return record

    async def delete_conversation(self, conversation_id: str) -> None:
        """Delete it and its checkpoints; messages no remaining conversation or checkpoint reaches go too.

        A branch of it keeps working: the messages the branch shares with it stay. Its token
        usage stays in the totals.
        """
        await self._ensure_open()
        async with self._pipeline.writing():
            record = self._state.require(conversation_id)
            if record.usage:
                await self._save_retired(usage_tally.merged(self._retired, record.usage))
            await self._backend.delete_conversation(conversation_id)
            del self._state.conversations[conversation_id]
            doomed = [c.id for c in self._state.checkpoints.values() if c.conversation_id == conversation_id]
            if doomed:
                await self._backend.delete_checkpoints(doomed)
                self._state.forget(doomed)
            await self._collect_garbage()

    # --- messages -----------------------------------------------------------------

    async def append_messages(
        self,
        conversation_id: str,
        messages: list[Message],
        *,
        checkpoint: bool = False,
        usage: tuple[str, Usage] | None = None,
    ) -> int:
        """Append messages durably; the conversation's new message count.

        ``checkpoint=True`` also records an ``auto`` checkpoint after them, in the
        same commit (skipped when ``checkpoints.enabled`` is false). ``usage`` is
        ``(model_id, usage)`` of the model call that made them, committed with them.
        """
        await self._ensure_open()
        if not messages and usage is None:
            return self._state.require(conversation_id).message_count
        self._state.require(conversation_id)
        rows = [(m.role, m.created_at, encode_message(m), m.text()) for m in messages]
        said = next((m.text() for m in messages if m.role == "user" and not m.pinned and m.text().strip()), "")
        return await self._pipeline.submit(_Append(conversation_id, rows, checkpoint, usage, title_of(said)))

    async def open_conversation(self, conversation_id: str) -> tuple[ConversationRecord, list[Message]]:
        """The conversation's record and its messages, in one call (an activation needs both)."""
        messages = await self.load_messages(conversation_id)
        return self._state.require(conversation_id), messages

    async def load_messages(self, conversation_id: str) -> list[Message]:
        """The conversation's messages in order: its lineage chain's ranges concatenated."""
        await self._ensure_open()
        record = self._state.require(conversation_id)
        if record.message_count == 0:
            return []
        ranges = self._state.ranges(record.lineage_id, record.message_count)
        # The rows not applied yet come from the journal, so a read never waits for a LanceDB write.
        pending = self._pipeline.pending_rows()
        wanted = [(lineage, seq) for lineage, start, end in ranges for seq in range(start, end or start)]
        if not all(key in pending for key in wanted):
            stored = await self._backend.read_messages(ranges)
            pending = {(lineage, seq): data for lineage, seq, data in stored} | pending
        rows = [pending[key] for key in wanted if key in pending]
        if len(rows) != record.message_count:
            log.error(
                "conversation %s has %d of its %d messages stored", conversation_id, len(rows), record.message_count
            )
        return [decode_message(data) for data in rows]

    async def _commit(self, batch: list[Pending[_Append, int]]) -> None:
        """Write a batch of appends: one backend call per table, whatever the number of callers."""
        started = time.monotonic()
        now = self._clock()
        updated: dict[str, ConversationRecord] = {}
        entry = JournalEntry()
        accepted: list[tuple[Pending[_Append, int], int]] = []
        for pending in batch:
            item = pending.item
            if pending.future.done():  # its caller was cancelled before the batch was written
                continue
            record = updated.get(item.conversation_id) or self._state.conversations.get(item.conversation_id)
            if record is None:
                pending.future.set_exception(not_found(item.conversation_id))
                continue
            start = record.message_count
            for i, (role, created_at, data, text) in enumerate(item.rows):
                entry.messages.append(MessageRow(record.lineage_id, start + i, record.id, role, created_at, data, text))
            count = start + len(item.rows)
            changes: dict[str, Any] = {"message_count": count, "last_active": max(now, record.last_active)}
            if item.usage is not None:
                changes["usage"] = usage_tally.added(record.usage, *item.usage)
            if record.title is None and item.title is not None:
                changes["title"] = item.title
            record = updated[record.id] = record.model_copy(update=changes)
            if item.checkpoint and self._settings.checkpoints.enabled:
                entry.checkpoints.append(self._state.checkpoint_at(record.id, record.lineage_id, count, "auto", now))
            accepted.append((pending, count))
        if not accepted:
            return
        entry.conversations = list(updated.values())
        await self._pipeline.write(entry)
        self._state.conversations.update(updated)
        for checkpoint in entry.checkpoints:
            self._state.remember(checkpoint)
        for pending, count in accepted:
            if not pending.future.done():
                pending.future.set_result(count)
        metrics().store_committed(len(accepted), time.monotonic() - started)
        metrics().checkpoint_operation("auto", len(entry.checkpoints))

    # --- token usage ----------------------------------------------------------------------

    async def token_usage(self, conversation_id: str | None = None) -> dict[str, Any]:
        """Totals, the session's (the given or the most recently active conversation), per model, and cost.

        A conversation the store does not hold (deleted, or never made) is a session of no usage.
        """
        await self._ensure_open()
        recent = self._state.most_recent()
        session_id = conversation_id or (recent.id if recent is not None else None)
        records = self._state.conversations.values()
        return usage_tally.summary(records, self._retired, session_id, catalog_of(self._settings))

    async def _save_retired(self, retired: usage_tally.UsageByModel) -> None:
        document = {model_id: usage.model_dump() for model_id, usage in retired.items()}
        await self._backend.put_documents(USAGE_KIND, [(RETIRED_USAGE, json.dumps(document))])
        self._retired = retired

    async def _collect_garbage(self) -> int:
        """Delete lineages (and their messages) that no conversation or checkpoint reaches; how many."""
        dead = self._state.unreachable()
        if dead:
            # Lineage rows first: a crash in between leaves unreachable messages, never a lineage without its messages.
            await self._backend.delete_lineages(dead)
            for lineage_id in dead:
                del self._state.lineages[lineage_id]
            await self._backend.delete_messages(dead)
        return len(dead)


def _usage_of(document: str | None) -> usage_tally.UsageByModel:
    """The usage kept in a JSON document (``{model_id: Usage}``); empty if there is none."""
    if not document:
        return {}
    return {model_id: Usage.model_validate(usage) for model_id, usage in json.loads(document).items()}
