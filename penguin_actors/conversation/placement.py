"""Placement: the directory's view of its conversation hosts, and which one takes the next conversation.

Pure bookkeeping, no I/O: each ``HostSlot`` counts the conversations a host holds and the
activations on their way to it. A conversation goes to the least loaded host with room,
preferring hosts already started over those still starting; the directory starts a host
when none has room, up to its ``max_hosts``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

HOST_PREFIX = "host:"


@dataclass
class HostSlot:
    """A host as the directory sees it: the conversations it holds, those on their way, whether it is up."""

    name: str
    capacity: int
    conversations: set[str] = field(default_factory=set)
    reserved: int = 0  # activations placed here and not yet done
    node: str | None = None
    empty_since: float | None = None
    started: asyncio.Future[None] | None = None  # done once the host runs (its exception if it did not start)

    @property
    def load(self) -> int:
        return len(self.conversations) + self.reserved

    @property
    def room(self) -> int:
        return self.capacity - self.load

    @property
    def ready(self) -> bool:
        return self.started is None or (self.started.done() and self.started.exception() is None)

    @property
    def failed(self) -> bool:
        return self.started is not None and self.started.done() and self.started.exception() is not None


def choose(slots: list[HostSlot]) -> HostSlot | None:
    """The host to place a conversation on: with room, started if any is, then the least loaded."""
    candidates = [s for s in slots if s.room > 0 and not s.failed]
    if not candidates:
        return None
    return min(candidates, key=lambda s: (not s.ready, s.load, s.name))


def host_name(number: int) -> str:
    return f"{HOST_PREFIX}{number}"


def host_number(name: str) -> int | None:
    """The ``n`` of ``host:<n>``; None for any other name."""
    number = name.removeprefix(HOST_PREFIX)
    return int(number) if name.startswith(HOST_PREFIX) and number.isdigit() else None
