"""Embedders: texts to vectors, for memory search by meaning (``memory.embeddings`` in the settings).

``Embedder`` is what the store needs; ``OpenAIEmbedder`` speaks OpenAI's embeddings
API with the official ``openai`` SDK, to OpenAI or any server that speaks it
(``openai-compatible``: Ollama, vLLM, LM Studio, …). Every failure is a
``ProviderError`` whose message never holds the key. Import this module only where
embeddings are configured: it loads the SDK.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, Protocol

import httpx2
import openai
from openai.types import Embedding as OpenAIEmbedding

from penguin_actors.config import EmbeddingSettings
from penguin_actors.errors import ProviderError
from penguin_actors.models.openai_provider import map_error

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_KEY_ENV = "OPENAI_API_KEY"
PLACEHOLDER_KEY = "not-needed"


class Embedder(Protocol):
    """Turns texts into vectors of ``dimensions`` floats; ``model`` names the vector space they live in."""

    model: str
    dimensions: int

    async def embed(self, texts: Sequence[str], *, timeout_s: float | None = None) -> list[list[float]]:
        """One vector per text, in order; ``ProviderError`` if the provider fails or answers out of shape."""
        ...

    async def aclose(self) -> None: ...


class OpenAIEmbedder:
    """An ``Embedder`` on OpenAI's ``embeddings.create``.

    ``api_key`` None: with ``require_key`` every call raises a ``ProviderError`` naming
    ``key_env``; without (compatible servers) a placeholder key is sent. ``send_dimensions``
    asks for vectors of ``dimensions`` (text-embedding-3 models shorten theirs); the
    answer must have that length either way. Texts longer than ``max_input_chars`` are
    cut. ``timeout_s`` bounds a request unless a call gives its own. ``base64`` has the
    vectors sent as base64 (the SDK's default: a quarter of the bytes, and much less JSON
    to parse on the store's event loop); off, as floats, which every compatible server speaks.
    """

    def __init__(
        self,
        *,
        model: str,
        dimensions: int,
        api_key: str | None,
        base_url: str | None = None,
        name: str = "openai",
        require_key: bool = True,
        key_env: str = DEFAULT_KEY_ENV,
        send_dimensions: bool = True,
        max_input_chars: int = 8000,
        timeout_s: float = 30.0,
        connect_timeout_s: float = 10.0,
        base64: bool = True,
    ) -> None:
        self.model = model
        self.dimensions = dimensions
        self.name = f"{name} embeddings"
        self._api_key = api_key or (None if require_key else PLACEHOLDER_KEY)
        self._key_env = key_env
        self._send_dimensions = send_dimensions
        self._max_input_chars = max_input_chars
        self._timeout_s = timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._encoding: Literal["float"] | openai.Omit = openai.omit if base64 else "float"
        self._client: openai.AsyncOpenAI | None = None
        if self._api_key is not None:
            self._client = openai.AsyncOpenAI(
                api_key=self._api_key,
                base_url=base_url or DEFAULT_BASE_URL,  # explicit, so OPENAI_BASE_URL never redirects our calls
                max_retries=0,  # the indexer retries later; a search falls back to full text at once
                timeout=httpx2.Timeout(timeout_s, connect=connect_timeout_s),
            )

    async def embed(self, texts: Sequence[str], *, timeout_s: float | None = None) -> list[list[float]]:
        if not texts:
            return []
        if self._client is None:
            raise ProviderError(
                f"{self.name}: no API key: set the {self._key_env} environment variable",
                retryable=False,
                provider=self.name,
            )
        limit = timeout_s or self._timeout_s
        try:
            reply = await self._client.embeddings.create(
                model=self.model,
                input=[text[: self._max_input_chars] or " " for text in texts],
                dimensions=self.dimensions if self._send_dimensions else openai.omit,
                encoding_format=self._encoding,  # omitted: base64, decoded by the SDK
                timeout=httpx2.Timeout(limit, connect=min(limit, self._connect_timeout_s)),
            )
        except (openai.OpenAIError, httpx2.HTTPError) as exc:
            raise map_error(exc, self._api_key, provider=self.name) from None
        return self._vectors(reply.data, len(texts))

    def _vectors(self, data: Sequence[OpenAIEmbedding], count: int) -> list[list[float]]:
        vectors = {item.index: item.embedding for item in data if 0 <= item.index < count}
        if len(vectors) != count:
            raise ProviderError(
                f"{self.name}: asked for {count} vectors, got {len(vectors)} usable ones",
                retryable=True,
                provider=self.name,
            )
        for vector in vectors.values():
            if len(vector) != self.dimensions:
                raise ProviderError(
                    f"{self.name}: {self.model} returned vectors of {len(vector)} dimensions, not {self.dimensions}: "
                    f"set memory.embeddings.dimensions to {len(vector)}",
                    retryable=False,
                    provider=self.name,
                )
        return [vectors[i] for i in range(count)]

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()


def make_embedder(settings: EmbeddingSettings, env: Mapping[str, str]) -> Embedder:
    """The embedder ``settings`` asks for, its key read from ``env`` (a missing key fails each call, not this)."""
    compatible = settings.provider == "openai-compatible"
    key_env = settings.api_key_env or DEFAULT_KEY_ENV
    key = env.get(settings.api_key_env) if compatible and settings.api_key_env else None
    return OpenAIEmbedder(
        model=settings.model,
        dimensions=settings.dimensions,
        api_key=key if compatible else env.get(key_env),
        base_url=settings.base_url,
        name=settings.provider,
        require_key=not compatible,
        key_env=key_env,
        send_dimensions=settings.send_dimensions,
        max_input_chars=settings.max_input_chars,
        timeout_s=settings.timeout_s,
        base64=not compatible,
    )
