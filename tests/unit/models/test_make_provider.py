"""make_provider: the right provider for each config, keys from the given environment."""

from __future__ import annotations

import pytest

from penguin_actors.config import ModelConfig, Provider
from penguin_actors.errors import ConfigError, ProviderError
from penguin_actors.models.anthropic_provider import AnthropicProvider
from penguin_actors.models.openai_provider import OpenAIProvider
from penguin_actors.models.providers import make_provider
from penguin_actors.testing.fake_llm import FakeLLM
from tests.unit.models.conftest import ask, stream_events


@pytest.mark.asyncio
async def test_anthropic_key_comes_from_the_named_env_var(fake: FakeLLM) -> None:
    """The key is read from env[api_key_env] and sent; the model sent is the config's provider_model."""
    config = ModelConfig(
        id="c", name="anthropic/claude-test", provider="anthropic", base_url=fake.base_url, api_key_env="MY_KEY"
    )
    provider = make_provider(config, {"MY_KEY": "sk-from-env"})
    assert isinstance(provider, AnthropicProvider)
    try:
        await stream_events(provider, ask(model=config.provider_model))
    finally:
        await provider.aclose()
    assert fake.last_request.api_key() == "sk-from-env"
    assert fake.last_request.body["model"] == "claude-test"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("provider", "default_env"), [("anthropic", "ANTHROPIC_API_KEY"), ("openai", "OPENAI_API_KEY")]
)
async def test_missing_key_fails_at_call_time_naming_the_variable(provider: Provider, default_env: str) -> None:
    """Without a key the provider still builds; each call raises a non-retryable ProviderError naming the env var."""
    config = ModelConfig(id="m", name=f"{provider}/x", provider=provider)
    built = make_provider(config, {})
    with pytest.raises(ProviderError) as caught:
        await built.complete(ask())
    assert not caught.value.retryable and default_env in caught.value.message
    with pytest.raises(ProviderError):
        await stream_events(built, ask())
    await built.aclose()


@pytest.mark.asyncio
async def test_openai_compatible_needs_no_key(fake: FakeLLM) -> None:
    """openai-compatible works without a key (placeholder sent) and uses the configured base_url."""
    config = ModelConfig(id="local", name="ollama/llama3", provider="openai-compatible", base_url=f"{fake.base_url}/v1")
    provider = make_provider(config, {})
    assert isinstance(provider, OpenAIProvider)
    try:
        reply = await provider.complete(ask("ping", model=config.provider_model))
    finally:
        await provider.aclose()
    assert reply.text == "echo: ping"
    assert fake.last_request.api_key() == "not-needed"
    assert fake.last_request.body["model"] == "llama3"


def test_openai_compatible_without_base_url_is_a_config_error() -> None:
    """openai-compatible without base_url is refused when the provider is made."""
    config = ModelConfig(id="local", name="ollama/llama3", provider="openai-compatible")
    with pytest.raises(ConfigError, match="base_url"):
        make_provider(config, {})
