"""Rate limits and connection counts per client: plain classes, no HTTP, an injectable clock.

Every count lives in the process that holds it: with several Serve ingress replicas, each one
limits on its own, so the effective limit is the configured one times the number of replicas.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

Clock = Callable[[], float]


class TokenBucket:
    """Holds at most ``burst`` tokens, refilled at ``per_minute`` a minute; each event takes one.

    A new bucket is full, so a client may make ``burst`` requests at once, then ``per_minute``
    a minute.
    """

    def __init__(self, per_minute: float, burst: int, now: float) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("a token bucket needs per_minute > 0 and burst >= 1; use no bucket for no limit")
        self.rate = per_minute / 60.0  # tokens per second
        self.burst = burst
        self.tokens = float(burst)
        self.updated = now

    def take(self, now: float) -> float:
        """Take a token: 0.0 if there was one, else the seconds until there is one (nothing taken)."""
        self._refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def is_full(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= self.burst

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(float(self.burst), self.tokens + elapsed * self.rate)
        self.updated = now


def retry_after_s(wait_s: float) -> int:
    """A wait as the whole seconds of a ``Retry-After`` header: rounded up, at least 1."""
    return max(1, math.ceil(wait_s))


class RateLimiter:
    """One token bucket per client; ``per_minute`` 0 lets everything through.

    At most ``max_clients`` buckets are kept: past that, buckets of clients that are back to full
    (idle ones) go first, then the least recently seen, so many addresses cannot grow memory without bound.
    """

    def __init__(
        self, per_minute: int, burst: int, *, clock: Clock = time.monotonic, max_clients: int = 10_000
    ) -> None:
        self.per_minute = per_minute
        self.burst = burst
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    def check(self, client: str) -> float:
        """Count one request of ``client``: 0.0 to let it through, else the seconds to wait."""
        if not self.enabled:
            return 0.0
        now = self.clock()
        bucket = self._buckets.get(client)
        if bucket is None:
            self._make_room(now)
            bucket = self._buckets[client] = TokenBucket(self.per_minute, self.burst, now)
        else:
            self._buckets.move_to_end(client)
        return bucket.take(now)

    def __len__(self) -> int:
        return len(self._buckets)

    def _make_room(self, now: float) -> None:
        if len(self._buckets) < self.max_clients:
            return
        for client in [c for c, b in self._buckets.items() if b.is_full(now)]:
            del self._buckets[client]
        while len(self._buckets) >= self.max_clients:
            self._buckets.popitem(last=False)


class ConnectionCounter:
    """Open connections per client, at most ``limit`` each (0 = no limit)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}

    def open(self, client: str) -> bool:
        """Count a new connection of ``client``; False (and nothing counted) when it has ``limit`` already."""
        count = self._open.get(client, 0)
        if self.limit and count >= self.limit:
            return False
        self._open[client] = count + 1
        return True

    def close(self, client: str) -> None:
        """Forget one connection of ``client`` that ``open`` counted."""
        count = self._open.get(client, 0) - 1
        if count > 0:
            self._open[client] = count
        else:
            self._open.pop(client, None)

    def count(self, client: str) -> int:
        return self._open.get(client, 0)
