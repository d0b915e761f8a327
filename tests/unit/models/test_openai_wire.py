"""What OpenAIProvider puts on the wire, as the fake LLM received it (Chat Completions format)."""

from __future__ import annotations

import json

import pytest

from penguin_actors.models.openai_provider import OpenAIProvider
from penguin_actors.testing.fake_llm import FakeLLM
from penguin_actors.types import ImagePart, Message, ModelRequest, TextPart, ToolCall, ToolSpec
from tests.unit.models.conftest import OPENAI_KEY, ask, stream_events

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
SEARCH = ToolSpec(
    name="search",
    description="Search the web",
    parameters={"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
)


@pytest.mark.asyncio
async def test_tools_are_sent_as_functions(openai_llm: OpenAIProvider, fake: FakeLLM) -> None:
    """Tools go out as {type: function, function: {name, description, parameters}}."""
    await stream_events(openai_llm, ask(tools=[SEARCH]))
    assert fake.last_request.body["tools"] == [
        {
            "type": "function",
            "function": {"name": "search", "description": "Search the web", "parameters": SEARCH.parameters},
        }
    ]


@pytest.mark.asyncio
async def test_history_with_tool_calls_and_results(openai_llm: OpenAIProvider, fake: FakeLLM) -> None:
    """Assistant tool_calls carry JSON-string arguments and null content; each result is a tool message."""
    history = [
        Message(role="user", content="find it"),
        Message(role="assistant", tool_calls=[ToolCall(id="c1", name="search", arguments={"q": "penguins"})]),
        Message(role="tool", content="found", tool_call_id="c1"),
        Message(role="assistant", content="Also this:", tool_calls=[ToolCall(id="c2", name="search")]),
        Message(role="tool", content="no results", tool_call_id="c2", is_error=True),
    ]
    await openai_llm.complete(ModelRequest(model="m", messages=history, tools=[SEARCH]))
    messages = fake.last_request.body["messages"]
    assert messages[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "search", "arguments": '{"q": "penguins"}'}}
        ],
    }
    assert json.loads(messages[1]["tool_calls"][0]["function"]["arguments"]) == {"q": "penguins"}
    assert messages[2] == {"role": "tool", "tool_call_id": "c1", "content": "found"}
    assert messages[3]["content"] == "Also this:"
    assert messages[4] == {"role": "tool", "tool_call_id": "c2", "content": "Error: no results"}


@pytest.mark.asyncio
async def test_raw_arguments_go_back_verbatim(openai_llm: OpenAIProvider, fake: FakeLLM) -> None:
    """A tool call whose JSON was unusable ({"_raw": text}) is sent back with its original argument text."""
    history = [
        Message(role="user", content="go"),
        Message(role="assistant", tool_calls=[ToolCall(id="c1", name="search", arguments={"_raw": '{"q": '})]),
        Message(role="tool", content="bad arguments", tool_call_id="c1", is_error=True),
    ]
    await openai_llm.complete(ModelRequest(model="m", messages=history))
    assert fake.last_request.body["messages"][1]["tool_calls"][0]["function"]["arguments"] == '{"q": '


@pytest.mark.asyncio
async def test_images_are_data_url_parts(openai_llm: OpenAIProvider, fake: FakeLLM) -> None:
    """An image part goes out as an image_url part holding a base64 data URL, beside the text part."""
    content: list[TextPart | ImagePart] = [TextPart(text="what is this?"), ImagePart(media_type="image/jpeg", data=PNG)]
    await stream_events(openai_llm, ModelRequest(model="m", messages=[Message(role="user", content=content)]))
    assert fake.last_request.body["messages"][0]["content"] == [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{PNG}"}},
    ]


@pytest.mark.asyncio
async def test_tool_result_images_follow_as_a_user_message(openai_llm: OpenAIProvider, fake: FakeLLM) -> None:
    """Tool messages carry text only, so images of tool results follow the run of tool messages as one user message."""
    history = [
        Message(role="user", content="two shots"),
        Message(role="assistant", tool_calls=[ToolCall(id="c1", name="shot"), ToolCall(id="c2", name="shot")]),
        Message(
            role="tool", content=[TextPart(text="one"), ImagePart(media_type="image/png", data=PNG)], tool_call_id="c1"
        ),
        Message(role="tool", content="two", tool_call_id="c2"),
    ]
    await openai_llm.complete(ModelRequest(model="m", messages=history))
    messages = fake.last_request.body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool", "user"]
    assert messages[2]["content"] == "one"
    assert messages[4]["content"] == [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]


@pytest.mark.asyncio
async def test_system_prompt_comes_first(openai_llm: OpenAIProvider, fake: FakeLLM) -> None:
    """The system prompt is the first message, with role system."""
    await stream_events(openai_llm, ask("hi", system="You are terse."))
    assert fake.last_request.body["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "hi"},
    ]


@pytest.mark.asyncio
async def test_request_fields(openai_llm: OpenAIProvider, fake: FakeLLM) -> None:
    """Streaming asks for usage; the limit goes as max_completion_tokens; temperature and the Bearer key are sent."""
    await stream_events(openai_llm, ask(model="gpt-test", max_tokens=123, temperature=0.3))
    sent = fake.last_request
    assert sent.path == "/v1/chat/completions"
    assert (sent.body["stream"], sent.body["stream_options"]) == (True, {"include_usage": True})
    assert (sent.body["max_completion_tokens"], sent.body["temperature"]) == (123, 0.3)
    assert "max_tokens" not in sent.body and "tools" not in sent.body
    assert sent.headers["authorization"] == f"Bearer {OPENAI_KEY}"


@pytest.mark.asyncio
async def test_compatible_server_without_key(fake: FakeLLM) -> None:
    """openai-compatible mode with no key sends a placeholder key and the limit as max_tokens."""
    provider = OpenAIProvider(
        api_key=None,
        base_url=f"{fake.base_url}/v1",
        name="openai-compatible",
        require_key=False,
        max_tokens_param="max_tokens",
    )
    try:
        reply = await provider.complete(ask("ping", max_tokens=50))
    finally:
        await provider.aclose()
    assert reply.text == "echo: ping"
    sent = fake.last_request
    assert sent.headers["authorization"] == "Bearer not-needed"
    assert sent.body["max_tokens"] == 50 and "max_completion_tokens" not in sent.body
