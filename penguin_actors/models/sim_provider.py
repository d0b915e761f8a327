"""An in-process simulated model: no network, a deterministic reply, a configurable pace.

The reply says it is simulated and is derived from the last user text, padded to
``reply_tokens`` tokens; a token is one word and the space after it. Token ``i`` is
due at ``start + first_token_delay_s + i / tokens_per_s`` on the monotonic clock, so
the rate holds however long each sleep overshoots. Usage is counted honestly: input
is ``ceil(chars / 4)`` over the system prompt, every message text and every tool
call's arguments; output is the number of tokens emitted. It never calls tools.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from penguin_actors.config import ModelConfig
from penguin_actors.models.base import ModelProvider, collect
from penguin_actors.types import ModelEvent, ModelReply, ModelRequest, StopEvent, TextDelta, Usage, UsageEvent

_FILLER = [
    *("the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "penguins", "waddle"),
    *("across", "bright", "antarctic", "ice", "under", "pale", "skies", "and", "distant", "mountains"),
]


class SimProvider(ModelProvider):
    def __init__(
        self,
        *,
        first_token_delay_s: float = 0.0,
        tokens_per_s: float = 0.0,
        reply_tokens: int = 40,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        """``tokens_per_s`` 0 emits the tokens back to back."""
        self.first_token_delay_s = first_token_delay_s
        self.tokens_per_s = tokens_per_s
        self.reply_tokens = reply_tokens
        self._clock = clock
        self._sleep = sleep

    @classmethod
    def from_config(cls, config: ModelConfig) -> SimProvider:
        return cls(
            first_token_delay_s=config.first_token_delay_s,
            tokens_per_s=config.tokens_per_s,
            reply_tokens=config.reply_tokens,
        )

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        start = self._clock()
        tokens = reply_tokens(request, self.reply_tokens)
        limited = len(tokens) > request.max_tokens
        tokens = tokens[: request.max_tokens]
        interval = 1.0 / self.tokens_per_s if self.tokens_per_s > 0 else 0.0
        for i, token in enumerate(tokens):
            due = start + self.first_token_delay_s + i * interval
            wait = due - self._clock()
            # Always yield to the loop, so a fast simulated model cannot starve its neighbours.
            await self._sleep(max(0.0, wait))
            yield TextDelta(text=token)
        yield UsageEvent(usage=Usage(input_tokens=estimate_input_tokens(request), output_tokens=len(tokens)))
        yield StopEvent(reason="max_tokens" if limited else "end_turn")

    async def complete(self, request: ModelRequest) -> ModelReply:
        return await collect(self.stream(request))

    async def aclose(self) -> None:
        return None


def reply_tokens(request: ModelRequest, count: int) -> list[str]:
    """The simulated reply's ``count`` tokens (word plus space) for ``request``: the same request, the same reply."""
    said = _last_user_text(request).split()
    words = ["[simulated", "reply]", "you", "said:", *said] if said else ["[simulated", "reply]"]
    seed = int.from_bytes(hashlib.sha256(" ".join(said).encode()).digest()[:4], "big")
    while len(words) < count:
        words.append(_FILLER[(seed + len(words)) % len(_FILLER)])
    return [f"{w} " for w in words[:count]]


def estimate_input_tokens(request: ModelRequest) -> int:
    """``ceil(chars / 4)`` over the system prompt, all message texts and tool call arguments."""
    chars = len(request.system or "")
    for message in request.messages:
        chars += len(message.text())
        chars += sum(len(call.name) + len(json.dumps(call.arguments)) for call in message.tool_calls)
    return math.ceil(chars / 4)


def _last_user_text(request: ModelRequest) -> str:
    for message in reversed(request.messages):
        if message.role == "user" and message.text().strip():
            return message.text()
    return ""
