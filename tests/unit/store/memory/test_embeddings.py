"""OpenAIEmbedder: the real openai SDK against the loopback fake; vectors in order, limits, and errors that say
what to do and never hold the key."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from penguin_actors.config import EmbeddingSettings
from penguin_actors.errors import ProviderError
from penguin_actors.store.memory.embeddings import PLACEHOLDER_KEY, OpenAIEmbedder, make_embedder
from penguin_actors.testing.fake_llm import FakeLLM

KEY = "sk-embed-test-0123456789abcdef"


def embedder(llm: FakeLLM, **options: object) -> OpenAIEmbedder:
    settings: dict[str, object] = {"model": "fake-embed", "dimensions": 64, "api_key": KEY} | options
    return OpenAIEmbedder(base_url=f"{llm.base_url}/v1", **settings)  # type: ignore[arg-type]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


async def test_vectors_come_back_in_order_with_the_asked_size(llm: FakeLLM) -> None:
    """One request for the batch, asking for ``dimensions`` (as base64, the SDK's default); one vector per text,
    in input order."""
    client = embedder(llm)
    vectors = await client.embed(["alpha beta", "gamma"])
    await client.aclose()
    expected = [llm.embeddings.vector("alpha beta", 64), llm.embeddings.vector("gamma", 64)]
    assert [pytest.approx(v, abs=1e-6) for v in vectors] == expected
    (request,) = llm.requests
    assert (request.path, request.api_key()) == ("/v1/embeddings", KEY)
    assert request.body == {
        "model": "fake-embed",
        "input": ["alpha beta", "gamma"],
        "dimensions": 64,
        "encoding_format": "base64",
    }
    assert await client.embed([]) == []


async def test_long_texts_are_cut_and_dimensions_can_be_left_out(llm: FakeLLM) -> None:
    client = embedder(llm, max_input_chars=100, send_dimensions=False, dimensions=256)
    await client.embed(["x" * 500])
    await client.aclose()
    assert llm.last_request.body["input"] == ["x" * 100]
    assert "dimensions" not in llm.last_request.body


async def test_vectors_of_another_size_name_the_setting_to_change(llm: FakeLLM) -> None:
    """A model whose vectors are not ``dimensions`` long is a non-retryable error naming the right value."""
    client = embedder(llm, dimensions=32, send_dimensions=False)
    with pytest.raises(ProviderError, match=r"set memory\.embeddings\.dimensions to 256") as caught:
        await client.embed(["one"])
    await client.aclose()
    assert caught.value.retryable is False


async def test_without_a_key_each_call_names_the_variable(llm: FakeLLM) -> None:
    """The openai provider needs a key: no request is made; an openai-compatible one sends a placeholder."""
    client = make_embedder(EmbeddingSettings(base_url=f"{llm.base_url}/v1", api_key_env="NO_SUCH_KEY_VAR"), env={})
    with pytest.raises(ProviderError, match="set the NO_SUCH_KEY_VAR environment variable"):
        await client.embed(["one"])
    assert llm.requests == []
    compatible = EmbeddingSettings(provider="openai-compatible", base_url=f"{llm.base_url}/v1", dimensions=64)
    local = make_embedder(compatible, env={})
    assert len((await local.embed(["one"]))[0]) == 64
    assert llm.last_request.api_key() == PLACEHOLDER_KEY
    assert llm.last_request.body["encoding_format"] == "float"  # what every compatible server speaks
    await local.aclose()


async def test_the_key_comes_from_the_named_variable(llm: FakeLLM) -> None:
    settings = EmbeddingSettings(base_url=f"{llm.base_url}/v1", api_key_env="MY_EMBED_KEY", dimensions=64)
    client = make_embedder(settings, env={"MY_EMBED_KEY": KEY, "OPENAI_API_KEY": "not-this-one"})
    await client.embed(["one"])
    await client.aclose()
    assert llm.last_request.api_key() == KEY


@pytest.mark.parametrize(("status", "retryable"), [(429, True), (503, True), (401, False), (400, False)])
async def test_provider_errors_are_typed_and_never_hold_the_key(llm: FakeLLM, status: int, retryable: bool) -> None:
    """An HTTP error is a ProviderError with its status; a key the provider echoes is redacted."""
    llm.embeddings.fail(status, f"Incorrect API key provided: {KEY}", times=1)
    client = embedder(llm)
    with pytest.raises(ProviderError) as caught:
        await client.embed(["one"])
    await client.aclose()
    assert (caught.value.status, caught.value.retryable) == (status, retryable)
    assert KEY not in caught.value.message and "[redacted]" in caught.value.message
    assert caught.value.message.startswith("openai embeddings: HTTP")


async def test_a_provider_that_never_answers_times_out(silent_port: int) -> None:
    """The call's own time limit applies; the error is retryable."""
    client = OpenAIEmbedder(model="m", dimensions=8, api_key=KEY, base_url=f"http://127.0.0.1:{silent_port}/v1")
    with pytest.raises(ProviderError, match="timed out") as caught:
        await client.embed(["one"], timeout_s=0.3)
    await client.aclose()
    assert caught.value.retryable is True
