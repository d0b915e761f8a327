"""The Anthropic and OpenAI providers against the fake LLM over loopback, with the real SDKs: shared contract."""

from __future__ import annotations

import pytest

from penguin_actors.errors import ProviderError
from penguin_actors.models.anthropic_provider import AnthropicProvider
from penguin_actors.models.base import ModelProvider
from penguin_actors.models.openai_provider import OpenAIProvider
from penguin_actors.testing.fake_llm import FakeLLM, FakeToolCall, Reply
from penguin_actors.testing.ports import free_port
from penguin_actors.types import (
    Message,
    ModelRequest,
    ReasoningDelta,
    StopEvent,
    TextDelta,
    ToolCall,
    ToolCallEvent,
    ToolSpec,
    Usage,
    UsageEvent,
)
from tests.unit.models.conftest import ask, key_of, stream_events

WEATHER = ToolSpec(
    name="get_weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@pytest.mark.asyncio
async def test_stream_yields_text_in_several_deltas_then_usage_and_stop(llm: ModelProvider, fake: FakeLLM) -> None:
    """Streamed text arrives as several TextDeltas that join to the reply, then the scripted usage, then end_turn."""
    fake.push(Reply(text="The quick brown fox jumps", input_tokens=11, output_tokens=7))
    events = await stream_events(llm, ask("tell me"))
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) == 5
    assert "".join(deltas) == "The quick brown fox jumps"
    assert events[-2:] == [UsageEvent(usage=Usage(input_tokens=11, output_tokens=7)), StopEvent(reason="end_turn")]


@pytest.mark.asyncio
async def test_complete_returns_the_whole_reply(llm: ModelProvider, fake: FakeLLM) -> None:
    """complete() returns the text, usage and stop reason of a non-streamed call."""
    fake.push(Reply(text="All in one go", input_tokens=3, output_tokens=4))
    reply = await llm.complete(ask())
    assert (reply.text, reply.usage, reply.stop_reason) == (
        "All in one go",
        Usage(input_tokens=3, output_tokens=4),
        "end_turn",
    )
    assert fake.last_request.body.get("stream") in (None, False)


@pytest.mark.asyncio
async def test_default_usage_counts_words(llm: ModelProvider, fake: FakeLLM) -> None:
    """Unscripted usage is the fake's honest word count of prompt and reply."""
    fake.push(Reply(text="one two three"))
    events = await stream_events(llm, ask("four words right here"))
    assert UsageEvent(usage=Usage(input_tokens=4, output_tokens=3)) in events


@pytest.mark.asyncio
async def test_streamed_tool_call_arguments_split_over_chunks_come_back_whole(
    llm: ModelProvider, fake: FakeLLM
) -> None:
    """Tool arguments streamed in fragments come back as one ToolCallEvent with the whole dict, stop tool_use."""
    args = {"city": "Paris", "days": 3, "units": {"temp": "C"}}
    fake.push(Reply(text="Let me check.", tool_calls=[FakeToolCall("get_weather", args, id="call_1")], arg_chunks=5))
    events = await stream_events(llm, ask("weather?", tools=[WEATHER]))
    calls = [e.call for e in events if isinstance(e, ToolCallEvent)]
    assert calls == [ToolCall(id="call_1", name="get_weather", arguments=args)]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Let me check."
    assert events[-1] == StopEvent(reason="tool_use")


@pytest.mark.asyncio
async def test_several_tool_calls_keep_their_order(llm: ModelProvider, fake: FakeLLM) -> None:
    """Two tool calls in one reply come back in order, each with its own arguments."""
    fake.push(Reply(tool_calls=[FakeToolCall("a", {"n": 1}, id="c1"), FakeToolCall("b", {"n": 2}, id="c2")]))
    events = await stream_events(llm, ask(tools=[WEATHER]))
    assert [e.call for e in events if isinstance(e, ToolCallEvent)] == [
        ToolCall(id="c1", name="a", arguments={"n": 1}),
        ToolCall(id="c2", name="b", arguments={"n": 2}),
    ]


@pytest.mark.asyncio
async def test_complete_returns_tool_calls(llm: ModelProvider, fake: FakeLLM) -> None:
    """complete() returns the reply's tool calls with parsed arguments and stop reason tool_use."""
    fake.push(Reply.tool("get_weather", {"city": "Oslo"}))
    reply = await llm.complete(ask(tools=[WEATHER]))
    assert [(c.name, c.arguments) for c in reply.tool_calls] == [("get_weather", {"city": "Oslo"})]
    assert reply.stop_reason == "tool_use"


@pytest.mark.asyncio
async def test_invalid_tool_json_comes_back_raw(llm: ModelProvider, fake: FakeLLM) -> None:
    """Tool arguments that are not a JSON object arrive as {"_raw": text} instead of failing the call."""
    fake.push(Reply(tool_calls=[FakeToolCall("get_weather", raw_arguments='{"city": "Par', id="c1")]))
    events = await stream_events(llm, ask(tools=[WEATHER]))
    assert [e.call.arguments for e in events if isinstance(e, ToolCallEvent)] == [{"_raw": '{"city": "Par'}]


@pytest.mark.asyncio
async def test_max_tokens_stop_is_mapped(llm: ModelProvider, fake: FakeLLM) -> None:
    """A reply cut by the token limit ends with StopEvent max_tokens."""
    fake.push(Reply(text="cut short", stop_reason="max_tokens"))
    events = await stream_events(llm, ask())
    assert events[-1] == StopEvent(reason="max_tokens")


@pytest.mark.asyncio
async def test_request_carries_model_and_key(llm: ModelProvider, fake: FakeLLM) -> None:
    """The request names the model and carries the API key in an auth header."""
    await stream_events(llm, ask(model="model-x"))
    sent = fake.last_request
    assert sent.body["model"] == "model-x"
    assert sent.api_key() == key_of(llm)


