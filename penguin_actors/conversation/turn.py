"""Turn: one turn's stream of frames, buffered so any number of subscribers can read or resume it.

Frames are ``{"event", "data", "conversation_id", "turn_id", "seq"}`` with ``seq`` 0 for
``start`` and +1 per frame. Model tokens are coalesced at the pace the readers take them:
a token goes out at once to a reader that waits for it, then at most every window (20 ms,
wider under load: ``pace.py``) while readers keep waiting. While no reader waits (each is still relaying its last batch,
or nobody streams the turn) tokens gather into the next frame, up to ``max_tokens``. So one
client on a quiet server sees tokens as they come, and many clients on a busy one get fewer,
larger frames instead of a backlog: the frame rate follows what the relay can carry.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from penguin_actors.conversation.frames import TERMINAL_EVENTS, Frame, FrameLog

__all__ = ["TERMINAL_EVENTS", "Frame", "Turn"]


class Turn(FrameLog):
    def __init__(
        self,
        conversation_id: str,
        *,
        turn_id: str | None = None,
        window_s: float | Callable[[], float] = 0.02,
        max_tokens: int = 256,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``window_s`` is the coalescing window, or a function giving it now (a host's ``Pace.window``)."""
        self.conversation_id = conversation_id
        self.id = turn_id or f"turn_{uuid.uuid4().hex[:12]}"
        super().__init__({"conversation_id": conversation_id, "turn_id": self.id})
        self._window = window_s if callable(window_s) else (lambda: window_s)
        self.max_tokens = max_tokens
        self._clock = clock
        self._pending: list[str] = []
        self._reasoning: list[str] = []
        self._last_flush = float("-inf")
        self._timer: asyncio.TimerHandle | None = None
        self.created_at = time.time()
        self.cancel_reason = "cancelled"  # or "interrupted", "timeout", "time_limit": said in the last frame
        self.restored = False  # rebuilt from the store: only its end is known

    def restore(self, result: dict[str, Any]) -> None:
        """End this turn with the ``complete`` of a turn that ran before (its data rebuilt from the store)."""
        self._append("complete", result)
        self.restored = True

    def emit(self, event: str, data: dict[str, Any]) -> Frame:
        """Append a frame (after any pending tokens) and wake the subscribers."""
        if not self.done:
            self.flush()
        return super().emit(event, data)

    def add_token(self, text: str) -> None:
        """Queue model text: it goes out to a waiting reader (within the window), else with the next frame."""
        if not text:
            return
        self._pending.append(text)
        if len(self._pending) >= self.max_tokens:
            self.flush()
        elif self.readers_waiting:
            self._flush_when_due()

    def add_reasoning(self, text: str) -> None:
        """Queue the model's reasoning: it goes out as ``reasoning`` frames, coalesced as tokens are."""
        if not text:
            return
        self._reasoning.append(text)
        if len(self._reasoning) >= self.max_tokens:
            self.flush()
        elif self.readers_waiting:
            self._flush_when_due()

    def _reader_waits(self) -> None:
        if self._pending or self._reasoning:
            self._flush_when_due()

    def _flush_when_due(self) -> None:
        """Flush now if the last flush is a window old, else when it will be (if a reader still waits)."""
        elapsed = self._clock() - self._last_flush
        window = self._window()
        if elapsed >= window:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(window - elapsed, self._window_passed)

    def _window_passed(self) -> None:
        self._timer = None
        if self.readers_waiting and not self.done:
            self.flush()

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._reasoning:  # what the model thought, before what it says
            text = "".join(self._reasoning)
            self._reasoning.clear()
            self._last_flush = self._clock()
            self._append("reasoning", {"token": text})
        if self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            self._last_flush = self._clock()
            self._append("token", {"token": text})
