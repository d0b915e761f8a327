"""The fake LLM's /v1/embeddings: OpenAI's shape, deterministic vectors, scripted meanings and failures."""

from __future__ import annotations

import math

import httpx
import openai

from penguin_actors.testing.fake_llm import FakeLLM


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def test_answers_in_openais_shape_and_is_recorded(fake: FakeLLM) -> None:
    """data[i] has its index and vector (of the asked length), usage counts words; the request is recorded."""
    body = {"model": "e", "input": ["red fox", "blue whale"], "dimensions": 16}
    with httpx.Client(base_url=fake.base_url) as http:
        reply = http.post("/v1/embeddings", json=body).json()
    assert reply["object"] == "list" and reply["model"] == "e"
    assert [(d["object"], d["index"], len(d["embedding"])) for d in reply["data"]] == [
        ("embedding", 0, 16),
        ("embedding", 1, 16),
    ]
    assert reply["usage"] == {"prompt_tokens": 4, "total_tokens": 4}
    assert fake.last_request.path == "/v1/embeddings" and fake.last_request.body == body


def test_the_sdks_default_base64_is_spoken(fake: FakeLLM) -> None:
    """The real SDK asks for base64 unless told otherwise; it decodes to the same vector as the float form."""
    client = openai.OpenAI(api_key="k", base_url=f"{fake.base_url}/v1", max_retries=0)
    reply = client.embeddings.create(model="e", input="red fox")
    client.close()
    assert fake.last_request.body["encoding_format"] == "base64"
    expected = fake.embeddings.vector("red fox")
    assert all(math.isclose(a, b, abs_tol=1e-6) for a, b in zip(reply.data[0].embedding, expected, strict=True))


def test_vectors_are_deterministic_and_shared_words_make_texts_alike(fake: FakeLLM) -> None:
    vector = fake.embeddings.vector
    assert vector("the red fox") == vector("the red fox")
    assert cosine(vector("the red fox"), vector("a red fox runs")) > 0.5
    assert abs(cosine(vector("red fox"), vector("blue whale"))) < 0.25


def test_a_test_says_which_texts_mean_the_same_or_gives_a_vector(fake: FakeLLM) -> None:
    fake.embeddings.alias("vulpine creature", like="red fox")
    fake.embeddings.define("axis", [0.0, 1.0, 0.0])
    assert fake.embeddings.vector("vulpine creature") == fake.embeddings.vector("red fox")
    with httpx.Client(base_url=fake.base_url) as http:
        reply = http.post("/v1/embeddings", json={"model": "e", "input": "axis", "dimensions": 64}).json()
    assert reply["data"][0]["embedding"] == [0.0, 1.0, 0.0]
    fake.reset()
    assert fake.embeddings.vector("vulpine creature") != fake.embeddings.vector("red fox")


def test_failures_are_scripted_for_some_requests_or_until_recovery(fake: FakeLLM) -> None:
    body = {"model": "e", "input": "x"}
    with httpx.Client(base_url=fake.base_url) as http:
        fake.embeddings.fail(429, "slow down", times=2)
        statuses = [http.post("/v1/embeddings", json=body).status_code for _ in range(3)]
        fake.embeddings.fail(503)
        failing = [http.post("/v1/embeddings", json=body) for _ in range(2)]
        fake.embeddings.recover()
        recovered = http.post("/v1/embeddings", json=body).status_code
    assert statuses == [429, 429, 200]
    assert [r.status_code for r in failing] == [503, 503]
    assert failing[0].json()["error"]["type"] == "server_error"
    assert recovered == 200


def test_malformed_requests_get_a_400_and_a_wrong_key_a_401(fake: FakeLLM) -> None:
    with httpx.Client(base_url=fake.base_url) as http:
        for body in ({"input": "x"}, {"model": "e", "input": []}, {"model": "e", "input": ["ok", ""]}, [1]):
            reply = http.post("/v1/embeddings", json=body)
            assert reply.status_code == 400, body
            assert reply.json()["error"]["type"] == "invalid_request_error"
    with FakeLLM(api_key="right") as guarded, httpx.Client(base_url=guarded.base_url) as http:
        refused = http.post("/v1/embeddings", json={"model": "e", "input": "x"}, headers={"authorization": "Bearer no"})
        allowed = http.post(
            "/v1/embeddings", json={"model": "e", "input": "x"}, headers={"authorization": "Bearer right"}
        )
    assert (refused.status_code, allowed.status_code) == (401, 200)
