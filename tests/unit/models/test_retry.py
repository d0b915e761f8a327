"""stream_with_retry / complete_with_retry: retry only while nothing reached the caller, honour Retry-After."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from penguin_actors.errors import ProviderError
from penguin_actors.models.base import ModelProvider
from penguin_actors.models.retry import (
    complete_with_retry,
    is_retryable_status,
    parse_retry_after,
    retry_delay,
    stream_with_retry,
)
from penguin_actors.testing.fake_llm import FakeLLM, Reply
from penguin_actors.types import ModelEvent, TextDelta
from tests.unit.models.conftest import ask


class Sleeps:
    """A no-op sleep that remembers how long it was asked to wait."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


async def drain(events: AsyncIterator[ModelEvent]) -> list[ModelEvent]:
    return [e async for e in events]


def text_of(events: list[ModelEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


@pytest.mark.asyncio
async def test_rate_limit_then_success_yields_the_reply_once(llm: ModelProvider, fake: FakeLLM) -> None:
    """A 429 before any output is retried after its Retry-After, and the reply arrives exactly once."""
    fake.script(Reply.error(429, retry_after=3), "all good now")
    sleeps = Sleeps()
    events = await drain(stream_with_retry(llm, ask(), sleep=sleeps))
    assert text_of(events) == "all good now"
    assert sleeps.delays == [3.0]
    assert len(fake.requests) == 2


@pytest.mark.asyncio
async def test_drop_before_output_is_retried(llm: ModelProvider, fake: FakeLLM) -> None:
    """A stream dropped before its first content chunk is retried with backoff."""
    fake.script(Reply(text="lost", drop_after=0), Reply.error(503), "third time lucky")
    sleeps = Sleeps()
    events = await drain(stream_with_retry(llm, ask(), sleep=sleeps, base_delay_s=1.0))
    assert text_of(events) == "third time lucky"
    assert len(sleeps.delays) == 2
    assert 0.5 <= sleeps.delays[0] < 1.0 and 1.0 <= sleeps.delays[1] < 2.0


@pytest.mark.asyncio
async def test_drop_after_output_is_not_retried(llm: ModelProvider, fake: FakeLLM) -> None:
    """Once text reached the caller, a mid-stream drop is re-raised as is, never retried."""
    fake.script(Reply(text="one two three four", drop_after=2), "must not be asked for")
    sleeps = Sleeps()
    seen: list[ModelEvent] = []
    with pytest.raises(ProviderError) as caught:
        async for event in stream_with_retry(llm, ask(), sleep=sleeps):
            seen.append(event)
    assert caught.value.retryable
    assert text_of(seen) == "one two "
    assert sleeps.delays == [] and len(fake.requests) == 1 and fake.pending == 1


@pytest.mark.asyncio
async def test_non_retryable_error_is_raised_at_once(llm: ModelProvider, fake: FakeLLM) -> None:
    """A non-retryable error (400) is raised on the first attempt."""
    fake.script(Reply.error(400), "unused")
    sleeps = Sleeps()
    with pytest.raises(ProviderError) as caught:
        await drain(stream_with_retry(llm, ask(), sleep=sleeps))
    assert caught.value.status == 400 and sleeps.delays == [] and len(fake.requests) == 1


@pytest.mark.asyncio
async def test_attempts_run_out(llm: ModelProvider, fake: FakeLLM) -> None:
    """After `attempts` retryable failures the last error is raised."""
    fake.script(Reply.error(500), Reply.error(502), Reply.error(529), "unused")
    sleeps = Sleeps()
    with pytest.raises(ProviderError) as caught:
        await drain(stream_with_retry(llm, ask(), attempts=3, sleep=sleeps))
    assert caught.value.status == 529 and len(sleeps.delays) == 2 and len(fake.requests) == 3


@pytest.mark.asyncio
async def test_too_long_retry_after_is_not_waited(llm: ModelProvider, fake: FakeLLM) -> None:
    """A Retry-After beyond max_retry_after_s is raised to the caller instead of slept through."""
    fake.script(Reply.error(429, retry_after=120), "unused")
    sleeps = Sleeps()
    with pytest.raises(ProviderError) as caught:
        await drain(stream_with_retry(llm, ask(), sleep=sleeps, max_retry_after_s=60))
    assert caught.value.details["retry_after"] == 120.0 and sleeps.delays == []


@pytest.mark.asyncio
async def test_complete_with_retry(llm: ModelProvider, fake: FakeLLM) -> None:
    """complete_with_retry retries retryable failures and returns the first whole reply."""
    fake.script(Reply.error(529), Reply(text="x", drop_after=0), "finally")
    sleeps = Sleeps()
    reply = await complete_with_retry(llm, ask(), sleep=sleeps)
    assert reply.text == "finally" and len(sleeps.delays) == 2


@pytest.mark.asyncio
async def test_stopping_early_closes_the_stream(llm: ModelProvider, fake: FakeLLM) -> None:
    """A caller that stops after the first event leaves no request pending and can call again."""
    fake.script("one two three", "again")
    events = stream_with_retry(llm, ask(), sleep=Sleeps())
    first = await anext(events)
    await events.aclose()
    assert isinstance(first, TextDelta)
    assert text_of(await drain(stream_with_retry(llm, ask(), sleep=Sleeps()))) == "again"


def test_backoff_grows_and_is_capped() -> None:
    """Backoff doubles per attempt within [0.5, 1) of its nominal value and never exceeds max_delay_s."""
    err = ProviderError("x", retryable=True)
    assert retry_delay(err, 1, base_delay_s=1, rand=lambda: 0.0) == 0.5
    assert retry_delay(err, 3, base_delay_s=1, rand=lambda: 0.999) == pytest.approx(3.998)
    assert retry_delay(err, 10, base_delay_s=1, max_delay_s=8, rand=lambda: 0.999) < 8
    assert retry_delay(ProviderError("x", retryable=True, retry_after=4.5), 1) == 4.5


def test_parse_retry_after() -> None:
    """Retry-After is read as seconds, as retry-after-ms, or as an HTTP date; junk gives None."""
    assert parse_retry_after({"retry-after": "7"}) == 7.0
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # in the past
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def test_retryable_statuses() -> None:
    """408, 409, 429 and 5xx are retryable, other 4xx not; x-should-retry overrides."""
    assert all(is_retryable_status(s) for s in (408, 409, 429, 500, 503, 529))
    assert not any(is_retryable_status(s) for s in (400, 401, 403, 404, 422))
    assert is_retryable_status(400, "true") and not is_retryable_status(500, "false")
