"""Pace: how long a turn's tokens may gather before they go out as a frame, by the load of the process.

A lone stream gets its first token at once and later ones within ``min_s`` (20 ms). As more
turns run in the process (a host's conversations), or its event loop falls behind, the
window widens up to ``max_s`` (100 ms): each stream gets fewer, larger frames, so the frame
rate falls before the CPU saturates. The frames' protocol does not change.
"""

from __future__ import annotations


class Pace:
    def __init__(
        self,
        *,
        min_s: float = 0.02,
        max_s: float = 0.1,
        quiet: int = 8,
        busy: int = 64,
    ) -> None:
        """Up to ``quiet`` running turns the window is ``min_s``; it reaches ``max_s`` at ``busy`` turns."""
        self.min_s = min_s
        self.max_s = max_s
        self.quiet = quiet
        self.busy = busy
        self.running = 0  # turns running in this process
        self.lag_s = 0.0  # how late the process's event loop last woke (its host measures it)

    def window(self) -> float:
        load = min(max(self.running - self.quiet, 0) / max(self.busy - self.quiet, 1), 1.0)
        by_load = self.min_s + load * (self.max_s - self.min_s)
        return min(max(by_load, self.lag_s), self.max_s)

    def turn_started(self) -> None:
        self.running += 1

    def turn_ended(self) -> None:
        self.running = max(self.running - 1, 0)
