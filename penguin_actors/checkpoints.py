"""CheckpointStore: conversations, their messages and checkpoints; the one writer of the store.

A plain class; ``runtime.py`` runs it as the named detached actor ``checkpoints``.
It opens its backend lazily on the first call (an actor's ``__init__`` cannot
await) and keeps conversations, lineages and checkpoints in memory as the read
path; messages are read from the backend. Every write happens under one lock, so
the in-memory state and the backend change in the same order.

Storage is an append-only log with pointers (see ``DESIGN.md``): messages are
appended to a lineage, ``(lineage_id, seq) → message``; a conversation points at
its current lineage, and a checkpoint at a ``(lineage_id, seq)``. Message ``i``
of a conversation has seq ``i`` whichever lineage of its chain holds it. So
creating a checkpoint, rolling back and branching each write a constant number of
small rows, whatever the conversation's length.

Appends are group committed (``group_commit.py``): an append that finds the
store idle is written at once, and those that arrive while a write is in flight,
from any conversations, form the next batch, written with one backend call per
table. ``append_messages`` returns only once its messages are durable: with a
local database, once the batch is written to the commit journal
(``commit_journal.py``), which ``journal_applier.py`` applies to the backend in the background, many
batches at a time, and replayed on open if the store stopped first. Every other
write, and every read of messages, applies the journal first, so the backend
changes in the order the store did and no read misses an acknowledged message.

Notes (memory) and documents (other actors' records: tasks, projects) live in
the same database, so this is its one writer; memory search and the background
embedding of notes and messages are ``recall.py``'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Container, Sequence
from dataclasses import dataclass

import msgpack

from penguin_actors.commit_journal import CommitJournal, JournalEntry
from penguin_actors.config import Settings
from penguin_actors.errors import Invalid, NotFound, Unavailable
from penguin_actors.group_commit import GroupCommit, Pending
from penguin_actors.journal_applier import JournalApplier, write_entry
from penguin_actors.lineage import expired_checkpoints, message_ranges, unreachable_lineages
from penguin_actors.memory import MemoryResult, checked_query, note_text
from penguin_actors.metrics import metrics
from penguin_actors.recall import Recall
from penguin_actors.records import (
    CHECKPOINT_KINDS,
    BranchOrigin,
    CheckpointKind,
    CheckpointRecord,
    CheckpointStats,
    ConversationRecord,
    LineageRecord,
    NoteRecord,
)
from penguin_actors.storage import MessageRange, MessageRow, StoreBackend, TextQuery
from penguin_actors.types import Message

log = logging.getLogger(__name__)

DEFAULT_TITLE = "New conversation"
MAX_PAGE = 1000


@dataclass(frozen=True)
class _Append:
    """One caller's messages for the next group commit, already encoded."""

    conversation_id: str
    rows: Sequence[tuple[str, float, bytes, str]]  # role, created_at, msgpack data, text
    checkpoint: bool


def encode_message(message: Message) -> bytes:
    data: bytes = msgpack.packb(message.model_dump(mode="json"), use_bin_type=True)
    return data


def decode_message(data: bytes) -> Message:
    return Message.model_validate(msgpack.unpackb(data, raw=False))


def _new_id(prefix: str, taken: Container[str]) -> str:
    while True:
        candidate = f"{prefix}{secrets.token_hex(6)}"
        if candidate not in taken:
            return candidate


def _clean(text: str | None, what: str) -> str | None:
    if text is None:
        return None
    cleaned = text.strip()
    if not cleaned:
        raise Invalid(f"{what} may not be blank: give some text or leave it out")
    return cleaned


