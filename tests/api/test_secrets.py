"""Provider keys never leave the server: not in responses, error bodies, streamed events or Ray's logs.

The session's fake models use FAKE_KEY; tests/cli/test_exposed_server.py checks the same for
the API key and real provider variables in a whole server process.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import ray

from penguin_actors.testing.fake_llm import FakeLLM, Reply
from tests.support import FAKE_KEY

pytestmark = pytest.mark.ray

READ_ROUTES = [
    "/api/v1/health",
    "/api/v1/system/info",
    "/api/v1/system/status",
    "/api/v1/capabilities",
    "/api/v1/models",
    "/api/v1/models/current",
    "/api/v1/token-usage",
    "/api/v1/conversations",
    "/api/v1/checkpoints/stats",
    "/api/openapi.json",
]


@pytest.mark.parametrize("path", READ_ROUTES)
def test_read_routes_never_show_a_provider_key(client: httpx.Client, path: str) -> None:
    """System, model and usage routes (and the API docs) hold no provider key."""
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert FAKE_KEY not in response.text


@pytest.mark.parametrize("model_id", ["fake-openai", "fake-anthropic"])
def test_a_provider_error_quoting_the_key_is_scrubbed(client: httpx.Client, llm: FakeLLM, model_id: str) -> None:
    """A provider's 401 that quotes the key reaches the client as an error without the key, as JSON and as SSE."""
    for streaming in (False, True):
        llm.script(Reply.error(401, f"Incorrect API key provided: {FAKE_KEY}. Check it."))
        request = {"text": "hi", "model_id": model_id, "streaming": streaming}
        response = client.post("/api/v1/chat/message", json=request)
        assert llm.last_request.api_key() == FAKE_KEY  # the key was in use: its absence below means something
        assert "error" in response.text, response.text
        assert FAKE_KEY not in response.text
        newest = client.get("/api/v1/conversations", params={"limit": 1}).json()["conversations"][0]["id"]
        assert FAKE_KEY not in client.get(f"/api/v1/conversations/{newest}").text


def test_ray_logs_never_hold_a_provider_key(client: httpx.Client, llm: FakeLLM) -> None:
    """After turns that used the key and a provider error quoting it, no file of the session's Ray logs holds it."""
    llm.script(Reply(text="fine"), Reply.error(401, f"bad key {FAKE_KEY}"))
    for _ in range(2):
        client.post("/api/v1/chat/message", json={"text": "hi", "model_id": "fake-openai"})
    context = ray.get_runtime_context()
    logs = Path(context.get_temp_dir()) / context.get_session_name() / "logs"
    files = [path for path in logs.rglob("*") if path.is_file()]
    assert files, f"no log files under {logs}"
    leaking = [str(path) for path in files if FAKE_KEY.encode() in path.read_bytes()]
    assert not leaking
