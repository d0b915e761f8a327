"""EmbeddingIndexer: embeds committed notes and messages in the background, for memory search by meaning.

Appends never wait for it. The store hands it what it has committed (``add``, a few
microseconds); a background task embeds those in batches of ``batch_size`` and
writes the vectors under the store's write lock, leaving out messages deleted in the
meantime. What it has not embedded yet (after a failure, a restart, or when more is
pending than it keeps in memory) the backend's backlog finds again: a provider that
fails for a while delays the vectors, it never loses them.

Memory stays bounded however long the provider fails: the first ``KEEP_TEXTS``
queued items keep their (cut) texts, later ones only their refs (texts are read
again per batch), and beyond ``MAX_QUEUED`` nothing is queued until the backlog is
read again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from penguin_actors.config import EmbeddingSettings
from penguin_actors.errors import ProviderError
from penguin_actors.store.backend import StoreBackend
from penguin_actors.store.rows import Embedding, MemoryItem

if TYPE_CHECKING:
    from penguin_actors.store.memory.embeddings import Embedder

log = logging.getLogger(__name__)

MAX_QUEUED = 100_000  # items queued at most (a few hundred bytes each without text); beyond, the backlog finds them
KEEP_TEXTS = 2_000  # queued items that keep their text; later ones have it read again when their batch comes
_REFUSED = {400, 413, 422}  # the provider refuses the input itself: trying it again will not help


class EmbeddingIndexer:
    """Embeds queued items in the background; ``alive(item)`` False drops an item whose source was deleted.

    ``writing`` is the store's write lock, held only while vectors are written, never
    while the provider is asked.
    """

    def __init__(
        self,
        backend: StoreBackend,
        embedder: Embedder,
        settings: EmbeddingSettings,
        writing: Callable[[], AbstractAsyncContextManager[None]],
        alive: Callable[[MemoryItem], bool],
        *,
        max_queued: int = MAX_QUEUED,
        keep_texts: int = KEEP_TEXTS,
    ) -> None:
        self._backend = backend
        self._embedder = embedder
        self._settings = settings
        self._writing = writing
        self._alive = alive
        self._max_queued = max_queued
        self._keep_texts = keep_texts
        self._queue: dict[str, MemoryItem] = {}
        self._rescan = True  # read the backlog once the queue is empty: at start, and after an overflow
        self._one_by_one = 0  # items to send alone, after a batch the provider refused
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._in_write = False  # a write is not cancelled half way: close waits for it
        self.failure: str | None = None  # why the last attempt failed, until one succeeds

    @property
    def pending(self) -> int:
        """Items waiting in memory (the backlog in storage not counted)."""
        return len(self._queue)

    @property
    def idle(self) -> bool:
        """Nothing queued and no backlog left to read: everything stored is embedded."""
        return not self._queue and not self._rescan

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._closing = False
            self._task = asyncio.create_task(self._run(), name="embedding-indexer")

    async def close(self) -> None:
        """Stop (after the write under way, if any); what is still queued is in the backlog at the next start."""
        if self._task is not None:
            self._closing = True
            if not self._in_write:
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def add(self, items: Iterable[MemoryItem]) -> None:
        """Queue committed items for embedding; returns at once."""
        for item in items:
            if item.ref in self._queue:
                continue
            if len(self._queue) >= self._max_queued:
                self._rescan = True
                break
            self._queue[item.ref] = self._kept(item)
        self._wake.set()

    def _kept(self, item: MemoryItem, *, text: bool = False) -> MemoryItem:
        """``item`` as queued: its text cut to what is embedded, or, unless ``text``, dropped (read again later)
        if many wait."""
        limit = self._settings.max_input_chars if text or len(self._queue) < self._keep_texts else 0
        return item if len(item.text) <= limit else dataclasses.replace(item, text=item.text[:limit])

    async def _run(self) -> None:
        while not self._closing:
            self._wake.clear()  # before the step: an item added while it runs wakes the next one
            try:
                busy = await self._step()
            except Exception as exc:  # the indexer's loop: log, wait, try again; the backlog keeps what is left
                if self._closing:
                    return
                log.exception("embedding the memory failed; trying again in %.0f s", self._settings.retry_interval_s)
                self.failure = f"{type(exc).__name__}: {exc}"
                await asyncio.sleep(self._settings.retry_interval_s)
                continue
            if not busy and not self._closing:
                await self._wake.wait()

    async def _step(self) -> bool:
        """Read the backlog or embed one batch; False when there was nothing to do."""
        if not self._queue and self._rescan:
            items, orphans = await self._backend.embedding_backlog(self._max_queued)
            if orphans:
                async with self._writing():
                    await self._backend.delete_embeddings(orphans)
            self._rescan = len(items) >= self._max_queued
            for item in items:
                self._queue.setdefault(item.ref, item)
            return bool(items)
        if not self._queue:
            return False
        batch = await self._next_batch()
        if not batch:
            return True
        try:
            vectors = await self._embedder.embed([item.text for item in batch])
        except ProviderError as exc:
            await self._failed(batch, exc)
            return True
        self._in_write = True
        try:
            async with self._writing():
                fresh = [Embedding(i, vector) for i, vector in zip(batch, vectors, strict=True) if self._alive(i)]
                await self._backend.add_embeddings(fresh)
        finally:
            self._in_write = False
        self._done(batch)
        if self.failure is not None:
            log.info("embedding the memory works again")
            self.failure = None
        return True

    async def _next_batch(self) -> list[MemoryItem]:
        """The oldest queued items, texts read for those queued without; those whose source is gone leave."""
        size = 1 if self._one_by_one else self._settings.batch_size
        batch = list(itertools.islice(self._queue.values(), size))
        unread = [item for item in batch if not item.text]
        if not unread:
            return batch
        read = {item.ref: item for item in await self._backend.memory_texts(unread)}
        for item in unread:
            if item.ref in read:
                self._queue[item.ref] = self._kept(read[item.ref], text=True)
            else:
                del self._queue[item.ref]
        return [self._queue[item.ref] for item in batch if item.ref in self._queue]

    async def _failed(self, batch: list[MemoryItem], exc: ProviderError) -> None:
        if exc.status in _REFUSED and not exc.retryable:
            if len(batch) > 1:  # find the one it refuses: send these alone
                self._one_by_one = len(batch)
            else:
                item = batch[0]
                log.warning("the embedding provider refuses %s %s, left unembedded: %s", item.source, item.ref, exc)
                self._done(batch)
            return
        if exc.message != self.failure:
            log.warning("embedding the memory failed; trying again in %.0f s: %s", self._delay(exc), exc.message)
        self.failure = exc.message
        await asyncio.sleep(self._delay(exc))

    def _done(self, batch: list[MemoryItem]) -> None:
        for item in batch:
            self._queue.pop(item.ref, None)
        self._one_by_one = max(0, self._one_by_one - len(batch))

    def _delay(self, exc: ProviderError) -> float:
        retry_after = exc.details.get("retry_after")
        wait = self._settings.retry_interval_s
        return max(wait, float(retry_after)) if isinstance(retry_after, int | float) else wait
