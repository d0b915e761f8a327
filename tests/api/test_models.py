"""Model routes through Serve: listing, switching at run time, the current model, token usage."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
import ray

from penguin_actors.types import Message, Usage

pytestmark = pytest.mark.ray


@pytest.fixture
def restore_model(client: httpx.Client) -> Iterator[str]:
    """The current model before the test, loaded again after it."""
    before = client.get("/api/v1/models/current").json()["id"]
    yield before
    client.post("/api/v1/models/load", json={"model_id": before})


def test_models_lists_the_catalog_with_exactly_one_current(client: httpx.Client) -> None:
    """GET /models has the contract's fields and exactly one current model."""
    models = client.get("/api/v1/models").json()["models"]
    assert {"claude-sonnet", "gpt-4o", "sim"} <= {m["id"] for m in models}
    assert sum(m["current"] for m in models) == 1
    for model in models:
        assert {"id", "name", "provider", "vision_enabled", "max_tokens", "current"} <= set(model)


def test_without_keys_the_server_answers_with_sim(client: httpx.Client) -> None:
    """No provider key in the environment: the current model is the simulated one, and it says so."""
    current = client.get("/api/v1/models/current").json()
    assert current["id"] == "sim" and current["simulated"] is True and current["provider"] == "sim"
    assert current["client_preference"] == "native" and current["streaming_enabled"] is True


def test_load_switches_the_current_model(client: httpx.Client, restore_model: str) -> None:
    """Loading a model makes it current in /models, /models/current, /system/info and /capabilities."""
    answer = client.post("/api/v1/models/load", json={"model_id": "gpt-4o"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "success" and body["model_id"] == "gpt-4o"
    assert body["current_model"] == "openai/gpt-4o"
    assert body["message"] == "Successfully loaded model: gpt-4o"
    assert body["available"] is False and "OPENAI_API_KEY" in body["warning"]
    assert [m["id"] for m in client.get("/api/v1/models").json()["models"] if m["current"]] == ["gpt-4o"]
    assert client.get("/api/v1/models/current").json()["model"] == "openai/gpt-4o"
    assert client.get("/api/v1/system/info").json()["current_model"]["model"] == "openai/gpt-4o"
    assert client.get("/api/v1/capabilities").json()["current_model"]["provider"] == "openai"


def test_unknown_model_is_404_listing_valid_ids(client: httpx.Client, restore_model: str) -> None:
    """An unknown id answers 404 with the valid ids, and the current model is unchanged."""
    answer = client.post("/api/v1/models/load", json={"model_id": "gpt-17"})
    assert answer.status_code == 404
    error = answer.json()["error"]
    assert error["code"] == "not_found" and "sim" in error["details"]["valid_ids"]
    assert client.get("/api/v1/models/current").json()["id"] == restore_model


@pytest.mark.parametrize("body", [{}, {"model_id": ""}, {"model_id": "x" * 129}, {"model_id": 5}, {"id": "sim"}])
def test_bad_load_requests_are_422(client: httpx.Client, body: dict[str, object]) -> None:
    """A load request without a valid model_id answers 422."""
    answer = client.post("/api/v1/models/load", json=body)
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "validation_error"


def test_choice_survives_a_registry_restart(client: httpx.Client, restore_model: str) -> None:
    """After the models actor crashes and Ray restarts it, the loaded model is still current."""
    client.post("/api/v1/models/load", json={"model_id": "claude-haiku"})
    ray.kill(ray.get_actor("models", namespace="penguin"), no_restart=False)
    deadline = time.monotonic() + 30
    while True:
        answer = client.get("/api/v1/models/current")
        if answer.status_code == 200:
            break
        assert answer.status_code == 503, answer.text
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert answer.json()["id"] == "claude-haiku"


def test_token_usage_totals_sessions_and_cost(client: httpx.Client) -> None:
    """Usage committed with model calls' replies shows in /token-usage by session and model, and in /system/status."""
    store = ray.get_actor("checkpoints", namespace="penguin")
    before = client.get("/api/v1/token-usage").json()["total"]
    a, b = (client.post("/api/v1/conversations/create", json={}).json()["conversation_id"] for _ in range(2))
    reply = [Message(role="assistant", content="priced")]
    ray.get(store.append_messages.remote(a, reply, usage=("gpt-4o", Usage(input_tokens=1000, output_tokens=100))))
    ray.get(store.append_messages.remote(b, reply, usage=("sim", Usage(input_tokens=7, output_tokens=3))))
    latest = client.get("/api/v1/token-usage").json()
    assert latest["session_id"] == b and latest["session"] == {"input": 7, "output": 3}
    assert latest["total"] == {"input": before["input"] + 1007, "output": before["output"] + 103}
    chosen = client.get("/api/v1/token-usage", params={"conversation_id": a}).json()
    assert chosen["session"] == {"input": 1000, "output": 100}
    assert chosen["by_model"]["gpt-4o"]["cost_usd"] >= 0.0035
    status = client.get("/api/v1/system/status").json()
    assert status["token_usage"]["total"] == latest["total"]
