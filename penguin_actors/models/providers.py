"""Build the ``ModelProvider`` a model's configuration asks for."""

from __future__ import annotations

from collections.abc import Mapping

from penguin_actors.config import ModelConfig
from penguin_actors.errors import ConfigError
from penguin_actors.models.base import DEFAULT_KEY_ENV, ModelProvider
from penguin_actors.models.sim_provider import SimProvider


def make_provider(config: ModelConfig, env: Mapping[str, str]) -> ModelProvider:
    """The provider for ``config``, its key read from ``env[config.api_key_env]``.

    The key env var defaults to ``ANTHROPIC_API_KEY`` / ``OPENAI_API_KEY``. A missing key
    does not fail here: the provider is built and each call raises a non-retryable
    ``ProviderError`` naming the variable to set, so one unconfigured model in a catalog
    does not stop the others. ``openai-compatible`` needs no key (local servers such as
    Ollama) and sends the token limit as ``max_tokens``, which those servers understand;
    it needs a ``base_url`` (``ConfigError`` otherwise).
    """
    # The SDKs are imported only when a model needs them: each costs a conversation actor 0.5-1.5 s to load.
    if config.provider == "sim":
        return SimProvider.from_config(config)
    if config.provider == "anthropic":
        from penguin_actors.models.anthropic_provider import AnthropicProvider

        key_env = config.api_key_env or DEFAULT_KEY_ENV["anthropic"]
        return AnthropicProvider(api_key=env.get(key_env) or None, base_url=config.base_url, key_env=key_env)
    from penguin_actors.models.openai_provider import OpenAIProvider

    key_env = config.api_key_env or DEFAULT_KEY_ENV["openai"]
    if config.provider == "openai":
        return OpenAIProvider(api_key=env.get(key_env) or None, base_url=config.base_url, key_env=key_env)
    if not config.base_url:
        raise ConfigError(
            f"model {config.id}: provider openai-compatible needs base_url, e.g. http://localhost:11434/v1"
        )
    compatible_key = env.get(config.api_key_env) if config.api_key_env else None
    return OpenAIProvider(
        api_key=compatible_key or None,
        base_url=config.base_url,
        name="openai-compatible",
        require_key=False,
        key_env=key_env,
        max_tokens_param="max_tokens",
    )


class Providers:
    """Providers (SDK clients) by model, built once each and shared by the conversations of a process.

    A provider keeps no conversation's state (each call carries its whole request), so a host's
    conversations share one client and its connection pool per model instead of one each.
    """

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self._built: dict[str, tuple[ModelConfig, ModelProvider]] = {}

    def get(self, model: ModelConfig) -> ModelProvider:
        built = self._built.get(model.id)
        if built is None or built[0] != model:
            built = self._built[model.id] = (model, make_provider(model, self._env))
        return built[1]

    def put(self, model: ModelConfig, provider: ModelProvider) -> None:
        """Use ``provider`` for ``model`` (a test's stand-in)."""
        self._built[model.id] = (model, provider)

    async def aclose(self) -> None:
        for _, provider in self._built.values():
            await provider.aclose()
        self._built.clear()
