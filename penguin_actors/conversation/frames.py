"""FrameLog: an append-only list of event frames that any number of subscribers read, resume and follow.

A frame is ``{"event", "data", **keys, "seq"}``: ``keys`` name what the frames belong
to (a turn: ``conversation_id`` and ``turn_id``; a task: ``task_id``) and ``seq`` counts
from 0. The log ends with its first ``complete`` or ``error`` frame.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

Frame = dict[str, Any]
TERMINAL_EVENTS = frozenset({"complete", "error"})


class FrameLog:
    """Frames with ``keys`` on each; ``subscribe`` gives those after a seq, then the rest live."""

    def __init__(self, keys: dict[str, str]) -> None:
        self.keys = keys
        self.frames: list[Frame] = []
        self.readers_waiting = 0
        self._changed = asyncio.Event()

    @property
    def done(self) -> bool:
        return bool(self.frames) and self.frames[-1]["event"] in TERMINAL_EVENTS

    @property
    def started(self) -> bool:
        return bool(self.frames)

    def emit(self, event: str, data: dict[str, Any]) -> Frame:
        """Append a frame and wake the subscribers; nothing may follow a terminal frame."""
        if self.done:
            raise RuntimeError(f"{self.describe()} already ended; no frame may follow {self.frames[-1]['event']!r}")
        return self._append(event, data)

    def describe(self) -> str:
        return ", ".join(f"{key} {value}" for key, value in self.keys.items())

    def _append(self, event: str, data: dict[str, Any]) -> Frame:
        frame = {"event": event, "data": data, **self.keys, "seq": len(self.frames)}
        self.frames.append(frame)
        self._changed.set()
        self._changed = asyncio.Event()
        return frame

    async def subscribe(self, after_seq: int = -1) -> AsyncIterator[list[Frame]]:
        """Batches of the frames after ``after_seq``: those already sent, then the rest live, until the end.

        A subscriber that has read everything and waits for more counts as a waiting reader
        (``readers_waiting``) until the next frame arrives; ``_reader_waits`` runs first.
        """
        position = max(after_seq + 1, 0)
        while True:
            if position < len(self.frames):
                batch = self.frames[position:]
                position = len(self.frames)
                yield batch
                continue
            if self.done:
                return
            self._reader_waits()
            if position < len(self.frames):
                continue
            changed = self._changed
            self.readers_waiting += 1
            try:
                await changed.wait()
            finally:
                self.readers_waiting -= 1

    def _reader_waits(self) -> None:
        """A subscriber has read every frame and is about to wait: a subclass may append one now."""

    async def wait(self) -> dict[str, Any]:
        """Wait for the end (without counting as a reader); the terminal frame's data with its event name."""
        while not self.done:
            await self._changed.wait()
        return self.result()

    def result(self) -> dict[str, Any]:
        """The terminal frame's data, with its event name; the log must have ended."""
        if not self.done:
            raise RuntimeError(f"{self.describe()} has not ended")
        last = self.frames[-1]
        return {"event": last["event"], **last["data"]}
