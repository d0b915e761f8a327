"""A whole server run as an exposed one would be: API key, provider keys, rate limits on.

Through the real Serve proxy: clients over their limits get 429 or a closed socket, and the
API key and provider keys appear in no response, tool output, log file or stored byte.
"""

from __future__ import annotations

import json
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from penguin_actors.testing.fake_llm import FakeLLM, Reply
from penguin_actors.testing.ports import free_port
from tests.support import RunningProcess, wait_for_http

pytestmark = pytest.mark.slow

API_KEY = "pk-exposed-" + "a" * 24
SECRETS = {
    "PENGUIN_API_KEY": API_KEY,
    "ANTHROPIC_API_KEY": "sk-ant-exposed-" + "b" * 24,
    "OPENAI_API_KEY": "sk-openai-exposed-" + "c" * 24,
}
AUTH = {"Authorization": f"Bearer {API_KEY}"}


@dataclass
class Exposed:
    base_url: str
    process: RunningProcess
    ray_dir: Path
    workspace: Path

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=60, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def exposed(fake_llm: FakeLLM, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exposed]:
    """One server process with an API key, real provider variables (pointed at the fake) and limits."""
    root = tmp_path_factory.mktemp("exposed")
    ray_dir = Path(tempfile.mkdtemp(prefix="pa-", dir="/tmp"))  # short: Ray's socket paths have a length limit
    config = {
        "limits": {"requests_per_minute": 600, "requests_burst": 20, "max_websockets_per_client": 2},
        "models": {
            "default": "sim",
            "catalog": [
                {"id": "sim", "name": "sim/penguin-sim", "provider": "sim"},
                {
                    "id": "fake-anthropic",
                    "name": "anthropic/fake-claude",
                    "provider": "anthropic",
                    "base_url": fake_llm.base_url,
                },
                {
                    "id": "fake-openai",
                    "name": "openai/fake-gpt",
                    "provider": "openai",
                    "base_url": f"{fake_llm.base_url}/v1",
                },
            ],
        },
    }
    (root / "penguin.yaml").write_text(yaml.safe_dump(config))
    port = free_port()
    command = [sys.executable, "-m", "serve_app", "serve", "--port", str(port), "--no-dashboard", "--num-cpus", "2"]
    command += ["--workspace", str(root / "workspace"), "--config", str(root / "penguin.yaml")]
    env = SECRETS | {"RAY_AUTH_MODE": "disabled", "RAY_TMPDIR": str(ray_dir)}
    try:
        with RunningProcess(command, env=env) as process:
            process.wait_for("Press Ctrl-C to stop.", timeout=180)
            base_url = f"http://127.0.0.1:{port}"
            wait_for_http(f"{base_url}/", timeout=60, process=process)
            yield Exposed(base_url, process, ray_dir, root / "workspace")
    finally:
        shutil.rmtree(ray_dir, ignore_errors=True)


def test_an_unauthenticated_flood_is_limited_per_forwarded_address(exposed: Exposed) -> None:
    """Requests without the key get 401 until their address is over its limit, then 429 with Retry-After."""
    with exposed.client() as http:
        flood = {"X-Forwarded-For": "203.0.113.7"}  # trusted from loopback by the Serve proxy (uvicorn)
        answers = [http.get("/api/v1/capabilities", headers=flood) for _ in range(200)]
        statuses = [a.status_code for a in answers]
        assert 429 in statuses, statuses
        first_limited = answers[statuses.index(429)]
        assert set(statuses[: statuses.index(429)]) == {401}
        assert int(first_limited.headers["retry-after"]) >= 1
        assert first_limited.json()["error"]["code"] == "rate_limited"
        assert http.get("/api/v1/capabilities", headers={"X-Forwarded-For": "203.0.113.8"}).status_code == 401
        assert http.get("/api/v1/capabilities", headers=AUTH | flood).status_code == 200  # the key is its own client
        assert http.get("/", headers=flood).status_code == 200  # the page is never limited


def test_a_clients_third_websocket_is_closed_with_1013(exposed: Exposed) -> None:
    """With max_websockets_per_client 2, the key's third socket gets an error event, then close 1013."""
    url = exposed.base_url.replace("http://", "ws://") + f"/api/v1/chat/stream?token={API_KEY}"
    with connect(url, open_timeout=30) as first, connect(url, open_timeout=30) as second:
        for socket in (first, second):
            socket.send('{"type": "dance"}')
            assert json.loads(socket.recv(timeout=30))["data"]["code"] == "invalid"
        with connect(url, open_timeout=30) as third:
            assert json.loads(third.recv(timeout=30))["data"]["code"] == "too_many_websockets"
            with pytest.raises(ConnectionClosed):
                third.recv(timeout=30)
            assert third.close_code == 1013


def test_no_key_in_any_response(exposed: Exposed, llm: FakeLLM) -> None:
    """System, model, usage and error responses, provider errors quoting a key, and tool output hold no key."""
    with exposed.client(headers=AUTH) as http:
        paths = ["/api/v1/system/info", "/api/v1/models", "/api/v1/models/current", "/api/v1/capabilities"]
        paths += ["/api/v1/token-usage", "/api/openapi.json", "/api/v1/nope"]
        texts = [http.get(path).text for path in paths]
        texts.append(httpx.get(f"{exposed.base_url}/api/v1/models", headers={"Authorization": "Bearer wrong"}).text)
        texts.append(http.post("/api/v1/chat/message", json={"text": ""}).text)
        for model_id, env in (("fake-anthropic", "ANTHROPIC_API_KEY"), ("fake-openai", "OPENAI_API_KEY")):
            llm.script(Reply.error(401, f"invalid key {SECRETS[env]}: check it"))
            texts.append(http.post("/api/v1/chat/message", json={"text": "hi", "model_id": model_id}).text)
            assert llm.last_request.api_key() == SECRETS[env]  # the key was really in use
        llm.script(Reply.tool("execute_command", {"command": "env"}), Reply(text="done"))
        answer = http.post("/api/v1/chat/message", json={"text": "run env", "model_id": "fake-openai"})
        assert answer.status_code == 200, answer.text
        assert "PATH=" in answer.json()["action_results"][0]["result"]  # the tool ran and showed its environment
        texts.append(answer.text)
    for text in texts:
        for name, secret in SECRETS.items():
            assert secret not in text, f"{name} in a response: {text[:300]}"


def test_no_key_in_logs_or_storage(exposed: Exposed) -> None:
    """Once stopped, the server's output, its Ray session's files (logs) and its workspace hold no key."""
    exposed.process.process.send_signal(signal.SIGTERM)  # last test of the module: logs are complete after
    assert exposed.process.process.wait(timeout=120) == 0, exposed.process.output()
    output = exposed.process.output()
    files = [p for root in (exposed.ray_dir, exposed.workspace) for p in root.rglob("*") if p.is_file()]
    assert any(p.suffix in (".log", ".out", ".err") for p in files), "no log files found"
    for name, secret in SECRETS.items():
        assert secret not in output, f"{name} in the server's output"
        leaking = [str(p) for p in files if _holds(p, secret.encode())]
        assert not leaking, f"{name} in {leaking}"


def _holds(path: Path, secret: bytes) -> bool:
    try:
        return secret in path.read_bytes()
    except OSError:  # a socket or a file removed while we looked
        return False
