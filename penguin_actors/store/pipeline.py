"""WritePipeline: how the checkpoint store's writes reach its backend, in order and in batches.

Every write happens under one lock, so the store's memory and its backend change in
the same order. Appends are group committed (``group_commit.py``): one that finds the
pipeline idle is written at once, and those that arrive while a write is in flight,
from any conversations, form the next batch. With a commit journal
(``journal.py``), a batch is acknowledged once journaled and ``applier.py`` writes
it to the backend later, many batches at a time; every other write, and every read
that must see the commits, applies the journal first. Every ``optimize_every``
written batches, the backend is compacted in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Generic, TypeVar

from penguin_actors.store.applier import JournalApplier, write_entry
from penguin_actors.store.backend import StoreBackend
from penguin_actors.store.group_commit import GroupCommit, Pending
from penguin_actors.store.journal import CommitJournal, JournalEntry
from penguin_actors.store.records import CheckpointRecord, ConversationRecord

log = logging.getLogger(__name__)

ItemT = TypeVar("ItemT")


class WritePipeline(Generic[ItemT]):
    """The store's write lock, group commit, journal and compaction.

    ``commit`` turns a batch of submitted items into durable writes (calling
    ``write`` with what to store) and settles each item's future; ``applied`` is
    told of every entry written to the backend (for the memory index).
    """

    def __init__(
        self,
        backend: StoreBackend,
        commit: Callable[[list[Pending[ItemT, int]]], Awaitable[None]],
        *,
        applied: Callable[[JournalEntry], None],
        journal: CommitJournal | None = None,
        flush_s: float = 0.5,
        window_s: float = 0.0,
        optimize_every: int = 200,
    ) -> None:
        self._backend = backend
        self._applied = applied
        self._lock = asyncio.Lock()
        self._optimize_every = optimize_every
        self._batches_since_optimize = 0
        self._optimizer: asyncio.Task[None] | None = None
        self.applier = (
            None
            if journal is None
            else JournalApplier(journal, backend, flush_s=flush_s, applied=self._journal_applied)
        )
        guard = self._lock_only if self.applier is not None else self.writing
        self._appends: GroupCommit[ItemT, int] = GroupCommit(commit, guard, window_s=window_s)

    @property
    def journaled(self) -> bool:
        return self.applier is not None

    async def submit(self, item: ItemT) -> int:
        """Queue ``item`` for the next group commit; its result once that batch is durable."""
        return await self._appends.submit(item)

    async def write(self, entry: JournalEntry) -> None:
        """Make a batch's entry durable (the caller holds the lock, as ``commit`` does): journaled, or written."""
        if self.applier is not None:
            self.applier.append(entry)
        else:
            await write_entry(self._backend, entry)
            self._applied(entry)

    @contextlib.asynccontextmanager
    async def writing(self, *, applying_journal: bool = True) -> AsyncIterator[None]:
        """The write lock, after the journal is applied; every write counts toward the next background compaction.

        ``applying_journal=False`` for writes that cannot conflict with journaled commits (other tables, new rows).
        """
        async with self._lock:
            if applying_journal:
                await self.apply_journal()
            yield
        self.count_batch()

    @contextlib.asynccontextmanager
    async def _lock_only(self) -> AsyncIterator[None]:
        """Journaled commits: the write lock alone (they write the journal, not the backend)."""
        async with self._lock:
            yield

    async def replay(self, stored_checkpoints: set[str]) -> tuple[list[ConversationRecord], list[CheckpointRecord]]:
        """At open: apply what a run that stopped left journaled; the conversations and checkpoints it held."""
        if self.applier is None:
            return [], []
        replayed = await self.applier.replay(stored_checkpoints)
        return replayed.conversations, replayed.checkpoints

    async def apply_journal(self) -> None:
        """Write every journaled commit to the backend now (a failure leaves them journaled, and raises)."""
        if self.applier is not None:
            await self.applier.apply()

    def pending_rows(self) -> dict[tuple[str, int], bytes]:
        """Message data by ``(lineage_id, seq)`` of the journaled commits the backend may not hold yet.

        Taken before a read of the backend, it and the read together hold every acknowledged row:
        a commit leaves this list only once the backend holds it.
        """
        if self.applier is None:
            return {}
        return {(row.lineage_id, row.seq): row.data for entry in self.applier.pending() for row in entry.messages}

    async def flush(self) -> None:
        """Wait until every append submitted so far is committed (or has failed)."""
        await self._appends.flush()

    def _journal_applied(self, entry: JournalEntry) -> None:
        self._applied(entry)
        self.count_batch()

    def count_batch(self) -> None:
        self._batches_since_optimize += 1
        if self._batches_since_optimize >= self._optimize_every:
            self._start_optimize()

    async def optimize(self) -> None:
        """Compact the backend now (after any compaction already running); raises what it raises."""
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

    async def close(self) -> None:
        """Commit what is pending, apply the journal, wait for a running compaction, and close the backend."""
        await self.flush()
        if self.applier is not None:
            await self.applier.close()
        if self._optimizer is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._optimizer)

    @contextlib.asynccontextmanager
    async def closing(self) -> AsyncIterator[None]:
        """The lock, for closing the backend once ``close`` has drained everything."""
        async with self._lock:
            yield


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("background compaction failed; it will be tried again later", exc_info=task.exception())
