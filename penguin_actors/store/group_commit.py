"""GroupCommit: many callers' writes, one backend write per batch.

A write that finds the committer idle is written at once; those submitted while a
batch is being written form the next batch. Every caller is answered: ``write``
settles each item's future (a result or a per-item error), and a batch whose
write raises fails every caller it left unanswered with that error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")


@dataclass
class Pending(Generic[ItemT, ResultT]):
    """One caller's item waiting for a batch; ``write`` sets the future (unless the caller gave up)."""

    item: ItemT
    future: asyncio.Future[ResultT] = field(repr=False)


class GroupCommit(Generic[ItemT, ResultT]):
    """Batches of submitted items, written by ``write`` one batch at a time.

    ``guard`` is entered around taking and writing each batch (the store's write
    lock); ``window_s`` makes the first item of a batch wait that long for others.
    """

    def __init__(
        self,
        write: Callable[[list[Pending[ItemT, ResultT]]], Awaitable[None]],
        guard: Callable[[], AbstractAsyncContextManager[None]],
        *,
        window_s: float = 0.0,
    ) -> None:
        self._write = write
        self._guard = guard
        self._window_s = window_s
        self._pending: list[Pending[ItemT, ResultT]] = []
        self._committer: asyncio.Task[None] | None = None

    async def submit(self, item: ItemT) -> ResultT:
        """Queue ``item`` for the next batch; its result once that batch is written."""
        future: asyncio.Future[ResultT] = asyncio.get_running_loop().create_future()
        self._pending.append(Pending(item, future))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._run())
        return await future

    async def flush(self) -> None:
        """Wait until every item submitted so far is written (or has failed)."""
        while self._committer is not None and not self._committer.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(self._committer)

    async def _run(self) -> None:
        while self._pending:
            if self._window_s > 0:
                await asyncio.sleep(self._window_s)
            async with self._guard():
                batch, self._pending = self._pending, []
                try:
                    await self._write(batch)
                except BaseException as exc:  # never leave a caller waiting forever
                    for pending in batch:
                        if not pending.future.done():
                            pending.future.set_exception(exc)
                    if not isinstance(exc, Exception):
                        raise
                    log.warning("a group commit of %d writes failed: %r", len(batch), exc)
