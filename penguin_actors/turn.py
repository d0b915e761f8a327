"""Turn: one turn's stream of frames, buffered so any number of subscribers can read or resume it.

Frames are ``{"event", "data", "conversation_id", "turn_id", "seq"}`` with ``seq`` 0 for
``start`` and +1 per frame. Model tokens are coalesced: the first token after a quiet
spell goes out at once, later ones at most every ``window_s`` (or every ``max_tokens``
tokens), so a fast model produces a few frames per second, not one per token.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

Frame = dict[str, Any]
TERMINAL_EVENTS = frozenset({"complete", "error"})


class Turn:
    def __init__(
        self,
        conversation_id: str,
        *,
        turn_id: str | None = None,
        window_s: float = 0.02,
        max_tokens: int = 32,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.conversation_id = conversation_id
        self.id = turn_id or f"turn_{uuid.uuid4().hex[:12]}"
        self.frames: list[Frame] = []
        self.window_s = window_s
        self.max_tokens = max_tokens
        self._clock = clock
        self._changed = asyncio.Event()
        self._pending: list[str] = []
        self._last_flush = float("-inf")
        self._timer: asyncio.TimerHandle | None = None
        self.created_at = time.time()
        self.cancel_reason = "cancelled"  # or "interrupted", "timeout": said in the turn's last frame

    @property
    def done(self) -> bool:
        return bool(self.frames) and self.frames[-1]["event"] in TERMINAL_EVENTS

    @property
    def started(self) -> bool:
        return bool(self.frames)

    def emit(self, event: str, data: dict[str, Any]) -> Frame:
        """Append a frame (after any pending tokens) and wake the subscribers."""
        if self.done:
            raise RuntimeError(f"turn {self.id} already ended; no frame may follow {self.frames[-1]['event']!r}")
        self.flush()
        return self._append(event, data)

    def add_token(self, text: str) -> None:
        """Queue model text; it goes out now if the last flush is older than the window, else soon."""
        if not text:
            return
        self._pending.append(text)
        elapsed = self._clock() - self._last_flush
        if elapsed >= self.window_s or len(self._pending) >= self.max_tokens:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.window_s - elapsed, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            self._last_flush = self._clock()
            self._append("token", {"token": text})

    def _append(self, event: str, data: dict[str, Any]) -> Frame:
        frame = {
            "event": event,
            "data": data,
            "conversation_id": self.conversation_id,
            "turn_id": self.id,
            "seq": len(self.frames),
        }
        self.frames.append(frame)
        self._changed.set()
        self._changed = asyncio.Event()
        return frame

    async def subscribe(self, after_seq: int = -1) -> AsyncIterator[list[Frame]]:
        """Batches of the frames after ``after_seq``: those already sent, then the rest live, until the end."""
        position = max(after_seq + 1, 0)
        while True:
            if position < len(self.frames):
                batch = self.frames[position:]
                position = len(self.frames)
                yield batch
                continue
            if self.done:
                return
            await self._changed.wait()

    def result(self) -> dict[str, Any]:
        """The terminal frame's data, with its event name; the turn must be done."""
        if not self.done:
            raise RuntimeError(f"turn {self.id} has not ended")
        last = self.frames[-1]
        return {"event": last["event"], **last["data"]}