@pytest.mark.asyncio
async def test_no_sdk_retries(llm: ModelProvider, fake: FakeLLM) -> None:
    """The SDK does not retry on its own: one failing call is one request."""
    fake.push(Reply.error(500))
    with pytest.raises(ProviderError):
        await stream_events(llm, ask())
    assert len(fake.requests) == 1


@pytest.mark.asyncio
@pytest.mark.parametrize("streamed", [True, False])
async def test_rate_limit_is_retryable_with_retry_after_and_hides_the_key(
    llm: ModelProvider, fake: FakeLLM, streamed: bool
) -> None:
    """A 429 is a retryable ProviderError with status, retry_after and the provider's message, never the key."""
    key = key_of(llm)
    fake.push(Reply.error(429, f"slow down, key {key} is over its limit", retry_after=2))
    with pytest.raises(ProviderError) as caught:
        if streamed:
            await stream_events(llm, ask())
        else:
            await llm.complete(ask())
    err = caught.value
    assert (err.retryable, err.status, err.details["retry_after"]) == (True, 429, 2.0)
    assert "slow down" in err.message and "429" in err.message
    assert key not in err.message and key not in str(err.details)


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [500, 503, 529])
async def test_server_errors_are_retryable(llm: ModelProvider, fake: FakeLLM, status: int) -> None:
    """5xx and 529 overloaded are retryable ProviderErrors carrying the status."""
    fake.push(Reply.error(status))
    with pytest.raises(ProviderError) as caught:
        await stream_events(llm, ask())
    assert (caught.value.retryable, caught.value.status) == (True, status)


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [400, 401, 403, 404])
async def test_client_errors_are_not_retryable(llm: ModelProvider, fake: FakeLLM, status: int) -> None:
    """400, 401, 403 and 404 are non-retryable ProviderErrors naming the provider and status."""
    fake.push(Reply.error(status, "you did something wrong"))
    with pytest.raises(ProviderError) as caught:
        await llm.complete(ask())
    err = caught.value
    assert (err.retryable, err.status) == (False, status)
    assert str(status) in err.message and "you did something wrong" in err.message
    assert err.details["provider"] in err.message


@pytest.mark.asyncio
@pytest.mark.parametrize("mode", ["abort", "eof"])
async def test_dropped_stream_is_retryable(llm: ModelProvider, fake: FakeLLM, mode: str) -> None:
    """A stream cut after some chunks (connection reset or early clean EOF) raises a retryable ProviderError."""
    fake.push(Reply(text="one two three four", drop_after=2, drop_mode="abort" if mode == "abort" else "eof"))
    seen: list[str] = []
    with pytest.raises(ProviderError) as caught:
        async for event in llm.stream(ask()):
            if isinstance(event, TextDelta):
                seen.append(event.text)
    assert caught.value.retryable
    assert seen == ["one ", "two "]


@pytest.mark.asyncio
async def test_dropped_non_streamed_reply_is_retryable(llm: ModelProvider, fake: FakeLLM) -> None:
    """A non-streamed reply whose connection is cut mid-body raises a retryable ProviderError."""
    fake.push(Reply(text="never whole", drop_after=0))
    with pytest.raises(ProviderError) as caught:
        await llm.complete(ask())
    assert caught.value.retryable


@pytest.mark.asyncio
async def test_error_event_inside_a_stream_is_mapped(llm: ModelProvider, fake: FakeLLM) -> None:
    """An overloaded/server error sent inside a 200 stream is a retryable ProviderError."""
    status = 529 if isinstance(llm, AnthropicProvider) else 500
    fake.push(Reply(text="one two three", status=status, error_after=1))
    with pytest.raises(ProviderError) as caught:
        await stream_events(llm, ask())
    assert caught.value.retryable
    assert caught.value.details.get("in_stream") is True


@pytest.mark.asyncio
async def test_unreachable_server_is_retryable(fake: FakeLLM) -> None:
    """A refused connection is a retryable ProviderError for both providers."""
    url = f"http://127.0.0.1:{free_port()}"
    for provider in (AnthropicProvider(api_key="k", base_url=url), OpenAIProvider(api_key="k", base_url=url)):
        with pytest.raises(ProviderError) as caught:
            await stream_events(provider, ask())
        assert caught.value.retryable
        await provider.aclose()


@pytest.mark.asyncio
async def test_history_with_tool_round_trip_is_accepted(llm: ModelProvider, fake: FakeLLM) -> None:
    """A conversation with a tool call and its result passes the fake's strict wire checks."""
    history = [
        Message(role="user", content="weather in Paris?"),
        Message(
            role="assistant",
            content="",
            tool_calls=[ToolCall(id="c1", name="get_weather", arguments={"city": "Paris"})],
        ),
        Message(role="tool", content="sunny", tool_call_id="c1"),
    ]
    fake.push(Reply(text="It is sunny."))
    reply = await llm.complete(ModelRequest(model="m", messages=history, tools=[WEATHER]))
    assert reply.text == "It is sunny."


@pytest.mark.asyncio
async def test_reasoning_streams_apart_from_the_answer(llm: ModelProvider, fake: FakeLLM) -> None:
    """A thinking block (Anthropic) or reasoning_content deltas (OpenAI-compatible) become ReasoningDeltas,
    before the answer's TextDeltas and never in them."""
    fake.push(Reply(text="The answer is 4.", reasoning="two and two make four"))
    events = await stream_events(llm, ask("what is 2 + 2?"))
    thought = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    said = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert (thought, said) == ("two and two make four", "The answer is 4.")
    first_text = next(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert all(not isinstance(e, ReasoningDelta) for e in events[first_text:])
