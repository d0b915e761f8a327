"""JournalApplier: group commits acknowledged once journaled, on their way to the store's backend.

``CheckpointStore`` hands each group commit to ``append``, which writes it to the
``CommitJournal`` (``commit_journal.py``); the applier then writes what is journaled to the
backend in batches, in the background every ``flush_s``, or at once when ``apply`` is called
(the store calls it before every write or read that must see the commits). ``replay``, at
open, applies what a run that stopped left journaled, without writing anything twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from penguin_actors.errors import Unavailable
from penguin_actors.store.backend import StoreBackend
from penguin_actors.store.journal import CommitJournal, JournalEntry, merge

log = logging.getLogger(__name__)

APPLY_RETRY_S = 5.0  # after the journal failed to apply, the next background try waits this long


async def write_entry(backend: StoreBackend, entry: JournalEntry) -> None:
    """Write a commit: messages first, as the conversation rows count them and checkpoints point into them."""
    await backend.append_messages(entry.messages)
    writes = [backend.upsert_conversations(entry.conversations)]
    if entry.checkpoints:
        writes.append(backend.add_checkpoints(entry.checkpoints))
    await asyncio.gather(*writes)


class JournalApplier:
    """``applied`` is told of every batch ``apply`` wrote (not of a replay's, which happens before opening)."""

    def __init__(
        self,
        journal: CommitJournal,
        backend: StoreBackend,
        *,
        flush_s: float,
        applied: Callable[[JournalEntry], None],
    ) -> None:
        self.journal = journal
        self._backend = backend
        self._flush_s = flush_s
        self._applied = applied
        self._unflushed: list[JournalEntry] = []
        self._applying: list[JournalEntry] = []  # being written to the backend now
        self._lock = asyncio.Lock()
        self.flusher: asyncio.Task[None] | None = None

    def append(self, entry: JournalEntry) -> None:
        """Journal a commit (acknowledged once this returns) and schedule applying it; Unavailable if it cannot."""
        try:
            self.journal.append(entry)
        except OSError as exc:
            self.journal.seal()  # what follows goes to a new file, never after a torn record
            raise Unavailable(f"the commit journal could not be written ({exc}): free disk space, retry") from exc
        self._unflushed.append(entry)
        if self.flusher is None or self.flusher.done():
            self.flusher = asyncio.create_task(self._apply_later())

    async def apply(self) -> None:
        """Write every journaled commit to the backend now (a failure leaves them journaled, and raises)."""
        async with self._lock:
            if not self._unflushed:
                return
            entries, self._unflushed = self._unflushed, []
            self._applying = entries
            sealed = self.journal.seal()
            entry = merge(entries)
            try:
                await write_entry(self._backend, entry)
            except BaseException:
                self._unflushed[:0] = entries  # applied with the next batch; their files stay until then
                raise
            finally:
                self._applying = []
            self.journal.drop(sealed)
            self._applied(entry)

    def pending(self) -> list[JournalEntry]:
        """The journaled commits the backend may not hold yet: those being applied, then those waiting."""
        return [*self._applying, *self._unflushed]

    async def _apply_later(self) -> None:
        delay = self._flush_s
        while self._unflushed:
            await asyncio.sleep(delay)
            try:
                await self.apply()
            except Exception:  # kept journaled: tried again, and by the next write or read that needs it
                log.exception("applying the commit journal to the store failed; retrying in %.0f s", APPLY_RETRY_S)
                delay = APPLY_RETRY_S
            else:
                delay = self._flush_s

    async def replay(self, stored_checkpoints: set[str]) -> JournalEntry:
        """Apply what the journal holds from a run that stopped before applying it; what was applied."""
        entries = self.journal.recover()
        if not entries:
            return JournalEntry()
        entry = merge(entries)
        # Rows already applied (the run stopped between applying and dropping) are not written twice.
        spans: dict[str, tuple[int, int]] = {}
        for row in entry.messages:
            low, high = spans.get(row.lineage_id, (row.seq, row.seq))
            spans[row.lineage_id] = (min(low, row.seq), max(high, row.seq))
        stored = await self._backend.read_messages([(lin, low, high + 1) for lin, (low, high) in spans.items()])
        present = {(lineage_id, seq) for lineage_id, seq, _ in stored}
        entry.messages = [r for r in entry.messages if (r.lineage_id, r.seq) not in present]
        entry.checkpoints = [c for c in entry.checkpoints if c.id not in stored_checkpoints]
        await write_entry(self._backend, entry)
        self.journal.drop(self.journal.seal())
        log.info(
            "replayed the commit journal: %d messages, %d conversations, %d checkpoints",
            len(entry.messages),
            len(entry.conversations),
            len(entry.checkpoints),
        )
        return entry

    async def close(self) -> None:
        """Apply what is journaled, stop the background applier and close the journal's file."""
        await self.apply()
        if self.flusher is not None:
            self.flusher.cancel()
        self.journal.close()
