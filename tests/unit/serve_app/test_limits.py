"""Token buckets, per-client rate limits and connection counts, on a clock the test moves."""

from __future__ import annotations

import pytest

from serve_app.limits import ConnectionCounter, RateLimiter, TokenBucket, retry_after_s


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_new_bucket_allows_a_burst_then_waits() -> None:
    """A fresh bucket lets `burst` events through at once; the next one must wait 60/per_minute seconds."""
    bucket = TokenBucket(per_minute=60, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(1.0)
    assert bucket.take(0.5) == pytest.approx(0.5)
    assert bucket.take(1.0) == 0.0


def test_a_bucket_refills_at_its_rate_up_to_its_burst() -> None:
    """Tokens come back at per_minute/60 a second and never pile up beyond burst."""
    bucket = TokenBucket(per_minute=120, burst=2, now=0.0)
    bucket.take(0.0)
    bucket.take(0.0)
    assert bucket.take(0.25) > 0
    assert bucket.take(0.5) == 0.0
    assert bucket.is_full(3600.0)
    assert [bucket.take(3600.0) for _ in range(3)][2] > 0


def test_a_clock_going_backwards_gives_nothing_back() -> None:
    """A clock that steps back neither refills nor breaks the bucket."""
    bucket = TokenBucket(per_minute=60, burst=1, now=10.0)
    bucket.take(10.0)
    assert bucket.take(5.0) > 0


def test_a_bucket_without_a_rate_is_refused() -> None:
    """per_minute 0 or burst 0 is a usage error that says to use no bucket instead."""
    with pytest.raises(ValueError, match="no bucket"):
        TokenBucket(per_minute=0, burst=1, now=0.0)


@pytest.mark.parametrize(("wait", "seconds"), [(0.01, 1), (1.0, 1), (1.2, 2), (59.5, 60)])
def test_retry_after_is_whole_seconds_rounded_up(wait: float, seconds: int) -> None:
    """Retry-After is an integer, never 0, never earlier than the real wait."""
    assert retry_after_s(wait) == seconds


def test_each_client_has_its_own_bucket() -> None:
    """One client over its limit waits; another client is not affected."""
    clock = FakeClock()
    limiter = RateLimiter(per_minute=6, burst=2, clock=clock)
    assert limiter.check("a") == 0.0 and limiter.check("a") == 0.0
    assert limiter.check("a") == pytest.approx(10.0)
    assert limiter.check("b") == 0.0
    clock.now += 10
    assert limiter.check("a") == 0.0


def test_zero_per_minute_disables_the_limiter() -> None:
    """requests_per_minute 0 lets every request through and keeps no state."""
    limiter = RateLimiter(per_minute=0, burst=1, clock=FakeClock())
    assert not limiter.enabled
    assert all(limiter.check("a") == 0.0 for _ in range(1000))
    assert len(limiter) == 0


def test_many_clients_do_not_grow_memory_without_bound() -> None:
    """Past max_clients, idle (full) buckets are dropped first, then the least recently seen."""
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, burst=2, clock=clock, max_clients=3)
    limiter.check("busy")
    limiter.check("busy")
    for name in ("idle1", "idle2"):
        limiter.check(name)
    clock.now += 120  # idle1 and idle2 are full again; busy too
    limiter.check("busy")  # busy spends a token: not full
    limiter.check("new")
    assert len(limiter) == 2
    assert limiter.check("busy") == 0.0 and limiter.check("busy") > 0  # busy kept its bucket
    for i in range(10):
        limiter.check(f"flood{i}")
    assert len(limiter) <= 3


def test_connection_counter_caps_each_client() -> None:
    """A client may hold `limit` connections; closing one makes room; other clients count apart."""
    counter = ConnectionCounter(limit=2)
    assert counter.open("a") and counter.open("a")
    assert not counter.open("a")
    assert counter.count("a") == 2
    assert counter.open("b")
    counter.close("a")
    assert counter.open("a")
    counter.close("a")
    counter.close("a")
    counter.close("a")  # more closes than opens never go negative
    assert counter.count("a") == 0


def test_connection_counter_without_a_limit() -> None:
    """limit 0 counts but never refuses."""
    counter = ConnectionCounter(limit=0)
    assert all(counter.open("a") for _ in range(100))
    assert counter.count("a") == 100
