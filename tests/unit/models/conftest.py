"""Fixtures for the model provider tests: one fake LLM server for the session, providers pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from penguin_actors.models.anthropic_provider import AnthropicProvider
from penguin_actors.models.base import ModelProvider
from penguin_actors.models.openai_provider import OpenAIProvider
from penguin_actors.testing.fake_llm import FakeLLM
from penguin_actors.types import Message, ModelEvent, ModelRequest

ANTHROPIC_KEY = "sk-ant-test-0123456789abcdef"
OPENAI_KEY = "sk-openai-test-fedcba9876543210"


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        yield fake


@pytest.fixture
def fake(fake_server: FakeLLM) -> FakeLLM:
    """The session's fake LLM with no queued replies and no recorded requests."""
    fake_server.reset()
    return fake_server


@pytest_asyncio.fixture
async def anthropic_llm(fake: FakeLLM) -> AsyncIterator[AnthropicProvider]:
    provider = AnthropicProvider(api_key=ANTHROPIC_KEY, base_url=fake.base_url)
    yield provider
    await provider.aclose()


@pytest_asyncio.fixture
async def openai_llm(fake: FakeLLM) -> AsyncIterator[OpenAIProvider]:
    provider = OpenAIProvider(api_key=OPENAI_KEY, base_url=f"{fake.base_url}/v1")
    yield provider
    await provider.aclose()


@pytest_asyncio.fixture(params=["anthropic", "openai"])
async def llm(request: pytest.FixtureRequest, fake: FakeLLM) -> AsyncIterator[ModelProvider]:
    """Each real-SDK provider in turn, pointed at the fake."""
    provider: ModelProvider
    if request.param == "anthropic":
        provider = AnthropicProvider(api_key=ANTHROPIC_KEY, base_url=fake.base_url)
    else:
        provider = OpenAIProvider(api_key=OPENAI_KEY, base_url=f"{fake.base_url}/v1")
    yield provider
    await provider.aclose()


def key_of(provider: ModelProvider) -> str:
    return ANTHROPIC_KEY if isinstance(provider, AnthropicProvider) else OPENAI_KEY


def ask(text: str = "hello", **fields: Any) -> ModelRequest:
    """A one-message request; ``fields`` override the request's other fields."""
    return ModelRequest(
        model=fields.pop("model", "test-model"), messages=[Message(role="user", content=text)], **fields
    )


async def stream_events(provider: ModelProvider, request: ModelRequest) -> list[ModelEvent]:
    """All events of one streamed call."""
    return [event async for event in provider.stream(request)]
