"""CheckpointStore: the conversation log with checkpoints into it, memory and documents; the store's one writer.

A plain class; ``edge`` runs it as the named detached actor ``checkpoints``. A
checkpoint is a pointer ``(lineage_id, seq)`` into the log (``log.py``), so
creating one, rolling back and branching each write a constant number of small
rows, whatever the conversation's length; retention (``lineage.py``) deletes
automatic checkpoints by age and then the messages nothing reaches any more.
Notes (memory) and documents (other actors' records: tasks, projects) live in
the same database, so this is its one writer; memory search is
``memory/recall.py``'s.
"""

from __future__ import annotations

import asyncio
import logging

from penguin_actors.errors import Invalid, NotFound
from penguin_actors.metrics import metrics
from penguin_actors.store.lineage import expired_checkpoints
from penguin_actors.store.log import MAX_PAGE, ConversationLog
from penguin_actors.store.memory.notes import MemoryResult, checked_query, note_text
from penguin_actors.store.records import (
    CHECKPOINT_KINDS,
    BranchOrigin,
    CheckpointKind,
    CheckpointRecord,
    CheckpointStats,
    ConversationRecord,
    NoteRecord,
)
from penguin_actors.store.rows import TextQuery
from penguin_actors.store.state import clean, new_id

log = logging.getLogger(__name__)


class CheckpointStore(ConversationLog):
    """Conversations, their messages and checkpoints, on a ``StoreBackend`` (LanceDB by default).

    The parameters are ``ConversationLog``'s.
    """

    def _opened_now(self) -> None:
        if self._settings.checkpoints.enabled:
            self._background.append(asyncio.create_task(self._clean_periodically()))

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
        async with self._pipeline.writing():
            record = self._state.require(conversation_id)
            checkpoint = self._state.checkpoint_at(
                record.id,
                record.lineage_id,
                record.message_count,
                kind,
                self._clock(),
                name=name,
                description=description,
            )
            await self._backend.add_checkpoints([checkpoint])
            self._state.remember(checkpoint)
        metrics().checkpoint_operation("auto" if kind == "auto" else "create")
        return checkpoint

    async def list_checkpoints(self, conversation_id: str | None = None, limit: int = 50) -> list[CheckpointRecord]:
        """Checkpoints, newest first: of one conversation, or of all."""
        await self._ensure_open()
        if not 1 <= limit <= MAX_PAGE:
            raise Invalid(f"limit must be 1..{MAX_PAGE} (got {limit})")
        if conversation_id is not None:
            self._state.require(conversation_id)
        return self._state.newest_checkpoints(conversation_id, limit)

    async def get_checkpoint(self, checkpoint_id: str) -> CheckpointRecord:
        await self._ensure_open()
        return self._state.require_checkpoint(checkpoint_id)

    async def rollback(self, checkpoint_id: str) -> CheckpointRecord:
        """Return the conversation to the checkpoint; the ``rollback`` checkpoint recorded first, to undo it.

        The conversation gets a new lineage forked from the checkpoint's point, so
        nothing is lost: rolling back to the returned checkpoint restores where it was.
        """
        await self._ensure_open()
        async with self._pipeline.writing():
            target = self._state.require_checkpoint(checkpoint_id)
            record = self._state.conversations.get(target.conversation_id)
            if record is None:
                raise NotFound(
                    f"checkpoint {checkpoint_id} belongs to conversation {target.conversation_id}, which was deleted: "
                    "branch from it instead",
                    checkpoint_id=checkpoint_id,
                )
            self._state.ranges(target.lineage_id, target.seq)  # its messages must still be stored
            now = self._clock()
            name = f"Before rollback to {target.name or target.id}"
            marker = self._state.checkpoint_at(
                record.id, record.lineage_id, record.message_count, "rollback", now, name=name
            )
            lineage = self._state.new_lineage(record.id, now, at=target)
            moved = record.model_copy(
                update={
                    "lineage_id": lineage.id,
                    "message_count": target.seq,
                    "last_active": max(now, record.last_active),
                }
            )
            await self._backend.add_checkpoints([marker])
            self._state.remember(marker)
            await self._backend.add_lineages([lineage])
            self._state.lineages[lineage.id] = lineage
            await self._backend.upsert_conversations([moved])
            self._state.conversations[moved.id] = moved
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
        name = clean(name, "name")
        async with self._pipeline.writing():
            target = self._state.require_checkpoint(checkpoint_id)
            self._state.ranges(target.lineage_id, target.seq)  # Conflict if its messages are gone
            source = self._state.conversations.get(target.conversation_id)
            now = self._clock()
            conversation_id = self._state.new_conversation_id()
            lineage = self._state.new_lineage(conversation_id, now, at=target)
            title = name or (f"Branch of {source.display_title}" if source else f"Branch of checkpoint {target.id}")
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
            marker = self._state.checkpoint_at(
                owner, at_lineage, target.seq, "branch", now, name=name or title, description=description
            )
            await self._backend.add_lineages([lineage])
            self._state.lineages[lineage.id] = lineage
            await self._backend.upsert_conversations([record])
            self._state.conversations[record.id] = record
            await self._backend.add_checkpoints([marker])
            self._state.remember(marker)
        metrics().checkpoint_operation("branch")
        return record, marker

    async def stats(self) -> CheckpointStats:
        await self._ensure_open()
        counts = {kind: 0 for kind in CHECKPOINT_KINDS}
        for checkpoint in self._state.checkpoints.values():
            counts[checkpoint.kind] += 1
        return CheckpointStats(total=len(self._state.checkpoints), **counts)

    async def cleanup(self, now: float | None = None) -> int:
        """Apply the retention policy (``lineage.expired_checkpoints``); the number of checkpoints deleted.

        Afterwards the messages of lineages that no conversation or kept checkpoint
        reaches are deleted.
        """
        await self._ensure_open()
        deleted = 0
        async with self._pipeline.writing():
            now = self._clock() if now is None else now
            state = self._state
            doomed = expired_checkpoints(state.checkpoints.values(), state.order, now, self._settings.checkpoints)
            if doomed:
                deleted = await self._backend.delete_checkpoints(doomed)
                state.forget(doomed)
                await self._collect_garbage()
        metrics().checkpoint_operation("cleanup")
        return deleted

    # --- memory and documents ----------------------------------------------------------

    async def add_note(self, text: str, conversation_id: str | None = None) -> NoteRecord:
        """Keep a note for ``memory_search``; ``conversation_id`` says who wrote it (notes outlive it)."""
        await self._ensure_open()
        note = NoteRecord(
            id=new_id("note_", ()), conversation_id=conversation_id, text=note_text(text), created_at=self._clock()
        )
        async with self._pipeline.writing(applying_journal=False):
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
        async with self._pipeline.writing(applying_journal=False):
            await self._backend.put_documents(kind, list(documents.items()))

    async def load_documents(self, kind: str) -> dict[str, str]:
        await self._ensure_open()
        return dict(await self._backend.load_documents(kind))

    async def delete_documents(self, kind: str, ids: list[str]) -> int:
        await self._ensure_open()
        async with self._pipeline.writing(applying_journal=False):
            return await self._backend.delete_documents(kind, ids)