class CheckpointStore:
    """Conversations, their messages and checkpoints, on a ``StoreBackend`` (LanceDB by default).

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
            from penguin_actors.lance_backend import LanceBackend  # lazily: a handle's holders never load lancedb

            storage = settings.storage
            backend = LanceBackend(
                settings.resolved_storage_uri,
                index_cache_mb=storage.index_cache_mb,
                metadata_cache_mb=storage.metadata_cache_mb,
            )
        self._backend: StoreBackend = backend
        self._clock = clock
        self._optimize_every = optimize_every
        self._open_lock = asyncio.Lock()
        self._write_lock = asyncio.Lock()
        self._opened = False
        self._conversations: dict[str, ConversationRecord] = {}
        self._lineages: dict[str, LineageRecord] = {}
        self._checkpoints: dict[str, CheckpointRecord] = {}
        self._order: dict[str, int] = {}  # checkpoint id -> creation order, to break created_at ties
        self._next_order = 0
        self._applier = (
            None
            if journal is None
            else JournalApplier(journal, backend, flush_s=settings.storage.journal_flush_s, applied=self._applied)
        )
        guard = self._write_lock_only if self._applier is not None else self._writing
        self._appends: GroupCommit[_Append, int] = GroupCommit(self._commit, guard, window_s=commit_window_s)
        self._optimizer: asyncio.Task[None] | None = None
        self._batches_since_optimize = 0
        self._cleaner: asyncio.Task[None] | None = None
        self._recall = Recall(
            settings.memory,
            self._backend,
            lambda: self._writing(applying_journal=False),
            lambda lineage_id: lineage_id in self._lineages,
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
                if self._applier is not None:
                    replayed = await self._applier.replay({c.id for c in checkpoints})
                    conversations += replayed.conversations  # the later record of an id wins below
                    checkpoints += replayed.checkpoints
                await self._recall.open()
            except Exception as exc:
                raise Unavailable(f"the conversation store cannot be opened: {exc}") from exc
            self._conversations = {c.id: c for c in conversations}
            self._lineages = {lineage.id: lineage for lineage in lineages}
            self._checkpoints, self._order = {}, {}
            for checkpoint in sorted(checkpoints, key=lambda c: (c.created_at, c.id)):
                self._remember(checkpoint)
            self._opened = True
            if self._settings.checkpoints.enabled:
                self._cleaner = asyncio.create_task(self._clean_periodically())

    async def _clean_periodically(self) -> None:
        """Apply the retention policy every ``checkpoints.cleanup_interval_s``."""
        while True:
            await asyncio.sleep(self._settings.checkpoints.cleanup_interval_s)
            try:
                cleaned = await self.cleanup()
            except Exception:  # the schedule keeps going; the next run tries again
                log.exception("scheduled checkpoint cleanup failed")
            else:
                log.info("scheduled checkpoint cleanup removed %d checkpoints", cleaned)

    async def flush(self) -> None:
        """Wait until every append made so far is committed (or has failed)."""
        await self._appends.flush()

    async def apply_journal(self) -> None:
        """Write every journaled commit to the backend now (a failure leaves them journaled, and raises)."""
        if self._applier is not None:
            await self._applier.apply()

    def _applied(self, entry: JournalEntry) -> None:
        self._recall.messages_added(entry.messages)
        self._count_batch()

    async def close(self) -> None:
        """Commit what is pending, wait for a running compaction, and close the backend."""
        if not self._opened:
            return
        if self._cleaner is not None:
            self._cleaner.cancel()
        await self.flush()
        if self._applier is not None:
            await self._applier.close()
        if self._optimizer is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._optimizer)
        await self._recall.close()
        async with self._write_lock:
            await self._backend.close()
            self._opened = False

    async def optimize(self) -> None:
        """Compact the backend now (after any compaction already running); raises what it raises."""
        await self._ensure_open()
        while self._optimizer is not None and not self._optimizer.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(self._optimizer)
        await asyncio.shield(self._start_optimize())

    def _start_optimize(self) -> asyncio.Task[None]:
        if self._optimizer is None or self._optimizer.done():
            self._batches_since_optimize = 0
            self._optimizer = asyncio.create_task(self._backend.optimize())
            self._optimizer.add_done_callback(_log_failure)
        return self._optimizer

    # --- conversations ----------------------------------------------------------

    async def create_conversation(self, title: str | None = None, model_id: str | None = None) -> ConversationRecord:
        await self._ensure_open()
        title = _clean(title, "title") or DEFAULT_TITLE
        model_id = _clean(model_id, "model_id")
        async with self._writing(applying_journal=False):
            now = self._clock()
            conversation_id = _new_id("conv_", self._conversations)
            lineage = LineageRecord(id=_new_id("lin_", self._lineages), conversation_id=conversation_id, created_at=now)
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
            self._lineages[lineage.id] = lineage
            await self._backend.upsert_conversations([record])
            self._conversations[record.id] = record
        return record

    async def get_conversation(self, conversation_id: str) -> ConversationRecord:
        await self._ensure_open()
        return self._require(conversation_id)

    async def list_conversations(self, limit: int = 50, offset: int = 0) -> tuple[list[ConversationRecord], int]:
        """A page of conversations, the most recently active first, and the total number."""
        await self._ensure_open()
        if not 1 <= limit <= MAX_PAGE or offset < 0:
            raise Invalid(f"limit must be 1..{MAX_PAGE} and offset at least 0 (got limit={limit}, offset={offset})")
        ordered = sorted(self._conversations.values(), key=lambda c: (c.last_active, c.created_at, c.id), reverse=True)
        return ordered[offset : offset + limit], len(ordered)

    async def most_recent_conversation(self) -> str | None:
        await self._ensure_open()
        if not self._conversations:
            return None
        return max(self._conversations.values(), key=lambda c: (c.last_active, c.created_at, c.id)).id

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
            changes["title"] = _clean(title, "title")
        if clear_model:
            changes["model_id"] = None
        elif model_id is not None:
            changes["model_id"] = _clean(model_id, "model_id")
        async with self._writing():
            record = self._require(conversation_id)
            if not changes:
                return record
            record = record.model_copy(update=changes)
            await self._backend.upsert_conversations([record])
            self._conversations[record.id] = record
        return record

    async def delete_conversation(self, conversation_id: str) -> None:
        """Delete it and its checkpoints; messages no remaining conversation or checkpoint reaches go too.

        A branch of it keeps working: the messages the branch shares with it stay.
        """
        await self._ensure_open()
        async with self._writing():
            self._require(conversation_id)
            await self._backend.delete_conversation(conversation_id)
            del self._conversations[conversation_id]
            doomed = [c.id for c in self._checkpoints.values() if c.conversation_id == conversation_id]
            if doomed:
                await self._backend.delete_checkpoints(doomed)
                self._forget(doomed)
            await self._collect_garbage()

    # --- messages -----------------------------------------------------------------

    async def append_messages(self, conversation_id: str, messages: list[Message], *, checkpoint: bool = False) -> int:
        """Append messages durably; the conversation's new message count.

        ``checkpoint=True`` also records an ``auto`` checkpoint after them, in the
        same commit (skipped when ``checkpoints.enabled`` is false).
        """
        await self._ensure_open()
        if not messages:
            return self._require(conversation_id).message_count
        self._require(conversation_id)
        rows = [(m.role, m.created_at, encode_message(m), m.text()) for m in messages]
        return await self._appends.submit(_Append(conversation_id, rows, checkpoint))

    async def load_messages(self, conversation_id: str) -> list[Message]:
        """The conversation's messages in order: its lineage chain's ranges concatenated."""
        await self._ensure_open()
        record = self._require(conversation_id)
        await self.apply_journal()  # every message the record counts is in the backend after this
        rows = await self._backend.read_messages(self._ranges(record.lineage_id, record.message_count))
        if len(rows) != record.message_count:
            log.error(
                "conversation %s has %d of its %d messages stored", conversation_id, len(rows), record.message_count
            )
        return [decode_message(data) for _, _, data in rows]

    async def _commit(self, batch: list[Pending[_Append, int]]) -> None:
        """Write a batch of appends: one backend call per table, whatever the number of callers."""
        started = time.monotonic()
        now = self._clock()
        updated: dict[str, ConversationRecord] = {}
        rows: list[MessageRow] = []
        checkpoints: list[CheckpointRecord] = []
        accepted: list[tuple[Pending[_Append, int], int]] = []
        for pending in batch:
            item = pending.item
            if pending.future.done():  # its caller was cancelled before the batch was written
                continue
            record = updated.get(item.conversation_id) or self._conversations.get(item.conversation_id)
            if record is None:
                pending.future.set_exception(self._not_found(item.conversation_id))
                continue
            start = record.message_count
            for i, (role, created_at, data, text) in enumerate(item.rows):
                rows.append(MessageRow(record.lineage_id, start + i, record.id, role, created_at, data, text))
            count = start + len(item.rows)
            record = record.model_copy(update={"message_count": count, "last_active": max(now, record.last_active)})
            updated[record.id] = record
            if item.checkpoint and self._settings.checkpoints.enabled:
                checkpoints.append(self._checkpoint_at(record.id, record.lineage_id, count, "auto", now=now))
            accepted.append((pending, count))
        if not accepted:
            return
        entry = JournalEntry(rows, list(updated.values()), checkpoints)
        if self._applier is not None:
            self._applier.append(entry)
        else:
            await write_entry(self._backend, entry)
            self._recall.messages_added(rows)
        self._conversations.update(updated)
        for checkpoint in checkpoints:
            self._remember(checkpoint)
        for pending, count in accepted:
            if not pending.future.done():
                pending.future.set_result(count)
        metrics().store_committed(len(accepted), time.monotonic() - started)
        metrics().checkpoint_operation("auto", len(checkpoints))

    @contextlib.asynccontextmanager
    async def _writing(self, *, applying_journal: bool = True) -> AsyncIterator[None]:
        """The write lock, after the journal is applied; every write counts toward the next background compaction.

        ``applying_journal=False`` for writes that cannot conflict with journaled commits (other tables, new rows).
        """
        async with self._write_lock:
            if applying_journal:
                await self.apply_journal()
            yield
        self._count_batch()

    @contextlib.asynccontextmanager
    async def _write_lock_only(self) -> AsyncIterator[None]:
        """Journaled commits: the write lock alone (they write the journal, not the backend)."""
        async with self._write_lock:
            yield

    def _count_batch(self) -> None:
        self._batches_since_optimize += 1
        if self._batches_since_optimize >= self._optimize_every:
            self._start_optimize()

    # --- memory and documents ----------------------------------------------------------

    async def add_note(self, text: str, conversation_id: str | None = None) -> NoteRecord:
        """Keep a note for ``memory_search``; ``conversation_id`` says who wrote it (notes outlive it)."""
        await self._ensure_open()
        note = NoteRecord(
            id=_new_id("note_", ()), conversation_id=conversation_id, text=note_text(text), created_at=self._clock()
        )
        async with self._writing(applying_journal=False):
            await self._backend.add_notes([note])
        self._recall.note_added(note)
        return note

    async def search_memory(self, query: TextQuery) -> MemoryResult:
        """Notes and user/assistant messages matching ``query.text``, best first per source (``recall.py``)."""
        await self._ensure_open()
        await self.apply_journal()  # the messages just committed are found too
        return await self._recall.search(checked_query(query))

    async def put_documents(self, kind: str, documents: dict[str, str]) -> None:
        """Store JSON documents of ``kind`` by id (other actors' records: tasks, projects …)."""
        await self._ensure_open()
        async with self._writing(applying_journal=False):
            await self._backend.put_documents(kind, list(documents.items()))

    async def load_documents(self, kind: str) -> dict[str, str]:
        await self._ensure_open()
        return dict(await self._backend.load_documents(kind))

    async def delete_documents(self, kind: str, ids: list[str]) -> int:
        await self._ensure_open()
        async with self._writing(applying_journal=False):
            return await self._backend.delete_documents(kind, ids)

    # --- checkpoints ------------------------------------------------------------------

    async def create_checkpoint(
        self,
        conversation_id: str,
        kind: CheckpointKind = "manual",
        name: str | None = None,
        description: str | None = None,
    ) -> CheckpointRecord:
        """A checkpoint at the conversation's current end (its committed messages)."""
        await self._ensure_open()
        if kind not in ("auto", "manual"):
            raise Invalid(f"kind must be 'auto' or 'manual', not {kind!r}: branch() and rollback() record the others")
        async with self._writing():
            record = self._require(conversation_id)
            checkpoint = self._checkpoint_at(
                record.id, record.lineage_id, record.message_count, kind, name=name, description=description
            )
            await self._backend.add_checkpoints([checkpoint])
            self._remember(checkpoint)
        metrics().checkpoint_operation("auto" if kind == "auto" else "create")
        return checkpoint

    async def list_checkpoints(self, conversation_id: str | None = None, limit: int = 50) -> list[CheckpointRecord]:
        """Checkpoints, newest first: of one conversation, or of all."""
        await self._ensure_open()
        if not 1 <= limit <= MAX_PAGE:
            raise Invalid(f"limit must be 1..{MAX_PAGE} (got {limit})")
        if conversation_id is not None:
            self._require(conversation_id)
        found = [c for c in self._checkpoints.values() if conversation_id in (None, c.conversation_id)]
        found.sort(key=lambda c: (c.created_at, self._order[c.id]), reverse=True)
        return found[:limit]

    async def get_checkpoint(self, checkpoint_id: str) -> CheckpointRecord:
        await self._ensure_open()
        return self._require_checkpoint(checkpoint_id)

    async def rollback(self, checkpoint_id: str) -> CheckpointRecord:
        """Return the conversation to the checkpoint; the ``rollback`` checkpoint recorded first, to undo it.

        The conversation gets a new lineage forked from the checkpoint's point, so
        nothing is lost: rolling back to the returned checkpoint restores where it was.
        """
        await self._ensure_open()
        async with self._writing():
            target = self._require_checkpoint(checkpoint_id)
            record = self._conversations.get(target.conversation_id)
            if record is None:
                raise NotFound(
                    f"checkpoint {checkpoint_id} belongs to conversation {target.conversation_id}, which was deleted: "
                    "branch from it instead",
                    checkpoint_id=checkpoint_id,
                )
            self._ranges(target.lineage_id, target.seq)  # its messages must still be stored
            now = self._clock()
            name = f"Before rollback to {target.name or target.id}"
            marker = self._checkpoint_at(record.id, record.lineage_id, record.message_count, "rollback", name=name)
            lineage = self._fork(target, record.id, now)
            moved = record.model_copy(
                update={
                    "lineage_id": lineage.id,
                    "message_count": target.seq,
                    "last_active": max(now, record.last_active),
                }
            )
            await self._backend.add_checkpoints([marker])
            self._remember(marker)
            await self._backend.add_lineages([lineage])
            self._lineages[lineage.id] = lineage
            await self._backend.upsert_conversations([moved])
            self._conversations[moved.id] = moved
        metrics().checkpoint_operation("rollback")
        return marker

    async def branch(
        self, checkpoint_id: str, name: str | None = None, description: str | None = None
    ) -> tuple[ConversationRecord, CheckpointRecord]:
        """A new conversation starting from the checkpoint's messages, and the ``branch`` checkpoint recorded.

        The branch checkpoint goes on the source conversation, at the branch point.
        A checkpoint whose conversation was deleted is normally deleted with it
        (so: NotFound); one that outlived it (a delete interrupted half way) can
        still be branched from as long as its messages are stored, and then the
        branch checkpoint goes on the new conversation. If its messages are gone:
        Conflict.
        """
        await self._ensure_open()
        name = _clean(name, "name")
        async with self._writing():
            target = self._require_checkpoint(checkpoint_id)
            self._ranges(target.lineage_id, target.seq)  # Conflict if its messages are gone
            source = self._conversations.get(target.conversation_id)
            now = self._clock()
            conversation_id = _new_id("conv_", self._conversations)
            lineage = self._fork(target, conversation_id, now)
            title = name or (f"Branch of {source.title}" if source else f"Branch of checkpoint {target.id}")
            record = ConversationRecord(
                id=conversation_id,
                title=title,
                created_at=now,
                last_active=now,
                message_count=target.seq,
                lineage_id=lineage.id,
                model_id=source.model_id if source else None,
                branch_of=BranchOrigin(conversation_id=target.conversation_id, checkpoint_id=target.id),
            )
            owner, at_lineage = (source.id, target.lineage_id) if source else (record.id, lineage.id)
            marker = self._checkpoint_at(
                owner, at_lineage, target.seq, "branch", name=name or title, description=description, now=now
            )
            await self._backend.add_lineages([lineage])
            self._lineages[lineage.id] = lineage
            await self._backend.upsert_conversations([record])
            self._conversations[record.id] = record
            await self._backend.add_checkpoints([marker])
            self._remember(marker)
        metrics().checkpoint_operation("branch")
        return record, marker

    async def stats(self) -> CheckpointStats:
        await self._ensure_open()
        counts = {kind: 0 for kind in CHECKPOINT_KINDS}
        for checkpoint in self._checkpoints.values():
            counts[checkpoint.kind] += 1
        return CheckpointStats(total=len(self._checkpoints), **counts)

    async def cleanup(self, now: float | None = None) -> int:
        """Apply the retention policy (``lineage.expired_checkpoints``); the number of checkpoints deleted.

        Afterwards the messages of lineages that no conversation or kept checkpoint
        reaches are deleted.
        """
        await self._ensure_open()
        deleted = 0
        async with self._writing():
            now = self._clock() if now is None else now
            doomed = expired_checkpoints(self._checkpoints.values(), self._order, now, self._settings.checkpoints)
            if doomed:
                deleted = await self._backend.delete_checkpoints(doomed)
                self._forget(doomed)
                await self._collect_garbage()
        metrics().checkpoint_operation("cleanup")
        return deleted

    # --- internals ----------------------------------------------------------------------

    def _not_found(self, conversation_id: str) -> NotFound:
        return NotFound(f"no conversation {conversation_id!r}: it does not exist or was deleted")

    def _require(self, conversation_id: str) -> ConversationRecord:
        record = self._conversations.get(conversation_id)
        if record is None:
            raise self._not_found(conversation_id)
        return record

    def _require_checkpoint(self, checkpoint_id: str) -> CheckpointRecord:
        checkpoint = self._checkpoints.get(checkpoint_id)
        if checkpoint is None:
            raise NotFound(
                f"no checkpoint {checkpoint_id!r}: it does not exist, was cleaned up, or its conversation was deleted"
            )
        return checkpoint

    def _checkpoint_at(
        self,
        conversation_id: str,
        lineage_id: str,
        seq: int,
        kind: CheckpointKind,
        *,
        name: str | None = None,
        description: str | None = None,
        now: float | None = None,
    ) -> CheckpointRecord:
        return CheckpointRecord(
            id=_new_id("ckpt_", self._checkpoints),
            conversation_id=conversation_id,
            lineage_id=lineage_id,
            seq=seq,
            kind=kind,
            name=_clean(name, "name"),
            description=_clean(description, "description"),
            created_at=self._clock() if now is None else now,
            message_count=seq,
        )

    def _fork(self, at: CheckpointRecord, conversation_id: str, now: float) -> LineageRecord:
        return LineageRecord(
            id=_new_id("lin_", self._lineages),
            conversation_id=conversation_id,
            parent_lineage=at.lineage_id,
            fork_seq=at.seq,
            created_at=now,
        )

    def _remember(self, checkpoint: CheckpointRecord) -> None:
        self._checkpoints[checkpoint.id] = checkpoint
        self._order[checkpoint.id] = self._next_order
        self._next_order += 1

    def _forget(self, checkpoint_ids: list[str]) -> None:
        for checkpoint_id in checkpoint_ids:
            self._checkpoints.pop(checkpoint_id, None)
            self._order.pop(checkpoint_id, None)

    def _ranges(self, lineage_id: str, seq: int) -> list[MessageRange]:
        return message_ranges(self._lineages, lineage_id, seq)

    async def _collect_garbage(self) -> int:
        """Delete lineages (and their messages) that no conversation or checkpoint reaches; how many."""
        roots = [c.lineage_id for c in self._conversations.values()]
        roots += [c.lineage_id for c in self._checkpoints.values()]
        dead = unreachable_lineages(self._lineages, roots)
        if dead:
            # Lineage rows first: a crash in between leaves unreachable messages, never a lineage without its messages.
            await self._backend.delete_lineages(dead)
            for lineage_id in dead:
                del self._lineages[lineage_id]
            await self._backend.delete_messages(dead)
        return len(dead)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("background compaction failed; it will be tried again later", exc_info=task.exception())
