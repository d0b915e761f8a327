"""What AnthropicProvider puts on the wire, as the fake LLM received it (Messages API format)."""

from __future__ import annotations

import pytest

from penguin_actors.models.anthropic_provider import AnthropicProvider
from penguin_actors.testing.fake_llm import FakeLLM, Reply
from penguin_actors.types import ImagePart, Message, ModelRequest, TextPart, ToolCall, ToolSpec
from tests.unit.models.conftest import ANTHROPIC_KEY, ask, stream_events

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
SEARCH = ToolSpec(
    name="search",
    description="Search the web",
    parameters={"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
)


@pytest.mark.asyncio
async def test_tools_are_sent_with_input_schema(anthropic_llm: AnthropicProvider, fake: FakeLLM) -> None:
    """Tools go out as {name, description, input_schema}."""
    await stream_events(anthropic_llm, ask(tools=[SEARCH]))
    assert fake.last_request.body["tools"] == [
        {"name": "search", "description": "Search the web", "input_schema": SEARCH.parameters}
    ]


@pytest.mark.asyncio
async def test_history_with_tool_calls_and_results(anthropic_llm: AnthropicProvider, fake: FakeLLM) -> None:
    """Assistant text + tool_use blocks; tool results (is_error kept) and a user follow-up form ONE user turn."""
    history = [
        Message(role="user", content="find two things"),
        Message(
            role="assistant",
            content="Searching.",
            tool_calls=[
                ToolCall(id="t1", name="search", arguments={"q": "a"}),
                ToolCall(id="t2", name="search", arguments={"q": "b"}),
            ],
        ),
        Message(role="tool", content="result a", tool_call_id="t1"),
        Message(role="tool", content="boom", tool_call_id="t2", is_error=True),
        Message(role="user", content="and now?"),
    ]
    await anthropic_llm.complete(ModelRequest(model="m", messages=history, tools=[SEARCH]))
    assert fake.last_request.body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "find two things"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Searching."},
                {"type": "tool_use", "id": "t1", "name": "search", "input": {"q": "a"}},
                {"type": "tool_use", "id": "t2", "name": "search", "input": {"q": "b"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": "result a", "is_error": False},
                {"type": "tool_result", "tool_use_id": "t2", "content": "boom", "is_error": True},
                {"type": "text", "text": "and now?"},
            ],
        },
    ]


@pytest.mark.asyncio
async def test_assistant_turn_with_only_tool_calls_has_no_empty_text(
    anthropic_llm: AnthropicProvider, fake: FakeLLM
) -> None:
    """An assistant message without text sends only tool_use blocks (the API refuses empty text blocks)."""
    history = [
        Message(role="user", content="go"),
        Message(role="assistant", tool_calls=[ToolCall(id="t1", name="search", arguments={"q": "x"})]),
        Message(role="tool", content="done", tool_call_id="t1"),
    ]
    await anthropic_llm.complete(ModelRequest(model="m", messages=history, tools=[SEARCH]))
    assert fake.last_request.body["messages"][1]["content"] == [
        {"type": "tool_use", "id": "t1", "name": "search", "input": {"q": "x"}}
    ]


@pytest.mark.asyncio
async def test_images_are_base64_image_blocks(anthropic_llm: AnthropicProvider, fake: FakeLLM) -> None:
    """An image part goes out as an image block with a base64 source, beside the text."""
    content: list[TextPart | ImagePart] = [TextPart(text="what is this?"), ImagePart(media_type="image/png", data=PNG)]
    await stream_events(anthropic_llm, ModelRequest(model="m", messages=[Message(role="user", content=content)]))
    assert fake.last_request.body["messages"][0]["content"] == [
        {"type": "text", "text": "what is this?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
    ]


@pytest.mark.asyncio
async def test_tool_result_with_image_keeps_it(anthropic_llm: AnthropicProvider, fake: FakeLLM) -> None:
    """A tool result holding an image sends its text and image as blocks inside the tool_result."""
    history = [
        Message(role="user", content="screenshot"),
        Message(role="assistant", tool_calls=[ToolCall(id="t1", name="shot")]),
        Message(
            role="tool",
            content=[TextPart(text="here"), ImagePart(media_type="image/png", data=PNG)],
            tool_call_id="t1",
        ),
    ]
    await anthropic_llm.complete(ModelRequest(model="m", messages=history))
    result = fake.last_request.body["messages"][2]["content"][0]
    assert result["content"] == [
        {"type": "text", "text": "here"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
    ]


@pytest.mark.asyncio
async def test_system_prompt_is_top_level(anthropic_llm: AnthropicProvider, fake: FakeLLM) -> None:
    """The system prompt and any system messages go in the top-level system field, never in messages."""
    request = ModelRequest(
        model="m",
        system="You are terse.",
        messages=[Message(role="system", content="Answer in French."), Message(role="user", content="hi")],
    )
    await stream_events(anthropic_llm, request)
    body = fake.last_request.body
    assert body["system"] == "You are terse.\n\nAnswer in French."
    assert [m["role"] for m in body["messages"]] == ["user"]


@pytest.mark.asyncio
async def test_request_fields(anthropic_llm: AnthropicProvider, fake: FakeLLM) -> None:
    """Streaming sets stream, max_tokens and the model; temperature is left out (API 2026-10-21 refuses it)."""
    await stream_events(anthropic_llm, ask(model="claude-test", max_tokens=321, temperature=0.2))
    sent = fake.last_request
    assert (sent.path, sent.body["stream"], sent.body["max_tokens"]) == ("/v1/messages", True, 321)
    assert "temperature" not in sent.body and "system" not in sent.body and "tools" not in sent.body
    assert sent.headers["authorization"] == f"Bearer {ANTHROPIC_KEY}"  # anthropic SDK 2.x: Bearer, not x-api-key
    assert sent.headers["anthropic-version"] >= "2026-10-21"


@pytest.mark.asyncio
async def test_consecutive_user_messages_merge(anthropic_llm: AnthropicProvider, fake: FakeLLM) -> None:
    """Two user messages in a row become one user turn with both texts."""
    history = [Message(role="user", content="first"), Message(role="user", content="second")]
    await anthropic_llm.complete(ModelRequest(model="m", messages=history))
    assert fake.last_request.body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "first"}, {"type": "text", "text": "second"}]}
    ]


@pytest.mark.asyncio
async def test_usage_input_from_message_start_output_from_message_delta(
    anthropic_llm: AnthropicProvider, fake: FakeLLM
) -> None:
    """Input tokens come from message_start and output tokens from message_delta."""
    fake.push(Reply(text="a b c", input_tokens=42, output_tokens=9))
    reply = await anthropic_llm.complete(ask())  # non-streamed, then streamed: both report the same
    fake.push(Reply(text="a b c", input_tokens=42, output_tokens=9))
    events = await stream_events(anthropic_llm, ask())
    assert reply.usage.input_tokens == 42 and reply.usage.output_tokens == 9
    assert any(getattr(e, "usage", None) == reply.usage for e in events)
