"""The fake LLM server itself: usable from sync code, strict like the real services, runnable standalone."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest

from penguin_actors.testing.fake_llm import FakeLLM, Reply

ANTHROPIC_HEADERS = {"anthropic-version": "2026-10-21", "authorization": "Bearer k"}


def test_sync_client_gets_default_echo(fake: FakeLLM) -> None:
    """With nothing scripted, a sync HTTP client gets an echo of the last user text, recorded with its headers."""
    body = {"model": "m", "messages": [{"role": "user", "content": "marco"}]}
    with httpx.Client(base_url=fake.base_url) as http:
        reply = http.post("/v1/chat/completions", json=body, headers={"authorization": "Bearer abc"}).json()
    assert reply["choices"][0]["message"]["content"] == "echo: marco"
    assert fake.last_request.headers["authorization"] == "Bearer abc"
    assert fake.last_request.body == body


def test_scripted_replies_are_used_in_order_then_default(fake: FakeLLM) -> None:
    """Scripted replies are served first in, first out, whichever protocol asks; then the default applies."""
    fake.script("first", Reply(text="second"))
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
    with httpx.Client(base_url=fake.base_url, headers=ANTHROPIC_HEADERS) as http:
        texts = [http.post("/v1/messages", json=body).json()["content"][0]["text"] for _ in range(3)]
    assert texts == ["first", "second", "echo: x"]


def test_models_in_both_formats(fake: FakeLLM) -> None:
    """GET /v1/models answers in Anthropic's format when anthropic-version is sent, else in OpenAI's."""
    with httpx.Client(base_url=fake.base_url) as http:
        openai_list = http.get("/v1/models").json()
        anthropic_list = http.get("/v1/models", headers=ANTHROPIC_HEADERS).json()
    assert openai_list["object"] == "list" and openai_list["data"][0]["object"] == "model"
    assert anthropic_list["data"][0]["type"] == "model" and anthropic_list["has_more"] is False


def test_strict_mode_refuses_unanswered_tool_use(fake: FakeLLM) -> None:
    """A tool_use without a tool_result right after gets the 400 the real API gives."""
    body = {
        "model": "m",
        "max_tokens": 5,
        "messages": [
            {"role": "user", "content": "x"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
            {"role": "user", "content": "y"},
        ],
    }
    with httpx.Client(base_url=fake.base_url, headers=ANTHROPIC_HEADERS) as http:
        response = http.post("/v1/messages", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert "t1" in response.json()["error"]["message"]


def test_strict_mode_refuses_sampling_parameters_on_new_api_version(fake: FakeLLM) -> None:
    """Under anthropic-version 2026-10-21 a temperature gets a 400, as the real API does."""
    body = {"model": "m", "max_tokens": 5, "temperature": 1.0, "messages": [{"role": "user", "content": "x"}]}
    with httpx.Client(base_url=fake.base_url, headers=ANTHROPIC_HEADERS) as http:
        response = http.post("/v1/messages", json=body)
    assert response.status_code == 400 and "temperature" in response.json()["error"]["message"]


def test_required_key_is_checked() -> None:
    """A fake made with api_key refuses requests without it with a provider-shaped 401."""
    with FakeLLM(api_key="right") as fake, httpx.Client(base_url=fake.base_url) as http:
        body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
        wrong = http.post("/v1/chat/completions", json=body, headers={"authorization": "Bearer wrong"})
        right = http.post("/v1/chat/completions", json=body, headers={"authorization": "Bearer right"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
    assert right.status_code == 200


def test_first_token_delay_is_applied(fake: FakeLLM) -> None:
    """A first-token delay holds back the first content chunk by about that long."""
    fake.push(Reply(text="slow start", first_token_delay_s=0.2))
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "x"}]}
    start = time.monotonic()
    with httpx.Client(base_url=fake.base_url) as http, http.stream("POST", "/v1/chat/completions", json=body) as r:
        lines = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert time.monotonic() - start >= 0.2
    assert lines[-1] == "data: [DONE]"


@pytest.mark.timeout(30)
def test_runs_standalone() -> None:
    """`python -m penguin_actors.testing.fake_llm --port 0` serves until stopped and prints its address."""
    process = subprocess.Popen(
        [sys.executable, "-m", "penguin_actors.testing.fake_llm", "--port", "0", "--words", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("fake LLM listening on http://127.0.0.1:")
        base_url = line.rsplit(" ", 1)[-1].strip()
        body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
        reply = httpx.post(f"{base_url}/v1/chat/completions", json=body, timeout=10).json()
        assert reply["choices"][0]["message"]["content"] == "lorem ipsum dolor"
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
