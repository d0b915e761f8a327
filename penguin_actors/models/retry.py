"""Retrying model calls that failed with a retryable ``ProviderError``.

A stream is retried only while nothing has reached the caller: once an event has
been yielded, a failure is re-raised as is, since a retry would repeat output the
caller already has. Waits grow exponentially with jitter, or follow the
provider's ``Retry-After`` (the error's ``retry_after`` detail) when it sent one.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping

from penguin_actors.errors import ProviderError
from penguin_actors.models.base import ModelProvider
from penguin_actors.types import ModelEvent, ModelReply, ModelRequest

Sleep = Callable[[float], Awaitable[object]]


async def stream_with_retry(
    provider: ModelProvider,
    request: ModelRequest,
    *,
    attempts: int = 3,
    base_delay_s: float = 0.5,
    max_delay_s: float = 8.0,
    max_retry_after_s: float = 60.0,
    sleep: Sleep = asyncio.sleep,
) -> AsyncGenerator[ModelEvent, None]:
    """Stream ``request``, trying again up to ``attempts`` times in all while no event has been yielded.

    A ``retry_after`` longer than ``max_retry_after_s`` is not waited out: the error is raised at once.
    A caller that stops early should ``aclose()`` the generator, which closes the provider's stream.
    """
    for attempt in range(1, attempts + 1):
        yielded = False
        events = provider.stream(request)
        try:
            async for event in events:
                yielded = True
                yield event
            return
        except ProviderError as exc:
            if yielded or not _should_retry(exc, attempt, attempts, max_retry_after_s):
                raise
            delay = retry_delay(exc, attempt, base_delay_s=base_delay_s, max_delay_s=max_delay_s)
        finally:
            # Release the provider's connection now, also when our caller stops early.
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()
        await sleep(delay)


async def complete_with_retry(
    provider: ModelProvider,
    request: ModelRequest,
    *,
    attempts: int = 3,
    base_delay_s: float = 0.5,
    max_delay_s: float = 8.0,
    max_retry_after_s: float = 60.0,
    sleep: Sleep = asyncio.sleep,
) -> ModelReply:
    """``provider.complete(request)``, tried up to ``attempts`` times while it fails retryably."""
    for attempt in range(1, attempts + 1):
        try:
            return await provider.complete(request)
        except ProviderError as exc:
            if not _should_retry(exc, attempt, attempts, max_retry_after_s):
                raise
            delay = retry_delay(exc, attempt, base_delay_s=base_delay_s, max_delay_s=max_delay_s)
        await sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")


def retry_delay(
    exc: ProviderError,
    attempt: int,
    *,
    base_delay_s: float = 0.5,
    max_delay_s: float = 8.0,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based): ``retry_after`` if given, else backoff.

    Backoff is ``base * 2**(attempt-1)`` capped at ``max_delay_s``, scaled by a random factor in [0.5, 1).
    """
    retry_after = exc.details.get("retry_after")
    if isinstance(retry_after, (int, float)) and retry_after >= 0:
        return float(retry_after)
    backoff = min(max_delay_s, base_delay_s * 2.0 ** (attempt - 1))
    return backoff * (0.5 + rand() / 2)


def is_retryable_status(status: int, should_retry: str | None = None) -> bool:
    """Whether an HTTP error may pass on retrying: 408, 409, 429 and 5xx (529 included).

    ``should_retry`` is the provider's ``x-should-retry`` header, which wins when it says ``true`` or ``false``.
    """
    if should_retry in ("true", "false"):
        return should_retry == "true"
    return status in (408, 409, 429) or status >= 500


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date); None if absent or bad."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return max(0.0, email.utils.mktime_tz(parsed) - time.time())


def _should_retry(exc: ProviderError, attempt: int, attempts: int, max_retry_after_s: float) -> bool:
    if not exc.retryable or attempt >= attempts:
        return False
    retry_after = exc.details.get("retry_after")
    return not (isinstance(retry_after, (int, float)) and retry_after > max_retry_after_s)
