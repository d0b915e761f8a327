"""POST /chat/message through Serve: JSON and SSE, the real SDKs against the fake LLM, bad input."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from penguin_actors.testing.fake_llm import FakeLLM, Reply
from tests.support import FAKE_KEY, Server

pytestmark = [pytest.mark.ray, pytest.mark.both_modes]


def chat(client: httpx.Client, text: str, **fields: object) -> httpx.Response:
    return client.post("/api/v1/chat/message", json={"text": text, **fields})


def test_a_message_without_conversation_creates_one(client: httpx.Client) -> None:
    """A message without conversation_id starts a new conversation holding both messages."""
    answer = chat(client, "hello penguin")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "hello penguin" in body["response"] and body["action_results"] == []
    assert body["usage"]["output"] == 20 and body["model"] == "sim" and not body["cancelled"]
    stored = client.get(f"/api/v1/conversations/{body['conversation_id']}").json()
    assert stored["title"] == "hello penguin"
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant"]
    assert stored["messages"][1]["content"] == body["response"]


@pytest.mark.parametrize(
    ("model", "path"), [("fake-openai", "/v1/chat/completions"), ("fake-anthropic", "/v1/messages")]
)
def test_real_sdk_providers_carry_the_history(client: httpx.Client, llm: FakeLLM, model: str, path: str) -> None:
    """Through the real SDKs: the reply comes back, usage is the provider's, the second call sends the history."""
    llm.script(Reply(text="first answer", output_tokens=7, input_tokens=11), Reply(text="second answer"))
    first = chat(client, "question one", model_id=model).json()
    assert first["response"] == "first answer" and first["usage"] == {"input": 11, "output": 7}
    second = chat(client, "question two", model_id=model, conversation_id=first["conversation_id"]).json()
    assert second["response"] == "second answer"
    sent = llm.requests[-1]
    assert sent.path == path and sent.api_key() == FAKE_KEY
    texts = json.dumps(sent.body["messages"])
    assert "question one" in texts and "first answer" in texts and "question two" in texts
    system = sent.body.get("system") or sent.body["messages"][0]["content"]
    assert "Penguin" in json.dumps(system)


def test_provider_failure_is_502_and_keeps_the_message(client: httpx.Client, llm: FakeLLM) -> None:
    """A provider error answers 502 with its code; the user message is stored; the next message works."""
    llm.script(Reply.error(400, "bad request from provider"))
    conversation = client.post("/api/v1/conversations/create").json()["id"]
    failed = chat(client, "will fail", model_id="fake-openai", conversation_id=conversation)
    assert failed.status_code == 502 and failed.json()["error"]["code"] == "provider_error"
    assert FAKE_KEY not in failed.text
    llm.script(Reply(text="recovered"))
    assert chat(client, "again", model_id="fake-openai", conversation_id=conversation).json()["response"] == "recovered"
    roles = [m["role"] for m in client.get(f"/api/v1/conversations/{conversation}").json()["messages"]]
    assert roles == ["user", "user", "assistant"]


def test_streaming_over_http_is_server_sent_events(server: Server) -> None:
    """streaming: true answers text/event-stream whose frames are the WebSocket's, numbered, ending in complete."""
    with (
        server.client() as client,
        client.stream("POST", "/api/v1/chat/message", json={"text": "stream me", "streaming": True}) as answer,
    ):
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        frames = [json.loads(line[len("data: ") :]) for line in answer.iter_lines() if line.startswith("data: ")]
    assert next(f["event"] for f in frames) == "start" and frames[-1]["event"] == "complete"
    assert [f["seq"] for f in frames] == list(range(len(frames)))
    tokens = "".join(f["data"]["token"] for f in frames if f["event"] == "token")
    assert tokens == frames[-1]["data"]["response"]


def test_sixteen_conversations_chat_at_once_without_cross_talk(client: httpx.Client, llm: FakeLLM) -> None:
    """16 conversations each get their own answer, and their stored histories hold only their own words."""

    def one(i: int) -> tuple[str, dict[str, object]]:
        with httpx.Client(base_url=str(client.base_url), timeout=120) as own:
            return f"marker{i}", chat(own, f"marker{i} says hi", model_id="fake-openai").json()

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, range(16)))
    for marker, body in results:
        assert marker in str(body["response"]), body
        messages = client.get(f"/api/v1/conversations/{body['conversation_id']}").json()["messages"]
        assert all(marker in json.dumps(m["content"]) for m in messages)
    assert len({body["conversation_id"] for _, body in results}) == 16


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"text": ""},
        {"text": "   "},
        {"text": "hi", "max_iterations": 0},
        {"text": "hi", "max_iterations": 51},
        {"text": "hi", "multitask_strategy": "shout"},
        {"text": "hi", "conversation_id": "has spaces"},
        {"text": "hi", "unknown_field": 1},
    ],
)
def test_bad_messages_are_422(client: httpx.Client, body: dict[str, object]) -> None:
    """Missing or blank text, max_iterations outside 1..50 and malformed fields answer 422."""
    answer = client.post("/api/v1/chat/message", json=body)
    assert answer.status_code == 422, answer.text


def test_unknown_conversation_is_404(client: httpx.Client) -> None:
    """A message to an unknown conversation answers 404 and creates nothing."""
    answer = chat(client, "hi", conversation_id="conv_ghost")
    assert answer.status_code == 404
    assert client.get("/api/v1/conversations/conv_ghost").status_code == 404


def test_text_over_the_limit_is_413(client: httpx.Client, server: Server) -> None:
    """Text longer than limits.max_text_chars answers 413."""
    answer = chat(client, "x" * (server.settings.limits.max_text_chars + 1))
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "too_large"


def test_unknown_model_is_404(client: httpx.Client) -> None:
    """A message naming an unknown model answers 404 with the valid ids."""
    answer = chat(client, "hi", model_id="gpt-17")
    assert answer.status_code == 404 and "sim" in answer.json()["error"]["details"]["valid_ids"]
