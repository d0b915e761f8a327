"""SimProvider: a deterministic, honestly counted, paced simulated model without network."""

from __future__ import annotations

import math
import time

import pytest

from penguin_actors.config import ModelConfig
from penguin_actors.models.providers import make_provider
from penguin_actors.models.sim_provider import SimProvider, estimate_input_tokens
from penguin_actors.types import Message, ModelRequest, StopEvent, TextDelta, ToolCall, Usage, UsageEvent
from tests.unit.models.conftest import ask, stream_events


@pytest.mark.asyncio
async def test_reply_is_deterministic_and_says_it_is_simulated() -> None:
    """The same request gives the same reply, marked simulated, built from the last user text."""
    sim = SimProvider(reply_tokens=12)
    first = await sim.complete(ask("penguins like cold water"))
    second = await sim.complete(ask("penguins like cold water"))
    other = await sim.complete(ask("something else entirely"))
    assert first == second
    assert first.text.startswith("[simulated reply] you said: penguins like cold water ")
    assert other.text != first.text


@pytest.mark.asyncio
async def test_reply_is_padded_to_reply_tokens_word_tokens() -> None:
    """The reply has exactly reply_tokens tokens, each a word plus a trailing space, one TextDelta each."""
    events = await stream_events(SimProvider(reply_tokens=30), ask("hi"))
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) == 30
    assert all(d.endswith(" ") and " " not in d[:-1] and d.strip() for d in deltas)


@pytest.mark.asyncio
async def test_usage_is_counted_honestly() -> None:
    """Input tokens are ceil(chars/4) over system, messages and tool arguments; output tokens are the tokens sent."""
    request = ModelRequest(
        model="sim",
        system="be brief",
        messages=[
            Message(role="user", content="what is up"),
            Message(role="assistant", tool_calls=[ToolCall(id="c", name="look", arguments={"q": "up"})]),
            Message(role="tool", content="the sky", tool_call_id="c"),
            Message(role="user", content="and then?"),
        ],
    )
    chars = len("be brief") + len("what is up") + len("look") + len('{"q": "up"}') + len("the sky") + len("and then?")
    assert estimate_input_tokens(request) == math.ceil(chars / 4)
    events = await stream_events(SimProvider(reply_tokens=17), request)
    assert UsageEvent(usage=Usage(input_tokens=math.ceil(chars / 4), output_tokens=17)) in events
    assert events[-1] == StopEvent(reason="end_turn")


@pytest.mark.asyncio
async def test_max_tokens_truncates_the_reply() -> None:
    """A reply longer than max_tokens stops there, with stop reason max_tokens and usage to match."""
    events = await stream_events(SimProvider(reply_tokens=50), ask("hi", max_tokens=5))
    assert sum(isinstance(e, TextDelta) for e in events) == 5
    assert UsageEvent(usage=Usage(input_tokens=1, output_tokens=5)) in events
    assert events[-1] == StopEvent(reason="max_tokens")


@pytest.mark.asyncio
async def test_rate_is_roughly_honoured() -> None:
    """20 tokens at 200 tok/s after a 50 ms first-token delay take about 0.05 + 19/200 s."""
    sim = SimProvider(first_token_delay_s=0.05, tokens_per_s=200, reply_tokens=20)
    start = time.monotonic()
    first_at: float | None = None
    count = 0
    async for event in sim.stream(ask("go")):
        if isinstance(event, TextDelta):
            first_at = first_at if first_at is not None else time.monotonic() - start
            count += 1
    elapsed = time.monotonic() - start
    assert count == 20
    assert first_at is not None and 0.045 <= first_at < 0.3
    assert 0.14 <= elapsed < 0.6


@pytest.mark.asyncio
async def test_schedule_does_not_drift() -> None:
    """Token times are set against the clock, so sleeps that overshoot do not add up."""
    now = [0.0]

    async def late_sleep(seconds: float) -> None:
        now[0] += seconds + 0.004  # every sleep wakes 4 ms late

    sim = SimProvider(tokens_per_s=100, reply_tokens=50, clock=lambda: now[0], sleep=late_sleep)
    times = [now[0] async for event in sim.stream(ask()) if isinstance(event, TextDelta)]
    assert times[-1] == pytest.approx(0.49 + 0.004, abs=1e-9)  # not 0.49 + 50 * 0.004


@pytest.mark.asyncio
async def test_zero_rate_sends_back_to_back() -> None:
    """tokens_per_s 0 emits the whole reply without waiting."""
    start = time.monotonic()
    await SimProvider(tokens_per_s=0, reply_tokens=2000).complete(ask())
    assert time.monotonic() - start < 0.5


@pytest.mark.asyncio
async def test_made_from_config() -> None:
    """make_provider builds a SimProvider with the config's pace and reply length, needing no key."""
    config = ModelConfig(
        id="sim", name="sim/echo", provider="sim", first_token_delay_s=0.0, tokens_per_s=0, reply_tokens=7
    )
    provider = make_provider(config, env={})
    assert isinstance(provider, SimProvider)
    reply = await provider.complete(ask("hello"))
    assert reply.usage.output_tokens == 7 and reply.tool_calls == []
